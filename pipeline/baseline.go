package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/datasets/transform"
	"github.com/pgaug/pgaug/onnx/exporter"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

// TrainConfig configures plain supervised training (the papers' "train to
// convergence first" baseline).
type TrainConfig struct {
	Model  string // ONNX classifier to start from
	Data   string // Arrow dataset (file or directory)
	Output string // ONNX file to write
	Freeze []string
	Epochs int
	Batch  int
	LR     float64
	// Optimizer: sgd, adam or adamw.
	Optimizer   string
	Momentum    float64
	Nesterov    bool
	WeightDecay float64
	Schedule    string // constant, cosine, step
	Warmup      int    // warm-up steps (cosine)
	StepEvery   int    // steps per decay (step)
	Gamma       float64
	Seed        uint64
	Workers     int
	// TrainTransform and EvalTransform are datasets/transform specs; empty
	// gives the dataset's normalisation (if recorded) only.
	TrainTransform, EvalTransform string
	MetricsLog                    string // JSON-lines file (optional)
	Version                       string // pgaug version, recorded in the model
	Log                           io.Writer
}

// TrainResult summarises a run.
type TrainResult struct {
	Epochs []fit.EpochResult
	Output string
}

// NewOptimizer builds the optimizer a config names.
func NewOptimizer(name string, momentum, weightDecay float64, nesterov bool) (optim.Optimizer, error) {
	switch strings.ToLower(name) {
	case "", "sgd":
		return &optim.SGD{Momentum: momentum, WeightDecay: weightDecay, Nesterov: nesterov}, nil
	case "adam":
		return optim.NewAdam(weightDecay), nil
	case "adamw":
		return optim.NewAdamW(weightDecay), nil
	}
	return nil, fmt.Errorf("optimizer %q: want sgd, adam or adamw", name)
}

// Transforms returns the loader pipelines for spec, defaulting to the
// dataset's normalisation.
func Transforms(spec string, meta arrowds.Metadata) (transform.Pipeline, error) {
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

// Train trains cfg.Model on the train split of cfg.Data (validating on val
// each epoch) and exports the result to cfg.Output atomically.
func Train(ctx context.Context, cfg TrainConfig) (TrainResult, error) {
	var res TrainResult
	ds, err := arrowds.Open(cfg.Data)
	if err != nil {
		return res, err
	}
	defer ds.Close()
	meta := ds.Meta()
	classes := len(meta.Classes)
	if classes < 2 {
		return res, fmt.Errorf("dataset %s has %d classes; a classifier needs at least 2", cfg.Data, classes)
	}
	trainT, err := Transforms(cfg.TrainTransform, meta)
	if err != nil {
		return res, fmt.Errorf("--train-transform: %w", err)
	}
	evalT, err := Transforms(cfg.EvalTransform, meta)
	if err != nil {
		return res, fmt.Errorf("--eval-transform: %w", err)
	}
	train, err := loader.New(ds, loader.Config{Split: "train", BatchSize: cfg.Batch, DropLast: true, Shuffle: true, Seed: cfg.Seed, Workers: cfg.Workers, Transform: trainT})
	if err != nil {
		return res, fmt.Errorf("train split of %s: %w", cfg.Data, err)
	}
	var val *loader.Loader
	if len(ds.Indices("val")) > 0 {
		if val, err = loader.New(ds, loader.Config{Split: "val", BatchSize: cfg.Batch, Workers: cfg.Workers, Transform: evalT}); err != nil {
			return res, fmt.Errorf("val split of %s: %w", cfg.Data, err)
		}
	}
	m, err := importer.ImportFile(cfg.Model)
	if err != nil {
		return res, err
	}
	if len(cfg.Freeze) > 0 {
		if _, err := m.Freeze(cfg.Freeze...); err != nil {
			return res, err
		}
	}
	opt, err := NewOptimizer(cfg.Optimizer, cfg.Momentum, cfg.WeightDecay, cfg.Nesterov)
	if err != nil {
		return res, err
	}
	sched, err := fit.ParseSchedule(cfg.Schedule, cfg.Warmup, cfg.StepEvery, cfg.Gamma)
	if err != nil {
		return res, err
	}
	var metricsLog io.Writer
	if cfg.MetricsLog != "" {
		f, err := os.Create(cfg.MetricsLog)
		if err != nil {
			return res, err
		}
		defer f.Close()
		metricsLog = f
	}
	net := netstep.New(m, netstep.CrossEntropy)
	defer net.Close()
	res.Epochs, err = fit.Classifier(ctx, net, train, val, fit.Config{
		Epochs: cfg.Epochs, LR: cfg.LR, Optimizer: opt, Schedule: sched, Classes: classes, Log: cfg.Log, Metrics: metricsLog,
	})
	if err != nil {
		return res, err
	}
	m.SetTraining(false)
	meta2 := map[string]string{
		"pgaug.method":    "baseline",
		"pgaug.dataset":   filepath.Base(cfg.Data),
		"pgaug.epochs":    fmt.Sprint(cfg.Epochs),
		"pgaug.seed":      fmt.Sprint(cfg.Seed),
		"pgaug.optimizer": fmt.Sprintf("%s lr=%g momentum=%g wd=%g schedule=%s", cfg.Optimizer, cfg.LR, cfg.Momentum, cfg.WeightDecay, cfg.Schedule),
		"pgaug.source":    filepath.Base(cfg.Model),
		"pgaug.transform": trainT.String(),
		"pgaug.classes":   strings.Join(meta.Classes, ","),
	}
	if len(res.Epochs) > 0 {
		last := res.Epochs[len(res.Epochs)-1]
		meta2["pgaug.train_loss"] = fmt.Sprintf("%.6f", last.TrainLoss)
		if last.Val != nil {
			meta2["pgaug.val_accuracy"] = fmt.Sprintf("%.6f", last.Val.Accuracy)
		}
	}
	mp, err := exporter.Export(m, exporter.Options{ProducerVersion: cfg.Version, Metadata: meta2})
	if err != nil {
		return res, err
	}
	if err := onnxio.Save(cfg.Output, mp); err != nil {
		return res, err
	}
	res.Output = cfg.Output
	return res, nil
}
