package probe

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/optimize"
)

// LogRegConfig configures FitLogReg. The objective is the mean
// cross-entropy of the training rows plus (L2/2)·‖W‖² (the biases are not
// penalised), on standardised features.
type LogRegConfig struct {
	// L2 is the penalty λ; 0 means 1/N, which is scikit-learn's
	// LogisticRegression default (C = 1) in this mean-loss scale.
	L2 float64 `json:"l2"`
	// MaxIter bounds the L-BFGS iterations (0: 1000).
	MaxIter int `json:"max_iter"`
	// Tol stops the fit when the largest gradient entry falls below it
	// (0: 1e-6).
	Tol float64 `json:"tol"`
}

func (c LogRegConfig) withDefaults(n int) (LogRegConfig, error) {
	if c.L2 < 0 || math.IsNaN(c.L2) || math.IsInf(c.L2, 0) {
		return c, fmt.Errorf("probe: logistic regression L2 = %v, want >= 0 (0: 1/N)", c.L2)
	}
	if c.MaxIter < 0 || c.Tol < 0 || math.IsNaN(c.Tol) {
		return c, fmt.Errorf("probe: logistic regression max iterations %d, tolerance %v: want both >= 0", c.MaxIter, c.Tol)
	}
	if c.L2 == 0 {
		c.L2 = 1 / float64(n)
	}
	if c.MaxIter == 0 {
		c.MaxIter = 1000
	}
	if c.Tol == 0 {
		c.Tol = 1e-6
	}
	return c, nil
}

// LogReg is a fitted multinomial logistic regression.
type LogReg struct {
	Std     Standardizer `json:"standardizer"`
	D       int          `json:"features"`
	Classes int          `json:"classes"`
	// W is D×Classes, row-major; B has one bias per class. They apply to
	// standardised features.
	W []float64 `json:"w"`
	B []float64 `json:"b"`
	// L2 is the penalty used; Loss the final objective; GradNorm the largest
	// gradient entry at the returned weights; Converged whether the fit met
	// the tolerance or stopped improving (rather than hitting MaxIter or a
	// line-search failure).
	L2         float64 `json:"l2"`
	Loss       float64 `json:"loss"`
	GradNorm   float64 `json:"grad_norm"`
	Iterations int     `json:"iterations"`
	Converged  bool    `json:"converged"`
}

// lrObjective evaluates the logistic-regression objective on standardised
// rows xs (n×d) with labels y.
type lrObjective struct {
	xs      []float64
	y       []int
	n, d, k int
	l2      float64
	z       []float64 // n×k scratch
	lastX   []float64
	lastF   float64
	lastG   []float64
}

func newObjective(xs []float64, y []int, n, d, k int, l2 float64) *lrObjective {
	return &lrObjective{xs: xs, y: y, n: n, d: d, k: k, l2: l2, z: make([]float64, n*k)}
}

// eval returns the objective at theta (W d×k then b k) and writes its
// gradient into grad (when not nil).
func (o *lrObjective) eval(theta, grad []float64) float64 {
	n, d, k := o.n, o.d, o.k
	w, b := theta[:d*k], theta[d*k:]
	for i := 0; i < n; i++ {
		copy(o.z[i*k:(i+1)*k], b)
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1,
		blas64.General{Rows: n, Cols: d, Stride: d, Data: o.xs},
		blas64.General{Rows: d, Cols: k, Stride: k, Data: w},
		1, blas64.General{Rows: n, Cols: k, Stride: k, Data: o.z})
	var loss float64
	for i := 0; i < n; i++ {
		row := o.z[i*k : (i+1)*k]
		zy := row[o.y[i]]
		loss += softmaxRow(row) - zy
		row[o.y[i]] -= 1 // row now holds P − Y
	}
	var pen float64
	for _, v := range w {
		pen += v * v
	}
	f := loss/float64(n) + 0.5*o.l2*pen
	if grad != nil {
		gw, gb := grad[:d*k], grad[d*k:]
		copy(gw, w)
		blas64.Gemm(blas.Trans, blas.NoTrans, 1/float64(n),
			blas64.General{Rows: n, Cols: d, Stride: d, Data: o.xs},
			blas64.General{Rows: n, Cols: k, Stride: k, Data: o.z},
			o.l2, blas64.General{Rows: d, Cols: k, Stride: k, Data: gw})
		clear(gb)
		for i := 0; i < n; i++ {
			for c, v := range o.z[i*k : (i+1)*k] {
				gb[c] += v / float64(n)
			}
		}
	}
	return f
}

