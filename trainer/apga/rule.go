package apga

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pgaug/pgaug/trainer/noisemask"
	"github.com/pgaug/pgaug/trainer/saliency"
)

// MaskRule is how a policy's output P becomes the aid mask and the masked
// image: in training's aid step, in test-time augmentation and in figures.
// The exported policy records it (MetadataKey), so that inference with
// ONNX Runtime masks exactly as training did.
type MaskRule struct {
	// Grid G: the mask is made per cell of a G×G grid, from the mean of P
	// over each cell (0: per pixel).
	Grid int
	// Top > 0 keeps each image's round(Top·cells) cells of the largest
	// probability (at least one); otherwise the cells above Threshold.
	Top, Threshold float64
	// Fill is what the pixels not kept become: FillZero, FillBlack (Black,
	// per channel) or FillBlur (a Gaussian blur, kernel FillBlurKernel,
	// σ FillBlurSigma).
	Fill  string
	Black []float32
	// KeepMin and KeepMax: test-time augmentation scores an image whose
	// mask keeps less or more of it than this on the original alone.
	KeepMin, KeepMax float64
}

// MetadataKey is the ONNX metadata key of an exported policy's mask rule.
const MetadataKey = "pgaug.mask_rule"

// The Gaussian of FillBlur (RISE's blur of the image insertion starts
// from), with the kernel clipped to the image.
const (
	FillBlurKernel = 11
	FillBlurSigma  = 5
)

// Rule is the mask rule of the method (with its Black level).
func (m *Method) Rule(h, w int) (MaskRule, error) {
	c := m.Cfg
	r := MaskRule{Threshold: c.Threshold, KeepMin: c.AidKeepMin, KeepMax: c.AidKeepMax, Fill: FillZero}
	if r.KeepMax == 0 {
		r.KeepMax = 1
	}
	if c.Actions != ActionsBernoulli {
		return r, nil
	}
	g, err := c.Grid(h, w)
	if err != nil {
		return r, err
	}
	r.Grid = g
	if c.AidMask == AidTop {
		r.Top = c.KeepTarget
	}
	if c.Fill != "" {
		r.Fill = c.Fill
	}
	if r.Fill == FillBlack {
		r.Black = m.Black
	}
	return r, r.check()
}

func (r MaskRule) check() error {
	switch r.Fill {
	case FillZero, FillBlur:
	case FillBlack:
		if len(r.Black) == 0 {
			return fmt.Errorf("mask rule: fill black needs the black level of each channel")
		}
	default:
		return fmt.Errorf("mask rule: fill %q: want %s, %s or %s", r.Fill, FillZero, FillBlack, FillBlur)
	}
	if r.Grid < 0 || r.Top < 0 || r.Top >= 1 || r.KeepMin < 0 || r.KeepMax > 1 || r.KeepMin >= r.KeepMax {
		return fmt.Errorf("mask rule: grid %d, top %v, keep [%v, %v]: want grid ≥ 0, 0 ≤ top < 1, 0 ≤ keep min < max ≤ 1", r.Grid, r.Top, r.KeepMin, r.KeepMax)
	}
	return nil
}

// String is the rule as its metadata text, which ParseMaskRule reads.
func (r MaskRule) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	parts := []string{"grid=" + strconv.Itoa(r.Grid), "top=" + f(r.Top), "threshold=" + f(r.Threshold), "fill=" + r.Fill}
	if r.Fill == FillBlack {
		b := make([]string, len(r.Black))
		for i, v := range r.Black {
			b[i] = strconv.FormatFloat(float64(v), 'g', -1, 32)
		}
		parts = append(parts, "black="+strings.Join(b, "/"))
	}
	return strings.Join(append(parts, "keep="+f(r.KeepMin)+":"+f(r.KeepMax)), " ")
}

