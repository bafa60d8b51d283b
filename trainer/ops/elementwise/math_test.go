package elementwise

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

var (
	nan32  = float32(math.NaN())
	inf32  = float32(math.Inf(1))
	negZ32 = float32(math.Copysign(0, -1))
)

// naiveN computes f over the broadcast of the operands with explicit
// multi-index arithmetic.
func naiveN(f func(v []float32) float32, ins ...*tensor.Dense) ([]float32, tensor.Shape) {
	var out tensor.Shape
	for i, in := range ins {
		s := in.Shape()
		if s.IsScalar() {
			s = tensor.Shape{}
		}
		if i == 0 {
			out = s.Clone()
			continue
		}
		var err error
		if out, err = BroadcastShape(out, s); err != nil {
			panic(err)
		}
	}
	res := make([]float32, numel(out))
	idx := make([]int, len(out))
	v := make([]float32, len(ins))
	for flat := range res {
		rem := flat
		for ax := len(out) - 1; ax >= 0; ax-- {
			idx[ax] = rem % out[ax]
			rem /= out[ax]
		}
		for i, in := range ins {
			s := in.Shape()
			if s.IsScalar() {
				s = tensor.Shape{}
			}
			off, stride := 0, 1
			for k := len(s) - 1; k >= 0; k-- {
				j := idx[len(out)-len(s)+k]
				if s[k] == 1 {
					j = 0
				}
				off += j * stride
				stride *= s[k]
			}
			v[i] = in.Float32s()[off]
		}
		res[flat] = f(v)
	}
	return res, out
}

func TestForRowsVisitsEveryElementOnce(t *testing.T) {
	for _, shapes := range [][]tensor.Shape{
		{{}, {}},
		{{5}, {1}},
		{{2, 3, 4}, {3, 1}, {4}},
		{{3, 1, 5}, {1, 4, 1}},
		{{2, 1, 3, 2}, {2, 4, 1, 1}, {1}},
	} {
		fr, err := newFrame(shapes...)
		if err != nil {
			t.Fatal(err)
		}
		ins := make([]*tensor.Dense, len(shapes))
		for i, s := range shapes {
			d := make([]float32, numel(s))
			for k := range d {
				d[k] = float32(k)
			}
			ins[i] = optest.Dense(d, s...)
		}
		ls := lastStrides(fr.out, fr.strides)
		rows := numRows(fr.out)
		// Any split of the rows (as ParallelFor makes) sees the same offsets.
		for split := 0; split <= rows; split++ {
			got := make([][]float32, len(shapes))
			for i := range got {
				got[i] = make([]float32, numel(fr.out))
			}
			seen := make([]int, numel(fr.out))
			visit := func(offs []int, offO, run int) {
				for k := 0; k < run; k++ {
					seen[offO+k]++
					for i := range shapes {
						got[i][offO+k] = float32(offs[i] + k*ls[i])
					}
				}
			}
			forRows(fr.out, fr.strides, 0, split, visit)
			forRows(fr.out, fr.strides, split, rows, visit)
			for k, c := range seen {
				if c != 1 {
					t.Fatalf("%v: element %d visited %d times", shapes, k, c)
				}
			}
			for i := range shapes {
				want, _ := naiveN(func(v []float32) float32 { return v[i] }, ins...)
				optest.AssertClose(t, fmt.Sprintf("%v operand %d offsets, split at %d", shapes, i, split), got[i], want, 0, 0)
			}
		}
	}
}

// ---------------------------------------------------------------------------------
// Pow

func powBuild(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
	return Pow(in[0], in[1])
}

func TestPowForwardMatchesNaiveBroadcast(t *testing.T) {
	for i, p := range shapePairs {
		a := optest.Dense(optest.Uniform(uint64(i), optest.Numel(p.a), 0.1, 3), p.a...)
		b := optest.Dense(optest.Uniform(uint64(i+50), optest.Numel(p.b), -3, 3), p.b...)
		got, err := gradcheck.Forward(powBuild, []*tensor.Dense{a, b})
		if err != nil {
			t.Fatal(err)
		}
		want, shape := naiveN(func(v []float32) float32 { return float32(math.Pow(float64(v[0]), float64(v[1]))) }, a, b)
		if !got.Shape.Eq(shape) {
			t.Fatalf("%v^%v: shape %v, want %v", p.a, p.b, got.Shape, shape)
		}
		optest.AssertClose(t, fmt.Sprintf("%v^%v", p.a, p.b), got.Data, want, 0, 0)
	}
}