// cached evaluates at theta once for both Func and Grad (L-BFGS asks for
// them separately at the same point).
func (o *lrObjective) cached(theta []float64) (float64, []float64) {
	if o.lastX != nil && equal(o.lastX, theta) {
		return o.lastF, o.lastG
	}
	if o.lastG == nil {
		o.lastG = make([]float64, len(theta))
		o.lastX = make([]float64, len(theta))
	}
	o.lastF = o.eval(theta, o.lastG)
	copy(o.lastX, theta)
	return o.lastF, o.lastG
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// FitLogReg fits multinomial logistic regression to train by L-BFGS,
// starting from zero weights: the same data and configuration give the same
// model, bit for bit.
func FitLogReg(train Data, cfg LogRegConfig) (*LogReg, error) {
	if err := train.Validate(); err != nil {
		return nil, fmt.Errorf("logistic regression: training features: %w", err)
	}
	cfg, err := cfg.withDefaults(train.N)
	if err != nil {
		return nil, err
	}
	std := FitStandardizer(train)
	xs, err := std.Apply(train.X, train.N)
	if err != nil {
		return nil, err
	}
	d, k := train.D, train.Classes
	obj := newObjective(xs, train.Labels, train.N, d, k, cfg.L2)
	p := optimize.Problem{
		Func: func(x []float64) float64 { f, _ := obj.cached(x); return f },
		Grad: func(g, x []float64) { _, gx := obj.cached(x); copy(g, gx) },
	}
	settings := &optimize.Settings{
		GradientThreshold: cfg.Tol,
		MajorIterations:   cfg.MaxIter,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-13, Iterations: 20},
	}
	theta0 := make([]float64, d*k+k)
	res, err := optimize.Minimize(p, theta0, settings, &optimize.LBFGS{GradStopThreshold: math.NaN()})
	if res == nil || len(res.X) != len(theta0) {
		return nil, fmt.Errorf("probe: logistic regression on %d rows × %d features: L-BFGS failed: %v", train.N, d, err)
	}
	theta := res.X
	for _, v := range theta {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("probe: logistic regression on %d rows × %d features diverged (non-finite weights; L-BFGS: %v)", train.N, d, err)
		}
	}
	grad := make([]float64, len(theta))
	f := obj.eval(theta, grad)
	var gmax float64
	for _, g := range grad {
		gmax = math.Max(gmax, math.Abs(g))
	}
	m := &LogReg{
		Std: std, D: d, Classes: k,
		W: append([]float64(nil), theta[:d*k]...), B: append([]float64(nil), theta[d*k:]...),
		L2: cfg.L2, Loss: f, GradNorm: gmax, Iterations: res.MajorIterations,
		Converged: err == nil && (res.Status == optimize.GradientThreshold || res.Status == optimize.FunctionConvergence) || gmax <= cfg.Tol,
	}
	return m, nil
}

// Logits returns the n×Classes scores of the n rows of x (raw features).
func (m *LogReg) Logits(x []float32, n int) ([]float64, error) {
	xs, err := m.Std.Apply(x, n)
	if err != nil {
		return nil, fmt.Errorf("logistic regression with %d features: %w", m.D, err)
	}
	z := make([]float64, n*m.Classes)
	for i := 0; i < n; i++ {
		copy(z[i*m.Classes:(i+1)*m.Classes], m.B)
	}
	if n > 0 {
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1,
			blas64.General{Rows: n, Cols: m.D, Stride: m.D, Data: xs},
			blas64.General{Rows: m.D, Cols: m.Classes, Stride: m.Classes, Data: m.W},
			1, blas64.General{Rows: n, Cols: m.Classes, Stride: m.Classes, Data: z})
	}
	return z, nil
}

// Proba returns the n×Classes class probabilities of the n rows of x.
func (m *LogReg) Proba(x []float32, n int) ([]float32, error) {
	z, err := m.Logits(x, n)
	if err != nil {
		return nil, err
	}
	return probs32(z, n, m.Classes), nil
}

// Predict returns the most probable class of each of the n rows of x.
func (m *LogReg) Predict(x []float32, n int) ([]int, error) {
	z, err := m.Logits(x, n)
	if err != nil {
		return nil, err
	}
	return argmaxRows(z, n, m.Classes), nil
}

func probs32(z []float64, n, k int) []float32 {
	p := make([]float32, len(z))
	for i := 0; i < n; i++ {
		row := z[i*k : (i+1)*k]
		softmaxRow(row)
		for c, v := range row {
			p[i*k+c] = float32(v)
		}
	}
	return p
}

func argmaxRows(z []float64, n, k int) []int {
	out := make([]int, n)
	for i := 0; i < n; i++ {
		row := z[i*k : (i+1)*k]
		for c, v := range row {
			if v > row[out[i]] {
				out[i] = c
			}
		}
	}
	return out
}
