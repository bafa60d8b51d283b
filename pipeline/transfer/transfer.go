package transfer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/atomicfile"
	"github.com/pgaug/pgaug/datasets/transform"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/probe"
	"github.com/pgaug/pgaug/trainer/progress"
)

// The probes Config.Probe can name.
const (
	ProbeMLP    = "mlp"
	ProbeLogReg = "logreg"
	ProbeBoth   = "both"
)

// Config configures Run.
type Config struct {
	Model string // the ONNX classifier
	Data  string // the Arrow dataset
	// Layer names the feature value ("" : the input of the final Gemm or
	// MatMul, the penultimate features).
	Layer string
	// TrainSplit and TestSplit name the splits the probes fit and score
	// ("" : "train" and "test").
	TrainSplit, TestSplit string
	// Shots are the few-shot k (samples per class); nil means
	// probe.DefaultShots and an empty, non-nil slice skips the few-shot
	// protocol.
	Shots []int
	// Trials per k (0: probe.DefaultTrials; at least 2).
	Trials int
	// Seed drives the few-shot samples and the MLP (MLP.Seed is ignored).
	Seed uint64
	// Probe fitted on the full training split: ProbeMLP, ProbeLogReg or
	// ProbeBoth ("" : ProbeBoth).
	Probe string
	// MLP and LogReg configure the probes (zero values: their defaults);
	// LogReg also configures the few-shot fits.
	MLP    probe.MLPConfig
	LogReg probe.LogRegConfig
	// Batch is the number of images per ONNX Runtime call (0: 64); Workers
	// the data-loading goroutines (0: GOMAXPROCS); Threads ONNX Runtime's
	// intra-op threads (0: its default); Device "cpu" (also "") or "cuda".
	Batch, Workers, Threads int
	Device                  string
	// Transform is a datasets/transform spec applied to every image ("" :
	// the dataset's normalisation, when it has one).
	Transform string
	// Output, when set, receives the Result as JSON, written atomically.
	Output string
	// Progress receives progress bars and stage lines (nil: none).
	Progress io.Writer
}

// Scores are a probe's metrics on the test split.
type Scores struct {
	N                int     `json:"n"`
	Accuracy         float64 `json:"accuracy"`
	BalancedAccuracy float64 `json:"balanced_accuracy"`
	MacroPrecision   float64 `json:"macro_precision"`
	MacroRecall      float64 `json:"macro_recall"`
	MacroF1          float64 `json:"macro_f1"`
	// AUROC is the binary or one-vs-one macro AUROC; null when a class is
	// missing from the test split.
	AUROC           *float64 `json:"auroc"`
	MeanLoss        float64  `json:"mean_loss"`
	ConfusionMatrix [][]int  `json:"confusion_matrix"`
	// TrainLoss is the probe's final training objective.
	TrainLoss float64 `json:"train_loss"`
	// Converged is logistic regression's convergence (always true for the
	// MLP, which runs a fixed number of epochs).
	Converged bool    `json:"converged"`
	Seconds   float64 `json:"seconds"`
}

// Result is the transfer evaluation of one model on one dataset.
type Result struct {
	Model string `json:"model"`
	Data  string `json:"data"`
	Layer string `json:"layer"`
	// LayerShape is the layer's shape as ONNX Runtime infers it (-1:
	// dynamic); Features is the feature width after pooling.
	LayerShape       []int64  `json:"layer_shape"`
	Features         int      `json:"features"`
	Classes          []string `json:"classes"`
	TrainSplit       string   `json:"train_split"`
	TestSplit        string   `json:"test_split"`
	TrainN           int      `json:"train_n"`
	TestN            int      `json:"test_n"`
	TrainClassCounts []int    `json:"train_class_counts"`
	Seed             uint64   `json:"seed"`
	Trials           int      `json:"trials"`
	Probe            string   `json:"probe"`
	// MLPConfig and LogRegConfig are the probe settings used, defaults
	// filled in (an L2 of 0 means 1/N for each fit).
	MLPConfig    probe.MLPConfig    `json:"mlp_config"`
	LogRegConfig probe.LogRegConfig `json:"logreg_config"`
	MLP          *Scores            `json:"mlp,omitempty"`
	LogReg       *Scores            `json:"logreg,omitempty"`
	// FewShot has one entry per requested k, skipped ones included.
	FewShot []probe.ShotResult `json:"few_shot"`
	Notes   []string           `json:"notes,omitempty"`
}

