package activation

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

type actCase struct {
	name  string
	f     func(x *gorgonia.Node) (*gorgonia.Node, error)
	kinks []float32 // points where the function is not differentiable
	torch string    // PyTorch expression of x
}

var inf32 = float32(math.Inf(1))

var actCases = []actCase{
	{"Relu", Relu, []float32{0}, "F.relu(x)"},
	{"LeakyRelu_0_01", func(x *gorgonia.Node) (*gorgonia.Node, error) { return LeakyRelu(x, DefaultLeakyReluAlpha) }, []float32{0}, "F.leaky_relu(x, 0.01)"},
	{"LeakyRelu_0_2", func(x *gorgonia.Node) (*gorgonia.Node, error) { return LeakyRelu(x, 0.2) }, []float32{0}, "F.leaky_relu(x, 0.2)"},
	{"LeakyRelu_neg", func(x *gorgonia.Node) (*gorgonia.Node, error) { return LeakyRelu(x, -0.5) }, []float32{0}, "F.leaky_relu(x, -0.5)"},
	{"Clip_m1_2", func(x *gorgonia.Node) (*gorgonia.Node, error) { return Clip(x, -1, 2) }, []float32{-1, 2}, "torch.clamp(x, -1, 2)"},
	{"Clip_min_only", func(x *gorgonia.Node) (*gorgonia.Node, error) { return Clip(x, -0.5, inf32) }, []float32{-0.5}, "torch.clamp(x, min=-0.5)"},
	{"Clip_max_only", func(x *gorgonia.Node) (*gorgonia.Node, error) { return Clip(x, -inf32, 0.75) }, []float32{0.75}, "torch.clamp(x, max=0.75)"},
	{"Clip_crossed", func(x *gorgonia.Node) (*gorgonia.Node, error) { return Clip(x, 1, -1) }, nil, "torch.clamp(x, 1, -1)"},
	{"Relu6", Relu6, []float32{0, 6}, "torch.clamp(x, 0, 6)"},
	{"HardSigmoid_onnx", func(x *gorgonia.Node) (*gorgonia.Node, error) {
		return HardSigmoid(x, DefaultHardSigmoidAlpha, DefaultHardSigmoidBeta)
	}, []float32{-2.5, 2.5}, "F.hardtanh(0.2 * x + 0.5, 0, 1)"},
	{"HardSigmoid_torch", func(x *gorgonia.Node) (*gorgonia.Node, error) { return HardSigmoid(x, 1.0/6, 0.5) }, []float32{-3, 3}, "F.hardsigmoid(x)"},
	{"HardSwish", HardSwish, []float32{-3, 3}, "F.hardswish(x)"},
	{"Sigmoid", Sigmoid, nil, "torch.sigmoid(x)"},
	{"Tanh", Tanh, nil, "torch.tanh(x)"},
}

// awayFromKinks moves values within 0.05 of a kink 0.1 away, so that finite
// differences with step 1e-2 do not straddle it.
func awayFromKinks(d []float32, kinks []float32) {
	for i, v := range d {
		for _, k := range kinks {
			if diff := v - k; diff > -0.05 && diff < 0.05 {
				if diff >= 0 {
					d[i] = k + 0.1
				} else {
					d[i] = k - 0.1
				}
			}
		}
	}
}

func TestGradients(t *testing.T) {
	for _, c := range actCases {
		for si, shape := range [][]int{{1}, {7}, {2, 3, 4, 5}} {
			t.Run(fmt.Sprintf("%s/%v", c.name, shape), func(t *testing.T) {
				x := optest.Uniform(uint64(10+si), optest.Numel(shape), -7, 7)
				awayFromKinks(x, c.kinks)
				build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return c.f(in[0]) }
				gradcheck.Check(t, build, []*tensor.Dense{optest.Dense(x, shape...)}, gradcheck.Options{MaxProbe: -1, Seed: uint64(si)})
			})
		}
	}
}

