package resample

import (
	"fmt"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
	"github.com/pgaug/pgaug/trainer/ops/optest"
)

// naiveSource is the input index that output index o of one axis copies (-1
// for the constant): crop first, then pad, reflecting by bouncing between
// the ends one step at a time.
func naiveSource(o, L, b, e int, mode PadMode) int {
	start, stop := 0, L // the cropped range
	if b < 0 {
		start = -b
	}
	if e < 0 {
		stop = L + e
	}
	lc := stop - start
	j := o - max(b, 0)
	if j >= 0 && j < lc {
		return start + j
	}
	switch mode {
	case Constant:
		return -1
	case Edge:
		if j < 0 {
			return start
		}
		return stop - 1
	case Wrap:
		for j < 0 {
			j += lc
		}
		for j >= lc {
			j -= lc
		}
		return start + j
	}
	if lc == 1 {
		return start
	}
	for j < 0 || j >= lc {
		if j < 0 {
			j = -j
		} else {
			j = 2*(lc-1) - j
		}
	}
	return start + j
}

func naivePad(x []float32, shape []int, p PadParams) ([]float32, []int) {
	r := len(shape)
	out := make([]int, r)
	for d := range shape {
		out[d] = shape[d] + p.Pads[d] + p.Pads[d+r]
	}
	res := make([]float32, optest.Numel(out))
	idx := make([]int, r)
	for flat := range res {
		rem := flat
		for d := r - 1; d >= 0; d-- {
			idx[d] = rem % out[d]
			rem /= out[d]
		}
		src, ok := 0, true
		for d := 0; d < r; d++ {
			s := naiveSource(idx[d], shape[d], p.Pads[d], p.Pads[d+r], p.Mode)
			if s < 0 {
				ok = false
				break
			}
			src = src*shape[d] + s
		}
		if ok {
			res[flat] = x[src]
		} else {
			res[flat] = p.Value
		}
	}
	return res, out
}

type padCase struct {
	shape []int
	pads  []int
}

var padCases = []padCase{
	{[]int{7}, []int{2, 3}},
	{[]int{7}, []int{-2, 4}},
	{[]int{4, 5}, []int{1, 2, 3, 0}},
	{[]int{4, 5}, []int{0, -1, 2, -2}},
	{[]int{4, 5}, []int{6, 9, 7, 5}}, // wider than the axes
	{[]int{2, 3, 4}, []int{0, 1, 1, 1, 2, 0}},
	{[]int{2, 3, 4, 5}, []int{0, 0, 1, 2, 0, 0, 2, 1}},   // H, W only (parallel backward)
	{[]int{2, 3, 4, 5}, []int{1, 0, -1, 0, 0, 2, 2, -2}}, // N and C too (serial backward)
	{[]int{2, 3, 4, 5}, []int{0, -1, 0, 3, -1, 0, -2, -3}},
	{[]int{1, 1, 3, 1}, []int{0, 0, 2, 2, 0, 0, 1, 3}}, // single-element reflect
}

func padBuild(p PadParams) gradcheck.Build {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return Pad(in[0], p) }
}

func TestPadAgainstNaive(t *testing.T) {
	for i, c := range padCases {
		for mode := Constant; mode <= Wrap; mode++ {
			p := PadParams{Pads: c.pads, Mode: mode, Value: -1.5}
			t.Run(fmt.Sprintf("%v_%v_%v", mode, c.shape, c.pads), func(t *testing.T) {
				x := optest.Uniform(uint64(i), optest.Numel(c.shape), -2, 2)
				want, wantShape := naivePad(x, c.shape, p)
				expectNaive(t, "Pad", padBuild(p), x, c.shape, want, wantShape, 0)
			})
		}
	}
}

func TestPadGradients(t *testing.T) {
	for i, c := range padCases {
		for mode := Constant; mode <= Wrap; mode++ {
			p := PadParams{Pads: c.pads, Mode: mode, Value: 0.25}
			t.Run(fmt.Sprintf("%v_%v_%v", mode, c.shape, c.pads), func(t *testing.T) {
				x := optest.Uniform(uint64(i+20), optest.Numel(c.shape), -2, 2)
				gradcheck.Check(t, padBuild(p), []*tensor.Dense{optest.Dense(x, c.shape...)}, gradcheck.Options{MaxProbe: 60, Seed: uint64(i)})
			})
		}
	}
}

func TestPadAgainstPyTorch(t *testing.T) {
	type tc struct {
		shape []int
		p     PadParams
		torch string
	}
	cases := []tc{
		{[]int{2, 3, 5, 6}, PadParams{Pads: []int{0, 0, 1, 2, 0, 0, 3, 1}, Mode: Constant, Value: 0.5}, "F.pad(x, (2, 1, 1, 3), mode='constant', value=0.5)"},
		{[]int{2, 3, 5, 6}, PadParams{Pads: []int{1, -1, -2, 0, -1, 2, 1, -3}, Mode: Constant}, "F.pad(x, (0, -3, -2, 1, -1, 2, 1, -1))"},
		{[]int{2, 3, 5, 6}, PadParams{Pads: []int{0, 0, 4, 2, 0, 0, 1, 5}, Mode: Reflect}, "F.pad(x, (2, 5, 4, 1), mode='reflect')"},
		{[]int{2, 3, 5, 6}, PadParams{Pads: []int{0, 0, 3, 1, 0, 0, 6, 2}, Mode: Edge}, "F.pad(x, (1, 2, 3, 6), mode='replicate')"},
		{[]int{2, 3, 5, 6}, PadParams{Pads: []int{0, 0, 2, 3, 0, 0, 1, 4}, Mode: Wrap}, "F.pad(x, (3, 4, 2, 1), mode='circular')"},
		{[]int{2, 4, 7}, PadParams{Pads: []int{0, 0, 3, 0, 0, 6}, Mode: Reflect}, "F.pad(x, (3, 6), mode='reflect')"},
	}
	tcs := make([]torchCase, len(cases))
	for i, c := range cases {
		tcs[i] = torchCase{name: c.torch, shape: c.shape, torch: c.torch, build: padBuild(c.p),
			out: func(s []int) []int { _, o := naivePad(make([]float32, optest.Numel(s)), s, c.p); return o }}
	}
	compareWithTorch(t, tcs, 80, 90, torchTolerances{forward: 0, gradient: 1e-6})
}

func TestPadErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(3, 4), gorgonia.WithName("x"))
	s := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("s"))
	for _, c := range []struct {
		want string
		x    *gorgonia.Node
		p    PadParams
	}{
		{"Pad: 2 pads [1 1] for input \"x\" of rank 2, want 4", x, PadParams{Pads: []int{1, 1}}},
		{"Pad: pads (-2, -1) crop all 3 elements of axis 0", x, PadParams{Pads: []int{-2, 0, -1, 0}}},
		{"Pad: input \"s\" is a scalar", s, PadParams{Pads: nil}},
		{"Pad: invalid mode 9", x, PadParams{Pads: []int{0, 0, 0, 0}, Mode: 9}},
	} {
		_, err := Pad(c.x, c.p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
	if _, err := ParsePadMode("symmetric"); err == nil || !strings.Contains(err.Error(), "Pad: mode \"symmetric\" is not supported") {
		t.Errorf("ParsePadMode(symmetric): %v", err)
	}
	if m, err := ParsePadMode("edge"); err != nil || m != Edge {
		t.Errorf("ParsePadMode(edge) = %v, %v", m, err)
	}
}
