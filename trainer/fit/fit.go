package fit

import (
	"context"
	"errors"
	"fmt"
	"io"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/netstep"
)

// Predict runs net in inference mode over every batch of l and returns the
// softmax probabilities (N×classes) and the labels, in loader order.
func Predict(ctx context.Context, net *netstep.Net, l *loader.Loader, classes int) ([]float32, []int, error) {
	return PredictWith(ctx, l, func(x *tensor.Dense) ([]float32, error) {
		out, err := net.Forward(x)
		if err != nil {
			return nil, err
		}
		logits := out.Data().([]float32)
		if n := x.Shape()[0]; len(logits) != n*classes {
			return nil, fmt.Errorf("the model gives %d outputs per image, the dataset has %d classes", len(logits)/n, classes)
		}
		return metrics.Softmax(logits, classes), nil
	})
}

// PredictWith runs predict (a batch of images → N×K probabilities) over
// every batch of l and returns the probabilities and labels in loader order.
func PredictWith(ctx context.Context, l *loader.Loader, predict func(x *tensor.Dense) ([]float32, error)) ([]float32, []int, error) {
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
		p, err := predict(x)
		if err != nil {
			return nil, nil, err
		}
		probs = append(probs, p...)
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
