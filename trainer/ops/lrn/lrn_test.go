package lrn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
)

func randInput(seed uint64, shape ...int) *tensor.Dense {
	rng := rand.New(rand.NewPCG(seed, 3))
	n := 1
	for _, s := range shape {
		n *= s
	}
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(rng.Float64()*4 - 2)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

// naive follows the ONNX reference implementation literally.
func naive(x []float32, n, c, inner int, p Params) []float32 {
	out := make([]float32, len(x))
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			lo := int(math.Max(0, float64(ch)-math.Floor(float64(p.Size-1)/2)))
			hi := int(math.Min(float64(c-1), float64(ch)+math.Ceil(float64(p.Size-1)/2)))
			for i := 0; i < inner; i++ {
				var s float64
				for k := lo; k <= hi; k++ {
					v := float64(x[(b*c+k)*inner+i])
					s += v * v
				}
				k := (b*c+ch)*inner + i
				out[k] = float32(float64(x[k]) / math.Pow(float64(p.Bias)+float64(p.Alpha)/float64(p.Size)*s, float64(p.Beta)))
			}
		}
	}
	return out
}

func TestForwardMatchesReference(t *testing.T) {
	for _, p := range []Params{{Size: 3, Alpha: 1e-4, Beta: 0.75, Bias: 1}, {Size: 4, Alpha: 0.5, Beta: 0.6, Bias: 2}, {Size: 5, Alpha: 2, Beta: 1, Bias: 0.5}} {
		x := randInput(1, 2, 7, 3, 2)
		got, err := gradcheck.Forward(func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return LRN(in[0], p) }, []*tensor.Dense{x})
		if err != nil {
			t.Fatal(err)
		}
		want := naive(x.Data().([]float32), 2, 7, 6, p)
		for i := range want {
			if math.Abs(float64(got.Data[i]-want[i])) > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
				t.Fatalf("%+v element %d: %v, want %v", p, i, got.Data[i], want[i])
			}
		}
	}
}

func TestGradient(t *testing.T) {
	for i, p := range []Params{{Size: 3, Alpha: 0.3, Beta: 0.75, Bias: 1}, {Size: 4, Alpha: 0.5, Beta: 0.6, Bias: 2}} {
		gradcheck.Check(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return LRN(in[0], p) },
			[]*tensor.Dense{randInput(uint64(i), 2, 5, 2, 3)}, gradcheck.Options{MaxProbe: -1, Seed: uint64(i)})
	}
}
