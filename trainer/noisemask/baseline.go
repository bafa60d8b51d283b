package noisemask

import (
	"fmt"
	"math"
)

// EMA is an exponential moving-average baseline for the REINFORCE
// objective: after the first value x₀ (which it takes as is), each Update
// sets v ← Decay·v + (1−Decay)·x. The zero value has Decay 0 (the baseline
// is then the last value); use NewEMA. Its exported fields serialise with
// encoding/json for checkpoints.
type EMA struct {
	Decay   float64 `json:"decay"`
	Value   float64 `json:"value"`
	Started bool    `json:"started"`
}

// NewEMA returns a baseline with the given decay in [0, 1].
func NewEMA(decay float64) (*EMA, error) {
	if !(decay >= 0 && decay <= 1) {
		return nil, fmt.Errorf("noisemask: EMA decay %v, want 0 <= decay <= 1", decay)
	}
	return &EMA{Decay: decay}, nil
}

// Advantage returns x − the current baseline, or 0 before the first Update
// (no baseline yet): the factor for [ReinforceObjective]. Call it before or
// after [EMA.Update] as the chosen preset requires.
func (e *EMA) Advantage(x float64) float64 {
	if !e.Started {
		return 0
	}
	return x - e.Value
}

// Update folds x into the baseline and returns the new baseline. Non-finite
// values are refused (the baseline is left unchanged).
func (e *EMA) Update(x float64) (float64, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return e.Value, fmt.Errorf("noisemask: EMA update with %v", x)
	}
	e.Value, e.Started = e.Next(x), true
	return e.Value, nil
}

// Next returns the value Update(x) would give, leaving e unchanged: x
// itself before the first Update, else Decay·v + (1−Decay)·x.
func (e *EMA) Next(x float64) float64 {
	if !e.Started {
		return x
	}
	return e.Decay*e.Value + (1-e.Decay)*x
}
