package fit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

// Config of a training run.
type Config struct {
	Epochs    int
	LR        float64
	Optimizer optim.Optimizer
	Schedule  Schedule // nil: constant
	Classes   int
	// Log receives one progress line per epoch (nil: none).
	Log io.Writer
	// Metrics receives one JSON object per epoch (nil: none).
	Metrics io.Writer
}

// EpochResult is what one epoch gave.
type EpochResult struct {
	Epoch        int             `json:"epoch"`
	Steps        int             `json:"steps"`
	TrainLoss    float64         `json:"train_loss"`
	LR           float64         `json:"lr"`
	Seconds      float64         `json:"seconds"`
	ImagesPerSec float64         `json:"images_per_second"`
	Val          *metrics.Report `json:"val,omitempty"`
}

// Classifier trains net (softmax cross-entropy) on train, evaluating on val
// (nil: no evaluation) after each epoch.
func Classifier(ctx context.Context, net *netstep.Net, train, val *loader.Loader, cfg Config) ([]EpochResult, error) {
	if cfg.Epochs < 1 || cfg.Classes < 2 || cfg.Optimizer == nil {
		return nil, fmt.Errorf("fit: want ≥1 epoch, ≥2 classes and an optimizer (got %d, %d, %v)", cfg.Epochs, cfg.Classes, cfg.Optimizer)
	}
	sched := cfg.Schedule
	if sched == nil {
		sched = Constant()
	}
	total := cfg.Epochs * train.NumBatches()
	step := 0
	var out []EpochResult
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		start := time.Now()
		res := EpochResult{Epoch: epoch + 1}
		var lossSum float64
		images := 0
		it := train.Epoch(ctx, epoch)
		for {
			b, err := it.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				it.Close()
				return out, fmt.Errorf("epoch %d: %w", epoch+1, err)
			}
			x, tgt, err := batchTensors(b, cfg.Classes)
			n := b.N
			b.Release()
			if err != nil {
				it.Close()
				return out, fmt.Errorf("epoch %d: %w", epoch+1, err)
			}
			res.LR = cfg.LR * sched(step, total)
			r, err := net.Step(x, tgt, cfg.Optimizer, res.LR)
			if err != nil {
				it.Close()
				return out, fmt.Errorf("epoch %d, step %d: %w", epoch+1, step+1, err)
			}
			lossSum += float64(r.Loss) * float64(n)
			images += n
			step++
			res.Steps++
		}
		it.Close()
		if images == 0 {
			return out, fmt.Errorf("epoch %d: the training loader gave no batch (batch size larger than the split with drop-last?)", epoch+1)
		}
		res.TrainLoss = lossSum / float64(images)
		res.Seconds = time.Since(start).Seconds()
		res.ImagesPerSec = float64(images) / res.Seconds
		if val != nil {
			rep, err := Evaluate(ctx, net, val, cfg.Classes)
			if err != nil {
				return out, fmt.Errorf("epoch %d: evaluation: %w", epoch+1, err)
			}
			res.Val = &rep
		}
		out = append(out, res)
		if cfg.Log != nil {
			line := fmt.Sprintf("epoch %d/%d  loss %.4f  lr %.3g  %.0f img/s", res.Epoch, cfg.Epochs, res.TrainLoss, res.LR, res.ImagesPerSec)
			if res.Val != nil {
				line += fmt.Sprintf("  val acc %.4f  bal.acc %.4f  AUROC %.4f", res.Val.Accuracy, res.Val.BalancedAcc, res.Val.AUROC)
			}
			fmt.Fprintln(cfg.Log, line)
		}
		if cfg.Metrics != nil {
			if err := json.NewEncoder(cfg.Metrics).Encode(res); err != nil {
				return out, fmt.Errorf("writing the metrics log: %w", err)
			}
		}
	}
	return out, nil
}

// Predict runs net in inference mode over every batch of l and returns the
// softmax probabilities (N×classes) and the labels, in loader order.
func Predict(ctx context.Context, net *netstep.Net, l *loader.Loader, classes int) ([]float32, []int, error) {
	var probs []float32
	var labels []int
	it := l.Epoch(ctx, 0)
	defer it.Close()
	for {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			return probs, labels, nil
		}
		if err != nil {
			return nil, nil, err
		}
		x := tensor.New(tensor.WithShape(b.N, b.C, b.H, b.W), tensor.WithBacking(append([]float32(nil), b.X[:b.N*b.C*b.H*b.W]...)))
		for _, y := range b.Labels[:b.N] {
			labels = append(labels, int(y))
		}
		b.Release()
		out, err := net.Forward(x)
		if err != nil {
			return nil, nil, err
		}
		logits := out.Data().([]float32)
		if len(logits) != len(labels[len(labels)-x.Shape()[0]:])*classes {
			return nil, nil, fmt.Errorf("the model gives %d outputs per image, the dataset has %d classes", len(logits)/x.Shape()[0], classes)
		}
		probs = append(probs, metrics.Softmax(logits, classes)...)
	}
}

// Evaluate scores net on every sample of l.
func Evaluate(ctx context.Context, net *netstep.Net, l *loader.Loader, classes int) (metrics.Report, error) {
	probs, labels, err := Predict(ctx, net, l, classes)
	if err != nil {
		return metrics.Report{}, err
	}
	return metrics.Compute(probs, labels, classes)
}

func batchTensors(b *loader.Batch, classes int) (*tensor.Dense, *tensor.Dense, error) {
	x := tensor.New(tensor.WithShape(b.N, b.C, b.H, b.W), tensor.WithBacking(append([]float32(nil), b.X[:b.N*b.C*b.H*b.W]...)))
	labels := make([]int, b.N)
	for i, y := range b.Labels[:b.N] {
		if y < 0 {
			return nil, nil, fmt.Errorf("sample %s has no single label (multi-label datasets are not supported by this trainer)", b.IDs[i])
		}
		labels[i] = int(y)
	}
	t, err := loss.OneHot(labels, classes)
	return x, t, err
}
