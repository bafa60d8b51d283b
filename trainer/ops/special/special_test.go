package special

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

const eulerGamma = 0.57721566490153286060651209008240243

// mpmathTable: x, ψ(x), ψ₁(x), ψ₂(x) from mpmath at 40 digits.
var mpmathTable = [][4]float64{
	{0.001, -1000.5755719318103005, 1000001.642533195869, -2000000002.3976322897},
	{0.01, -100.5608854578686745, 10001.62121352831322, -2000002.3403986770845},
	{0.1, -10.423754940411076795, 101.43329915079275882, -2001.8614573783440063},
	{0.25, -4.2274535333762654081, 17.197329154507110739, -129.32773993753692033},
	{0.5, -1.9635100260214234794, 4.9348022005446793094, -16.828796644234319996},
	{1, -0.57721566490153286061, 1.6449340668482264365, -2.4041138063191885708},
	{1.4616321449683623, -3.9928730412463043992e-17, 0.96767224544762120697, -0.88552633796718427618},
	{1.5, 0.036489973978576520559, 0.93480220054467930942, -0.8287966442343199956},
	{2, 0.42278433509846713939, 0.64493406684822643647, -0.4041138063191885708},
	{3.7, 1.1671535393615113859, 0.3100378576700383191, -0.095395308728554043835},
	{9.99, 2.2507003728312010995, 0.10527695014824178675, -0.011073070531461051654},
	{10, 2.2517525890667211076, 0.10516633568168574612, -0.011049834970802067462},
	{10.01, 2.2528037003181357591, 0.10505595320551508907, -0.011026672403393366062},
	{17.5, 2.8333574322286841031, 0.058806588095783507448, -0.0034572203720343102715},
	{123.456, 4.8118293238289853873, 0.0081329458342781980101, -0.000066144443363940409576},
	{1000, 6.9072551956488120521, 0.0010005001666666333334, -1.0010004999998333335e-6},
	{-0.5, 0.036489973978576520559, 8.9348022005446793094, -0.8287966442343199956},
	{-1.25, 3.7141391202135278304, 19.181879647671606498, 123.72136678366236037},
	{-7.3, 4.3373073055100474863, 14.951383181433908928, 68.821174063590198811},
}

func relErr(got, want float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-300)
}

func TestAgainstHighPrecision(t *testing.T) {
	for _, r := range mpmathTable {
		x := r[0]
		for n := 0; n <= 2; n++ {
			got, want := PolygammaF64(n, x), r[n+1]
			tol := 1e-14
			if x < 0 {
				tol = 1e-13 // the reflection loses a few digits
			}
			if d := math.Abs(got - want); d > tol*math.Abs(want) && d > 1e-15 {
				t.Errorf("ψ%d(%v) = %.17g, want %.17g (relative error %.2g)", n, x, got, want, relErr(got, want))
			}
		}
	}
}

func TestKnownValues(t *testing.T) {
	ln2, ln3 := math.Ln2, math.Log(3)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"ψ(1) = −γ", DigammaF64(1), -eulerGamma},
		{"ψ(1/2) = −γ − 2 ln 2", DigammaF64(0.5), -eulerGamma - 2*ln2},
		{"ψ(2) = 1 − γ", DigammaF64(2), 1 - eulerGamma},
		{"ψ(1/3) = −γ − π/(2√3) − 3/2 ln 3", DigammaF64(1.0 / 3), -eulerGamma - math.Pi/(2*math.Sqrt(3)) - 1.5*ln3},
		{"ψ(1/4) = −γ − π/2 − 3 ln 2", DigammaF64(0.25), -eulerGamma - math.Pi/2 - 3*ln2},
		{"ψ₁(1) = π²/6", TrigammaF64(1), math.Pi * math.Pi / 6},
		{"ψ₁(1/2) = π²/2", TrigammaF64(0.5), math.Pi * math.Pi / 2},
		{"ψ₂(1) = −2ζ(3)", PolygammaF64(2, 1), -2 * 1.2020569031595942854},
		{"ψ₃(1) = π⁴/15", PolygammaF64(3, 1), math.Pow(math.Pi, 4) / 15},
		{"ψ₅(1) = 8π⁶/63", PolygammaF64(5, 1), 8 * math.Pow(math.Pi, 6) / 63},
	} {
		if e := relErr(c.got, c.want); e > 2e-15 {
			t.Errorf("%s: got %.17g, want %.17g (relative error %.2g)", c.name, c.got, c.want, e)
		}
	}
}

