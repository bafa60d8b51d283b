package fit

import (
	"math"
	"testing"

	"github.com/pgaug/pgaug/trainer/metrics"
)

func TestSchedules(t *testing.T) {
	c := Cosine(2)
	if c(0, 10) != 0.5 || c(1, 10) != 1 || c(2, 10) != 1 || c(10, 10) > 1e-12 {
		t.Fatalf("cosine: %v %v %v %v", c(0, 10), c(1, 10), c(2, 10), c(10, 10))
	}
	s := Step(3, 0.1)
	if s(2, 0) != 1 || s(3, 0) != 0.1 || s(6, 0) < 0.0099 || s(6, 0) > 0.0101 {
		t.Fatal("step schedule")
	}
	if _, err := ParseSchedule("linear", 0, 0, 0); err == nil {
		t.Fatal("unknown schedule must be an error")
	}
}

func TestSelectScoreOrientsLossDownward(t *testing.T) {
	r := metrics.Report{Accuracy: 0.8, BalancedAcc: 0.7, MacroF1: 0.6, AUROC: 0.9, MeanLoss: 0.4}
	for name, want := range map[string]float64{"": 0.8, "accuracy": 0.8, "balanced_accuracy": 0.7, "macro_f1": 0.6, "auroc": 0.9, "loss": -0.4} {
		got, err := SelectScore(r, name)
		if err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("%q: %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := SelectScore(r, "kappa"); err == nil {
		t.Error("an unknown metric must be refused")
	}
}
