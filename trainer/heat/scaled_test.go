package heat

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/noisemask"
	"github.com/pgaug/pgaug/trainer/optim"
)

// The scaled factor: S̄ starts at the first |S| (a multiplier of sign(S)),
// follows the EMA of |S| whatever S's sign, never divides by less than
// ScaledFloor, and Next leaves the running mean alone.
func TestScaledFactors(t *testing.T) {
	for _, s0 := range []float64{6.2, -4.5} {
		e, err := noisemask.NewEMA(0.9)
		if err != nil {
			t.Fatal(err)
		}
		sBar, scale, factor := scaledFactors(e, s0, 0.7)
		if sBar != math.Abs(s0) || scale != math.Copysign(1, s0) || factor != 0.7/math.Abs(s0) {
			t.Fatalf("first S = %v: S̄ %v, multiplier %v, factor %v; want %v, %v, %v", s0, sBar, scale, factor, math.Abs(s0), math.Copysign(1, s0), 0.7/math.Abs(s0))
		}
		if e.Started {
			t.Fatal("scaledFactors changed the running mean")
		}
		if _, err := e.Update(math.Abs(s0)); err != nil {
			t.Fatal(err)
		}
		// A batch of the other sign: S̄ still grows by |S|, the multiplier
		// takes S's sign.
		s1 := -2 * s0
		want := 0.9*math.Abs(s0) + 0.1*math.Abs(s1)
		sBar, scale, _ = scaledFactors(e, s1, 1)
		if math.Abs(sBar-want) > 1e-12 || math.Abs(scale-s1/want) > 1e-12 {
			t.Fatalf("S %v after %v: S̄ %v, multiplier %v; want %v, %v", s1, s0, sBar, scale, want, s1/want)
		}
	}
	// S near and at 0: the floor keeps every value finite and small.
	e, _ := noisemask.NewEMA(0.9)
	for _, s := range []float64{0, 1e-9, -1e-7, 0, 5e-4, -1e-300} {
		sBar, scale, factor := scaledFactors(e, s, 0.5)
		if math.IsNaN(scale) || math.IsInf(scale, 0) || math.IsNaN(factor) || math.IsInf(factor, 0) {
			t.Fatalf("S %v: multiplier %v, factor %v", s, scale, factor)
		}
		if sBar < ScaledFloor && (math.Abs(scale-s/ScaledFloor) > 1e-15 || factor != 0.5/ScaledFloor) {
			t.Fatalf("S %v below the floor (S̄ %v): multiplier %v, factor %v; want %v, %v", s, sBar, scale, factor, s/ScaledFloor, 0.5/ScaledFloor)
		}
		if math.Abs(scale) > 1 {
			t.Fatalf("S %v: multiplier %v beyond 1 in magnitude though S̄ ≥ |S| here", s, scale)
		}
		if _, err := e.Update(math.Abs(s)); err != nil {
			t.Fatal(err)
		}
	}
}