// logGrid is n points spaced evenly in log between lo and hi.
func logGrid(lo, hi float64, n int) []float64 {
	g := make([]float64, n)
	for i := range g {
		g[i] = lo * math.Pow(hi/lo, float64(i)/float64(n-1))
	}
	return g
}

// Recurrences hold across (1e-3, 1e3), also across the switch to the series.
func TestRecurrences(t *testing.T) {
	for _, x := range append(logGrid(1e-3, 1e3, 400), 9.5, 9.999999, 24.5, 24.9999) {
		if d := DigammaF64(x+1) - DigammaF64(x) - 1/x; math.Abs(d) > 4e-16*(math.Abs(DigammaF64(x))+1/x+1) {
			t.Errorf("ψ(%v+1) − ψ(%v) − 1/x = %.3g", x, x, d)
		}
		fact := 1.0
		for n := 1; n <= 4; n++ {
			fact *= float64(n)
			step := math.Pow(-1, float64(n)) * fact / math.Pow(x, float64(n+1))
			d := PolygammaF64(n, x+1) - PolygammaF64(n, x) - step
			if math.Abs(d) > 1e-14*math.Abs(PolygammaF64(n, x)) {
				t.Errorf("ψ%d(%v+1) − ψ%d(%v) − (−1)ⁿn!/xⁿ⁺¹ = %.3g (ψ%d = %.6g)", n, x, n, x, d, n, PolygammaF64(n, x))
			}
		}
	}
	// Reflection: ψ(1−x) − ψ(x) = π cot(πx).
	for _, x := range []float64{-3.7, -2.5, -1.001, -0.3, 0.3, 0.77, 2.2} {
		if d := DigammaF64(1-x) - DigammaF64(x) - math.Pi/math.Tan(math.Pi*x); math.Abs(d) > 1e-13*(1+math.Abs(DigammaF64(x))) {
			t.Errorf("reflection at %v: %.3g", x, d)
		}
	}
}

// richardson is the derivative of f at x by central differences with
// Richardson extrapolation (error O(h⁶)).
func richardson(f func(float64) float64, x, h float64) float64 {
	d := func(h float64) float64 { return (f(x+h) - f(x-h)) / (2 * h) }
	d1, d2, d3 := d(h), d(h/2), d(h/4)
	e1, e2 := (4*d2-d1)/3, (4*d3-d2)/3
	return (16*e2 - e1) / 15
}

// ψ matches finite differences of math.Lgamma, ψ₁ those of ψ, ψ₂ those of ψ₁.
func TestFiniteDifferences(t *testing.T) {
	for _, x := range append(logGrid(1e-3, 1e3, 120), -0.5, -1.7, -4.2) {
		h := 1e-2 * math.Min(math.Abs(x), 1)
		if fd, got := richardson(LnGammaF64, x, h), DigammaF64(x); math.Abs(fd-got) > 1e-9*(1+math.Abs(got)) {
			t.Errorf("ψ(%v) = %.15g, finite differences of math.Lgamma give %.15g", x, got, fd)
		}
		for n := 1; n <= 3; n++ {
			fd := richardson(func(v float64) float64 { return PolygammaF64(n-1, v) }, x, h)
			if got := PolygammaF64(n, x); math.Abs(fd-got) > 1e-8*(1+math.Abs(got)) {
				t.Errorf("ψ%d(%v) = %.15g, finite differences of ψ%d give %.15g", n, x, got, n-1, fd)
			}
		}
	}
}

func TestPolesAndSpecialValues(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	negZero := math.Copysign(0, -1)
	for _, c := range []struct {
		n         int
		x, want   float64
		wantIsNaN bool
	}{
		{0, 0, -inf, false}, {0, negZero, inf, false}, {0, -1, 0, true}, {0, -3, 0, true},
		{0, inf, inf, false}, {0, -inf, 0, true}, {0, nan, 0, true},
		{1, 0, inf, false}, {1, -2, inf, false}, {1, inf, 0, false},
		{2, 0, -inf, false}, {2, negZero, inf, false}, {2, -2, 0, true},
		{MaxOrder + 1, 1, 0, true}, {-1, 1, 0, true},
	} {
		got := PolygammaF64(c.n, c.x)
		if c.wantIsNaN != math.IsNaN(got) || (!c.wantIsNaN && got != c.want) {
			t.Errorf("ψ%d(%v) = %v, want %v (NaN: %t)", c.n, c.x, got, c.want, c.wantIsNaN)
		}
	}
}