// The values ONNX's reference (NumPy) and C's pow give at the special points.
func TestPowSpecialValues(t *testing.T) {
	cases := []struct{ a, b, want float32 }{
		{0, 0, 1}, {nan32, 0, 1}, {1, nan32, 1}, {-2, 3, -8}, {-2, 2, 4}, {-2, 0.5, nan32},
		{0, -1, inf32}, {negZ32, -1, -inf32}, {0, 2, 0}, {4, 0.5, 2}, {2, -2, 0.25}, {inf32, -1, 0},
		{3, 2, 9}, {1.5, 2, 2.25},
	}
	a, b := make([]float32, len(cases)), make([]float32, len(cases))
	want := make([]float32, len(cases))
	for i, c := range cases {
		a[i], b[i], want[i] = c.a, c.b, c.want
	}
	got, err := gradcheck.Forward(powBuild, []*tensor.Dense{optest.Dense(a, len(a)), optest.Dense(b, len(b))})
	if err != nil {
		t.Fatal(err)
	}
	optest.AssertClose(t, "Pow at special points", got.Data, want, 0, 0)
}

func TestPowGradients(t *testing.T) {
	for i, p := range shapePairs {
		t.Run(fmt.Sprintf("%v^%v", p.a, p.b), func(t *testing.T) {
			a := optest.Dense(optest.Uniform(uint64(i), optest.Numel(p.a), 0.3, 2.5), p.a...)
			b := optest.Dense(optest.Uniform(uint64(i+50), optest.Numel(p.b), -2, 3), p.b...)
			gradcheck.Check(t, powBuild, []*tensor.Dense{a, b}, gradcheck.Options{Seed: uint64(i), MaxProbe: -1})
		})
	}
	// A negative base with integer exponents: differentiable in the base
	// (the exponent's gradient, ln of a negative number, is NaN).
	a := optest.Dense([]float32{-1.7, -0.6, -2.2, 1.3, -1.1, 0.8}, 2, 3)
	b := optest.Dense([]float32{2, 3, -1}, 3)
	gradcheck.Check(t, powBuild, []*tensor.Dense{a, b}, gradcheck.Options{MaxProbe: -1, WRT: []int{0}})
	// A scalar exponent (x², x^0.5) and a scalar base (2^x).
	gradcheck.Check(t, powBuild, []*tensor.Dense{optest.Dense(optest.Uniform(3, 6, -2, 2), 2, 3), optest.Dense([]float32{2})},
		gradcheck.Options{MaxProbe: -1})
	gradcheck.Check(t, powBuild, []*tensor.Dense{optest.Dense(optest.Uniform(4, 6, 0.5, 2), 6), optest.Dense([]float32{0.5})},
		gradcheck.Options{MaxProbe: -1})
	gradcheck.Check(t, powBuild, []*tensor.Dense{optest.Dense([]float32{2}), optest.Dense(optest.Uniform(5, 6, -2, 2), 3, 2)},
		gradcheck.Options{MaxProbe: -1})
}

// At a = 0 the gradients take PyTorch's values, which finite differences
// cannot check (one side of 0 is NaN for non-integer exponents).
func TestPowGradientAtZeroBase(t *testing.T) {
	a := []float32{0, 0, 0, 0, 0, 0}
	b := []float32{0, 1, 2, 0.5, -1, 3}
	dy := []float32{1, 1, 1, 1, 1, 1}
	_, grads := optest.RunGraph(t, powBuild, []*tensor.Dense{optest.Dense(a, 6), optest.Dense(b, 6)}, dy)
	// ∂/∂a = b·0^(b−1) (0 where b = 0); ∂/∂b = 0 where b ≥ 0, 0^b·ln 0 = Inf·-Inf otherwise.
	optest.AssertClose(t, "∂/∂a at a = 0", grads[0], []float32{0, 1, 0, inf32, -inf32, 0}, 0, 0)
	optest.AssertClose(t, "∂/∂b at a = 0", grads[1], []float32{0, 0, 0, 0, -inf32, 0}, 0, 0)
}

