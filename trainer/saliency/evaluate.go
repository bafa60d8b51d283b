package saliency

import (
	"context"
	"errors"
	"fmt"
	"io"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
)

// DefaultCurveImages caps the images the deletion and insertion curves are
// computed on: each costs 2·(steps+1) classifier passes.
const DefaultCurveImages = 256

// Maps gives the saliency maps (n×h×w, row-major) of a batch of images
// (n×C×h×w).
type Maps func(x *tensor.Dense) ([]float32, error)

// Eval configures Evaluate.
type Eval struct {
	// Threshold turns a map into a mask (P > Threshold), unless Mask is
	// set: it gives the masks of n maps (n×h×w, non-zero kept).
	Threshold float64
	Mask      func(maps []float32, n, h, w int) ([]uint8, error)
	// Truth gives a dataset row's true region at the model's input size,
	// h×w with non-zero inside (nil: the row has none). nil: no region
	// scores.
	Truth func(row int) ([]uint8, error)
	// Blur gives the blurred copies of n images (n×C×h×w) that insertion
	// starts from. nil: no curves.
	Blur func(x []float32, n, c, h, w int) ([]float32, error)
	// CurveImages caps the images of the curves (0: DefaultCurveImages);
	// Steps is their number of steps (0: DefaultSteps).
	CurveImages, Steps int
}

// Evaluate scores maps over every batch of l: the region scores (ScoreRegion)
// averaged over the images with a region, and the deletion and insertion
// AUCs (Curves) of classify's probability of each image's label on the
// first CurveImages images. The keys are those of ScoreRegion and Curves;
// a score that cannot be computed (no regions, no Blur) is absent.
func (e Eval) Evaluate(ctx context.Context, l *loader.Loader, maps Maps, classify Classifier, classes int) (map[string]float64, error) {
	curveImages, steps := e.CurveImages, e.Steps
	if curveImages == 0 {
		curveImages = DefaultCurveImages
	}
	if steps == 0 {
		steps = DefaultSteps
	}
	var region Region
	var keep float64
	var pixels, curved int
	var del, ins float64
	it := l.Epoch(ctx, 0)
	defer it.Close()
	for {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		n, c, h, w := b.N, b.C, b.H, b.W
		xs := append([]float32(nil), b.X[:n*c*h*w]...)
		rows := append([]int(nil), b.Rows[:n]...)
		labels := make([]int, n)
		for i, y := range b.Labels[:n] {
			labels[i] = int(y)
		}
		b.Release()
		m, err := maps(tensor.New(tensor.WithShape(n, c, h, w), tensor.WithBacking(xs)))
		if err != nil {
			return nil, fmt.Errorf("saliency maps: %w", err)
		}
		if len(m) != n*h*w {
			return nil, fmt.Errorf("saliency: %d map values for %d images of %d×%d", len(m), n, h, w)
		}
		masks := make([]uint8, len(m))
		if e.Mask != nil {
			if masks, err = e.Mask(m, n, h, w); err != nil {
				return nil, fmt.Errorf("saliency masks: %w", err)
			}
			if len(masks) != len(m) {
				return nil, fmt.Errorf("saliency: %d mask values for %d images of %d×%d", len(masks), n, h, w)
			}
		} else {
			for i, v := range m {
				if float64(v) > e.Threshold {
					masks[i] = 1
				}
			}
		}
		for i := 0; i < n; i++ {
			mi, ki := m[i*h*w:(i+1)*h*w], masks[i*h*w:(i+1)*h*w]
			for _, v := range ki {
				if v != 0 {
					keep++
				}
			}
			pixels += h * w
			if e.Truth == nil {
				continue
			}
			truth, err := e.Truth(rows[i])
			if err != nil {
				return nil, err
			}
			if truth == nil {
				continue
			}
			s, ok, err := ScoreRegionMask(mi, ki, truth, h, w)
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", rows[i], err)
			}
			if ok {
				region.Add(s)
			}
		}
		if e.Blur == nil || curved >= curveImages {
			continue
		}
		k := min(n, curveImages-curved)
		for _, y := range labels[:k] {
			if y < 0 {
				return nil, errors.New("saliency: deletion and insertion curves need single-label images")
			}
		}
		x := xs[:k*c*h*w]
		blurred, err := e.Blur(x, k, c, h, w)
		if err != nil {
			return nil, fmt.Errorf("saliency: blurring: %w", err)
		}
		d, in, err := Curves(classify, x, blurred, m[:k*h*w], labels[:k], k, c, h, w, classes, steps)
		if err != nil {
			return nil, err
		}
		for i := range d {
			del += d[i]
			ins += in[i]
		}
		curved += k
	}
	out := map[string]float64{}
	if region.N > 0 {
		out = region.Values()
	} else if pixels > 0 {
		// No region to compare with: the share of pixels the masks keep.
		out[KeyKeep] = keep / float64(pixels)
	}
	if curved > 0 {
		out[KeyDeletion] = del / float64(curved)
		out[KeyInsertion] = ins / float64(curved)
	}
	return out, nil
}
