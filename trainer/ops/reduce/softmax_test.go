package reduce

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

type softmaxCase struct {
	shape  []int
	axis   int
	coerce bool // opset < 13
}

var softmaxCases = []softmaxCase{
	{[]int{5}, 0, false},
	{[]int{3, 7}, -1, false},
	{[]int{3, 7}, 0, false},
	{[]int{2, 3, 4, 5}, 0, false},
	{[]int{2, 3, 4, 5}, 1, false},
	{[]int{2, 3, 4, 5}, 2, false},
	{[]int{2, 3, 4, 5}, -1, false},
	{[]int{2, 1, 3}, 1, false}, // softmax over a length-1 axis
	{[]int{2, 3, 4}, 1, true},
	{[]int{2, 3, 4}, 0, true},
	{[]int{4, 3, 40, 40}, 1, false}, // several column chunks, parallel
}

func softmaxBuild(log bool, c softmaxCase) gradcheck.Build {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		switch {
		case log && c.coerce:
			return LogSoftmaxOpset11(in[0], c.axis)
		case log:
			return LogSoftmax(in[0], c.axis)
		case c.coerce:
			return SoftmaxOpset11(in[0], c.axis)
		}
		return Softmax(in[0], c.axis)
	}
}

func TestSoftmaxGradients(t *testing.T) {
	for i, c := range softmaxCases {
		if optest.Numel(c.shape) > 1000 {
			continue
		}
		for _, log := range []bool{false, true} {
			t.Run(fmt.Sprintf("log%t_%v_axis%d_coerce%t", log, c.shape, c.axis, c.coerce), func(t *testing.T) {
				x := optest.Uniform(uint64(i), optest.Numel(c.shape), -3, 3)
				gradcheck.Check(t, softmaxBuild(log, c), []*tensor.Dense{optest.Dense(x, c.shape...)}, gradcheck.Options{MaxProbe: -1, Seed: uint64(i)})
			})
		}
	}
}

func shapeList(s []int) string {
	return strings.Trim(strings.Join(strings.Fields(fmt.Sprint(s)), ","), "[]")
}

func TestSoftmaxAgainstPyTorch(t *testing.T) {
	var script strings.Builder
	inputs := map[string][]float32{}
	for i, c := range softmaxCases {
		n := optest.Numel(c.shape)
		x := optest.Uniform(uint64(300+i), n, -6, 6)
		// Large logits (stability) and -Inf entries (masked) in some cases.
		if i%3 == 1 {
			for j := range x {
				x[j] *= 3000
			}
		}
		if i%4 == 2 {
			for j := 0; j < n; j += 5 {
				x[j] = float32(math.Inf(-1))
			}
		}
		inputs[fmt.Sprintf("x%d", i)] = x
		inputs[fmt.Sprintf("dy%d", i)] = optest.Uniform(uint64(400+i), n, -1, 1)
		for _, fn := range []string{"softmax", "log_softmax"} {
			f := fmt.Sprintf("F.%s(x, dim=%d)", fn, c.axis)
			if c.coerce {
				f = fmt.Sprintf("F.%s(x.reshape(%d, -1), dim=1).reshape(x.shape)", fn, optest.Numel(c.shape[:c.axis]))
			}
			fmt.Fprintf(&script, `x = load('x%d', %s).requires_grad_(True)
y = %s
y.backward(load('dy%d', %s))
save('%s%d_y', y)
save('%s%d_dx', x.grad)
`, i, shapeList(c.shape), f, i, shapeList(c.shape), fn, i, fn, i)
		}
	}
	ref := optest.RunTorch(t, script.String(), inputs)
	for i, c := range softmaxCases {
		for _, log := range []bool{false, true} {
			fn := "softmax"
			if log {
				fn = "log_softmax"
			}
			t.Run(fmt.Sprintf("%s_%v_axis%d_coerce%t", fn, c.shape, c.axis, c.coerce), func(t *testing.T) {
				x, dy := inputs[fmt.Sprintf("x%d", i)], inputs[fmt.Sprintf("dy%d", i)]
				in := optest.Dense(x, c.shape...)
				y, grads := optest.RunGraph(t, softmaxBuild(log, c), []*tensor.Dense{in}, dy)
				want := optest.MustGet(t, ref, fmt.Sprintf("%s%d_y", fn, i), len(x))
				optest.AssertClose(t, "forward", y, want, 1e-6, 1e-5)
				wantDx := optest.MustGet(t, ref, fmt.Sprintf("%s%d_dx", fn, i), len(x))
				if log {
					// At -Inf inputs PyTorch's log_softmax gradient is dy
					// (exp(-Inf) = 0), as here.
					optest.AssertClose(t, "gradient", grads[0], wantDx, 1e-5, 1e-5)
				} else {
					optest.AssertClose(t, "gradient", grads[0], wantDx, 1e-6, 1e-5)
				}
				optest.AssertClose(t, "input after the run", in.Float32s(), x, 0, 0)
			})
		}
	}
}

// Rows of a softmax sum to 1, and log-softmax is its logarithm, even for
// logits far beyond exp's range.
func TestSoftmaxStability(t *testing.T) {
	x := []float32{1e4, 1e4 - 1, -1e4, 80, 90, 100, -1e30, 0, 1e30}
	sm, err := gradcheck.Forward(softmaxBuild(false, softmaxCase{axis: 1}), []*tensor.Dense{optest.Dense(x, 3, 3)})
	if err != nil {
		t.Fatal(err)
	}
	lsm, err := gradcheck.Forward(softmaxBuild(true, softmaxCase{axis: 1}), []*tensor.Dense{optest.Dense(x, 3, 3)})
	if err != nil {
		t.Fatal(err)
	}
	e1 := 1 / (1 + math.Exp(-1))
	want := []float32{float32(e1), float32(1 - e1), 0,
		float32(math.Exp(-20) / (1 + math.Exp(-10) + math.Exp(-20))), float32(math.Exp(-10) / (1 + math.Exp(-10) + math.Exp(-20))), float32(1 / (1 + math.Exp(-10) + math.Exp(-20))),
		0, 0, 1}
	optest.AssertClose(t, "softmax", sm.Data, want, 1e-7, 1e-6)
	wantLog := []float32{float32(math.Log(e1)), float32(math.Log(1 - e1)), -2e4 - float32(math.Log1p(math.Exp(-1))),
		float32(-20 - math.Log(1+math.Exp(-10)+math.Exp(-20))), float32(-10 - math.Log(1+math.Exp(-10)+math.Exp(-20))), float32(-math.Log(1 + math.Exp(-10) + math.Exp(-20))),
		-2e30, -1e30, 0}
	optest.AssertClose(t, "log-softmax", lsm.Data, wantLog, 1e-6, 1e-6)
}