func TestPowScalars(t *testing.T) {
	g := gorgonia.NewGraph()
	a := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("a"), gorgonia.WithValue(float32(3)))
	b := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("b"), gorgonia.WithValue(float32(2)))
	y, err := Pow(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !y.Shape().IsScalar() {
		t.Fatalf("Pow of scalars has shape %v", y.Shape())
	}
	s, err := gorgonia.Grad(y, a, b)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if v, ok := y.Value().(*gorgonia.F32); !ok || *v != 9 {
		t.Errorf("3² = %v (%T)", y.Value(), y.Value())
	}
	if v := s[0].Value().Data().(float32); v != 6 {
		t.Errorf("∂3^b/∂a = %v, want 6", v)
	}
	if v, want := s[1].Value().Data().(float32), float32(9*math.Log(3)); math.Abs(float64(v-want)) > 1e-6 {
		t.Errorf("∂a^2/∂b = %v, want %v", v, want)
	}
}

// ---------------------------------------------------------------------------------
// Min, Max

func extremumBuild(isMax bool) gradcheck.Build {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		if isMax {
			return Max(in...)
		}
		return Min(in...)
	}
}

var extremumShapes = [][][]int{
	{{2, 3, 4}, {2, 3, 4}},
	{{2, 3, 4, 5}, {1, 3, 1, 1}},
	{{4}, {2, 3, 4}},
	{{3, 1, 5}, {1, 4, 1}, {5}},
	{{2, 3}, {1}, {2, 1}, {3}},
}

func naiveExtremum(isMax bool) func(v []float32) float32 {
	return func(v []float32) float32 {
		m := v[0]
		for _, x := range v[1:] {
			if math.IsNaN(float64(x)) || math.IsNaN(float64(m)) {
				m = nan32
			} else if isMax {
				m = float32(math.Max(float64(m), float64(x)))
			} else {
				m = float32(math.Min(float64(m), float64(x)))
			}
		}
		return m
	}
}

func TestMinMaxForwardMatchesNaive(t *testing.T) {
	for _, isMax := range []bool{true, false} {
		for i, shapes := range extremumShapes {
			ins := make([]*tensor.Dense, len(shapes))
			for k, s := range shapes {
				d := optest.Uniform(uint64(10*i+k), optest.Numel(s), -2, 2)
				if k == 1 {
					d[0] = nan32 // NaN propagates
				}
				ins[k] = optest.Dense(d, s...)
			}
			got, err := gradcheck.Forward(extremumBuild(isMax), ins)
			if err != nil {
				t.Fatal(err)
			}
			want, shape := naiveN(naiveExtremum(isMax), ins...)
			if !got.Shape.Eq(shape) {
				t.Fatalf("%s%v: shape %v, want %v", extremumName(isMax), shapes, got.Shape, shape)
			}
			optest.AssertClose(t, fmt.Sprintf("%s%v", extremumName(isMax), shapes), got.Data, want, 0, 0)
		}
	}
}

// gridValues returns n values on a grid of step 0.25 in [-2, 2], shifted by
// shift: operands with different shifts (multiples of 0.025) never come
// within a finite-difference step (1e-2) of each other, and with equal
// shifts they tie exactly or lie 0.25 apart.
func gridValues(seed uint64, n int, shift float32) []float32 {
	d := optest.Uniform(seed, n, -2, 2)
	for i, v := range d {
		d[i] = float32(math.Round(float64(v)*4)/4) + shift
	}
	return d
}

// withTies returns a copy of b equal to a at every third element.
func withTies(a, b []float32) []float32 {
	out := append([]float32(nil), b...)
	for k := 0; k < len(out); k += 3 {
		out[k] = a[k]
	}
	return out
}