// One step of the scaled loss against the paper's from the same state: the
// same S and CE, S̄ = |S|, and both networks move by the paper's step
// divided by |S| (plain SGD, first step: momentum is the gradient); the
// second step folds |S| into S̄ with the baseline decay.
func TestScaledStepIsThePaperStepOverSBar(t *testing.T) {
	paper, scaled := newMethod(t, LossPaper, 3), newMethod(t, LossScaled, 3)
	w0c := paramsOf(t, scaled.Classifier)
	w0p := paramsOf(t, scaled.Policy)
	b := batch(rand.New(rand.NewPCG(1, 2)), 8)
	vp, err := paper.TrainStep(context.Background(), b, 1)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := scaled.TrainStep(context.Background(), b, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := vs["objective"]
	if vs["objective"] != vp["objective"] || vs["loss"] != vp["loss"] {
		t.Fatalf("scaled S %v, CE %v; paper %v, %v", vs["objective"], vs["loss"], vp["objective"], vp["loss"])
	}
	if vs["s_bar"] != math.Abs(s) || vs["classifier_grad_scale"] != math.Copysign(1, s) || vp["classifier_grad_scale"] != s {
		t.Fatalf("first step: S %v, S̄ %v, multiplier %v (paper's %v)", s, vs["s_bar"], vs["classifier_grad_scale"], vp["classifier_grad_scale"])
	}
	if d := math.Abs(vs["policy_loss"] - vp["policy_loss"]/math.Abs(s)); d > 1e-5*math.Abs(vs["policy_loss"]) {
		t.Fatalf("policy loss %v, want the paper's %v / |S| = %v", vs["policy_loss"], vp["policy_loss"], vp["policy_loss"]/math.Abs(s))
	}
	if d := math.Abs(vs["scaled_loss"] - math.Copysign(vs["loss"], s)); d > 1e-12 {
		t.Fatalf("scaled loss %v, want sign(S)·CE = %v", vs["scaled_loss"], math.Copysign(vs["loss"], s))
	}
	for _, nets := range []struct {
		name         string
		w0, pap, sca []float32
	}{
		{"classifier", w0c, paramsOf(t, paper.Classifier), paramsOf(t, scaled.Classifier)},
		{"policy", w0p, paramsOf(t, paper.Policy), paramsOf(t, scaled.Policy)},
	} {
		moved := 0
		for i := range nets.w0 {
			dp, ds := float64(nets.pap[i]-nets.w0[i]), float64(nets.sca[i]-nets.w0[i])
			if dp != 0 {
				moved++
			}
			if math.Abs(dp-math.Abs(s)*ds) > 1e-4*math.Abs(dp)+1e-6 {
				t.Fatalf("%s[%d]: the paper's step %v, the scaled one %v: ratio %v, want |S| = %v", nets.name, i, dp, ds, dp/ds, math.Abs(s))
			}
		}
		if moved == 0 {
			t.Fatalf("%s: no parameter moved", nets.name)
		}
	}
	v2, err := scaled.TrainStep(context.Background(), batch(rand.New(rand.NewPCG(3, 4)), 8), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.9*math.Abs(s) + 0.1*math.Abs(v2["objective"])
	if math.Abs(v2["s_bar"]-want) > 1e-12 || math.Abs(v2["classifier_grad_scale"]-v2["objective"]/want) > 1e-12 {
		t.Fatalf("second step: S̄ %v, multiplier %v; want %v, %v", v2["s_bar"], v2["classifier_grad_scale"], want, v2["objective"]/want)
	}
}

func paramsOf(t *testing.T, n *netstep.Net) []float32 {
	t.Helper()
	var out []float32
	for _, name := range []string{"cls.weight", "cls.bias", "pol.weight", "pol.bias"} {
		if p := n.Model.Param(name); p != nil {
			out = append(out, p.Value.Data().([]float32)...)
		}
	}
	if len(out) == 0 {
		t.Fatal("no parameters")
	}
	return out
}

// A negative log-density factor (a wide Gaussian noise: every density
// below 1/G²) gives the scaled loss a multiplier of −1 on the first step,
// and a run stays finite.
func TestScaledNegativeFactor(t *testing.T) {
	m := newMethodWith(t, LossScaled, 3, 0.3, func(c *Config, ds *noisemask.DatasetParams) {
		c.Noise, c.Bound = noisemask.Gaussian{}, 3
		for i := range ds.B {
			ds.A[i], ds.B[i] = 0.5, 2
		}
	})
	rng := rand.New(rand.NewPCG(1, 2))
	for step := 0; step < 20; step++ {
		vals, err := m.TrainStep(context.Background(), batch(rng, 8), 1)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 && (vals["objective"] >= 0 || vals["classifier_grad_scale"] != -1) {
			t.Fatalf("first step: S %v, multiplier %v; want S < 0 and −1", vals["objective"], vals["classifier_grad_scale"])
		}
		for k, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("step %d: %s = %v", step, k, v)
			}
		}
		if vals["s_bar"] <= 0 {
			t.Fatalf("step %d: S̄ %v", step, vals["s_bar"])
		}
	}
}

