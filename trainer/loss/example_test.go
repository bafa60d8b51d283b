package loss_test

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/loss"
)

// OneHot turns integer labels into the B×K target matrix the
// cross-entropy takes.
func ExampleOneHot() {
	t, err := loss.OneHot([]int{2, 0}, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Shape(), t.Data())
	// Output: (2, 3) [0 0 1 1 0 0]
}

// The softmax cross-entropy of two rows of logits, with its gradient.
//
// Row 0, logits (1, 2, 0), label 1: log(e+e²+1) − 2 = 0.4076.
// Row 1, logits (0, 0, 3), label 2: log(2+e³) − 3 = 0.0949.
// The loss is their mean, and ∂loss/∂z = (softmax(z) − t)/B.
func ExampleSoftmaxCrossEntropy() {
	g := gorgonia.NewGraph()
	z := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithName("z"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 0, 0, 0, 3}))))
	onehot, _ := loss.OneHot([]int{1, 2}, 3)
	t := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithName("t"), gorgonia.WithValue(onehot))

	ce, err := loss.SoftmaxCrossEntropy(z, t)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := gorgonia.Grad(ce, z); err != nil {
		fmt.Println(err)
		return
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		fmt.Println(err)
		return
	}

	fmt.Printf("loss %.4f\n", ce.Value().Data().(float32))
	grad, _ := z.Grad()
	for i, v := range grad.Data().([]float32) {
		fmt.Printf(" %7.4f", v)
		if i%3 == 2 {
			fmt.Println()
		}
	}
	// Output:
	// loss 0.2513
	//   0.1224 -0.1674  0.0450
	//   0.0226  0.0226 -0.0453
}

// Binary cross-entropy of probabilities against 0/1 targets, averaged over
// every element: −(log .9 + log .8 + log .4 + log .5)/4.
func ExampleBinaryCrossEntropy() {
	g := gorgonia.NewGraph()
	p := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithName("p"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{0.9, 0.2, 0.6, 0.5}))))
	t := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithName("t"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1, 0, 0, 1}))))

	bce, err := loss.BinaryCrossEntropy(p, t)
	if err != nil {
		fmt.Println(err)
		return
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("BCE %.4f\n", bce.Value().Data().(float32))
	// Output: BCE 0.4845
}

// Weighted BCE with per-element weights: w1 multiplies −log p and w0
// multiplies −log(1−p). A policy-gradient loss puts the advantage in the
// weights, which may be negative:
// (−2·log .9 − 0.5·log .1 + 1·log .2 − 3·log .8)/2.
func ExampleWeightedBinaryCrossEntropy() {
	g := gorgonia.NewGraph()
	vec := func(name string, v ...float32) *gorgonia.Node {
		return gorgonia.NewVector(g, tensor.Float32, gorgonia.WithName(name),
			gorgonia.WithValue(tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(v))))
	}
	p := vec("p", 0.9, 0.2)
	w1 := vec("w1", 2, -1)
	w0 := vec("w0", 0.5, 3)

	l, err := loss.WeightedBinaryCrossEntropy(p, w1, w0)
	if err != nil {
		fmt.Println(err)
		return
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("weighted BCE %.4f\n", l.Value().Data().(float32))
	// Output: weighted BCE 0.2110
}