// Scalar nodes work too (gradcheck takes tensors only, so the scalar case is
// compared with the same function on a one-element vector).
func TestScalarInput(t *testing.T) {
	for _, c := range actCases {
		build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return c.f(in[0]) }
		for _, v := range []float32{-4.2, 0.3, 2.9} {
			ys, gs := optest.RunGraph(t, build, []*tensor.Dense{optest.Dense([]float32{v})}, []float32{0.7})
			yv, gv := optest.RunGraph(t, build, []*tensor.Dense{optest.Dense([]float32{v}, 1)}, []float32{0.7})
			optest.AssertClose(t, c.name+" scalar forward", ys, yv, 0, 0)
			optest.AssertClose(t, c.name+" scalar gradient", gs[0], gv[0], 0, 0)
		}
	}
}

// specials are inputs at the kinks and at the extremes.
var specials = []float32{0, float32(math.Copysign(0, -1)), -3, 3, 6, -1, 2, -2.5, 2.5, -0.5, 0.75, 1,
	15.5, -15.5, 20, -20, 88.5, -88.5, 100, -100, inf32, -inf32, float32(math.NaN())}

func TestAgainstPyTorch(t *testing.T) {
	x := append(optest.Uniform(1, 200, -9, 9), specials...)
	dy := optest.Uniform(2, len(x), -1, 1)
	n := len(x)

	var script strings.Builder
	fmt.Fprintf(&script, "x0 = load('x', %d)\ndy = load('dy', %d)\nE = {}\n", n, n)
	for _, c := range actCases {
		fmt.Fprintf(&script, "E[%q] = lambda x: %s\n", c.name, c.torch)
	}
	script.WriteString(`for name, f in E.items():
    x = x0.clone().requires_grad_(True)
    y = f(x)
    y.backward(dy)
    save(name + '_y', y)
    save(name + '_dx', x.grad)
`)
	ref := optest.RunTorch(t, script.String(), map[string][]float32{"x": x, "dy": dy})

	for _, c := range actCases {
		t.Run(c.name, func(t *testing.T) {
			in := optest.Dense(x, n)
			build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return c.f(in[0]) }
			y, grads := optest.RunGraph(t, build, []*tensor.Dense{in}, dy)
			optest.AssertClose(t, c.name+" forward", y, optest.MustGet(t, ref, c.name+"_y", n), 1e-6, 1e-6)
			// The gradient at a NaN input is unspecified (PyTorch itself is not
			// consistent across its kernels): compare the others.
			want := optest.MustGet(t, ref, c.name+"_dx", n)
			got := grads[0]
			for i, v := range x {
				if v != v {
					got[i], want[i] = 0, 0
				}
			}
			optest.AssertClose(t, c.name+" gradient", got, want, 1e-6, 1e-6)
			optest.AssertClose(t, c.name+" input after the run", in.Float32s(), x, 0, 0)
		})
	}
}

// gorgonia's Rectify (x·(x ≥ 0)) agrees with PyTorch on finite inputs away
// from 0 but gives NaN at -Inf and gradient 1 at 0; Relu here replaces it.
func TestGorgoniaRectifyFindings(t *testing.T) {
	build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return gorgonia.Rectify(in[0])
	}
	x := []float32{-2, -0.5, 0.5, 3, float32(math.Inf(-1))}
	y, grads := optest.RunGraph(t, build, []*tensor.Dense{optest.Dense(x, len(x))}, []float32{1, 1, 1, 1, 1})
	optest.AssertClose(t, "Rectify on finite inputs", y[:4], []float32{0, 0, 0.5, 3}, 0, 0)
	optest.AssertClose(t, "Rectify gradient on finite inputs", grads[0][:4], []float32{0, 0, 1, 1}, 0, 0)
	if !math.IsNaN(float64(y[4])) {
		t.Errorf("gorgonia's Rectify(-Inf) = %v: it no longer gives NaN, so activation.Relu could delegate to it", y[4])
	}
	own := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return Relu(in[0]) }
	y, _ = optest.RunGraph(t, own, []*tensor.Dense{optest.Dense(x, len(x))}, nil)
	optest.AssertClose(t, "Relu", y, []float32{0, 0, 0.5, 3, 0}, 0, 0)
}

