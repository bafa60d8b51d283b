package importer

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
	"github.com/pgaug/pgaug/trainer/ops/optest"
)

func randT(seed uint64, positive bool, shape ...int) *tensor.Dense {
	rng := rand.New(rand.NewPCG(seed, 11))
	n := 1
	for _, s := range shape {
		n *= s
	}
	d := make([]float32, n)
	for i := range d {
		if positive {
			d[i] = float32(0.5 + rng.Float64())
		} else {
			d[i] = float32(rng.Float64()*2 - 1)
		}
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

// signed negates every other element of t (values in ±[0.5, 1.5)).
func signed(t *tensor.Dense) *tensor.Dense {
	d := t.Float32s()
	for i := 0; i < len(d); i += 2 {
		d[i] = -d[i]
	}
	return t
}

// The importer builds some operators from gorgonia's own (MatMul/Gemm,
// Transpose, Concat, Reshape and the unary functions). The notes on gorgonia
// list several of its operators as wrong; these are checked here against
// finite differences as the importer uses them.
func TestGorgoniaBuiltinsUsedByTheImporter(t *testing.T) {
	cases := []struct {
		name     string
		inputs   []*tensor.Dense
		build    gradcheck.Build
		positive bool
	}{
		{"MatMul", []*tensor.Dense{randT(1, false, 3, 4), randT(2, false, 4, 5)}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Mul(in[0], in[1])
		}, false},
		{"Transpose", []*tensor.Dense{randT(3, false, 2, 3, 4)}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Transpose(in[0], 2, 0, 1)
		}, false},
		{"Concat axis 1", []*tensor.Dense{randT(4, false, 2, 3, 2, 2), randT(5, false, 2, 1, 2, 2)}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Concat(1, in[0], in[1])
		}, false},
		{"Reshape", []*tensor.Dense{randT(6, false, 2, 3, 4)}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Reshape(in[0], tensor.Shape{6, 4})
		}, false},
		{"Exp", []*tensor.Dense{randT(7, false, 3, 4)}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Exp(in[0])
		}, false},
		{"Log", []*tensor.Dense{randT(8, true, 3, 4)}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Log(in[0])
		}, true},
		{"Sqrt", []*tensor.Dense{randT(9, true, 3, 4)}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Sqrt(in[0])
		}, true},
		{"Neg", []*tensor.Dense{randT(10, false, 3, 4)}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Neg(in[0])
		}, false},
		{"Reciprocal", []*tensor.Dense{signed(randT(11, true, 3, 4))}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Inverse(in[0])
		}, false},
		{"Reciprocal of a scalar", []*tensor.Dense{tensor.New(tensor.FromScalar(float32(-0.8)))}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Inverse(in[0])
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gradcheck.Check(t, c.build, c.inputs, gradcheck.Options{MaxProbe: -1, Eps: 1e-2})
		})
	}
}

// Reciprocal (gorgonia's Inverse) at the pole: 1/±0 = ±Inf, and the gradient
// −dy/x² is −Inf on both sides, as PyTorch's reciprocal gives.
func TestReciprocalAtZero(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	x := tensor.New(tensor.WithShape(4), tensor.WithBacking([]float32{0, negZero, 2, -4}))
	y, grads := optest.RunGraph(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return gorgonia.Inverse(in[0])
	}, []*tensor.Dense{x}, []float32{1, 1, 1, 1})
	inf := float32(math.Inf(1))
	optest.AssertClose(t, "1/x", y, []float32{inf, -inf, 0.5, -0.25}, 0, 0)
	optest.AssertClose(t, "d(1/x)/dx", grads[0], []float32{-inf, -inf, -0.25, -0.0625}, 0, 0)
}
