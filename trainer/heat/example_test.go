package heat_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/heat"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/noisemask"
	"github.com/pgaug/pgaug/trainer/optim"
)

// side is the images' side (1×side×side), grid the noise matrix's G.
const side, grid = 4, 2

// linear builds a one-layer network Flatten → Gemm with outs outputs and
// seeded weights of scale sc, as ONNX, and imports it as a trainable graph.
func linear(name string, outs int, sc float64, seed uint64) (*importer.Model, error) {
	in := side * side
	rng := rand.New(rand.NewPCG(seed, 1))
	w := make([]float32, outs*in)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * sc)
	}
	b := onnxio.NewGraphBuilder(name)
	b.AddInput("x", onnxio.DTypeFloat32, "N", 1, side, side)
	b.AddOutput("y", onnxio.DTypeFloat32, "N", outs)
	b.AddInitializer(onnxio.Float32Tensor(name+".weight", []int64{int64(outs), int64(in)}, w))
	b.AddInitializer(onnxio.Float32Tensor(name+".bias", []int64{int64(outs)}, make([]float32, outs)))
	b.AddNode("Flatten", []string{"x"}, []string{"f"})
	b.AddNode("Gemm", []string{"f", name + ".weight", name + ".bias"}, []string{"y"}, onnxio.AttrInt("transB", 1))
	mp, err := b.Model(17, "example", nil)
	if err != nil {
		return nil, err
	}
	return importer.Import(mp, importer.Options{Source: name})
}

// newMethod wires a two-class classifier and a policy whose output is the
// 2·G² values a_img and b_img.
func newMethod(lossName string, seed uint64) (*heat.Method, error) {
	return newBoundedMethod(lossName, seed, 0)
}

