package supervised_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
	"github.com/pgaug/pgaug/trainer/supervised"
)

// side is the images' side (1×side×side).
const side = 8

// classifier builds a two-class linear classifier (Flatten → Gemm) with
// seeded weights, as ONNX, and imports it as a trainable graph.
func classifier(seed uint64) (*netstep.Net, error) {
	const in, outs = side * side, 2
	rng := rand.New(rand.NewPCG(seed, 1))
	w := make([]float32, outs*in)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.1)
	}
	b := onnxio.NewGraphBuilder("cls")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 1, side, side)
	b.AddOutput("y", onnxio.DTypeFloat32, "N", outs)
	b.AddInitializer(onnxio.Float32Tensor("cls.weight", []int64{outs, in}, w))
	b.AddInitializer(onnxio.Float32Tensor("cls.bias", []int64{outs}, make([]float32, outs)))
	b.AddNode("Flatten", []string{"x"}, []string{"f"})
	b.AddNode("Gemm", []string{"f", "cls.weight", "cls.bias"}, []string{"y"}, onnxio.AttrInt("transB", 1))
	mp, err := b.Model(17, "example", nil)
	if err != nil {
		return nil, err
	}
	m, err := importer.Import(mp, importer.Options{Source: "cls"})
	if err != nil {
		return nil, err
	}
	return netstep.New(m, netstep.CrossEntropy), nil
}

// batch makes n one-channel images whose mean is their label (0 or 1).
func batch(rng *rand.Rand, n int) *loader.Batch {
	hw := side * side
	b := &loader.Batch{N: n, C: 1, H: side, W: side, X: make([]float32, n*hw), Labels: make([]int32, n), IDs: make([]string, n)}
	for i := 0; i < n; i++ {
		y := rng.IntN(2)
		b.Labels[i] = int32(y)
		b.IDs[i] = fmt.Sprint("img-", i)
		for j := 0; j < hw; j++ {
			b.X[i*hw+j] = float32(rng.NormFloat64()*0.5 + float64(y))
		}
	}
	return b
}

// Plain training: one SGD step per batch on the original images; the
// cross-entropy falls on this separable task.
func ExampleMethod_TrainStep() {
	net, err := classifier(1)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := supervised.New(supervised.Config{Classes: 2, LR: 0.05, Aug: supervised.None, Seed: 1},
		net, &optim.SGD{Momentum: 0.9}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var losses []float64
	for step := 0; step < 20; step++ {
		vals, err := m.TrainStep(context.Background(), batch(rng, 16), 1)
		if err != nil {
			fmt.Println(err)
			return
		}
		if step == 0 {
			fmt.Println("reports:", slices.Sorted(maps.Keys(vals)))
		}
		losses = append(losses, vals["loss"])
	}
	fmt.Printf("cross-entropy: first %.3f, last %.3f\n", losses[0], losses[len(losses)-1])
	// Output:
	// reports: [loss]
	// cross-entropy: first 0.439, last 0.157
}

// Cutout trains 1:1 on the original batch and on a copy with a random
// 4×4 square erased per image: two optimizer steps, two losses.
func ExampleMethod_TrainStep_cutout() {
	net, err := classifier(1)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := supervised.New(supervised.Config{Classes: 2, LR: 0.05, Aug: supervised.Cutout, CutoutSize: 4, Seed: 1},
		net, &optim.SGD{Momentum: 0.9}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for step := 0; step < 3; step++ {
		vals, err := m.TrainStep(context.Background(), batch(rng, 16), 1)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%v loss %.2f, loss_aug %.2f\n", slices.Sorted(maps.Keys(vals)), vals["loss"], vals["loss_aug"])
	}
	// Output:
	// [loss loss_aug] loss 0.44, loss_aug 0.31
	// [loss loss_aug] loss 0.30, loss_aug 0.29
	// [loss loss_aug] loss 0.36, loss_aug 0.32
}

// CutMix replaces a batch, with probability p, by its mix with a shuffled
// copy (labels mixed by area); "mixed" says whether this batch was.
func ExampleMethod_TrainStep_cutmix() {
	net, err := classifier(1)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := supervised.New(supervised.Config{Classes: 2, LR: 0.05, Aug: supervised.CutMix, CutMixAlpha: 1, CutMixProb: 0.5, Seed: 3},
		net, &optim.SGD{Momentum: 0.9}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	rng := rand.New(rand.NewPCG(7, 7))
	mixed := 0
	const steps = 10
	for step := 0; step < steps; step++ {
		vals, err := m.TrainStep(context.Background(), batch(rng, 16), 1)
		if err != nil {
			fmt.Println(err)
			return
		}
		if step == 0 {
			fmt.Println("reports:", slices.Sorted(maps.Keys(vals)))
		}
		mixed += int(vals["mixed"])
	}
	fmt.Printf("%d of %d batches mixed\n", mixed, steps)
	// Output:
	// reports: [loss mixed]
	// 5 of 10 batches mixed
}

// Augmentation names are case-insensitive; the empty name is none. New
// checks each augmentation's settings.
func ExampleParseAugmentation() {
	for _, s := range []string{"", "CutOut", "mixup"} {
		a, err := supervised.ParseAugmentation(s)
		fmt.Printf("%q → %q, error: %v\n", s, a, err != nil)
	}
	net, err := classifier(1)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = supervised.New(supervised.Config{Classes: 2, LR: 0.1, Aug: supervised.Cutout}, net, &optim.SGD{}, nil)
	fmt.Println(err)
	_, err = supervised.New(supervised.Config{Classes: 2, LR: 0.1, Aug: supervised.GradCAM}, net, &optim.SGD{}, nil)
	fmt.Println(err)
	// Output:
	// "" → "none", error: false
	// "CutOut" → "cutout", error: false
	// "mixup" → "", error: true
	// cutout: the square's side must be at least 1 pixel, got 0
	// gradcam augmentation needs a Grad-CAM explainer (a frozen classifier)
}