// ParseMaskRule reads String's text.
func ParseMaskRule(s string) (MaskRule, error) {
	r := MaskRule{Fill: FillZero, KeepMax: 1}
	for _, part := range strings.Fields(s) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return r, fmt.Errorf("mask rule %q: %q is not key=value", s, part)
		}
		var err error
		switch k {
		case "grid":
			r.Grid, err = strconv.Atoi(v)
		case "top":
			r.Top, err = strconv.ParseFloat(v, 64)
		case "threshold":
			r.Threshold, err = strconv.ParseFloat(v, 64)
		case "fill":
			r.Fill = v
		case "black":
			for _, b := range strings.Split(v, "/") {
				x, perr := strconv.ParseFloat(b, 32)
				if perr != nil {
					err = perr
					break
				}
				r.Black = append(r.Black, float32(x))
			}
		case "keep":
			lo, hi, ok := strings.Cut(v, ":")
			if !ok {
				err = fmt.Errorf("want MIN:MAX")
				break
			}
			if r.KeepMin, err = strconv.ParseFloat(lo, 64); err == nil {
				r.KeepMax, err = strconv.ParseFloat(hi, 64)
			}
		default:
			return r, fmt.Errorf("mask rule %q: unknown key %q", s, k)
		}
		if err != nil {
			return r, fmt.Errorf("mask rule %q: %s: %v", s, k, err)
		}
	}
	return r, r.check()
}

// cells is the number of mask cells of an h×w image.
func (r MaskRule) cells(h, w int) int {
	if r.Grid > 0 {
		return r.Grid * r.Grid
	}
	return h * w
}

// Keep returns, for n policy outputs p (n×h×w), the per-pixel probability
// map (each cell's mean over its pixels; P itself per pixel) and the mask
// (1 kept), n×h×w each.
func (r MaskRule) Keep(p []float32, n, h, w int) (prob, keep []float32, err error) {
	if len(p) != n*h*w {
		return nil, nil, fmt.Errorf("mask rule: %d probabilities for %d images of %d×%d", len(p), n, h, w)
	}
	if r.Grid > 0 && (h != w || h%r.Grid != 0) {
		return nil, nil, fmt.Errorf("mask rule: a %d×%d grid needs square images whose side it divides; the images are %d×%d", r.Grid, r.Grid, h, w)
	}
	q := cellMeans(p, n, h, w, r.Grid)
	cells := r.cells(h, w)
	kc := make([]float32, len(q))
	if r.Top > 0 {
		k := max(1, int(math.Round(r.Top*float64(cells))))
		for i := 0; i < n; i++ {
			for _, j := range saliency.Order(q[i*cells : (i+1)*cells])[:min(k, cells)] {
				kc[i*cells+j] = 1
			}
		}
	} else {
		for i, v := range q {
			if float64(v) > r.Threshold {
				kc[i] = 1
			}
		}
	}
	return toPixels(q, n, h, w, r.Grid), toPixels(kc, n, h, w, r.Grid), nil
}

// FillImages is what the pixels of x (n×c×h×w) that a mask does not keep
// become; nil means 0.
func (r MaskRule) FillImages(x []float32, n, c, h, w int) ([]float32, error) {
	switch r.Fill {
	case "", FillZero:
		return nil, nil
	case FillBlack:
		if len(r.Black) != c {
			return nil, fmt.Errorf("mask rule: fill black has the black level of %d channels, the images have %d", len(r.Black), c)
		}
		out := make([]float32, len(x))
		hw := h * w
		for i := 0; i < n*c; i++ {
			v := r.Black[i%c]
			for j := i * hw; j < (i+1)*hw; j++ {
				out[j] = v
			}
		}
		return out, nil
	case FillBlur:
		k := min(FillBlurKernel, 2*((min(h, w)-1)/2)+1)
		return noisemask.GaussianBlur(x, n*c, h, w, k, FillBlurSigma)
	}
	return nil, fmt.Errorf("mask rule: fill %q: want %s, %s or %s", r.Fill, FillZero, FillBlack, FillBlur)
}

// Masked returns the images x (n×c×h×w) masked by the policy outputs p
// (n×h×w): the kept pixels as they are, the others filled; and the
// fraction of each image kept.
func (r MaskRule) Masked(x, p []float32, n, c, h, w int) ([]float32, []float64, error) {
	_, keep, err := r.Keep(p, n, h, w)
	if err != nil {
		return nil, nil, err
	}
	fill, err := r.FillImages(x, n, c, h, w)
	if err != nil {
		return nil, nil, err
	}
	out, kept := maskImages(x, keep, fill, n, c, h, w)
	return out, kept, nil
}

// Fallback says whether test-time augmentation scores an image whose mask
// keeps the fraction kept on the original alone.
func (r MaskRule) Fallback(kept float64) bool { return kept < r.KeepMin || kept > r.KeepMax }
