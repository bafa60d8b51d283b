package saliency

import (
	"fmt"

	"gorgonia.org/tensor"
)

// The keys of the RISE scores.
const (
	KeyDeletion  = "deletion_auc"
	KeyInsertion = "insertion_auc"
)

// DefaultSteps is the number of equal steps Curves changes the pixels in.
const DefaultSteps = 16

// Classifier gives the class probabilities (n×K, row-major) of a batch of
// n images (n×C×H×W).
type Classifier func(x *tensor.Dense) ([]float32, error)

// Curves returns each image's deletion and insertion AUC for its label's
// class: maps holds n h×w saliency maps, x the n images (C×h×w each) and
// blurred their blurred copies (where insertion starts), labels the
// classes. Each of the steps+1 points is one classifier call on the n
// images for deletion and one for insertion.
func Curves(classify Classifier, x, blurred, maps []float32, labels []int, n, c, h, w, classes, steps int) (del, ins []float64, err error) {
	hw := h * w
	switch {
	case n < 1 || c < 1 || hw < 1 || classes < 2 || steps < 1:
		return nil, nil, fmt.Errorf("saliency: curves of n=%d images of %d×%d×%d, %d classes, %d steps", n, c, h, w, classes, steps)
	case len(x) != n*c*hw || len(blurred) != len(x):
		return nil, nil, fmt.Errorf("saliency: %d images of %d×%d×%d need %d values, got %d and %d blurred", n, c, h, w, n*c*hw, len(x), len(blurred))
	case len(maps) != n*hw || len(labels) != n:
		return nil, nil, fmt.Errorf("saliency: %d maps of %d×%d and %d labels, got %d values and %d labels", n, h, w, n, len(maps), len(labels))
	}
	for i, y := range labels {
		if y < 0 || y >= classes {
			return nil, nil, fmt.Errorf("saliency: image %d has label %d, want one of %d classes", i, y, classes)
		}
	}
	orders := make([][]int, n)
	for i := range orders {
		orders[i] = Order(maps[i*hw : (i+1)*hw])
	}
	xd := append([]float32(nil), x...)
	xi := append([]float32(nil), blurred...)
	dsum, isum := make([]float64, n), make([]float64, n)
	done := 0 // pixels changed so far, per image
	for s := 0; s <= steps; s++ {
		upto := (s*hw + steps/2) / steps
		for i := 0; i < n; i++ {
			for _, j := range orders[i][done:upto] {
				for ch := 0; ch < c; ch++ {
					k := (i*c+ch)*hw + j
					xd[k] = 0
					xi[k] = x[k]
				}
			}
		}
		done = upto
		pd, err := classify(tensor.New(tensor.WithShape(n, c, h, w), tensor.WithBacking(append([]float32(nil), xd...))))
		if err != nil {
			return nil, nil, fmt.Errorf("saliency: deletion step %d: %w", s, err)
		}
		pi, err := classify(tensor.New(tensor.WithShape(n, c, h, w), tensor.WithBacking(append([]float32(nil), xi...))))
		if err != nil {
			return nil, nil, fmt.Errorf("saliency: insertion step %d: %w", s, err)
		}
		if len(pd) != n*classes || len(pi) != n*classes {
			return nil, nil, fmt.Errorf("saliency: the classifier gave %d and %d probabilities for %d images of %d classes", len(pd), len(pi), n, classes)
		}
		wgt := 1.0
		if s == 0 || s == steps {
			wgt = 0.5
		}
		for i, y := range labels {
			dsum[i] += wgt * float64(pd[i*classes+y])
			isum[i] += wgt * float64(pi[i*classes+y])
		}
	}
	for i := range dsum {
		dsum[i] /= float64(steps)
		isum[i] /= float64(steps)
	}
	return dsum, isum, nil
}
