package concat

import (
	"fmt"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
	"github.com/pgaug/pgaug/trainer/ops/optest"
)

var cases = []struct {
	axis   int
	shapes [][]int
}{
	{0, [][]int{{2, 3}, {1, 3}}},
	{1, [][]int{{2, 3}, {2, 1}, {2, 4}}},
	{1, [][]int{{2, 3, 4, 4}, {2, 5, 4, 4}}}, // DenseNet: channels
	{3, [][]int{{2, 3, 2, 1}, {2, 3, 2, 3}}},
	{2, [][]int{{1, 2, 3}, {1, 2, 1}, {1, 2, 2}, {1, 2, 1}}},
	{0, [][]int{{4}, {2}}},
}

func inputs(shapes [][]int, seed uint64) []*tensor.Dense {
	out := make([]*tensor.Dense, len(shapes))
	for i, s := range shapes {
		n := 1
		for _, d := range s {
			n *= d
		}
		out[i] = optest.Dense(optest.Uniform(seed+uint64(i), n, -1, 1), s...)
	}
	return out
}

func build(axis int) gradcheck.Build {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return Concat(axis, in...) }
}

// The forward pass equals gorgonia's Concat, value for value.
func TestMatchesGorgonia(t *testing.T) {
	for i, c := range cases {
		t.Run(fmt.Sprint(c.axis, c.shapes), func(t *testing.T) {
			in := inputs(c.shapes, uint64(10*i))
			got, err := gradcheck.Forward(build(c.axis), in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := gradcheck.Forward(func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				return gorgonia.Concat(c.axis, in...)
			}, in)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Shape.Eq(want.Shape) {
				t.Fatalf("shape %v, gorgonia gives %v", got.Shape, want.Shape)
			}
			optest.AssertClose(t, "Concat", got.Data, want.Data, 0, 0)
		})
	}
}

// The gradient is each input's slice of the output gradient: checked
// against finite differences at every element.
func TestGradcheck(t *testing.T) {
	for i, c := range cases {
		t.Run(fmt.Sprint(c.axis, c.shapes), func(t *testing.T) {
			gradcheck.Check(t, build(c.axis), inputs(c.shapes, uint64(10*i+5)), gradcheck.Options{MaxProbe: -1, Seed: uint64(i)})
		})
	}
}

func TestUsePreallocDo(t *testing.T) {
	c := cases[2]
	in := inputs(c.shapes, 3)
	vals := []gorgonia.Value{in[0], in[1]}
	optest.CheckPrealloc(t, &concatOp{axis: c.axis, rank: 4, n: 2}, vals...)
	dy := optest.Dense(optest.Uniform(9, 2*8*4*4, -1, 1), 2, 8, 4, 4)
	optest.CheckPrealloc(t, &sliceOp{rank: 4, shape: tensor.Shape{2, 5, 4, 4}, inner: 5 * 16, off: 3 * 16, total: 8 * 16}, dy)
}

func TestErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	a := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(2, 3), gorgonia.WithName("a"))
	b := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(3, 3), gorgonia.WithName("b"))
	for _, tc := range []struct {
		axis int
		xs   []*gorgonia.Node
		want string
	}{
		{1, []*gorgonia.Node{a, b}, "differ on axis 0"},
		{2, []*gorgonia.Node{a, a}, "axis 2 of rank-2"},
		{0, nil, "no inputs"},
	} {
		if _, err := Concat(tc.axis, tc.xs...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Concat(%d, %d inputs): %v, want an error saying %q", tc.axis, len(tc.xs), err, tc.want)
		}
	}
}
