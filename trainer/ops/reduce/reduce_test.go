package reduce

import (
	"fmt"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
	"github.com/pgaug/pgaug/trainer/ops/optest"
)

type reduceCase struct {
	shape []int
	axes  []int
	keep  bool
}

var reduceCases = []reduceCase{
	{[]int{2, 3, 4, 5}, []int{1}, true},
	{[]int{2, 3, 4, 5}, []int{1}, false},
	{[]int{2, 3, 4, 5}, []int{2, 3}, true},
	{[]int{2, 3, 4, 5}, []int{-2, -1}, false},
	{[]int{2, 3, 4, 5}, []int{0, 2, 3}, false},
	{[]int{2, 3, 4, 5}, []int{0}, true},
	{[]int{2, 3, 4, 5}, []int{3}, false},
	{[]int{2, 3, 4, 5}, []int{1, 2}, false},
	{[]int{2, 3, 4, 5}, []int{3, 0}, true},
	{[]int{2, 3, 4, 5}, nil, true},
	{[]int{2, 3, 4, 5}, nil, false}, // scalar
	{[]int{6}, []int{0}, false},     // scalar
	{[]int{6}, []int{-1}, true},
	{[]int{3, 1, 4}, []int{1}, false},
	{[]int{3, 1, 4}, []int{0, 2}, true},
	{[]int{1, 1}, []int{0}, true},
}

func (c reduceCase) String() string {
	return fmt.Sprintf("%v_axes%v_keep%t", c.shape, c.axes, c.keep)
}

// naiveReduce is the reference: explicit multi-indices, float64.
func naiveReduce(x []float32, shape, axes []int, keep, mean bool) ([]float32, []int) {
	rank := len(shape)
	red := make([]bool, rank)
	if len(axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		if a < 0 {
			a += rank
		}
		red[a] = true
	}
	var outShape, outDims []int // outDims: the kept dims, in order
	count := 1
	for d, s := range shape {
		if red[d] {
			count *= s
			if keep {
				outShape = append(outShape, 1)
			}
		} else {
			outShape = append(outShape, s)
			outDims = append(outDims, d)
		}
	}
	outN := 1
	for _, d := range outDims {
		outN *= shape[d]
	}
	acc := make([]float64, outN)
	idx := make([]int, rank)
	for flat := range x {
		r := flat
		for d := rank - 1; d >= 0; d-- {
			idx[d] = r % shape[d]
			r /= shape[d]
		}
		o := 0
		for _, d := range outDims {
			o = o*shape[d] + idx[d]
		}
		acc[o] += float64(x[flat])
	}
	out := make([]float32, outN)
	for i, v := range acc {
		if mean {
			v /= float64(count)
		}
		out[i] = float32(v)
	}
	return out, outShape
}

func reduceBuild(mean bool, axes []int, keep bool) gradcheck.Build {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		if mean {
			return ReduceMean(in[0], axes, keep)
		}
		return ReduceSum(in[0], axes, keep)
	}
}

func TestReduceAgainstNaive(t *testing.T) {
	for _, c := range reduceCases {
		for _, mean := range []bool{false, true} {
			t.Run(fmt.Sprintf("mean%t_%v", mean, c), func(t *testing.T) {
				x := optest.Uniform(7, optest.Numel(c.shape), -3, 3)
				out, err := gradcheck.Forward(reduceBuild(mean, c.axes, c.keep), []*tensor.Dense{optest.Dense(x, c.shape...)})
				if err != nil {
					t.Fatal(err)
				}
				want, wantShape := naiveReduce(x, c.shape, c.axes, c.keep, mean)
				if !out.Shape.Eq(tensor.Shape(wantShape)) && !(len(wantShape) == 0 && out.Shape.IsScalar()) {
					t.Fatalf("shape %v, want %v", out.Shape, wantShape)
				}
				optest.AssertClose(t, "output", out.Data, want, 1e-6, 1e-6)
			})
		}
	}
}

func TestReduceGradients(t *testing.T) {
	for i, c := range reduceCases {
		for _, mean := range []bool{false, true} {
			t.Run(fmt.Sprintf("mean%t_%v", mean, c), func(t *testing.T) {
				x := optest.Uniform(uint64(i), optest.Numel(c.shape), -3, 3)
				gradcheck.Check(t, reduceBuild(mean, c.axes, c.keep), []*tensor.Dense{optest.Dense(x, c.shape...)}, gradcheck.Options{MaxProbe: -1, Seed: uint64(i)})
			})
		}
	}
}

// A large tensor takes the parallel path, and float64 accumulation keeps a
// 25088-element channel mean accurate.
func TestReduceLarge(t *testing.T) {
	shape := []int{8, 64, 56, 56}
	x := optest.Uniform(9, optest.Numel(shape), 0, 2)
	for _, axes := range [][]int{{1}, {0, 2, 3}, {2, 3}, {0}, nil, {0, 1}} {
		out, err := gradcheck.Forward(reduceBuild(true, axes, true), []*tensor.Dense{optest.Dense(x, shape...)})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := naiveReduce(x, shape, axes, true, true)
		optest.AssertClose(t, fmt.Sprintf("ReduceMean%v", axes), out.Data, want, 0, 2e-7)
	}
}