// Two activations that differ only in an attribute must not be merged by
// gorgonia's hash-consing.
func TestAttributesKeepOpsDistinct(t *testing.T) {
	build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		a, err := LeakyRelu(in[0], 0.1)
		if err != nil {
			return nil, err
		}
		b, err := LeakyRelu(in[0], 0.3)
		if err != nil {
			return nil, err
		}
		c, err := Clip(in[0], -1, 1)
		if err != nil {
			return nil, err
		}
		d, err := Clip(in[0], -1, 2)
		if err != nil {
			return nil, err
		}
		return gorgonia.Concat(0, a, b, c, d)
	}
	x := []float32{-2, 1.5}
	y, _ := optest.RunGraph(t, build, []*tensor.Dense{optest.Dense(x, 2)}, nil)
	optest.AssertClose(t, "LeakyRelu 0.1 | LeakyRelu 0.3 | Clip(-1,1) | Clip(-1,2)", y,
		[]float32{-0.2, 1.5, -0.6, 1.5, -1, 1, -1, 1.5}, 1e-7, 0)
}

// A machine run repeatedly (with Reset) gives the same outputs, and the
// gradients accumulate across runs as gorgonia documents.
func TestRepeatedRuns(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(3, 4), gorgonia.WithName("x"),
		gorgonia.WithValue(optest.Dense(optest.Uniform(3, 12, -5, 5), 3, 4)))
	h, err := HardSwish(x)
	if err != nil {
		t.Fatal(err)
	}
	if h, err = LeakyRelu(h, 0.1); err != nil {
		t.Fatal(err)
	}
	if h, err = Clip(h, -0.2, 2); err != nil {
		t.Fatal(err)
	}
	sum, err := gorgonia.Sum(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gorgonia.Grad(sum, x); err != nil {
		t.Fatal(err)
	}
	var hv gorgonia.Value
	gorgonia.Read(h, &hv)
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(x))
	defer vm.Close()
	var first, firstGrad []float32
	for run := 0; run < 3; run++ {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		gv, err := x.Grad()
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first, firstGrad = optest.ValueData(t, hv), optest.ValueData(t, gv)
		} else {
			optest.AssertClose(t, fmt.Sprintf("run %d output", run), optest.ValueData(t, hv), first, 0, 0)
			// Gradients accumulate across runs unless a solver zeroes them.
			acc := make([]float32, len(firstGrad))
			for i, v := range firstGrad {
				acc[i] = v * float32(run+1)
			}
			optest.AssertClose(t, fmt.Sprintf("run %d accumulated gradient", run), optest.ValueData(t, gv), acc, 1e-6, 1e-6)
		}
		vm.Reset()
	}
}

func TestErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(2, 2), gorgonia.WithName("x"))
	x64 := gorgonia.NewTensor(g, tensor.Float64, 2, gorgonia.WithShape(2, 2), gorgonia.WithName("x64"))
	nan := float32(math.NaN())
	for _, c := range []struct {
		name, want string
		f          func() (*gorgonia.Node, error)
	}{
		{"nil input", "Relu: input is nil", func() (*gorgonia.Node, error) { return Relu(nil) }},
		{"float64", "HardSwish: input is float64, want float32", func() (*gorgonia.Node, error) { return HardSwish(x64) }},
		{"sigmoid float64", "Sigmoid: input is float64", func() (*gorgonia.Node, error) { return Sigmoid(x64) }},
		{"NaN alpha", "LeakyRelu: alpha is NaN", func() (*gorgonia.Node, error) { return LeakyRelu(x, nan) }},
		{"NaN bound", "Clip: bounds", func() (*gorgonia.Node, error) { return Clip(x, nan, 1) }},
		{"Inf beta", "HardSigmoid: alpha", func() (*gorgonia.Node, error) { return HardSigmoid(x, 0.2, inf32) }},
	} {
		_, err := c.f()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