func TestMinMaxGradients(t *testing.T) {
	for _, isMax := range []bool{true, false} {
		for i, shapes := range extremumShapes {
			t.Run(fmt.Sprintf("%s%v", extremumName(isMax), shapes), func(t *testing.T) {
				ins := make([]*tensor.Dense, len(shapes))
				for k, s := range shapes {
					ins[k] = optest.Dense(gridValues(uint64(10*i+k), optest.Numel(s), 0.025*float32(k)), s...)
				}
				gradcheck.Check(t, extremumBuild(isMax), ins, gradcheck.Options{Seed: uint64(i), MaxProbe: -1})
			})
		}
		// Two-way ties (and no three-way ones: there the central difference
		// is 1/2, the convention 1/3): split evenly.
		t.Run(extremumName(isMax)+" ties", func(t *testing.T) {
			a := gridValues(1, 40, 0)
			b := withTies(a, gridValues(2, 40, 0))
			gradcheck.Check(t, extremumBuild(isMax), []*tensor.Dense{optest.Dense(a, 5, 8), optest.Dense(b, 5, 8)},
				gradcheck.Options{MaxProbe: -1, Eps: 1e-2})
		})
	}
}

// Ties among several operands share the gradient evenly; a NaN maximum
// sends it to the NaN operands; the shares always sum to dy.
func TestMinMaxTieShares(t *testing.T) {
	a := []float32{1, 1, 1, nan32, nan32, 2}
	b := []float32{1, 1, 0, 1, nan32, 2}
	c := []float32{1, 0, 0, 0, 0, 2}
	dy := []float32{6, 6, 6, 6, 6, 6}
	ins := []*tensor.Dense{optest.Dense(a, 6), optest.Dense(b, 6), optest.Dense(c, 6)}
	y, grads := optest.RunGraph(t, extremumBuild(true), ins, dy)
	optest.AssertClose(t, "Max", y, []float32{1, 1, 1, nan32, nan32, 2}, 0, 0)
	optest.AssertClose(t, "∂/∂a", grads[0], []float32{2, 3, 6, 6, 3, 2}, 0, 0)
	optest.AssertClose(t, "∂/∂b", grads[1], []float32{2, 3, 0, 0, 3, 2}, 0, 0)
	optest.AssertClose(t, "∂/∂c", grads[2], []float32{2, 0, 0, 0, 0, 2}, 0, 0)
	// A broadcast operand collects the shares of every element it covers.
	x := optest.Dense([]float32{1, 2, 0, 1}, 4)
	s := optest.Dense([]float32{1}, 1)
	_, grads = optest.RunGraph(t, extremumBuild(false), []*tensor.Dense{x, s}, []float32{1, 1, 1, 1})
	optest.AssertClose(t, "Min ∂/∂x", grads[0], []float32{0.5, 0, 1, 0.5}, 0, 0)
	optest.AssertClose(t, "Min ∂/∂s", grads[1], []float32{0.5 + 1 + 0.5}, 0, 0)
}

func TestMinMaxOneInputIsTheInput(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(2, 3), gorgonia.WithName("x"))
	for _, f := range []func(...*gorgonia.Node) (*gorgonia.Node, error){Max, Min} {
		y, err := f(x)
		if err != nil || y != x {
			t.Errorf("one operand: %v, %v", y, err)
		}
	}
}

// ---------------------------------------------------------------------------------
// Abs, Erf

func TestAbsErfForward(t *testing.T) {
	x := []float32{0, negZ32, 1.5, -2, nan32, inf32, -inf32, 0.5, -3, 7}
	for _, c := range []struct {
		f    func(*gorgonia.Node) (*gorgonia.Node, error)
		name string
		ref  func(float64) float64
	}{{Abs, "Abs", math.Abs}, {Erf, "Erf", math.Erf}} {
		got, err := gradcheck.Forward(func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return c.f(in[0]) },
			[]*tensor.Dense{optest.Dense(x, 2, 5)})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range x {
			want := float32(c.ref(float64(v)))
			if got.Data[i] != want && !(want != want && got.Data[i] != got.Data[i]) {
				t.Errorf("%s(%v) = %v, want %v", c.name, v, got.Data[i], want)
			}
			if c.name == "Abs" && math.Signbit(float64(got.Data[i])) && !math.IsNaN(float64(v)) {
				t.Errorf("Abs(%v) = %v has the sign bit set", v, got.Data[i])
			}
		}
	}
}