func TestReduceAgainstPyTorch(t *testing.T) {
	var script strings.Builder
	inputs := map[string][]float32{}
	for i, c := range reduceCases {
		n := optest.Numel(c.shape)
		inputs[fmt.Sprintf("x%d", i)] = optest.Uniform(uint64(100+i), n, -3, 3)
		inputs[fmt.Sprintf("dy%d", i)] = optest.Uniform(uint64(200+i), n, -1, 1) // only the first outputs are used
		axes := c.axes
		if len(axes) == 0 {
			for d := range c.shape {
				axes = append(axes, d)
			}
		}
		dims := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(axes)), ","), "[]")
		shape := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(c.shape)), ","), "[]")
		keep := "False"
		if c.keep {
			keep = "True"
		}
		for _, fn := range []string{"sum", "mean"} {
			fmt.Fprintf(&script, `x = load('x%d', %s).requires_grad_(True)
y = torch.%s(x, dim=(%s,), keepdim=%s)
dy = load('dy%d')[:y.numel()].reshape(y.shape)
y.backward(dy)
save('%s%d_y', y)
save('%s%d_dx', x.grad)
`, i, shape, fn, dims, keep, i, fn, i, fn, i)
		}
	}
	ref := optest.RunTorch(t, script.String(), inputs)
	for i, c := range reduceCases {
		for _, mean := range []bool{false, true} {
			fn := "sum"
			if mean {
				fn = "mean"
			}
			t.Run(fmt.Sprintf("%s_%v", fn, c), func(t *testing.T) {
				x := inputs[fmt.Sprintf("x%d", i)]
				_, outShape := naiveReduce(x, c.shape, c.axes, c.keep, mean)
				m := optest.Numel(outShape)
				dy := inputs[fmt.Sprintf("dy%d", i)][:m]
				y, grads := optest.RunGraph(t, reduceBuild(mean, c.axes, c.keep), []*tensor.Dense{optest.Dense(x, c.shape...)}, dy)
				optest.AssertClose(t, "forward", y, optest.MustGet(t, ref, fmt.Sprintf("%s%d_y", fn, i), m), 1e-5, 1e-5)
				optest.AssertClose(t, "gradient", grads[0], optest.MustGet(t, ref, fmt.Sprintf("%s%d_dx", fn, i), len(x)), 1e-6, 1e-6)
			})
		}
	}
}

func TestReduceErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 3, gorgonia.WithShape(2, 3, 4), gorgonia.WithName("x"))
	s := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("s"))
	x64 := gorgonia.NewTensor(g, tensor.Float64, 2, gorgonia.WithShape(2, 2), gorgonia.WithName("x64"))
	for _, c := range []struct {
		name, want string
		f          func() (*gorgonia.Node, error)
	}{
		{"axis too large", "ReduceSum: axis 3 out of range for rank 3", func() (*gorgonia.Node, error) { return ReduceSum(x, []int{3}, true) }},
		{"axis too small", "ReduceMean: axis -4 out of range", func() (*gorgonia.Node, error) { return ReduceMean(x, []int{-4}, true) }},
		{"duplicate", "ReduceMean: axis 2 given twice", func() (*gorgonia.Node, error) { return ReduceMean(x, []int{2, -1}, true) }},
		{"scalar", "ReduceSum: input \"s\" is a scalar", func() (*gorgonia.Node, error) { return ReduceSum(s, nil, true) }},
		{"float64", "ReduceSum: input is float64, want float32", func() (*gorgonia.Node, error) { return ReduceSum(x64, nil, true) }},
		{"softmax axis", "Softmax: axis 3 out of range for rank 3", func() (*gorgonia.Node, error) { return Softmax(x, 3) }},
		{"logsoftmax scalar", "LogSoftmax: input \"s\" is a scalar", func() (*gorgonia.Node, error) { return LogSoftmax(s, 0) }},
	} {
		_, err := c.f()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// Sum and mean over the same axes, and different axes, stay distinct ops.
	y, _ := optest.RunGraph(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		a, err := ReduceSum(in[0], []int{1}, false)
		if err != nil {
			return nil, err
		}
		b, err := ReduceMean(in[0], []int{1}, false)
		if err != nil {
			return nil, err
		}
		c, err := ReduceSum(in[0], []int{0}, false)
		if err != nil {
			return nil, err
		}
		return gorgonia.Concat(0, a, b, c)
	}, []*tensor.Dense{optest.Dense([]float32{1, 2, 3, 4}, 2, 2)}, nil)
	optest.AssertClose(t, "sum(axis 1) | mean(axis 1) | sum(axis 0)", y, []float32{3, 7, 1.5, 3.5, 4, 6}, 0, 0)
}
