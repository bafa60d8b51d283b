package batchnorm

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
	"github.com/pgaug/pgaug/trainer/ops/optest"
)

// channelData is uniform data with a different offset and spread per channel.
func channelData(seed uint64, shape []int) []float32 {
	d := optest.Uniform(seed, optest.Numel(shape), -1, 1)
	c, s := shape[1], 1
	for _, v := range shape[2:] {
		s *= v
	}
	for i := range d {
		ch := (i / s) % c
		d[i] = d[i]*float32(0.5+float64(ch)) + float32(ch) - 1
	}
	return d
}

func bnBuild(state *State, p Params) gradcheck.Build {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return BatchNorm(in[0], in[1], in[2], state, p)
	}
}

func TestGradients(t *testing.T) {
	shapes := [][]int{{4, 3}, {2, 3, 4, 5}, {3, 2, 5}, {1, 2, 3, 3}}
	modes := []struct {
		name string
		p    func() Params
	}{
		{"train", func() Params { return Params{Mode: NewModeFlag(Train)} }},
		{"eval", func() Params { return Params{Mode: NewModeFlag(Eval)} }},
		{"recount", func() Params { return Params{Mode: NewModeFlag(Recount)} }},
		{"frozen-flag", func() Params { return Params{Mode: NewModeFlag(Frozen)} }},
		{"frozen-layer", func() Params { return Params{Mode: NewModeFlag(Train), Frozen: true} }},
		{"nil-flag", func() Params { return Params{} }},
	}
	for si, shape := range shapes {
		for _, m := range modes {
			t.Run(fmt.Sprintf("%s/%v", m.name, shape), func(t *testing.T) {
				c := shape[1]
				st := NewState(c, 1e-3, 0.1)
				mean, vars := optest.Uniform(uint64(si), c, -1, 1), optest.Uniform(uint64(si+10), c, 0.5, 2)
				if err := st.SetStats(mean, vars); err != nil {
					t.Fatal(err)
				}
				inputs := []*tensor.Dense{
					optest.Dense(channelData(uint64(si+20), shape), shape...),
					optest.Dense(optest.Uniform(uint64(si+30), c, 0.5, 1.5), c),
					optest.Dense(optest.Uniform(uint64(si+40), c, -0.5, 0.5), c),
				}
				gradcheck.Check(t, bnBuild(st, m.p()), inputs, gradcheck.Options{MaxProbe: -1, Seed: uint64(si)})
			})
		}
	}
}

// A network switches its flag between runs of the same machine: statistics
// persist, and NewTapeMachine (which calls SetTraining on gorgonia's own
// BatchNorm and erases its statistics) leaves them alone.
func TestModeSwitchKeepsStatistics(t *testing.T) {
	st := NewState(2, DefaultEpsilon, DefaultMomentum)
	if err := st.SetStats([]float32{0.5, -1}, []float32{2, 0.25}); err != nil {
		t.Fatal(err)
	}
	flag := NewModeFlag(Eval)
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(3, 2), gorgonia.WithName("x"),
		gorgonia.WithValue(optest.Dense([]float32{1, 2, 3, 4, 5, 6}, 3, 2)))
	scale := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(2), gorgonia.WithName("scale"), gorgonia.WithValue(optest.Dense([]float32{1, 1}, 2)))
	bias := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(2), gorgonia.WithName("bias"), gorgonia.WithValue(optest.Dense([]float32{0, 0}, 2)))
	y, err := BatchNorm(x, scale, bias, st, Params{Mode: flag})
	if err != nil {
		t.Fatal(err)
	}
	var yv gorgonia.Value
	gorgonia.Read(y, &yv)
	vm := gorgonia.NewTapeMachine(g) // no EvalMode: would reset gorgonia's BatchNorm
	defer vm.Close()
	mean, vars := st.Stats()
	optest.AssertClose(t, "running mean after NewTapeMachine", mean, []float32{0.5, -1}, 0, 0)
	optest.AssertClose(t, "running var after NewTapeMachine", vars, []float32{2, 0.25}, 0, 0)

	run := func() []float32 {
		t.Helper()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		defer vm.Reset()
		return optest.ValueData(t, yv)
	}
	evalOut := run()
	want := make([]float32, 6)
	for i, v := range []float64{1, 2, 3, 4, 5, 6} {
		m, s2 := []float64{0.5, -1}[i%2], []float64{2, 0.25}[i%2]
		want[i] = float32((v - m) / math.Sqrt(s2+DefaultEpsilon))
	}
	optest.AssertClose(t, "eval output", evalOut, want, 1e-6, 1e-6)
	flag.Set(Train)
	trainOut := run()
	// batch means 3, 4; unbiased variances 4, 4
	mean, vars = st.Stats()
	optest.AssertClose(t, "running mean after a training run", mean, []float32{0.9*0.5 + 0.1*3, 0.9*-1 + 0.1*4}, 1e-6, 1e-6)
	optest.AssertClose(t, "running var after a training run", vars, []float32{0.9*2 + 0.1*4, 0.9*0.25 + 0.1*4}, 1e-6, 1e-6)
	flag.Set(Eval)
	again := run()
	m2, v2 := st.Stats()
	optest.AssertClose(t, "running mean after an eval run", m2, mean, 0, 0)
	optest.AssertClose(t, "running var after an eval run", v2, vars, 0, 0)
	if st.BatchesTracked != 1 {
		t.Errorf("BatchesTracked = %d, want 1", st.BatchesTracked)
	}
	if again[0] == evalOut[0] {
		t.Errorf("eval output did not change after the statistics were updated")
	}
	// Recount normalises as Train does and counts nothing.
	flag.Set(Recount)
	optest.AssertClose(t, "recount output", run(), trainOut, 0, 0)
	m3, v3 := st.Stats()
	optest.AssertClose(t, "running mean after a recount run", m3, mean, 0, 0)
	optest.AssertClose(t, "running var after a recount run", v3, vars, 0, 0)
	if st.BatchesTracked != 1 {
		t.Errorf("after a recount run BatchesTracked = %d, want 1", st.BatchesTracked)
	}
}