func (cfg *Config) defaults() error {
	if cfg.Model == "" || cfg.Data == "" {
		return fmt.Errorf("transfer: a model (%q) and a dataset (%q) are required", cfg.Model, cfg.Data)
	}
	if cfg.TrainSplit == "" {
		cfg.TrainSplit = "train"
	}
	if cfg.TestSplit == "" {
		cfg.TestSplit = "test"
	}
	if cfg.Shots == nil {
		cfg.Shots = probe.DefaultShots
	}
	if cfg.Trials == 0 {
		cfg.Trials = probe.DefaultTrials
	}
	if len(cfg.Shots) > 0 && cfg.Trials < 2 {
		return fmt.Errorf("transfer: %d trials; the 95%% t-interval of the few-shot table needs at least 2", cfg.Trials)
	}
	seen := map[int]bool{}
	for _, k := range cfg.Shots {
		if k < 1 {
			return fmt.Errorf("transfer: few-shot k = %d, want at least 1 sample per class", k)
		}
		if seen[k] {
			return fmt.Errorf("transfer: few-shot k = %d given twice", k)
		}
		seen[k] = true
	}
	cfg.Probe = strings.ToLower(cfg.Probe)
	switch cfg.Probe {
	case "":
		cfg.Probe = ProbeBoth
	case ProbeMLP, ProbeLogReg, ProbeBoth:
	default:
		return fmt.Errorf("transfer: probe %q, want %s, %s or %s", cfg.Probe, ProbeMLP, ProbeLogReg, ProbeBoth)
	}
	if cfg.Batch < 0 || cfg.Workers < 0 || cfg.Threads < 0 {
		return fmt.Errorf("transfer: batch %d, workers %d, threads %d: want all >= 0 (0: default)", cfg.Batch, cfg.Workers, cfg.Threads)
	}
	if cfg.Batch == 0 {
		cfg.Batch = 64
	}
	m := cfg.MLP
	if m.Hidden == 0 {
		m.Hidden = 256
	}
	if m.Epochs == 0 {
		m.Epochs = 50
	}
	if m.Batch == 0 {
		m.Batch = 64
	}
	if m.LR == 0 {
		m.LR = 1e-3
	}
	m.Seed = cfg.Seed
	cfg.MLP = m
	if cfg.LogReg.MaxIter == 0 {
		cfg.LogReg.MaxIter = 1000
	}
	if cfg.LogReg.Tol == 0 {
		cfg.LogReg.Tol = 1e-6
	}
	return nil
}

// evalTransform is the transform the features are computed with: spec, or
// the dataset's normalisation when spec is empty.
func evalTransform(spec string, meta arrowds.Metadata) (transform.Pipeline, error) {
	if spec == "" && len(meta.NormMean) > 0 {
		mean := make([]string, len(meta.NormMean))
		std := make([]string, len(meta.NormStd))
		for i := range meta.NormMean {
			mean[i] = fmt.Sprintf("%g", meta.NormMean[i])
			std[i] = fmt.Sprintf("%g", meta.NormStd[i])
		}
		spec = "normalize=" + strings.Join(mean, "/") + ":" + strings.Join(std, "/")
	}
	if spec == "" {
		return nil, nil
	}
	return transform.Parse(spec)
}

