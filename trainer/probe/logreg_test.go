package probe

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestLogRegSeparable(t *testing.T) {
	train := blobs(1, []int{60, 50, 40}, 5, 8)
	test := blobs(2, []int{30, 30, 30}, 5, 8)
	m, err := FitLogReg(train, LogRegConfig{L2: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Converged || m.GradNorm > 1e-6 {
		t.Errorf("not converged: %d iterations, gradient %g", m.Iterations, m.GradNorm)
	}
	for name, d := range map[string]Data{"train": train, "test": test} {
		pred, err := m.Predict(d.X, d.N)
		if err != nil {
			t.Fatal(err)
		}
		if acc := accuracy(pred, d.Labels); acc != 1 {
			t.Errorf("%s accuracy %v on separable blobs, want 1", name, acc)
		}
	}
	// The same data give the same model, bit for bit.
	m2, err := FitLogReg(train, LogRegConfig{L2: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.W, m2.W) || !reflect.DeepEqual(m.B, m2.B) {
		t.Error("two fits of the same data differ")
	}
}

// naiveGrad computes the objective and its gradient with plain loops,
// independently of lrObjective, on standardised rows xs.
func naiveGrad(xs []float64, y []int, n, d, k int, l2 float64, w, b []float64) (float64, []float64, []float64) {
	gw, gb := make([]float64, d*k), make([]float64, k)
	var f float64
	for i := 0; i < n; i++ {
		z := make([]float64, k)
		zmax := math.Inf(-1)
		for c := 0; c < k; c++ {
			z[c] = b[c]
			for j := 0; j < d; j++ {
				z[c] += xs[i*d+j] * w[j*k+c]
			}
			zmax = math.Max(zmax, z[c])
		}
		var s float64
		for c := range z {
			s += math.Exp(z[c] - zmax)
		}
		f += zmax + math.Log(s) - z[y[i]]
		for c := 0; c < k; c++ {
			p := math.Exp(z[c]-zmax) / s
			if c == y[i] {
				p--
			}
			gb[c] += p / float64(n)
			for j := 0; j < d; j++ {
				gw[j*k+c] += p * xs[i*d+j] / float64(n)
			}
		}
	}
	f /= float64(n)
	for i, v := range w {
		f += 0.5 * l2 * v * v
		gw[i] += l2 * v
	}
	return f, gw, gb
}

func TestLogRegGradientZeroAtOptimum(t *testing.T) {
	train := blobs(3, []int{40, 40, 40, 40}, 6, 1.5) // overlapping: a proper interior optimum
	const l2 = 0.01
	m, err := FitLogReg(train, LogRegConfig{L2: l2, Tol: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	xs, _ := m.Std.Apply(train.X, train.N)
	f, gw, gb := naiveGrad(xs, train.Labels, train.N, train.D, train.Classes, l2, m.W, m.B)
	if !near(f, m.Loss, 1e-12) {
		t.Errorf("objective %v, naive %v", m.Loss, f)
	}
	for _, g := range append(gw, gb...) {
		if math.Abs(g) > 1e-7 {
			t.Fatalf("gradient entry %g at the fitted optimum, want ≈ 0", g)
		}
	}
	// The package's gradient matches the naive one away from the optimum.
	rng := rand.New(rand.NewPCG(9, 9))
	theta := make([]float64, train.D*train.Classes+train.Classes)
	for i := range theta {
		theta[i] = rng.NormFloat64()
	}
	obj := newObjective(xs, train.Labels, train.N, train.D, train.Classes, l2)
	grad := make([]float64, len(theta))
	f1 := obj.eval(theta, grad)
	f2, gw2, gb2 := naiveGrad(xs, train.Labels, train.N, train.D, train.Classes, l2, theta[:train.D*train.Classes], theta[train.D*train.Classes:])
	if !near(f1, f2, 1e-10) {
		t.Errorf("objective %v, naive %v", f1, f2)
	}
	for i, g := range append(gw2, gb2...) {
		if !near(grad[i], g, 1e-10) {
			t.Fatalf("gradient %d: %v, naive %v", i, grad[i], g)
		}
	}
}

// A two-class multinomial fit on one feature equals binary logistic
// regression in the logit difference δ = w1 − w0 with penalty λ·δ²/4 (the
// minimum of λ/2·(w0² + w1²) given w1 − w0 = δ), solved here by Newton's
// method.
func TestLogRegMatchesNewtonOn1D(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var d Data
	d.D, d.Classes = 1, 2
	for i := 0; i < 200; i++ {
		y := i % 2
		d.X = append(d.X, float32(3+2*rng.NormFloat64()+1.5*float64(y)))
		d.Labels = append(d.Labels, y)
		d.N++
	}
	const l2 = 0.05
	m, err := FitLogReg(d, LogRegConfig{L2: l2, Tol: 1e-10})
	if err != nil {
		t.Fatal(err)
	}
	// Standardise by hand.
	var mean, sd float64
	for _, v := range d.X {
		mean += float64(v)
	}
	mean /= float64(d.N)
	for _, v := range d.X {
		sd += (float64(v) - mean) * (float64(v) - mean)
	}
	sd = math.Sqrt(sd / float64(d.N))
	xs := make([]float64, d.N)
	for i, v := range d.X {
		xs[i] = (float64(v) - mean) / sd
	}
	delta, beta := 0.0, 0.0
	for it := 0; it < 50; it++ {
		var g1, g2, h11, h12, h22 float64
		for i, x := range xs {
			p := 1 / (1 + math.Exp(-(delta*x + beta)))
			r := p - float64(d.Labels[i])
			g1 += r * x
			g2 += r
			h11 += p * (1 - p) * x * x
			h12 += p * (1 - p) * x
			h22 += p * (1 - p)
		}
		n := float64(d.N)
		g1, g2, h11, h12, h22 = g1/n+l2*delta/2, g2/n, h11/n+l2/2, h12/n, h22/n
		det := h11*h22 - h12*h12
		delta -= (h22*g1 - h12*g2) / det
		beta -= (h11*g2 - h12*g1) / det
	}
	if got := m.W[1] - m.W[0]; !near(got, delta, 1e-6) {
		t.Errorf("δ = %v, Newton %v", got, delta)
	}
	if got := m.B[1] - m.B[0]; !near(got, beta, 1e-6) {
		t.Errorf("β = %v, Newton %v", got, beta)
	}
	queries := []float32{-2, 0, 3, 4.5, 9}
	p, err := m.Proba(queries, len(queries))
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range queries {
		want := 1 / (1 + math.Exp(-(delta*(float64(q)-mean)/sd + beta)))
		if !near(float64(p[2*i+1]), want, 1e-6) {
			t.Errorf("P(1 | x=%v) = %v, Newton's fit gives %v", q, p[2*i+1], want)
		}
	}
}

func TestLogRegRefusesBadInput(t *testing.T) {
	good := blobs(1, []int{5, 5}, 2, 3)
	bad := []struct {
		name string
		edit func(*Data)
		cfg  LogRegConfig
		want string
	}{
		{"label", func(d *Data) { d.Labels[3] = 2 }, LogRegConfig{}, "outside [0, 2)"},
		{"nan", func(d *Data) { d.X[4] = float32(math.NaN()) }, LogRegConfig{}, "NaN"},
		{"size", func(d *Data) { d.X = d.X[:7] }, LogRegConfig{}, "feature values"},
		{"classes", func(d *Data) { d.Classes = 1 }, LogRegConfig{}, "need at least 2"},
		{"l2", func(*Data) {}, LogRegConfig{L2: -1}, "L2"},
	}
	for _, c := range bad {
		d := good.Rows([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
		c.edit(&d)
		if _, err := FitLogReg(d, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	m, err := FitLogReg(good, LogRegConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Proba(make([]float32, 5), 2); err == nil {
		t.Error("Proba accepted 5 values for 2 rows of 2 features")
	}
}
