package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/verify"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/trainer/metrics"
)

// DemoConfig configures the built-in demo.
type DemoConfig struct {
	Dir     string // run directory (created)
	Seed    uint64
	Images  int // synthetic images
	Size    int // image side
	Epochs  int
	Version string
	Out     io.Writer
}

// DemoReport is what the demo writes to report.json.
type DemoReport struct {
	Dataset  string                    `json:"dataset"`
	Model    string                    `json:"model"`
	Trained  string                    `json:"trained"`
	Verify   verify.Report             `json:"verify"`
	Test     map[string]metrics.Report `json:"test"`
	Seconds  float64                   `json:"seconds"`
	Stages   []string                  `json:"stages"`
	Settings DemoConfig                `json:"settings"`
}

// Demo runs the pipeline end to end on data it makes itself: a seeded
// synthetic dataset, a zoo network exported to ONNX and checked against ONNX
// Runtime, baseline training as a gorgonia graph, export, and evaluation of
// the untrained and trained ONNX models with ONNX Runtime on the test split.
// ONNX Runtime must be loaded.
func Demo(ctx context.Context, cfg DemoConfig) (DemoReport, error) {
	start := time.Now()
	rep := DemoReport{Test: map[string]metrics.Report{}, Settings: cfg}
	rep.Settings.Out = nil
	w := cfg.Out
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return rep, err
	}
	stage := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		rep.Stages = append(rep.Stages, s)
		fmt.Fprintf(w, "[%5.1fs] %s\n", time.Since(start).Seconds(), s)
	}

	rep.Dataset = filepath.Join(cfg.Dir, "synthetic.arrow")
	sc := synthetic.Default()
	sc.Count, sc.Size, sc.Classes, sc.Seed = cfg.Images, cfg.Size, 2, cfg.Seed
	if _, err := convert.Synthetic(sc, convert.Options{Out: rep.Dataset, Overwrite: true}); err != nil {
		return rep, fmt.Errorf("making the synthetic dataset: %w", err)
	}
	stage("made %d synthetic %dx%d radiograph-like images (2 classes, seed %d): %s", sc.Count, sc.Size, sc.Size, sc.Seed, rep.Dataset)

	rep.Model = filepath.Join(cfg.Dir, "smallcnn.onnx")
	mp, err := zoo.Build("smallcnn", zoo.Options{Classes: 2, InChannels: 1, Size: cfg.Size, Seed: cfg.Seed})
	if err != nil {
		return rep, err
	}
	if err := onnxio.Save(rep.Model, mp); err != nil {
		return rep, err
	}
	stage("built the zoo network smallcnn as ONNX: %s", rep.Model)

	rep.Verify, err = verify.File(rep.Model, verify.Options{Seed: cfg.Seed, Batch: 4})
	if err != nil {
		return rep, err
	}
	if !rep.Verify.OK() {
		return rep, fmt.Errorf("the imported graph differs from ONNX Runtime: %+v", rep.Verify.Diffs)
	}
	stage("imported it as a trainable gorgonia graph: matches ONNX Runtime (max rel. error %.2g)", rep.Verify.Diffs[0].MaxRel)

	run, err := Train(ctx, TrainConfig{
		Common: Common{Data: rep.Dataset, OutDir: filepath.Join(cfg.Dir, "baseline"), Epochs: cfg.Epochs, Batch: 32,
			Schedule: "cosine", Warmup: 1, Seed: cfg.Seed, Version: cfg.Version, Log: w},
		Model: rep.Model, Opt: Optim{Name: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4},
	})
	if err != nil {
		return rep, err
	}
	rep.Trained = run.Classifier
	stage("trained the baseline for %d epochs and exported it: %s", cfg.Epochs, rep.Trained)

	for name, path := range map[string]string{"untrained": rep.Model, "baseline": rep.Trained} {
		r, err := Evaluate(ctx, EvalConfig{Model: path, Data: rep.Dataset, Split: "test", Batch: 64, Threads: 2})
		if err != nil {
			return rep, err
		}
		rep.Test[name] = r
	}
	for _, name := range []string{"untrained", "baseline"} {
		r := rep.Test[name]
		stage("ONNX Runtime on the test split (%d images), %s: accuracy %.3f, balanced accuracy %.3f, AUROC %.3f, macro F1 %.3f",
			r.N, name, r.Accuracy, r.BalancedAcc, r.AUROC, r.MacroF1)
	}
	rep.Seconds = time.Since(start).Seconds()
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return rep, err
	}
	if err := onnxio.WriteFileAtomic(filepath.Join(cfg.Dir, "report.json"), b); err != nil {
		return rep, err
	}
	stage("report: %s", filepath.Join(cfg.Dir, "report.json"))
	return rep, nil
}