// Run extracts the features of the train and test splits, fits the probes
// on the full training split, runs the few-shot protocol and writes the
// report to cfg.Output (when set). ONNX Runtime must be loaded (ort.Init).
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	ds, err := arrowds.Open(cfg.Data)
	if err != nil {
		return Result{}, fmt.Errorf("transfer: %w", err)
	}
	defer ds.Close()
	meta := ds.Meta()
	t, err := evalTransform(cfg.Transform, meta)
	if err != nil {
		return Result{}, fmt.Errorf("transfer: transform %q: %w", cfg.Transform, err)
	}
	e, err := NewExtractor(cfg.Model, cfg.Layer, ort.SessionOptions{Threads: cfg.Threads, Device: cfg.Device})
	if err != nil {
		return Result{}, err
	}
	defer e.Close()
	logf := func(format string, a ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, format+"\n", a...)
		}
	}
	logf("transfer: %s at layer %q (%v)", cfg.Model, e.Layer(), e.Shape())
	opts := ExtractOptions{Batch: cfg.Batch, Workers: cfg.Workers, Transform: t, Progress: cfg.Progress}
	train, err := Extract(ctx, e, ds, cfg.TrainSplit, opts)
	if err != nil {
		return Result{}, err
	}
	test, err := Extract(ctx, e, ds, cfg.TestSplit, opts)
	if err != nil {
		return Result{}, err
	}
	res := Result{
		Model: cfg.Model, Data: cfg.Data, Layer: e.Layer(), LayerShape: e.Shape(), Features: train.D,
		Classes: meta.Classes, TrainSplit: cfg.TrainSplit, TestSplit: cfg.TestSplit, TrainN: train.N, TestN: test.N,
		TrainClassCounts: train.ClassCounts(), Seed: cfg.Seed, Trials: cfg.Trials, Probe: cfg.Probe,
		MLPConfig: cfg.MLP, LogRegConfig: cfg.LogReg, FewShot: []probe.ShotResult{},
	}
	for c, n := range res.TrainClassCounts {
		if n == 0 {
			return Result{}, fmt.Errorf("transfer: %s split %q has no image of class %q; every class needs training rows", cfg.Data, cfg.TrainSplit, meta.Classes[c])
		}
	}
	if cfg.Probe == ProbeLogReg || cfg.Probe == ProbeBoth {
		logf("transfer: logistic regression on %d × %d features", train.N, train.D)
		start := time.Now()
		m, err := probe.FitLogReg(train, cfg.LogReg)
		if err != nil {
			return Result{}, fmt.Errorf("transfer: %w", err)
		}
		s, err := score(m, test, m.Loss, m.Converged, start)
		if err != nil {
			return Result{}, err
		}
		if !m.Converged {
			res.Notes = append(res.Notes, fmt.Sprintf("logistic regression stopped after %d iterations with gradient %.3g (not converged)", m.Iterations, m.GradNorm))
		}
		res.LogReg = s
	}
	if cfg.Probe == ProbeMLP || cfg.Probe == ProbeBoth {
		mcfg := cfg.MLP
		bar := progress.New(cfg.Progress, "mlp probe", int64(mcfg.Epochs), progress.Options{Unit: "epoch"})
		mcfg.OnEpoch = func(_ int, loss float64) { bar.Add(1, fmt.Sprintf("loss %.4f", loss)) }
		start := time.Now()
		m, err := probe.FitMLP(ctx, train, mcfg)
		if err != nil {
			return Result{}, fmt.Errorf("transfer: %w", err)
		}
		bar.Done()
		s, err := score(m, test, m.Loss, true, start)
		if err != nil {
			return Result{}, err
		}
		res.MLP = s
	}
	if len(cfg.Shots) > 0 {
		fits := 0
		for _, k := range cfg.Shots {
			if k <= minCount(res.TrainClassCounts) {
				fits += cfg.Trials
			}
		}
		bar := progress.New(cfg.Progress, "few-shot", int64(fits), progress.Options{Unit: "fit"})
		shots, err := probe.FewShot(ctx, train, test, probe.FewShotConfig{
			Shots: cfg.Shots, Trials: cfg.Trials, Seed: cfg.Seed, LogReg: cfg.LogReg, Workers: cfg.Workers,
			OnFit: func() { bar.Add(1, "") },
		})
		if err != nil {
			return Result{}, fmt.Errorf("transfer: %w", err)
		}
		bar.Done()
		res.FewShot = shots
		small := 0
		for c, n := range res.TrainClassCounts {
			if n < res.TrainClassCounts[small] {
				small = c
			}
		}
		for _, s := range shots {
			if s.Skipped != "" {
				res.Notes = append(res.Notes, fmt.Sprintf("few-shot k = %d skipped: the smallest training class %q has %d images",
					s.K, meta.Classes[small], res.TrainClassCounts[small]))
			}
			if s.Unconverged > 0 {
				res.Notes = append(res.Notes, fmt.Sprintf("few-shot k = %d: %d of %d fits stopped at the iteration limit", s.K, s.Unconverged, s.Trials))
			}
		}
	}
	if cfg.Output != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return Result{}, fmt.Errorf("transfer: encoding the report: %w", err)
		}
		if err := atomicfile.WriteBytes(cfg.Output, append(data, '\n')); err != nil {
			return Result{}, fmt.Errorf("transfer: writing the report %s: %w", cfg.Output, err)
		}
	}
	return res, nil
}

func minCount(counts []int) int {
	m := math.MaxInt
	for _, n := range counts {
		m = min(m, n)
	}
	return m
}

func score(c probe.Classifier, test probe.Data, loss float64, converged bool, start time.Time) (*Scores, error) {
	r, err := probe.Evaluate(c, test)
	if err != nil {
		return nil, fmt.Errorf("transfer: scoring on the test split: %w", err)
	}
	return newScores(r, loss, converged, time.Since(start).Seconds()), nil
}

func newScores(r metrics.Report, loss float64, converged bool, seconds float64) *Scores {
	s := &Scores{
		N: r.N, Accuracy: r.Accuracy, BalancedAccuracy: r.BalancedAcc, MacroPrecision: r.MacroPrecision,
		MacroRecall: r.MacroRecall, MacroF1: r.MacroF1, MeanLoss: r.MeanLoss, ConfusionMatrix: r.ConfusionMatrix,
		TrainLoss: loss, Converged: converged, Seconds: seconds,
	}
	if !math.IsNaN(r.AUROC) && !math.IsInf(r.AUROC, 0) {
		a := r.AUROC
		s.AUROC = &a
	}
	return s
}
