package noisemask_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/noisemask"
)

func ExampleBeta_Sample() {
	model, err := noisemask.ParseModel("beta")
	if err != nil {
		log.Fatal(err)
	}
	a := []float32{0, 0, 1.5, -2} // α = exp(a)
	b := []float32{0, 2, -1, -2}  // β = exp(b)
	m := make([]float32, len(a))
	if err := model.Sample(rand.New(rand.NewPCG(1, 2)), a, b, m); err != nil {
		log.Fatal(err)
	}
	for _, v := range m {
		fmt.Println(v > 0 && v < 1)
	}
	// Output:
	// true
	// true
	// true
	// true
}

func ExamplePaperObjective() {
	g := gorgonia.NewGraph()
	logP := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(1, 3), gorgonia.WithName("logP"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(1, 3), tensor.WithBacking([]float32{0, 1, 2}))))
	obj, err := noisemask.PaperObjective(logP)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := gorgonia.Grad(obj, logP); err != nil {
		log.Fatal(err)
	}
	var v gorgonia.Value
	gorgonia.Read(obj, &v) // read intermediate values with Read, not Value()
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		log.Fatal(err)
	}
	d, _ := logP.Grad()
	fmt.Printf("logsumexp = %.4f\nsoftmax   = %.4f\n", v.Data(), d.Data())
	// Output:
	// logsumexp = 2.4076
	// softmax   = [0.0900 0.2447 0.6652]
}

func ExampleBuildMask() {
	// Two 2×2 noise matrices → two 4×4 masks, nearest up-sampling, no blur.
	m := []float32{0.1, 0.2, 0.3, 0.4, 1, 1, 1, 1}
	mask, err := noisemask.BuildMask(m, 2, 4, 4, noisemask.MaskConfig{Grid: 2, Mode: noisemask.ModeNearest})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(mask[:8])
	x := make([]float32, 2*3*4*4) // two RGB images
	for i := range x {
		x[i] = 1
	}
	if err := noisemask.Apply(x, mask, 2, 3, 4, 4); err != nil {
		log.Fatal(err)
	}
	fmt.Println(x[16:20]) // first row of the second channel of the first image
	// Output:
	// [0.1 0.1 0.2 0.2 0.1 0.1 0.2 0.2]
	// [0.1 0.1 0.2 0.2]
}

func ExampleParseGrid() {
	for _, s := range []string{"32", "64", "pure"} {
		g, err := noisemask.ParseGrid(s, 224)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s, g)
	}
	// Output:
	// 32 32
	// 64 64
	// pure 224
}

func ExampleDatasetParams_Update() {
	p := &noisemask.DatasetParams{Grid: 1, A: []float32{1}, B: []float32{0}}
	// Two images: mean a_img 3, mean b_img −2.
	if err := p.Update([]float32{2, 4}, []float32{-1, -3}, 2, 0.5); err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.A, p.B)
	// Output: [2] [-1]
}
