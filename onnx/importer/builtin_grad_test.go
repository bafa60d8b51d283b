package importer

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gradcheck.Check(t, c.build, c.inputs, gradcheck.Options{MaxProbe: -1, Eps: 1e-2})
		})
	}
}
