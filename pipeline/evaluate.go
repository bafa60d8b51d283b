package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/datasets/transform"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/pipeline/infer"
	"github.com/pgaug/pgaug/trainer/metrics"
)

// EvalConfig configures an evaluation with ONNX Runtime.
type EvalConfig struct {
	Model, Data, Split string
	Batch, Workers     int
	Threads            int
	Device             string // cpu or cuda
	Transform          string // datasets/transform spec ("" : the dataset's normalisation)
}

// Evaluate runs an ONNX classifier over a split with ONNX Runtime (loaded
// by the caller) and scores its softmax outputs.
func Evaluate(ctx context.Context, cfg EvalConfig) (metrics.Report, error) {
	ds, err := arrowds.Open(cfg.Data)
	if err != nil {
		return metrics.Report{}, err
	}
	defer ds.Close()
	meta := ds.Meta()
	classes := len(meta.Classes)
	t, err := transform.ForDataset(infer.ModelTransform(cfg.Model, cfg.Transform), meta)
	if err != nil {
		return metrics.Report{}, err
	}
	l, err := loader.New(ds, loader.Config{Split: cfg.Split, BatchSize: cfg.Batch, Workers: cfg.Workers, Transform: t})
	if err != nil {
		return metrics.Report{}, fmt.Errorf("%s split %q: %w", cfg.Data, cfg.Split, err)
	}
	s, err := ort.NewSession(cfg.Model, ort.SessionOptions{Threads: cfg.Threads, Device: cfg.Device})
	if err != nil {
		return metrics.Report{}, err
	}
	defer s.Close()
	if len(s.Inputs()) != 1 || len(s.Outputs()) < 1 {
		return metrics.Report{}, fmt.Errorf("%s: want one input and an output of logits", cfg.Model)
	}
	in, out := s.Inputs()[0].Name, s.Outputs()[0].Name
	var probs []float32
	var labels []int
	it := l.Epoch(ctx, 0)
	defer it.Close()
	for {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return metrics.Report{}, err
		}
		x := ort.Float32Tensor([]int64{int64(b.N), int64(b.C), int64(b.H), int64(b.W)}, b.X[:b.N*b.C*b.H*b.W])
		res, err := s.Run(map[string]ort.Tensor{in: x})
		for _, y := range b.Labels[:b.N] {
			labels = append(labels, int(y))
		}
		b.Release()
		if err != nil {
			return metrics.Report{}, err
		}
		logits := res[out].Float32
		if len(logits) != b.N*classes {
			return metrics.Report{}, fmt.Errorf("%s gives %d values per image; %s has %d classes", cfg.Model, len(logits)/b.N, cfg.Data, classes)
		}
		probs = append(probs, metrics.Softmax(logits, classes)...)
	}
	return metrics.Compute(probs, labels, classes)
}
