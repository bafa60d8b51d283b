package gradcheck

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func randDense(seed uint64, shape ...int) *tensor.Dense {
	rng := rand.New(rand.NewPCG(seed, 1))
	n := 1
	for _, s := range shape {
		n *= s
	}
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(rng.Float64()*2 - 1)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

func TestCorrectGradientPasses(t *testing.T) {
	build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		m, err := gorgonia.Mul(in[0], in[1])
		if err != nil {
			return nil, err
		}
		return gorgonia.Tanh(m)
	}
	r := Check(t, build, []*tensor.Dense{randDense(1, 3, 4), randDense(2, 4, 5)}, Options{MaxProbe: -1})
	if r.Probed != 12+20 {
		t.Fatalf("probed %d elements, want 32", r.Probed)
	}
}

// A wrong gradient must be caught: gorgonia's AveragePool2D (documented as wrong in
// spec/gorgonia-notes.md) stands in for a buggy operator.
func TestWrongGradientIsCaught(t *testing.T) {
	build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return gorgonia.AveragePool2D(in[0], tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2})
	}
	r, err := Compare(build, []*tensor.Dense{randDense(3, 1, 2, 4, 6)}, Options{MaxProbe: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Mismatches) == 0 {
		t.Fatalf("gorgonia's AveragePool2D gradient passed the check: %s", r)
	}
}

// A 0-d (scalar) input is checked like any other (it used to panic).
func TestScalarInput(t *testing.T) {
	x := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{0.5, -1, 2, 0.25}))
	s := tensor.New(tensor.WithShape(), tensor.WithBacking([]float32{1.5}))
	rep := Check(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		sq, err := gorgonia.Square(in[0])
		if err != nil {
			return nil, err
		}
		return gorgonia.Mul(sq, in[1])
	}, []*tensor.Dense{x, s}, Options{MaxProbe: -1, Eps: 1e-3})
	if rep.Probed < 5 {
		t.Fatalf("checked %d entries, want the 4 of x and the scalar", rep.Probed)
	}
}
