package saliency

import (
	"fmt"
	"sort"
)

// The keys of the region scores in metrics logs, summaries and reports.
const (
	KeyKeep      = "mask_keep"
	KeyIoU       = "mask_iou"
	KeyIoUTopK   = "mask_iou_topk"
	KeyPointing  = "mask_pointing"
	KeyIoURandom = "mask_iou_random"
	KeyImages    = "mask_images" // how many images with a region were scored
)

// RegionScore is one image's map against its true region.
type RegionScore struct {
	Keep, IoU, IoUTopK, Pointing, IoURandom float64
}

// ScoreRegion scores the map p (h×w, row-major; larger marks more
// important pixels) and its mask p > threshold against the region truth
// (h×w, non-zero inside). ok is false when the region is empty (nothing to
// score against).
func ScoreRegion(p []float32, threshold float64, truth []uint8, h, w int) (s RegionScore, ok bool, err error) {
	mask := make([]uint8, len(p))
	for i, v := range p {
		if float64(v) > threshold {
			mask[i] = 1
		}
	}
	return ScoreRegionMask(p, mask, truth, h, w)
}

// ScoreRegionMask is ScoreRegion with the map's mask given (h×w, non-zero
// kept), for maps whose mask is not a threshold (e.g. their top cells).
func ScoreRegionMask(p []float32, mask, truth []uint8, h, w int) (s RegionScore, ok bool, err error) {
	n := h * w
	if h < 1 || w < 1 || len(p) != n || len(truth) != n || len(mask) != n {
		return s, false, fmt.Errorf("saliency: a %d×%d map needs %d values, mask values and region values, got %d, %d and %d", h, w, n, len(p), len(mask), len(truth))
	}
	g, m, inter := 0, 0, 0
	top := p[0]
	for i, v := range p {
		in := truth[i] != 0
		keep := mask[i] != 0
		if in {
			g++
		}
		if keep {
			m++
			if in {
				inter++
			}
		}
		top = max(top, v)
	}
	if g == 0 {
		return s, false, nil
	}
	s.Keep = float64(m) / float64(n)
	s.IoU = iou(float64(inter), float64(m), float64(g))
	e := float64(m) * float64(g) / float64(n)
	s.IoURandom = iou(e, float64(m), float64(g))

	// Ties (a flat map, a collapsed policy) are scored by their expectation
	// under a uniformly random choice among the tied pixels, so that a map
	// that marks nothing scores as chance wherever the region lies.
	//
	// Top-k: the |G| largest values of p; of the pixels tied with the
	// |G|-th, the remaining places are shared out in expectation.
	sorted := append([]float32(nil), p...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] > sorted[b] })
	kth := sorted[g-1]
	above, aboveIn, tied, tiedIn := 0, 0, 0, 0
	for i, v := range p {
		switch {
		case v > kth:
			above++
			if truth[i] != 0 {
				aboveIn++
			}
		case v == kth:
			tied++
			if truth[i] != 0 {
				tiedIn++
			}
		}
	}
	ei := float64(aboveIn) + float64(g-above)*float64(tiedIn)/float64(tied)
	s.IoUTopK = iou(ei, float64(g), float64(g))

	// Pointing game: the share of the maximal pixels that lie within the
	// region dilated by r pixels.
	r := max(1, min(h, w)/16)
	maxima, hits := 0, 0
	for i, v := range p {
		if v != top {
			continue
		}
		maxima++
		by, bx := i/w, i%w
	near:
		for y := max(0, by-r); y <= min(h-1, by+r); y++ {
			for x := max(0, bx-r); x <= min(w-1, bx+r); x++ {
				if truth[y*w+x] != 0 {
					hits++
					break near
				}
			}
		}
	}
	s.Pointing = float64(hits) / float64(maxima)
	return s, true, nil
}

// Order returns the pixel indices of p from the largest value to the
// smallest (the order in which deletion and insertion change them). Ties
// are broken in a fixed pseudo-random order rather than in raster order,
// so that a flat map does not delete the top rows first.
func Order(p []float32) []int {
	order := make([]int, len(p))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		i, j := order[a], order[b]
		if p[i] != p[j] {
			return p[i] > p[j]
		}
		return tieRank(i) < tieRank(j)
	})
	return order
}

// tieRank is a fixed pseudo-random rank of a pixel index (splitmix64).
func tieRank(i int) uint64 {
	z := uint64(i) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func iou(inter, a, b float64) float64 {
	if u := a + b - inter; u > 0 {
		return inter / u
	}
	return 0
}

// Region averages RegionScores over images.
type Region struct {
	N                                       int
	keep, iou, iouTopK, pointing, iouRandom float64
}

// Add adds one image's score.
func (r *Region) Add(s RegionScore) {
	r.N++
	r.keep += s.Keep
	r.iou += s.IoU
	r.iouTopK += s.IoUTopK
	r.pointing += s.Pointing
	r.iouRandom += s.IoURandom
}

// Mean is the average score (zero when no image was added).
func (r *Region) Mean() RegionScore {
	if r.N == 0 {
		return RegionScore{}
	}
	n := float64(r.N)
	return RegionScore{Keep: r.keep / n, IoU: r.iou / n, IoUTopK: r.iouTopK / n, Pointing: r.pointing / n, IoURandom: r.iouRandom / n}
}

// Values are the averages under their keys (nothing when no image had a
// region).
func (r *Region) Values() map[string]float64 {
	if r.N == 0 {
		return nil
	}
	m := r.Mean()
	return map[string]float64{KeyKeep: m.Keep, KeyIoU: m.IoU, KeyIoUTopK: m.IoUTopK, KeyPointing: m.Pointing, KeyIoURandom: m.IoURandom, KeyImages: float64(r.N)}
}