func build(k int) gradcheck.Build {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		if k == orderLnGamma {
			return LnGamma(in[0])
		}
		return Polygamma(k, in[0])
	}
}

// The float32 operators round the float64 functions.
func TestOpsRoundFloat64(t *testing.T) {
	var xs []float32
	for _, x := range logGrid(1e-3, 1e3, 200) {
		xs = append(xs, float32(x))
	}
	xs = append(xs, -0.5, -2.25, -7.3)
	for k := orderLnGamma; k <= 3; k++ {
		out, err := gradcheck.Forward(build(k), []*tensor.Dense{optest.Dense(xs, len(xs))})
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range xs {
			if want := float32(eval(k, float64(x))); out.Data[i] != want {
				t.Errorf("%s(%v) = %v, want %v", orderName(k), x, out.Data[i], want)
			}
		}
	}
	// math.Lgamma directly, for the record.
	for _, x := range xs {
		lg, _ := math.Lgamma(float64(x))
		if float32(LnGammaF64(float64(x))) != float32(lg) {
			t.Errorf("LnGammaF64(%v) differs from math.Lgamma", x)
		}
	}
}

func TestGradients(t *testing.T) {
	for k := orderLnGamma; k <= 2; k++ {
		for si, shape := range [][]int{{5}, {2, 3, 4}} {
			t.Run(fmt.Sprintf("%s%v", orderName(k), shape), func(t *testing.T) {
				x := optest.Uniform(uint64(si+3*k+10), optest.Numel(shape), 0.6, 6)
				gradcheck.Check(t, build(k), []*tensor.Dense{optest.Dense(x, shape...)}, gradcheck.Options{MaxProbe: -1, Seed: uint64(si)})
			})
		}
	}
	// Negative non-integers, away from the poles.
	x := []float32{-0.5, -1.3, -2.6, -3.5}
	gradcheck.Check(t, build(0), []*tensor.Dense{optest.Dense(x, 4)}, gradcheck.Options{MaxProbe: -1})
	gradcheck.Check(t, build(orderLnGamma), []*tensor.Dense{optest.Dense(x, 4)}, gradcheck.Options{MaxProbe: -1})
}

// The gradient graphs are themselves differentiable: the gradient of ln Γ and
// of ψ is a fused operator f_{k+1}(x)·v whose own gradient (f_{k+2}(x)·v·dy
// in x, f_{k+1}(x)·dy in v) is checked here. (gorgonia cannot take a
// gradient of a graph that already holds a gradient of the same node: its
// Backpropagate re-adds the first gradient. So the fused operator is checked
// directly.)
func TestSecondOrder(t *testing.T) {
	for _, k := range []int{orderLnGamma, 0, 1} {
		t.Run(orderName(k), func(t *testing.T) {
			// d/dx Σ w ⊙ f(x), built by gorgonia.Grad.
			first := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				y, err := build(k)(g, in[:1])
				if err != nil {
					return nil, err
				}
				p, err := gorgonia.HadamardProd(y, in[1])
				if err != nil {
					return nil, err
				}
				s, err := gorgonia.Sum(p)
				if err != nil {
					return nil, err
				}
				grads, err := gorgonia.Grad(s, in[0])
				if err != nil {
					return nil, err
				}
				return grads[0], nil
			}
			x := optest.Uniform(5, 6, 0.7, 5)
			w := optest.Uniform(6, 6, -1, 1)
			inputs := []*tensor.Dense{optest.Dense(x, 6), optest.Dense(w, 6)}
			out, err := gradcheck.Forward(first, inputs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range x {
				if want := float32(eval(k+1, float64(x[i])) * float64(w[i])); math.Abs(float64(out.Data[i]-want)) > 1e-6*math.Abs(float64(want)) {
					t.Errorf("first derivative at %v: %v, want %v", x[i], out.Data[i], want)
				}
			}
			fused := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				return gorgonia.ApplyOp(&scaleOp{order: k + 1, rank: 1}, in[0], in[1])
			}
			gradcheck.Check(t, fused, inputs, gradcheck.Options{MaxProbe: -1})
		})
	}
}