// newBoundedMethod is newMethod with the bound L of log α and log β.
func newBoundedMethod(lossName string, seed uint64, bound float64) (*heat.Method, error) {
	cls, err := linear("cls", 2, 0.3, seed)
	if err != nil {
		return nil, err
	}
	pol, err := linear("pol", 2*grid*grid, 0.3, seed+1)
	if err != nil {
		return nil, err
	}
	ds, err := noisemask.NewDatasetParams(grid, seed)
	if err != nil {
		return nil, err
	}
	cfg := heat.Config{
		Classes: 2, Loss: lossName, Noise: noisemask.Beta{},
		Mask:     noisemask.MaskConfig{Grid: grid, Mode: noisemask.ModeNearest},
		TauImage: 0.9, TauDataset: 0.99, BaselineDecay: 0.9,
		ClassifierLR: 0.1, PolicyLR: 0.01, TotalSteps: 100, Bound: bound, Seed: seed,
	}
	return heat.New(cfg, netstep.New(cls, netstep.CrossEntropy), netstep.New(pol, netstep.CrossEntropy),
		&optim.SGD{Momentum: 0.9}, &optim.SGD{Momentum: 0.9}, ds)
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

// Three steps of heating with the paper's loss on synthetic batches: each
// step reports the classifier's cross-entropy, the log-density factor and
// the noise's statistics, and the dataset-level parameters a_dataset and
// b_dataset (α = exp(a), β = exp(b)) move by their EMA.
func ExampleMethod_TrainStep() {
	m, err := newMethod(heat.LossPaper, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	a0 := slices.Clone(m.Dataset.A)
	b0 := slices.Clone(m.Dataset.B)
	rng := rand.New(rand.NewPCG(1, 2))
	var vals map[string]float64
	for step := 0; step < 3; step++ {
		if vals, err = m.TrainStep(context.Background(), batch(rng, 8), 1); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("step %d: cross-entropy %.3f, objective %.3f\n", step, vals["loss"], vals["objective"])
	}
	fmt.Println(strings.Join(slices.Sorted(maps.Keys(vals)), " "))
	finite := true
	for _, v := range vals {
		finite = finite && !math.IsNaN(v) && !math.IsInf(v, 0)
	}
	fmt.Println("all finite:", finite)
	fmt.Println("mask in [0, 1]:", vals["mask_mean"] >= 0 && vals["mask_mean"] <= 1)
	fmt.Println("paper_loss = objective·loss:", math.Abs(vals["paper_loss"]-vals["objective"]*vals["loss"]) < 1e-9)
	fmt.Println("a_dataset moved:", !slices.Equal(a0, m.Dataset.A), "b_dataset moved:", !slices.Equal(b0, m.Dataset.B))
	// Output:
	// step 0: cross-entropy 0.446, objective 2.418
	// step 1: cross-entropy 0.323, objective 3.659
	// step 2: cross-entropy 0.272, objective 3.923
	// a_dataset_mean a_img_mean alpha_mean b_dataset_mean b_img_mean beta_mean classifier_grad_scale loss mask_mean objective paper_loss policy_grad_norm policy_loss policy_lr
	// all finite: true
	// mask in [0, 1]: true
	// paper_loss = objective·loss: true
	// a_dataset moved: true b_dataset moved: true
}

// The reinforce loss reports the advantage CE − baseline instead of the
// paper's product; the first step's baseline is that step's CE, so its
// advantage is 0.
func ExampleMethod_TrainStep_reinforce() {
	m, err := newMethod(heat.LossReinforce, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := 0; step < 2; step++ {
		vals, err := m.TrainStep(context.Background(), batch(rng, 8), 1)
		if err != nil {
			fmt.Println(err)
			return
		}
		_, paper := vals["paper_loss"]
		fmt.Printf("step %d: advantage %.2f, paper_loss reported %v\n", step, vals["advantage"], paper)
	}
	// Output:
	// step 0: advantage 0.00, paper_loss reported false
	// step 1: advantage -0.10, paper_loss reported false
}

// The scaled loss divides the paper's factor S by S̄, its running mean
// magnitude, started at the first |S|: the classifier's gradient multiplier
// is sign(S) on the first step and stays of order 1 after (here S grows
// faster than its running mean follows), where the paper's is S itself. The
// bound keeps log α and log β in [−3, 3].
func ExampleMethod_TrainStep_scaled() {
	m, err := newBoundedMethod(heat.LossScaled, 3, heat.DefaultBound(heat.LossScaled))
	if err != nil {
		fmt.Println(err)
		return
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := 0; step < 3; step++ {
		vals, err := m.TrainStep(context.Background(), batch(rng, 8), 1)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("step %d: S %.3f, S̄ %.3f, classifier multiplier %.3f, |a_img mean| ≤ 3: %v\n", step, vals["objective"], vals["s_bar"],
			vals["classifier_grad_scale"], math.Abs(vals["a_img_mean"]) <= 3)
	}
	// Output:
	// step 0: S 2.405, S̄ 2.405, classifier multiplier 1.000, |a_img mean| ≤ 3: true
	// step 1: S 3.645, S̄ 2.529, classifier multiplier 1.441, |a_img mean| ≤ 3: true
	// step 2: S 3.909, S̄ 2.667, classifier multiplier 1.466, |a_img mean| ≤ 3: true
}

// SampleNoise runs the policy on a batch and draws one G×G noise matrix per
// image from Beta(exp(a), exp(b)), with a and b mixing the image-level and
// dataset-level parameters; the matrix becomes an image-sized mask that
// Masked multiplies into every channel.
func ExampleMethod_SampleNoise() {
	m, err := newMethod(heat.LossPaper, 5)
	if err != nil {
		fmt.Println(err)
		return
	}
	b := batch(rand.New(rand.NewPCG(9, 9)), 3)
	x := tensor.New(tensor.WithShape(b.N, b.C, b.H, b.W), tensor.WithBacking(b.X))
	n, err := m.SampleNoise(x, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("a, b, sample:", len(n.A), len(n.B), len(n.Sample), "(batch × G²)")
	fmt.Println("mask:", len(n.Mask), "(batch × H × W)")
	inside := true
	for _, v := range n.Sample {
		inside = inside && v > 0 && v < 1
	}
	fmt.Println("samples in (0, 1):", inside)
	xm, err := heat.Masked(x, n.Mask)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("masked:", xm.Shape())
	// Output:
	// a, b, sample: 12 12 12 (batch × G²)
	// mask: 48 (batch × H × W)
	// samples in (0, 1): true
	// masked: (3, 1, 4, 4)
}

// Loss names are case-insensitive; the empty name is the paper's loss.
func ExampleParseLoss() {
	for _, s := range []string{"", "REINFORCE", "Scaled", "mse"} {
		l, err := heat.ParseLoss(s)
		fmt.Printf("%q → %q, error: %v\n", s, l, err != nil)
	}
	// Output:
	// "" → "paper", error: false
	// "REINFORCE" → "reinforce", error: false
	// "Scaled" → "scaled", error: false
	// "mse" → "", error: true
}
