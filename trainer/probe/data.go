package probe

import (
	"errors"
	"fmt"
	"math"

	"github.com/pgaug/pgaug/trainer/metrics"
)

// Data is a labelled feature matrix: N rows of D features, row-major, with
// one class in [0, Classes) per row.
type Data struct {
	X       []float32
	N, D    int
	Labels  []int
	Classes int
}

// Validate checks the sizes, the labels and that every feature is finite.
func (d Data) Validate() error {
	switch {
	case d.N < 1:
		return fmt.Errorf("probe: %d rows, need at least 1", d.N)
	case d.D < 1:
		return fmt.Errorf("probe: %d features per row, need at least 1", d.D)
	case d.Classes < 2:
		return fmt.Errorf("probe: %d classes, need at least 2", d.Classes)
	case len(d.X) != d.N*d.D:
		return fmt.Errorf("probe: %d feature values for %d rows × %d features", len(d.X), d.N, d.D)
	case len(d.Labels) != d.N:
		return fmt.Errorf("probe: %d labels for %d rows", len(d.Labels), d.N)
	}
	for i, y := range d.Labels {
		if y < 0 || y >= d.Classes {
			return fmt.Errorf("probe: label %d of row %d is outside [0, %d)", y, i, d.Classes)
		}
	}
	for i, v := range d.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("probe: feature %d of row %d is %v", i%d.D, i/d.D, v)
		}
	}
	return nil
}

// Rows returns the rows idx of d (copied), in that order.
func (d Data) Rows(idx []int) Data {
	out := Data{X: make([]float32, 0, len(idx)*d.D), N: len(idx), D: d.D, Labels: make([]int, len(idx)), Classes: d.Classes}
	for j, i := range idx {
		out.X = append(out.X, d.X[i*d.D:(i+1)*d.D]...)
		out.Labels[j] = d.Labels[i]
	}
	return out
}

// ClassCounts returns the number of rows of each class.
func (d Data) ClassCounts() []int {
	counts := make([]int, max(d.Classes, 0))
	for _, y := range d.Labels {
		if y >= 0 && y < len(counts) {
			counts[y]++
		}
	}
	return counts
}

// Standardizer maps each feature to zero mean and unit variance with
// statistics of a training set. A constant feature keeps scale 1 (it maps
// to 0).
type Standardizer struct {
	Mean  []float64 `json:"mean"`
	Scale []float64 `json:"scale"`
}

// FitStandardizer computes the per-feature mean and population standard
// deviation of d's rows.
func FitStandardizer(d Data) Standardizer {
	s := Standardizer{Mean: make([]float64, d.D), Scale: make([]float64, d.D)}
	for i := 0; i < d.N; i++ {
		for j, v := range d.X[i*d.D : (i+1)*d.D] {
			s.Mean[j] += float64(v)
		}
	}
	for j := range s.Mean {
		s.Mean[j] /= float64(d.N)
	}
	for i := 0; i < d.N; i++ {
		for j, v := range d.X[i*d.D : (i+1)*d.D] {
			e := float64(v) - s.Mean[j]
			s.Scale[j] += e * e
		}
	}
	for j := range s.Scale {
		sd := math.Sqrt(s.Scale[j] / float64(d.N))
		if sd < 1e-12*math.Max(1, math.Abs(s.Mean[j])) {
			sd = 1
		}
		s.Scale[j] = sd
	}
	return s
}

// Apply returns the n rows of x standardised, as float64.
func (s Standardizer) Apply(x []float32, n int) ([]float64, error) {
	d := len(s.Mean)
	if n < 0 || len(x) != n*d {
		return nil, fmt.Errorf("probe: %d feature values for %d rows × %d features", len(x), n, d)
	}
	out := make([]float64, len(x))
	for i := 0; i < n; i++ {
		row := out[i*d : (i+1)*d]
		for j, v := range x[i*d : (i+1)*d] {
			row[j] = (float64(v) - s.Mean[j]) / s.Scale[j]
		}
	}
	return out, nil
}

// Classifier is a fitted probe.
type Classifier interface {
	// Proba returns the n×K class probabilities of the n rows of x.
	Proba(x []float32, n int) ([]float32, error)
}

// Evaluate scores c on test with trainer/metrics (accuracy, balanced
// accuracy, macro F1, AUROC, ...).
func Evaluate(c Classifier, test Data) (metrics.Report, error) {
	if c == nil {
		return metrics.Report{}, errors.New("probe: evaluating a nil classifier")
	}
	if err := test.Validate(); err != nil {
		return metrics.Report{}, fmt.Errorf("test features: %w", err)
	}
	p, err := c.Proba(test.X, test.N)
	if err != nil {
		return metrics.Report{}, err
	}
	return metrics.Compute(p, test.Labels, test.Classes)
}

// softmaxRow turns logits into probabilities in place and returns
// log-sum-exp.
func softmaxRow(z []float64) float64 {
	m := z[0]
	for _, v := range z[1:] {
		m = math.Max(m, v)
	}
	var s float64
	for i, v := range z {
		z[i] = math.Exp(v - m)
		s += z[i]
	}
	for i := range z {
		z[i] /= s
	}
	return m + math.Log(s)
}
