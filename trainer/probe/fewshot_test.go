package probe

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestTQuantile(t *testing.T) {
	// Reference values from statistical tables (R: qt(0.975, df)).
	for _, c := range []struct{ df, want float64 }{
		{1, 12.706205}, {4, 2.776445}, {9, 2.262157}, {29, 2.045230}, {1e6, 1.959966},
	} {
		if got := TQuantile(0.975, c.df); !near(got, c.want, 1e-6) {
			t.Errorf("t(0.975, %v) = %.7f, want %.6f", c.df, got, c.want)
		}
	}
	if got := TQuantile(0.5, 9); !near(got, 0, 1e-12) {
		t.Errorf("median %v", got)
	}
}

func TestSummarize(t *testing.T) {
	s, err := Summarize([]float64{1, 2, 3, 4, 5}, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	// s = sqrt(2.5); half-width = t(0.975, 4)·s/√5.
	if !near(s.Mean, 3, 1e-12) || !near(s.Std, 1.5811388, 1e-6) || !near(s.HalfWidth, 1.963243, 1e-5) ||
		!near(s.Lo, 3-s.HalfWidth, 1e-12) || !near(s.Hi, 3+s.HalfWidth, 1e-12) {
		t.Errorf("summary %+v", s)
	}
	// Ten trials: t(0.975, 9) = 2.262157.
	v := []float64{0.80, 0.82, 0.79, 0.85, 0.81, 0.83, 0.78, 0.84, 0.80, 0.82}
	s, _ = Summarize(v, 0.95)
	if want := 2.262157 * s.Std / 3.16227766; !near(s.HalfWidth, want, 1e-7) {
		t.Errorf("half-width %v, want %v", s.HalfWidth, want)
	}
	if _, err := Summarize([]float64{1}, 0.95); err == nil {
		t.Error("one value gave an interval")
	}
}

func TestSampleShots(t *testing.T) {
	d := blobs(1, []int{30, 12, 20}, 3, 2)
	for _, k := range []int{1, 5, 12} {
		rows, err := SampleShots(d.Labels, d.Classes, k, TrialRNG(7, k, 3))
		if err != nil {
			t.Fatal(err)
		}
		again, _ := SampleShots(d.Labels, d.Classes, k, TrialRNG(7, k, 3))
		if !reflect.DeepEqual(rows, again) {
			t.Errorf("k=%d: the same seed drew %v then %v", k, rows, again)
		}
		other, _ := SampleShots(d.Labels, d.Classes, k, TrialRNG(8, k, 3))
		if k > 1 && reflect.DeepEqual(rows, other) {
			t.Errorf("k=%d: seeds 7 and 8 drew the same rows", k)
		}
		seen := map[int]bool{}
		per := make([]int, d.Classes)
		for _, r := range rows {
			if seen[r] {
				t.Errorf("k=%d: row %d drawn twice", k, r)
			}
			seen[r] = true
			per[d.Labels[r]]++
		}
		for c, n := range per {
			if n != k {
				t.Errorf("k=%d: %d rows of class %d", k, n, c)
			}
		}
	}
	// Class 1 has all its 12 rows at k = 12; 13 is too many.
	if _, err := SampleShots(d.Labels, d.Classes, 13, TrialRNG(7, 13, 0)); err == nil || !strings.Contains(err.Error(), "class 1 has 12 rows") {
		t.Errorf("k=13: %v", err)
	}
}

func TestFewShot(t *testing.T) {
	train := blobs(1, []int{40, 25, 30}, 8, 3)
	test := blobs(2, []int{50, 50, 50}, 8, 3)
	cfg := FewShotConfig{Shots: []int{2, 8, 25, 26}, Trials: 5, Seed: 11, Workers: 1}
	fits := 0
	cfg.OnFit = func() { fits++ }
	res, err := FewShot(context.Background(), train, test, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fits != 15 {
		t.Errorf("%d fits, want 3 k × 5 trials", fits)
	}
	if len(res) != 4 || res[3].Skipped == "" || !strings.Contains(res[3].Skipped, "25 training rows of the smallest class (1)") {
		t.Fatalf("k = 26 must be skipped with a reason: %+v", res[3])
	}
	for _, r := range res[:3] {
		if r.Accuracy == nil || len(r.Accuracy.Values) != 5 || r.MacroF1 == nil || r.BalancedAccuracy == nil {
			t.Fatalf("k = %d: %+v", r.K, r)
		}
	}
	if res[2].Accuracy.Mean < 0.85 || res[2].Accuracy.Mean < res[0].Accuracy.Mean {
		t.Errorf("accuracy at k = 25 is %v (k = 2: %v)", res[2].Accuracy.Mean, res[0].Accuracy.Mean)
	}
	// The results do not depend on the number of workers.
	cfg.Workers, cfg.OnFit = 4, nil
	par, err := FewShot(context.Background(), train, test, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, par) {
		t.Error("4 workers gave other results than 1")
	}
	if _, err := FewShot(context.Background(), train, test, FewShotConfig{Trials: 1}); err == nil {
		t.Error("one trial accepted")
	}
}