// L·tanh(x/L) in the graph equals the host's bound bit for bit, stays in
// [−L, L], and its gradient matches central finite differences.
func TestBoundNode(t *testing.T) {
	var xs []float32
	for v := -60.0; v <= 60; v += 0.173 {
		xs = append(xs, float32(v))
	}
	xs = append(xs, 0, 1e-8, -1e-8, 1e6, -1e6, math.MaxFloat32, -math.MaxFloat32)
	for _, l := range []float64{0.5, 1, 3, 7.25} {
		build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return boundNode(in[0], l) }
		out, err := gradcheck.Forward(build, []*tensor.Dense{tensor.New(tensor.WithShape(1, len(xs)), tensor.WithBacking(append([]float32(nil), xs...)))})
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range xs {
			h := bound(x, l)
			if out.Data[i] != h {
				t.Fatalf("L %v, x %v: graph %v, host %v", l, x, out.Data[i], h)
			}
			if !(math.Abs(float64(h)) <= float64(float32(l))) || (x > 0) != (h > 0) && x != 0 && math.Abs(float64(x)) > 1e-7 {
				t.Fatalf("L %v: bound(%v) = %v", l, x, h)
			}
		}
		if math.Abs(float64(bound(1e-3, l))-1e-3) > 1e-8 {
			t.Fatalf("L %v: bound(0.001) = %v, want ≈ 0.001 (the identity near 0)", l, bound(1e-3, l))
		}
		in := make([]float32, 24)
		rng := rand.New(rand.NewPCG(uint64(l*100), 1))
		for i := range in {
			in[i] = float32((rng.Float64()*2 - 1) * 2.5 * l)
		}
		gradcheck.Check(t, build, []*tensor.Dense{tensor.New(tensor.WithShape(4, 6), tensor.WithBacking(in))},
			gradcheck.Options{MaxProbe: -1, Eps: 1e-3 * l, Seed: 3})
	}
}

