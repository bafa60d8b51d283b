package loss

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
)

func wbce(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
	return WeightedBinaryCrossEntropy(in[0], in[1], in[2])
}

// Hand-computed: p = [0.9, 0.2], w1 = [2, −1], w0 = [0.5, 3]:
// (−2·log .9 − 0.5·log .1 + 1·log .2 − 3·log .8)/2
// = (0.21072103 + 1.15129255 − 1.60943791 + 0.66943065)/2 = 0.21100316
func TestWeightedBCEHandValue(t *testing.T) {
	out, err := gradcheck.Forward(wbce, []*tensor.Dense{
		dense([]int{2}, 0.9, 0.2), dense([]int{2}, 2, -1), dense([]int{2}, 0.5, 3),
	})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(out.Data[0])-0.21100316) > 1e-6 {
		t.Fatalf("weighted BCE = %v, want 0.21100316", out.Data[0])
	}
}

func TestWeightedBCEIsBCEWithComplementaryWeights(t *testing.T) {
	p := dense([]int{2, 2}, 0.9, 0.2, 0.6, 0.5)
	tg := dense([]int{2, 2}, 1, 0, 0.3, 1)
	w0 := dense([]int{2, 2}, 0, 1, 0.7, 0)
	a, err := gradcheck.Forward(wbce, []*tensor.Dense{p, tg, w0})
	if err != nil {
		t.Fatal(err)
	}
	b, err := gradcheck.Forward(func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return BinaryCrossEntropy(in[0], in[1])
	}, []*tensor.Dense{p, tg})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(a.Data[0]-b.Data[0])) > 1e-7 {
		t.Fatalf("weighted %v vs BCE %v", a.Data[0], b.Data[0])
	}
}

func TestWeightedBCEGradientWithNegativeWeights(t *testing.T) {
	p := dense([]int{2, 3}, 0.9, 0.2, 0.6, 0.5, 0.35, 0.7)
	w1 := dense([]int{2, 3}, -0.4, 0, 1.5, 0.2, -2, 0)
	w0 := dense([]int{2, 3}, 0.1, 0.7, 0.1, -0.3, 0.1, 1.1)
	gradcheck.Check(t, wbce, []*tensor.Dense{p, w1, w0}, gradcheck.Options{WRT: []int{0}, MaxProbe: -1, Eps: 1e-3})
}

func TestWeightedBCERejectsShapeMismatch(t *testing.T) {
	g := gorgonia.NewGraph()
	p := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 2))
	w := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 3))
	if _, err := WeightedBinaryCrossEntropy(p, w, w); err == nil {
		t.Fatal("mismatched shapes must be refused")
	}
}
