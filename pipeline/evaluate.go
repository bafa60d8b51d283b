package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/pipeline/infer"
	"github.com/pgaug/pgaug/trainer/metrics"
)

// EvalConfig configures an evaluation with ONNX Runtime.
type EvalConfig struct {
	Model, Data, Split string
	Batch, Workers     int
	Threads            int
	Device             string // cpu or cuda
	// Transform is a datasets/transform spec ("": the one the model
	// records, else the dataset's normalisation).
	Transform string
}

// Evaluate runs an ONNX classifier over a split with ONNX Runtime (loaded
// by the caller) through pgaug infer's path, and scores its predictions.
func Evaluate(ctx context.Context, cfg EvalConfig) (metrics.Report, error) {
	dir, err := os.MkdirTemp("", "pgaug-eval-")
	if err != nil {
		return metrics.Report{}, err
	}
	defer os.RemoveAll(dir)
	res, err := infer.Run(ctx, infer.Config{Model: cfg.Model, Data: cfg.Data, Split: cfg.Split, Output: filepath.Join(dir, "predictions.arrow"),
		Batch: cfg.Batch, Workers: cfg.Workers, Threads: cfg.Threads, Device: cfg.Device, Transform: cfg.Transform})
	if err != nil {
		return metrics.Report{}, err
	}
	if res.Metrics == nil {
		return metrics.Report{}, errors.New(cfg.Data + ": no single label per image, nothing to score")
	}
	return *res.Metrics, nil
}
