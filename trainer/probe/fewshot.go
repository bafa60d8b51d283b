package probe

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"
)

// DefaultShots are the k of the few-shot protocol (samples per class).
var DefaultShots = []int{8, 16, 32, 64, 128, 256}

// DefaultTrials is the number of few-shot trials per k.
const DefaultTrials = 10

// TQuantile returns the p-quantile of Student's t distribution with df
// degrees of freedom (df > 0, 0 < p < 1); NaN outside that range.
func TQuantile(p, df float64) float64 {
	if !(df > 0) || !(p > 0 && p < 1) {
		return math.NaN()
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p)
}

// Summary is the mean of T trial values with its two-sided Student-t
// confidence interval: Mean ± t(1−α/2, T−1)·Std/√T.
type Summary struct {
	Mean float64 `json:"mean"`
	// Std is the sample standard deviation (divisor T−1).
	Std       float64   `json:"std"`
	HalfWidth float64   `json:"ci_half_width"`
	Lo        float64   `json:"ci_lo"`
	Hi        float64   `json:"ci_hi"`
	Level     float64   `json:"ci_level"`
	Values    []float64 `json:"values"`
}

// Summarize returns the mean, sample standard deviation and the two-sided
// Student-t interval at level (0.95 for 95%) of values, which needs at
// least two finite values.
func Summarize(values []float64, level float64) (Summary, error) {
	t := len(values)
	if t < 2 {
		return Summary{}, fmt.Errorf("probe: %d values: a t-interval needs at least 2 trials", t)
	}
	if !(level > 0 && level < 1) {
		return Summary{}, fmt.Errorf("probe: confidence level %v, want in (0, 1)", level)
	}
	var mean float64
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Summary{}, fmt.Errorf("probe: value %d is %v", i, v)
		}
		mean += v
	}
	mean /= float64(t)
	var ss float64
	for _, v := range values {
		ss += (v - mean) * (v - mean)
	}
	sd := math.Sqrt(ss / float64(t-1))
	hw := TQuantile(1-(1-level)/2, float64(t-1)) * sd / math.Sqrt(float64(t))
	return Summary{Mean: mean, Std: sd, HalfWidth: hw, Lo: mean - hw, Hi: mean + hw, Level: level,
		Values: append([]float64(nil), values...)}, nil
}

// SampleShots draws k rows of each class from labels without replacement
// (a partial Fisher–Yates shuffle per class, in class order) and returns
// them grouped by class. It fails when a class has fewer than k rows.
func SampleShots(labels []int, classes, k int, rng *rand.Rand) ([]int, error) {
	if k < 1 {
		return nil, fmt.Errorf("probe: %d shots per class, want at least 1", k)
	}
	byClass := make([][]int, classes)
	for i, y := range labels {
		if y < 0 || y >= classes {
			return nil, fmt.Errorf("probe: label %d of row %d is outside [0, %d)", y, i, classes)
		}
		byClass[y] = append(byClass[y], i)
	}
	out := make([]int, 0, k*classes)
	for c, rows := range byClass {
		if len(rows) < k {
			return nil, fmt.Errorf("probe: class %d has %d rows, fewer than k = %d", c, len(rows), k)
		}
		for j := 0; j < k; j++ {
			r := j + rng.IntN(len(rows)-j)
			rows[j], rows[r] = rows[r], rows[j]
		}
		out = append(out, rows[:k]...)
	}
	return out, nil
}

// TrialRNG returns the generator of one few-shot trial: a function of the
// seed, k and the trial number only, so any trial can be reproduced alone.
func TrialRNG(seed uint64, k, trial int) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x46455753484F54, uint64(k)<<32|uint64(uint32(trial))))
}

// FewShotConfig configures FewShot.
type FewShotConfig struct {
	Shots  []int  // samples per class (nil: DefaultShots)
	Trials int    // trials per k (0: DefaultTrials; at least 2)
	Seed   uint64 // the samples of every trial derive from it
	LogReg LogRegConfig
	// Workers fits trials in parallel (0: GOMAXPROCS); the results do not
	// depend on it.
	Workers int
	// OnFit, when set, is called after each fit (from any worker).
	OnFit func() `json:"-"`
}

