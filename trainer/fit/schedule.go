package fit

import (
	"fmt"
	"math"
)

// Schedule gives the learning-rate multiplier at step (0-based) of total.
type Schedule func(step, total int) float64

// Constant keeps the learning rate.
func Constant() Schedule { return func(int, int) float64 { return 1 } }

// Cosine anneals from 1 to 0 over the steps after a linear warm-up of
// warmup steps (from 1/warmup to 1).
func Cosine(warmup int) Schedule {
	return func(step, total int) float64 {
		if step < warmup {
			return float64(step+1) / float64(warmup)
		}
		span := max(total-warmup, 1)
		return 0.5 * (1 + math.Cos(math.Pi*float64(step-warmup)/float64(span)))
	}
}

// Step multiplies the rate by gamma every `every` steps (PyTorch's StepLR).
func Step(every int, gamma float64) Schedule {
	return func(step, _ int) float64 { return math.Pow(gamma, float64(step/max(every, 1))) }
}

// ParseSchedule reads "constant", "cosine" or "step" (with its parameters).
func ParseSchedule(name string, warmup, every int, gamma float64) (Schedule, error) {
	switch name {
	case "", "constant":
		return Constant(), nil
	case "cosine":
		return Cosine(warmup), nil
	case "step":
		return Step(every, gamma), nil
	}
	return nil, fmt.Errorf("schedule %q: want constant, cosine or step", name)
}
