package elementwise

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
)

func randDense(seed uint64, positive bool, shape ...int) *tensor.Dense {
	rng := rand.New(rand.NewPCG(seed, 7))
	d := make([]float32, numel(tensor.Shape(shape)))
	for i := range d {
		v := rng.Float64()*2 - 1
		if positive {
			v = 0.5 + rng.Float64()
		}
		d[i] = float32(v)
	}
	if len(shape) == 0 {
		return tensor.New(tensor.FromScalar(d[0]))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

var shapePairs = []struct{ a, b []int }{
	{[]int{2, 3, 4}, []int{2, 3, 4}},
	{[]int{2, 3, 4, 5}, []int{1, 3, 1, 1}}, // per-channel bias, NCHW
	{[]int{2, 3, 4, 5}, []int{3, 1, 1}},    // lower-rank operand
	{[]int{3, 1, 5}, []int{1, 4, 1}},       // both broadcast
	{[]int{4}, []int{2, 3, 4}},             // left operand broadcast
	{[]int{2, 3}, []int{1}},
}

// naive computes the broadcast result with explicit multi-index arithmetic.
func naive(kind Kind, a, b *tensor.Dense) ([]float32, tensor.Shape) {
	out, _ := BroadcastShape(a.Shape(), b.Shape())
	ad, bd := a.Data().([]float32), b.Data().([]float32)
	res := make([]float32, numel(out))
	idx := make([]int, len(out))
	for flat := range res {
		rem := flat
		for ax := len(out) - 1; ax >= 0; ax-- {
			idx[ax] = rem % out[ax]
			rem /= out[ax]
		}
		pick := func(s tensor.Shape, d []float32) float32 {
			off, stride := 0, 1
			for k := len(s) - 1; k >= 0; k-- {
				i := idx[len(out)-len(s)+k]
				if s[k] == 1 {
					i = 0
				}
				off += i * stride
				stride *= s[k]
			}
			return d[off]
		}
		x, y := pick(a.Shape(), ad), pick(b.Shape(), bd)
		switch kind {
		case KindAdd:
			res[flat] = x + y
		case KindSub:
			res[flat] = x - y
		case KindMul:
			res[flat] = x * y
		case KindDiv:
			res[flat] = x / y
		}
	}
	return res, out
}

func TestForwardMatchesNaiveBroadcast(t *testing.T) {
	for _, kind := range []Kind{KindAdd, KindSub, KindMul, KindDiv} {
		for i, p := range shapePairs {
			a, b := randDense(uint64(i), false, p.a...), randDense(uint64(i+100), true, p.b...)
			got, err := gradcheck.Forward(func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				return Apply(kind, in[0], in[1])
			}, []*tensor.Dense{a, b})
			if err != nil {
				t.Fatalf("%v %v %v: %v", kind, p.a, p.b, err)
			}
			want, shape := naive(kind, a, b)
			if !got.Shape.Eq(shape) {
				t.Fatalf("%v %v %v: shape %v, want %v", kind, p.a, p.b, got.Shape, shape)
			}
			for j := range want {
				if math.Abs(float64(got.Data[j]-want[j])) > 1e-6 {
					t.Fatalf("%v %v %v: element %d = %v, want %v", kind, p.a, p.b, j, got.Data[j], want[j])
				}
			}
		}
	}
}

func TestGradients(t *testing.T) {
	for _, kind := range []Kind{KindAdd, KindSub, KindMul, KindDiv} {
		for i, p := range shapePairs {
			kind, p := kind, p
			t.Run(kind.String(), func(t *testing.T) {
				a, b := randDense(uint64(i), false, p.a...), randDense(uint64(i+100), true, p.b...)
				gradcheck.Check(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
					return Apply(kind, in[0], in[1])
				}, []*tensor.Dense{a, b}, gradcheck.Options{Seed: uint64(i)})
			})
		}
	}
}

func TestExpandAndSumToGradients(t *testing.T) {
	gradcheck.Check(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return Expand(in[0], tensor.Shape{2, 3, 4})
	}, []*tensor.Dense{randDense(1, false, 3, 1)}, gradcheck.Options{MaxProbe: -1})
	gradcheck.Check(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return SumTo(in[0], tensor.Shape{1, 3, 1}, -1)
	}, []*tensor.Dense{randDense(2, false, 2, 3, 4)}, gradcheck.Options{MaxProbe: -1})
}

func TestIncompatibleShapesAreAnError(t *testing.T) {
	g := gorgonia.NewGraph()
	a := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(2, 3), gorgonia.WithName("a"))
	b := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(2, 4), gorgonia.WithName("b"))
	if _, err := Add(a, b); err == nil {
		t.Fatal("(2,3)+(2,4) must fail")
	}
}