func TestAbsErfGradients(t *testing.T) {
	// Abs: away from 0, and at 0 itself, where the central difference is
	// the convention's 0.
	x := optest.Uniform(1, 24, -2, 2)
	for i := range x {
		if math.Abs(float64(x[i])) < 0.05 {
			x[i] = 0.3
		}
	}
	x[0], x[7] = 0, 0
	gradcheck.Check(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return Abs(in[0]) },
		[]*tensor.Dense{optest.Dense(x, 2, 3, 4)}, gradcheck.Options{MaxProbe: -1})
	gradcheck.Check(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return Erf(in[0]) },
		[]*tensor.Dense{optest.Dense(optest.Uniform(2, 24, -3, 3), 4, 6)}, gradcheck.Options{MaxProbe: -1})
	// Scalars, where gorgonia's Abs gives 1 at 0.
	for _, v := range []float32{0, -1.5, 2} {
		_, grads := optest.RunGraph(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return Abs(in[0]) },
			[]*tensor.Dense{optest.Dense([]float32{v})}, []float32{1})
		want := float32(0)
		if v > 0 {
			want = 1
		} else if v < 0 {
			want = -1
		}
		if grads[0][0] != want {
			t.Errorf("Abs'(%v) on a scalar = %v, want %v", v, grads[0][0], want)
		}
	}
}

// ---------------------------------------------------------------------------------
// PyTorch

func TestMathAgainstPyTorch(t *testing.T) {
	const n = 64
	// Pow: positive bases, then the edges at 0 and negative bases with
	// integer exponents.
	pa := append(optest.Uniform(1, n, 0.05, 3), 0, 0, 0, 0, 0, -2, -1.5, -0.5, -3, 2, nan32, 1)
	pb := append(optest.Uniform(2, n, -3, 3), 0, 1, 2, 0.5, -1, 2, 3, -2, 0.5, nan32, 0, nan32)
	m := len(pa)
	// Min/Max: values on a grid, with ties; no NaN (see TestMinMaxTieShares).
	ma := gridValues(3, m, 0)
	mb := withTies(ma, gridValues(4, m, 0))
	// Abs and Erf: with zeros and infinities.
	ux := append(optest.Uniform(5, n, -4, 4), 0, negZ32, inf32, -inf32, 10, -10, 1e-3, -1e-3, 0.5, -0.5, 3, -3)
	dy := optest.Uniform(6, m, -1, 1)
	script := fmt.Sprintf(`n = %d
dy = load('dy', n)
def run(name, f, *names):
    xs = [load(v, n).requires_grad_(True) for v in names]
    y = f(*xs)
    y.backward(dy)
    save(name + '_y', y)
    for i, x in enumerate(xs):
        save('%%s_d%%d' %% (name, i), x.grad)
run('pow', torch.pow, 'pa', 'pb')
run('max', torch.maximum, 'ma', 'mb')
run('min', torch.minimum, 'ma', 'mb')
run('abs', torch.abs, 'ux')
run('erf', torch.erf, 'ux')
`, m)
	ref := optest.RunTorch(t, script, map[string][]float32{"pa": pa, "pb": pb, "ma": ma, "mb": mb, "ux": ux, "dy": dy})
	for _, c := range []struct {
		name string
		ins  [][]float32
		f    gradcheck.Build
		tol  float64
	}{
		{"pow", [][]float32{pa, pb}, powBuild, 2e-6},
		{"max", [][]float32{ma, mb}, extremumBuild(true), 0},
		{"min", [][]float32{ma, mb}, extremumBuild(false), 0},
		{"abs", [][]float32{ux}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return Abs(in[0]) }, 0},
		{"erf", [][]float32{ux}, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return Erf(in[0]) }, 2e-7},
	} {
		t.Run(c.name, func(t *testing.T) {
			ins := make([]*tensor.Dense, len(c.ins))
			for i, d := range c.ins {
				ins[i] = optest.Dense(d, m)
			}
			y, grads := optest.RunGraph(t, c.f, ins, dy)
			optest.AssertClose(t, c.name, y, optest.MustGet(t, ref, c.name+"_y", m), c.tol, c.tol)
			for i := range ins {
				want := optest.MustGet(t, ref, fmt.Sprintf("%s_d%d", c.name, i), m)
				optest.AssertClose(t, fmt.Sprintf("%s gradient %d", c.name, i), grads[i], want, c.tol, 4*c.tol)
			}
		})
	}
}