func TestMomentumConversion(t *testing.T) {
	if got := MomentumFromONNX(0.9); got < 0.0999999 || got > 0.1000001 {
		t.Errorf("MomentumFromONNX(0.9) = %v, want 0.1", got)
	}
	if got := MomentumToONNX(DefaultMomentum); got < 0.8999999 || got > 0.9000001 {
		t.Errorf("MomentumToONNX(0.1) = %v, want 0.9", got)
	}
	if got := MomentumFromONNX(MomentumToONNX(0.37)); got != 0.37 {
		t.Errorf("round trip of 0.37 gives %v", got)
	}
}

func TestErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(2, 3, 4, 4), gorgonia.WithName("x"))
	x1 := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(3), gorgonia.WithName("x1"))
	sc := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(3), gorgonia.WithName("scale"))
	bi := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(3), gorgonia.WithName("bias"))
	sc4 := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(4), gorgonia.WithName("scale4"))
	sc64 := gorgonia.NewVector(g, tensor.Float64, gorgonia.WithShape(3), gorgonia.WithName("scale64"))
	ok := NewState(3, DefaultEpsilon, DefaultMomentum)
	for _, c := range []struct {
		name, want string
		x, s, b    *gorgonia.Node
		st         *State
	}{
		{"rank 1", "BatchNorm: input \"x1\" has shape (3), want N×C", x1, sc, bi, ok},
		{"scale shape", "BatchNorm: \"scale4\" has shape (4), want (3)", x, sc4, bi, ok},
		{"bias nil", "BatchNorm: bias is nil", x, sc, nil, ok},
		{"scale float64", "BatchNorm: scale is float64, want float32", x, sc64, bi, ok},
		{"nil state", "BatchNorm: state is nil", x, sc, bi, nil},
		{"state channels", "state has 4 running means and 4 running variances, want 3", x, sc, bi, NewState(4, 1e-5, 0.1)},
		{"epsilon", "BatchNorm: epsilon is 0, want > 0", x, sc, bi, NewState(3, 0, 0.1)},
		{"momentum range", "BatchNorm: momentum is 1.5, want in [0, 1]", x, sc, bi, NewState(3, 1e-5, 1.5)},
	} {
		_, err := BatchNorm(c.x, c.s, c.b, c.st, Params{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if err := ok.SetStats([]float32{1, 2}, []float32{1, 1, 1}); err == nil || !strings.Contains(err.Error(), "SetStats got 2 means and 3 variances") {
		t.Errorf("SetStats with wrong lengths: %v", err)
	}
	if err := ok.SetStats([]float32{1, 2, 3}, []float32{1, -1, 1}); err == nil || !strings.Contains(err.Error(), "variance 1 is -1") {
		t.Errorf("SetStats with a negative variance: %v", err)
	}

	// One value per channel cannot be trained on: an error at run time, not a panic.
	st := NewState(3, DefaultEpsilon, DefaultMomentum)
	_, err := gradcheck.Forward(bnBuild(st, Params{Mode: NewModeFlag(Train)}),
		[]*tensor.Dense{optest.Dense([]float32{1, 2, 3}, 1, 3), optest.Dense([]float32{1, 1, 1}, 3), optest.Dense([]float32{0, 0, 0}, 3)})
	if err == nil || !strings.Contains(err.Error(), "BatchNorm: training needs more than one value per channel") {
		t.Errorf("training on a 1×3 batch: %v", err)
	}
	// ... and fine in eval mode.
	if _, err := gradcheck.Forward(bnBuild(st, Params{Mode: NewModeFlag(Eval)}),
		[]*tensor.Dense{optest.Dense([]float32{1, 2, 3}, 1, 3), optest.Dense([]float32{1, 1, 1}, 3), optest.Dense([]float32{0, 0, 0}, 3)}); err != nil {
		t.Errorf("eval on a 1×3 batch: %v", err)
	}
}
