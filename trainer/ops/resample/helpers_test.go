package resample

import (
	"fmt"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
	"github.com/pgaug/pgaug/trainer/ops/optest"
)

// expectNaive checks build's output on x (of the given shape) against the
// naive reference want of shape wantShape, within tol (absolute and
// relative); what names the operator.
func expectNaive(t *testing.T, what string, build gradcheck.Build, x []float32, shape []int, want []float32, wantShape []int, tol float64) {
	t.Helper()
	out, err := gradcheck.Forward(build, []*tensor.Dense{optest.Dense(x, shape...)})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Shape.Eq(tensor.Shape(wantShape)) {
		t.Fatalf("shape %v, want %v", out.Shape, wantShape)
	}
	optest.AssertClose(t, what, out.Data, want, tol, tol)
}

// torchCase is a one-input resampling compared with PyTorch.
type torchCase struct {
	name  string
	shape []int             // x's
	torch string            // the PyTorch expression of y in x
	build gradcheck.Build   // the graph of y
	out   func([]int) []int // y's shape for x's
}

// torchTolerances are the tolerances (absolute and relative) of the forward
// pass and of the input gradient.
type torchTolerances struct{ forward, gradient float64 }

// compareWithTorch runs every case's forward pass and input gradient (for
// an upstream gradient dy) in one PyTorch script and in the graph, and
// compares them; it also checks that the graph leaves its input as it was.
// x and dy of case i are seeded from xSeed+i and dySeed+i.
func compareWithTorch(t *testing.T, cases []torchCase, xSeed, dySeed uint64, tol torchTolerances) {
	var script strings.Builder
	inputs := map[string][]float32{}
	outs := make([][]int, len(cases))
	for i, c := range cases {
		outs[i] = c.out(c.shape)
		inputs[fmt.Sprintf("x%d", i)] = optest.Uniform(xSeed+uint64(i), optest.Numel(c.shape), -2, 2)
		inputs[fmt.Sprintf("dy%d", i)] = optest.Uniform(dySeed+uint64(i), optest.Numel(outs[i]), -1, 1)
		fmt.Fprintf(&script, `x = load('x%d', %s).requires_grad_(True)
y = %s
y.backward(load('dy%d', *y.shape))
save('y%d', y)
save('dx%d', x.grad)
`, i, shapeList(c.shape), c.torch, i, i, i)
	}
	ref := optest.RunTorch(t, script.String(), inputs)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, dy := inputs[fmt.Sprintf("x%d", i)], inputs[fmt.Sprintf("dy%d", i)]
			in := optest.Dense(x, c.shape...)
			y, grads := optest.RunGraph(t, c.build, []*tensor.Dense{in}, dy)
			optest.AssertClose(t, "forward", y, optest.MustGet(t, ref, fmt.Sprintf("y%d", i), optest.Numel(outs[i])), tol.forward, tol.forward)
			optest.AssertClose(t, "gradient", grads[0], optest.MustGet(t, ref, fmt.Sprintf("dx%d", i), len(x)), tol.gradient, tol.gradient)
			optest.AssertClose(t, "input after the run", in.Float32s(), x, 0, 0)
		})
	}
}

// shapeList writes a shape as Python arguments: "2,3,5".
func shapeList(s []int) string {
	return strings.Trim(strings.Join(strings.Fields(fmt.Sprint(s)), ","), "[]")
}