func TestAgainstPyTorch(t *testing.T) {
	var xs []float32
	for _, x := range logGrid(1.001e-3, 999, 300) {
		xs = append(xs, float32(x))
	}
	xs = append(xs, -0.5, -1.25, -2.75, -7.3, -0.001)
	n := len(xs)
	dy := optest.Uniform(1, n, -1, 1)
	script := fmt.Sprintf(`x0 = load('x', %d)
dy = load('dy', %d)
for name, f in [('lgamma', torch.lgamma), ('digamma', torch.digamma), ('trigamma', lambda v: torch.polygamma(1, v))]:
    x = x0.clone().requires_grad_(True)
    y = f(x)
    save(name + '_y', y)
    if name != 'trigamma':
        y.backward(dy)
        save(name + '_dx', x.grad)
# float64 references
x64 = x0.double()
save('digamma64', torch.digamma(x64))
save('trigamma64', torch.polygamma(1, x64))
`, n, n)
	ref := optest.RunTorch(t, script, map[string][]float32{"x": xs, "dy": dy})
	for _, c := range []struct {
		torch string
		k     int
	}{{"lgamma", orderLnGamma}, {"digamma", 0}, {"trigamma", 1}} {
		t.Run(c.torch, func(t *testing.T) {
			y, grads := optest.RunGraph(t, build(c.k), []*tensor.Dense{optest.Dense(xs, n)}, dy)
			// PyTorch's float32 kernels are accurate to a few ulp (less near the
			// root of ψ at 1.46); ours round the float64 value.
			optest.AssertClose(t, c.torch, y, optest.MustGet(t, ref, c.torch+"_y", n), 2e-6, 2e-6)
			if c.torch != "trigamma" {
				optest.AssertClose(t, c.torch+" gradient", grads[0], optest.MustGet(t, ref, c.torch+"_dx", n), 2e-6, 2e-6)
			}
		})
	}
	// PyTorch's float64 digamma and trigamma (Cephes) agree with ours to near
	// float64 precision wherever both are well conditioned.
	d64, t64 := optest.MustGet(t, ref, "digamma64", n), optest.MustGet(t, ref, "trigamma64", n)
	for i, x := range xs {
		// The saved arrays are float32: compare the rounded values.
		if got := float32(DigammaF64(float64(x))); math.Abs(float64(got-d64[i])) > 1e-7*math.Max(1, math.Abs(float64(got))) {
			t.Errorf("ψ(%v) = %v, PyTorch float64 %v", x, got, d64[i])
		}
		if got := float32(TrigammaF64(float64(x))); math.Abs(float64(got-t64[i])) > 1e-7*math.Abs(float64(got)) {
			t.Errorf("ψ₁(%v) = %v, PyTorch float64 %v", x, got, t64[i])
		}
	}
}

func TestErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 1, gorgonia.WithShape(3), gorgonia.WithName("x"))
	x64 := gorgonia.NewTensor(g, tensor.Float64, 1, gorgonia.WithShape(3), gorgonia.WithName("x64"))
	for _, c := range []struct {
		want string
		f    func() (*gorgonia.Node, error)
	}{
		{"Polygamma: order 11 out of range 0..10", func() (*gorgonia.Node, error) { return Polygamma(11, x) }},
		{"Polygamma: order -1 out of range", func() (*gorgonia.Node, error) { return Polygamma(-1, x) }},
		{"LnGamma: input is float64, want float32", func() (*gorgonia.Node, error) { return LnGamma(x64) }},
		{"Digamma: input is nil", func() (*gorgonia.Node, error) { return Digamma(nil) }},
	} {
		_, err := c.f()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
	// The highest order has no gradient: Grad reports it instead of panicking.
	y, err := Polygamma(MaxOrder, x)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gorgonia.Sum(y)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gorgonia.Grad(s, x); err == nil {
		t.Errorf("the gradient of ψ⁽%d⁾ was built", MaxOrder)
	}
}