// ShotResult is the few-shot result for one k.
type ShotResult struct {
	K int `json:"k"`
	// Skipped says why k was not run (empty when it was).
	Skipped          string   `json:"skipped,omitempty"`
	Trials           int      `json:"trials,omitempty"`
	Accuracy         *Summary `json:"accuracy,omitempty"`
	BalancedAccuracy *Summary `json:"balanced_accuracy,omitempty"`
	MacroF1          *Summary `json:"macro_f1,omitempty"`
	// Unconverged counts the fits that stopped at the iteration limit.
	Unconverged int `json:"unconverged,omitempty"`
}

// FewShot runs the few-shot protocol: for each k in cfg.Shots and each of
// cfg.Trials trials, it samples k rows per class of train (TrialRNG,
// SampleShots), fits logistic regression and scores test. A k larger than
// the smallest training class is skipped, with the reason in its result.
func FewShot(ctx context.Context, train, test Data, cfg FewShotConfig) ([]ShotResult, error) {
	if err := train.Validate(); err != nil {
		return nil, fmt.Errorf("few-shot: training features: %w", err)
	}
	if err := test.Validate(); err != nil {
		return nil, fmt.Errorf("few-shot: test features: %w", err)
	}
	if train.D != test.D || train.Classes != test.Classes {
		return nil, fmt.Errorf("few-shot: training features are %d-wide with %d classes, test %d-wide with %d classes",
			train.D, train.Classes, test.D, test.Classes)
	}
	shots := cfg.Shots
	if shots == nil {
		shots = DefaultShots
	}
	trials := cfg.Trials
	if trials == 0 {
		trials = DefaultTrials
	}
	if trials < 2 {
		return nil, fmt.Errorf("few-shot: %d trials; the 95%% t-interval needs at least 2", trials)
	}
	counts := train.ClassCounts()
	smallest := 0
	for c, n := range counts {
		if n < counts[smallest] {
			smallest = c
		}
	}
	results := make([]ShotResult, len(shots))
	type job struct{ s, trial int }
	var jobs []job
	for s, k := range shots {
		results[s].K = k
		switch {
		case k < 1:
			return nil, fmt.Errorf("few-shot: k = %d samples per class, want at least 1", k)
		case k > counts[smallest]:
			results[s].Skipped = fmt.Sprintf("k = %d is more than the %d training rows of the smallest class (%d)", k, counts[smallest], smallest)
			continue
		}
		results[s].Trials = trials
		for t := 0; t < trials; t++ {
			jobs = append(jobs, job{s, t})
		}
	}
	type score struct {
		acc, bal, f1 float64
		converged    bool
	}
	scores := make([][]score, len(shots))
	for s := range scores {
		scores[s] = make([]score, trials)
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(jobs), 1))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan job)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				k := shots[j.s]
				rows, err := SampleShots(train.Labels, train.Classes, k, TrialRNG(cfg.Seed, k, j.trial))
				if err == nil {
					var m *LogReg
					if m, err = FitLogReg(train.Rows(rows), cfg.LogReg); err == nil {
						r, eerr := Evaluate(m, test)
						err = eerr
						scores[j.s][j.trial] = score{r.Accuracy, r.BalancedAcc, r.MacroF1, m.Converged}
					}
				}
				if err != nil {
					errs[w] = fmt.Errorf("few-shot k = %d, trial %d: %w", k, j.trial+1, err)
					cancel()
					return
				}
				if cfg.OnFit != nil {
					cfg.OnFit()
				}
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for s := range results {
		if results[s].Skipped != "" {
			continue
		}
		acc, bal, f1 := make([]float64, trials), make([]float64, trials), make([]float64, trials)
		for t, sc := range scores[s] {
			acc[t], bal[t], f1[t] = sc.acc, sc.bal, sc.f1
			if !sc.converged {
				results[s].Unconverged++
			}
		}
		for _, m := range []struct {
			v   []float64
			dst **Summary
		}{{acc, &results[s].Accuracy}, {bal, &results[s].BalancedAccuracy}, {f1, &results[s].MacroF1}} {
			sum, err := Summarize(m.v, 0.95)
			if err != nil {
				return nil, fmt.Errorf("few-shot k = %d: %w", results[s].K, err)
			}
			*m.dst = &sum
		}
	}
	return results, nil
}
