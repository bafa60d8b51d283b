package gradcheck_test

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
)

// Checking the gradient of tanh(x·w) for a 2×3 matrix x and a 3×2 matrix w
// against central finite differences, probing every element of both inputs.
// In a test, Check(t, ...) does the same and fails t on a mismatch.
func ExampleCompare() {
	build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		m, err := gorgonia.Mul(in[0], in[1])
		if err != nil {
			return nil, err
		}
		return gorgonia.Tanh(m)
	}
	x := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{0.5, -1, 0.25, 0.1, 0.3, -0.7}))
	w := tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float32{0.2, -0.4, 0.6, 0.1, -0.3, 0.8}))

	r, err := gradcheck.Compare(build, []*tensor.Dense{x, w}, gradcheck.Options{MaxProbe: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("probed:", r.Probed)
	fmt.Println("passed:", len(r.Mismatches) == 0)
	// Output:
	// probed: 12
	// passed: true
}

// WRT restricts the check to some inputs, e.g. not the targets of a loss.
// Here only x of x²·c is differentiated.
func ExampleOptions_wrt() {
	build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		sq, err := gorgonia.Square(in[0])
		if err != nil {
			return nil, err
		}
		return gorgonia.HadamardProd(sq, in[1])
	}
	x := tensor.New(tensor.WithShape(4), tensor.WithBacking([]float32{0.5, -1, 2, 0.25}))
	c := tensor.New(tensor.WithShape(4), tensor.WithBacking([]float32{1, 2, 3, 4}))

	r, err := gradcheck.Compare(build, []*tensor.Dense{x, c}, gradcheck.Options{WRT: []int{0}, MaxProbe: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("probed:", r.Probed, "passed:", len(r.Mismatches) == 0)
	// Output: probed: 4 passed: true
}

// Forward evaluates a graph without gradients, e.g. to compare an operator's
// value with a hand-computed one.
func ExampleForward() {
	build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return gorgonia.Sigmoid(in[0])
	}
	x := tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{-2, 0, 2}))
	out, err := gradcheck.Forward(build, []*tensor.Dense{x})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(out.Shape, ":")
	for _, v := range out.Data {
		fmt.Printf(" %.4f", v)
	}
	fmt.Println()
	// Output: (3): 0.1192 0.5000 0.8808
}