// With a bound, a policy whose raw outputs are far beyond it (weights of
// scale 20) still gives a_img, b_img and the mixed a, b in [−L, L], so α, β
// ∈ [e^−L, e^L]; New clamps the dataset-level parameters into the range.
// Without one (L = 0) the outputs pass unchanged.
func TestBoundRange(t *testing.T) {
	const l = 3
	m := newMethodWith(t, LossScaled, 3, 20, func(c *Config, ds *noisemask.DatasetParams) {
		c.Bound = l
		ds.A[0], ds.B[1] = 10, -7
	})
	if m.Dataset.A[0] != l || m.Dataset.B[1] != -l {
		t.Fatalf("the dataset-level parameters were not clamped: a %v, b %v", m.Dataset.A, m.Dataset.B)
	}
	x := tensor.New(tensor.WithShape(8, 1, side, side), tensor.WithBacking(batch(rand.New(rand.NewPCG(9, 9)), 8).X))
	n, err := m.SampleNoise(x, false)
	if err != nil {
		t.Fatal(err)
	}
	beyond := 0
	for i := range n.AImg {
		for _, v := range []float32{n.AImg[i], n.BImg[i], n.A[i], n.B[i]} {
			if !(v >= -l && v <= l) {
				t.Fatalf("a parameter %v outside [−%d, %d]", v, l, l)
			}
		}
		if math.Abs(float64(n.ARaw[i])) > 2*l {
			beyond++
		}
		if al := math.Exp(float64(n.A[i])); al < math.Exp(-l)*(1-1e-6) || al > math.Exp(l)*(1+1e-6) {
			t.Fatalf("α = %v outside [e^−3, e^3]", al)
		}
	}
	if beyond == 0 {
		t.Fatalf("no raw output beyond 2L: the test does not reach the bound (%v)", n.ARaw)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := 0; step < 10; step++ {
		vals, err := m.TrainStep(context.Background(), batch(rng, 8), 1)
		if err != nil {
			t.Fatal(err)
		}
		if vals["alpha_mean"] > math.Exp(l) || vals["a_img_mean"] > l || vals["a_dataset_mean"] > l || vals["b_dataset_mean"] < -l {
			t.Fatalf("step %d: out of range: %v", step, vals)
		}
	}
	u := newMethodWith(t, LossPaper, 3, 20, nil)
	nu, err := u.SampleNoise(x, false)
	if err != nil {
		t.Fatal(err)
	}
	o, err := u.Policy.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	raw := o.Data().([]float32)
	cells := grid * grid
	if nu.ARaw != nil || nu.BRaw != nil || nu.AImg[1] != raw[1] || nu.BImg[cells+1] != raw[3*cells+1] {
		t.Fatalf("unbounded: a_img %v, raw %v", nu.AImg, raw[:2*cells])
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		ds, _ := noisemask.NewDatasetParams(grid, 1)
		cfg := u.Cfg
		cfg.Bound = bad
		if _, err := New(cfg, u.Classifier, u.Policy, &optim.SGD{}, &optim.SGD{}, ds); err == nil {
			t.Fatalf("New accepted the bound %v", bad)
		}
	}
}

// A short heating run with the scaled loss and the default bound, a
// classifier rate of 0.5 and a policy rate of 0.5, stays finite, its
// multiplier bounded near 1 in magnitude and α, β in range.
func TestScaledRunStaysFinite(t *testing.T) {
	m := newMethodWith(t, LossScaled, 11, 0.3, func(c *Config, _ *noisemask.DatasetParams) {
		c.Bound, c.ClassifierLR, c.PolicyLR, c.TotalSteps = DefaultBound(LossScaled), 0.5, 0.5, 300
	})
	rng := rand.New(rand.NewPCG(5, 6))
	for step := 0; step < 300; step++ {
		vals, err := m.TrainStep(context.Background(), batch(rng, 8), 1)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for k, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("step %d: %s = %v", step, k, v)
			}
		}
		if s := math.Abs(vals["classifier_grad_scale"]); s > 1/(1-m.Cfg.BaselineDecay)+1e-9 {
			t.Fatalf("step %d: multiplier %v beyond 1/(1−decay)", step, vals["classifier_grad_scale"])
		}
		if vals["alpha_mean"] > math.Exp(3) || vals["beta_mean"] > math.Exp(3) || vals["alpha_mean"] < math.Exp(-3) {
			t.Fatalf("step %d: α mean %v, β mean %v", step, vals["alpha_mean"], vals["beta_mean"])
		}
	}
}

// TestRawFor checks that the bound maps RawFor's value back to the target,
// and that targets outside the bound are refused.
func TestRawFor(t *testing.T) {
	for _, l := range []float64{0, 1, 3, 5} {
		for _, target := range []float64{-2.7, -0.4, 0, 0.69, 2.48} {
			if l > 0 && math.Abs(target) >= l {
				if _, err := RawFor(target, l); err == nil || !strings.Contains(err.Error(), "outside the bound") {
					t.Errorf("RawFor(%v, %v): err = %v, want one saying it lies outside the bound", target, l, err)
				}
				continue
			}
			v, err := RawFor(target, l)
			if err != nil {
				t.Fatalf("RawFor(%v, %v): %v", target, l, err)
			}
			got := v
			if l > 0 {
				got = float64(bound(float32(v), l))
			}
			if math.Abs(got-target) > 1e-5 {
				t.Errorf("L %v: bound(RawFor(%v)) = %v", l, target, got)
			}
		}
	}
	if _, err := RawFor(math.NaN(), 3); err == nil {
		t.Error("RawFor(NaN): no error")
	}
}
