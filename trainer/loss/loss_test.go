package loss

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
)

func dense(shape []int, data ...float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// Hand-computed: logits [[1,2,0],[0,0,3]], labels [1,2].
// row 0: lse = log(e+e²+1) = 2.40760596; −log p1 = 0.40760596
// row 1: lse = log(2+e³) = 3.09492296;   −log p2 = 0.09492296
// mean = 0.25126446
func TestCrossEntropyHandValue(t *testing.T) {
	z := dense([]int{2, 3}, 1, 2, 0, 0, 0, 3)
	tgt, err := OneHot([]int{1, 2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	out, err := gradcheck.Forward(func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return SoftmaxCrossEntropy(in[0], in[1])
	}, []*tensor.Dense{z, tgt})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(out.Data[0])-0.25126446) > 1e-6 {
		t.Fatalf("CE = %v, want 0.25126446", out.Data[0])
	}
}

func TestCrossEntropyGradient(t *testing.T) {
	z := dense([]int{3, 4}, 0.1, -0.3, 0.8, 0.2, 1.1, 0.4, -0.9, 0.3, -0.2, 0.5, 0.0, 0.7)
	soft := dense([]int{3, 4}, 0, 1, 0, 0, 0.25, 0, 0.75, 0, 0, 0, 0, 1) // a CutMix-style row
	gradcheck.Check(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return SoftmaxCrossEntropy(in[0], in[1])
	}, []*tensor.Dense{z, soft}, gradcheck.Options{WRT: []int{0}, MaxProbe: -1})
}

// Hand-computed: p = [0.9, 0.2, 0.6, 0.5], t = [1, 0, 0, 1]:
// −(log .9 + log .8 + log .4 + log .5)/4 = (0.10536052+0.22314355+0.91629073+0.69314718)/4 = 0.48448550
func TestBCEHandValue(t *testing.T) {
	p := dense([]int{2, 2}, 0.9, 0.2, 0.6, 0.5)
	tg := dense([]int{2, 2}, 1, 0, 0, 1)
	out, err := gradcheck.Forward(func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return BinaryCrossEntropy(in[0], in[1])
	}, []*tensor.Dense{p, tg})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(out.Data[0])-0.48448550) > 1e-6 {
		t.Fatalf("BCE = %v, want 0.48448550", out.Data[0])
	}
}

func TestBCEGradient(t *testing.T) {
	p := dense([]int{2, 3}, 0.9, 0.2, 0.6, 0.5, 0.35, 0.7)
	tg := dense([]int{2, 3}, 1, 0, 0, 1, 0, 1)
	gradcheck.Check(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return BinaryCrossEntropy(in[0], in[1])
	}, []*tensor.Dense{p, tg}, gradcheck.Options{WRT: []int{0}, MaxProbe: -1, Eps: 1e-3})
}

func TestOneHotRejectsBadLabels(t *testing.T) {
	if _, err := OneHot([]int{0, 3}, 3); err == nil {
		t.Fatal("label 3 of 3 classes must be refused")
	}
}
