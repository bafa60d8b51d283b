package optest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
)

// Uniform returns n values uniform in [lo, hi), reproducibly.
func Uniform(seed uint64, n int, lo, hi float64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return d
}

// Dense wraps data (copied) as a tensor of the given shape; shape () makes a
// scalar.
func Dense(data []float32, shape ...int) *tensor.Dense {
	if len(shape) == 0 {
		return tensor.New(tensor.FromScalar(data[0]))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), data...)))
}

func Numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// RunGraph builds the graph, runs it once and returns the output and, when
// dy is given, the gradients of Σ out⊙dy with respect to the inputs listed in
// wrt (all inputs when wrt is empty).
func RunGraph(t testing.TB, build gradcheck.Build, inputs []*tensor.Dense, dy []float32, wrt ...int) ([]float32, [][]float32) {
	t.Helper()
	g := gorgonia.NewGraph()
	nodes := make([]*gorgonia.Node, len(inputs))
	for i, in := range inputs {
		name := gorgonia.WithName(fmt.Sprintf("in%d", i))
		if in.Shape().IsScalar() {
			// A gorgonia Scalar: a rank-0 tensor node does not mix with scalars.
			nodes[i] = gorgonia.NewScalar(g, tensor.Float32, name, gorgonia.WithValue(in.Data().(float32)))
		} else {
			nodes[i] = gorgonia.NodeFromAny(g, in, name)
		}
	}
	out, err := build(g, nodes)
	if err != nil {
		t.Fatalf("building the graph: %v", err)
	}
	var yv gorgonia.Value
	gorgonia.Read(out, &yv)
	var targets gorgonia.Nodes
	if dy != nil {
		if len(wrt) == 0 {
			for i := range inputs {
				wrt = append(wrt, i)
			}
		}
		var loss *gorgonia.Node
		if out.Shape().IsScalar() {
			w := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("dy"), gorgonia.WithValue(dy[0]))
			loss, err = gorgonia.Mul(out, w)
		} else {
			s := out.Shape().Clone()
			w := gorgonia.NewTensor(g, tensor.Float32, s.Dims(), gorgonia.WithShape(s...), gorgonia.WithName("dy"),
				gorgonia.WithValue(tensor.New(tensor.WithShape(s...), tensor.WithBacking(append([]float32(nil), dy...)))))
			var prod *gorgonia.Node
			if prod, err = gorgonia.HadamardProd(out, w); err == nil {
				loss, err = gorgonia.Sum(prod)
			}
		}
		if err != nil {
			t.Fatalf("building the loss: %v", err)
		}
		for _, i := range wrt {
			targets = append(targets, nodes[i])
		}
		if _, err := gorgonia.Grad(loss, targets...); err != nil {
			t.Fatalf("gradient: %v", err)
		}
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(targets...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatalf("running the graph: %v", err)
	}
	y := ValueData(t, yv)
	grads := make([][]float32, len(targets))
	for k, n := range targets {
		gv, err := n.Grad()
		if err != nil {
			t.Fatalf("gradient of input %d: %v", wrt[k], err)
		}
		grads[k] = ValueData(t, gv)
	}
	return y, grads
}

func ValueData(t testing.TB, v gorgonia.Value) []float32 {
	t.Helper()
	if v == nil {
		t.Fatal("value not computed")
	}
	switch d := v.Data().(type) {
	case []float32:
		return append([]float32(nil), d...)
	case float32:
		return []float32{d}
	}
	t.Fatalf("value holds %T, want float32", v.Data())
	return nil
}

// CheckPrealloc checks an operator's UsePreallocDo: a free destination of the
// right shape is reused and fully overwritten, one that aliases an input or
// has the wrong shape is not, and the inputs are never modified.
func CheckPrealloc(t *testing.T, op gorgonia.UsePreallocDoer, inputs ...gorgonia.Value) {
	t.Helper()
	before := make([][]float32, len(inputs))
	for i, in := range inputs {
		before[i] = ValueData(t, in)
	}
	refV, err := op.(gorgonia.Op).Do(inputs...)
	if err != nil {
		t.Fatalf("%v: Do: %v", op, err)
	}
	ref := ValueData(t, refV)
	shape := refV.Shape().Clone()
	if shape.IsScalar() {
		return
	}

	garbage := make([]float32, shape.TotalSize())
	for i := range garbage {
		garbage[i] = float32(math.NaN())
	}
	free := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(garbage))
	got, err := op.UsePreallocDo(free, inputs...)
	if err != nil {
		t.Fatalf("%v: UsePreallocDo: %v", op, err)
	}
	if got != gorgonia.Value(free) {
		t.Errorf("%v: a free destination of shape %v was not reused", op, shape)
	}
	AssertClose(t, fmt.Sprintf("%v into a preallocated destination", op), ValueData(t, got), ref, 0, 0)

	for i, in := range inputs {
		d, ok := in.(*tensor.Dense)
		if !ok || !d.Shape().Eq(shape) {
			continue
		}
		got, err := op.UsePreallocDo(d, inputs...)
		if err != nil {
			t.Fatalf("%v: UsePreallocDo onto input %d: %v", op, i, err)
		}
		if got == gorgonia.Value(d) {
			t.Errorf("%v: wrote its output over input %d", op, i)
		}
		AssertClose(t, fmt.Sprintf("%v with input %d offered as destination", op, i), ValueData(t, got), ref, 0, 0)
	}

	wrong := tensor.New(tensor.WithShape(shape.TotalSize()+1), tensor.WithBacking(make([]float32, shape.TotalSize()+1)))
	got, err = op.UsePreallocDo(wrong, inputs...)
	if err != nil {
		t.Fatalf("%v: UsePreallocDo with a wrong-shaped destination: %v", op, err)
	}
	if got == gorgonia.Value(wrong) {
		t.Errorf("%v: reused a destination of the wrong shape", op)
	}
	AssertClose(t, fmt.Sprintf("%v with a wrong-shaped destination", op), ValueData(t, got), ref, 0, 0)
	for i, in := range inputs {
		AssertClose(t, fmt.Sprintf("%v: input %d afterwards", op, i), ValueData(t, in), before[i], 0, 0)
	}
}
