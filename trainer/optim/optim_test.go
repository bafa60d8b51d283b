package optim

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

// Hand-computed torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01) on
// w=[1,-2] with constant gradient g=[0.5,0.25]:
// step 1: d = g + 0.01w = [0.51, 0.23]; buf = d; w = [0.949, -2.023]
// step 2: d = [0.50949, 0.22977]; buf = 0.9·buf + d = [0.96849, 0.43677]; w = [0.852151, -2.066677]
func TestSGDMomentumByHand(t *testing.T) {
	w := []float32{1, -2}
	g := []float32{0.5, 0.25}
	o := &SGD{Momentum: 0.9, WeightDecay: 0.01}
	for i := 0; i < 2; i++ {
		if err := o.Step([]Param{{Name: "w", Value: w, Grad: g}}, 0.1); err != nil {
			t.Fatal(err)
		}
	}
	want := []float64{0.852151, -2.066677}
	for i := range w {
		if math.Abs(float64(w[i])-want[i]) > 1e-6 {
			t.Fatalf("w = %v, want %v", w, want)
		}
	}
}

// Nesterov: d ← d + μ·buf. Step 1 on w=1, g=1, lr 0.1, μ 0.5: buf = 1; d = 1.5; w = 0.85.
func TestSGDNesterovByHand(t *testing.T) {
	w := []float32{1}
	o := &SGD{Momentum: 0.5, Nesterov: true}
	if err := o.Step([]Param{{Name: "w", Value: w, Grad: []float32{1}}}, 0.1); err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(w[0])-0.85) > 1e-7 {
		t.Fatalf("w = %v, want 0.85", w[0])
	}
}

// Adam's first step moves every weight by lr·sign(g) (bias correction makes m̂/√v̂ = ±1).
func TestAdamFirstStepIsSignOfGradient(t *testing.T) {
	w := []float32{1, 1, 1}
	o := NewAdam(0)
	if err := o.Step([]Param{{Name: "w", Value: w, Grad: []float32{3, -0.01, 0}}}, 0.01); err != nil {
		t.Fatal(err)
	}
	want := []float64{0.99, 1.01, 1}
	for i := range w {
		if math.Abs(float64(w[i])-want[i]) > 1e-5 {
			t.Fatalf("w = %v, want %v", w, want)
		}
	}
}

// AdamW decays the weight before the Adam step: w=2, g=0, lr=0.1, wd=0.5 → 2·(1−0.05) = 1.9.
func TestAdamWDecoupledDecay(t *testing.T) {
	w := []float32{2}
	o := NewAdamW(0.5)
	if err := o.Step([]Param{{Name: "w", Value: w, Grad: []float32{0}}}, 0.1); err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(w[0])-1.9) > 1e-6 {
		t.Fatalf("w = %v, want 1.9", w[0])
	}
}

func TestStateRoundTripGivesTheSameTrajectory(t *testing.T) {
	run := func(o Optimizer, w []float32, steps int) {
		for i := 0; i < steps; i++ {
			g := []float32{w[0] - 0.5, w[1] * 2}
			o.Step([]Param{{Name: "w", Value: w, Grad: g}}, 0.05)
		}
	}
	for _, mk := range []func() Optimizer{func() Optimizer { return NewAdam(0.01) }, func() Optimizer { return &SGD{Momentum: 0.9} }} {
		a, wa := mk(), []float32{1, -1}
		run(a, wa, 6)
		b, wb := mk(), []float32{1, -1}
		run(b, wb, 3)
		s, n := b.State()
		c := mk()
		c.SetState(s, n)
		run(c, wb, 3)
		if wa[0] != wb[0] || wa[1] != wb[1] {
			t.Fatalf("resumed %v, uninterrupted %v", wb, wa)
		}
	}
}

func TestMismatchedGradientIsAnError(t *testing.T) {
	if err := (&SGD{}).Step([]Param{{Name: "w", Value: []float32{1, 2}, Grad: []float32{1}}}, 0.1); err == nil {
		t.Fatal("want an error")
	}
}

func TestClipGradNorm(t *testing.T) {
	ps := []Param{{Name: "a", Grad: []float32{3, 0}}, {Name: "b", Grad: []float32{4}}}
	if n := ClipGradNorm(ps, 10); n != 5 || ps[0].Grad[0] != 3 {
		t.Fatalf("under the limit: norm %v, grads %v", n, ps[0].Grad)
	}
	if n := ClipGradNorm(ps, 1); n != 5 {
		t.Fatalf("norm %v, want 5", n)
	}
	got := math.Hypot(float64(ps[0].Grad[0]), float64(ps[1].Grad[0]))
	if math.Abs(got-1) > 1e-5 || math.Abs(float64(ps[0].Grad[0])-0.6) > 1e-5 {
		t.Fatalf("clipped to norm %v, grads %v %v", got, ps[0].Grad, ps[1].Grad)
	}
}

// Adam updates large parameters in parallel chunks; the result is the
// sequential one, bit for bit.
func TestAdamParallelEqualsSequential(t *testing.T) {
	mk := func() []Param {
		var ps []Param
		for k, n := range []int{300000, 70000, 5} {
			p := Param{Name: fmt.Sprint("p", k), Value: make([]float32, n), Grad: make([]float32, n)}
			for i := range p.Value {
				p.Value[i] = float32(math.Sin(float64(i*(k+1)))) * 0.1
				p.Grad[i] = float32(math.Cos(float64(i*(k+3)))) * 0.01
			}
			ps = append(ps, p)
		}
		return ps
	}
	run := func(procs int) []Param {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		ps := mk()
		o := NewAdamW(0.01)
		for s := 0; s < 3; s++ {
			if err := o.Step(ps, 1e-3); err != nil {
				t.Fatal(err)
			}
		}
		return ps
	}
	a, b := run(1), run(4)
	for k := range a {
		for i := range a[k].Value {
			if a[k].Value[i] != b[k].Value[i] {
				t.Fatalf("param %d[%d]: sequential %v, parallel %v", k, i, a[k].Value[i], b[k].Value[i])
			}
		}
	}
}
