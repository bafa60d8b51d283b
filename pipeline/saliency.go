package pipeline

import (
	"fmt"
	"sync"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/trainer/noisemask"
	"github.com/pgaug/pgaug/trainer/saliency"
)

// RISE's blur of the image insertion starts from: a Gaussian of kernel 11,
// σ 5.
const (
	insertionBlurKernel = 11
	insertionBlurSigma  = 5
)

// saliencyEval is how a run scores saliency maps (APGA's policy, Grad-CAM)
// on its data: against the dataset's region masks, moved by the evaluation
// transform as the images are, where it has them; by deletion and insertion
// curves in any case.
func saliencyEval(d *runData) *saliency.Eval {
	e := &saliency.Eval{Blur: func(x []float32, n, c, h, w int) ([]float32, error) {
		k := min(insertionBlurKernel, 2*((min(h, w)-1)/2)+1)
		return noisemask.GaussianBlur(x, n*c, h, w, k, insertionBlurSigma)
	}}
	if !d.ds.Columns().Mask {
		return e
	}
	var mu sync.Mutex
	cache := map[int][]uint8{}
	e.Truth = func(row int) ([]uint8, error) {
		mu.Lock()
		defer mu.Unlock()
		if m, ok := cache[row]; ok {
			return m, nil
		}
		r := d.ds.Row(row)
		if !r.HasMask {
			cache[row] = nil
			return nil, nil
		}
		mask, err := d.ds.ReadMask(row)
		if err != nil {
			return nil, fmt.Errorf("the region mask of row %d (%s) of %s: %w", row, r.ID, d.ds.Path(), err)
		}
		moved, _, _, err := d.evalT.ApplyMask(mask, int(r.Height), int(r.Width), loader.SampleRNG(0, 0, row))
		if err != nil {
			return nil, fmt.Errorf("moving the region mask of row %d (%s) with the evaluation transform: %w", row, r.ID, err)
		}
		cache[row] = moved
		return moved, nil
	}
	return e
}