// ---------------------------------------------------------------------------------
// plumbing

func TestMathUsePreallocDo(t *testing.T) {
	a := optest.Dense(optest.Uniform(1, 24, 0.5, 2), 2, 3, 4)
	b := optest.Dense(optest.Uniform(2, 12, -1, 1), 3, 4)
	c := optest.Dense(optest.Uniform(3, 24, -1, 1), 2, 3, 4)
	dy := optest.Dense(optest.Uniform(4, 24, -1, 1), 2, 3, 4)
	fr, err := newFrame(a.Shape(), b.Shape())
	if err != nil {
		t.Fatal(err)
	}
	optest.CheckPrealloc(t, &powOp{fr: fr}, a, b)
	optest.CheckPrealloc(t, &powGradOp{fr: fr, wrt: 0}, a, b, dy)
	optest.CheckPrealloc(t, &powGradOp{fr: fr, wrt: 1}, a, b, dy)
	fr3, err := newFrame(a.Shape(), b.Shape(), c.Shape())
	if err != nil {
		t.Fatal(err)
	}
	for _, isMax := range []bool{true, false} {
		optest.CheckPrealloc(t, &extremumOp{isMax: isMax, fr: fr3}, a, b, c)
		for wrt := 0; wrt < 3; wrt++ {
			optest.CheckPrealloc(t, &extremumGradOp{isMax: isMax, fr: fr3, wrt: wrt}, a, b, c, dy)
		}
	}
	for _, k := range []unaryKind{kindAbs, kindErf} {
		optest.CheckPrealloc(t, &unaryOp{kind: k, rank: 3}, c)
		optest.CheckPrealloc(t, &unaryGradOp{kind: k, rank: 3}, c, dy)
	}
}

// Large tensors take the parallel path; it computes what the serial one does.
func TestMathParallelMatchesNaive(t *testing.T) {
	shape := []int{8, 64, 65}
	n := optest.Numel(shape)
	a := optest.Dense(optest.Uniform(1, n, 0.5, 2), shape...)
	b := optest.Dense(optest.Uniform(2, 65, -2, 2), 65)
	got, err := gradcheck.Forward(powBuild, []*tensor.Dense{a, b})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := naiveN(func(v []float32) float32 { return float32(math.Pow(float64(v[0]), float64(v[1]))) }, a, b)
	optest.AssertClose(t, "Pow", got.Data, want, 0, 0)
	got, err = gradcheck.Forward(extremumBuild(true), []*tensor.Dense{a, b})
	if err != nil {
		t.Fatal(err)
	}
	want, _ = naiveN(naiveExtremum(true), a, b)
	optest.AssertClose(t, "Max", got.Data, want, 0, 0)
}

func TestMathErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	a := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(2, 3), gorgonia.WithName("a"))
	b := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(2, 4), gorgonia.WithName("b"))
	d := gorgonia.NewTensor(g, tensor.Float64, 2, gorgonia.WithShape(2, 3), gorgonia.WithName("d"))
	for _, c := range []struct {
		want string
		f    func() (*gorgonia.Node, error)
	}{
		{"Pow: shapes (2, 3) and (2, 4) do not broadcast", func() (*gorgonia.Node, error) { return Pow(a, b) }},
		{"Pow: exponent is float64", func() (*gorgonia.Node, error) { return Pow(a, d) }},
		{"Max: shapes (2, 3) and (2, 4) do not broadcast", func() (*gorgonia.Node, error) { return Max(a, a, b) }},
		{"Min needs at least one input", func() (*gorgonia.Node, error) { return Min() }},
		{"Min: input 1 is float64", func() (*gorgonia.Node, error) { return Min(a, d) }},
		{"Abs: input is nil", func() (*gorgonia.Node, error) { return Abs(nil) }},
		{"Erf: input is float64", func() (*gorgonia.Node, error) { return Erf(d) }},
	} {
		_, err := c.f()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}
