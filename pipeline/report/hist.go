package report

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// HistSet is one set of values of a Hist.
type HistSet struct {
	Name   string
	Values []float64
	// Color is the set's colour; the zero value picks the next Palette colour.
	Color color.RGBA
}

// Hist is a chart of overlaid, semi-transparent histograms sharing one set
// of bins, e.g. the pixel intensities of original and masked images.
// NaN and ±Inf values are ignored; values outside [Min, Max] are dropped.
type Hist struct {
	Title, XLabel, YLabel string
	Sets                  []HistSet
	Bins                  int      // number of bins (0 means 40)
	Min, Max              *float64 // bin range (nil: from the data)
	// Density scales each set to unit area (count / (n·bin width)) so sets of
	// different sizes compare; otherwise bars are counts.
	Density bool
	// Width and Height in pixels; zero means 640×400.
	Width, Height int
}

// Histogram draws h and writes it to path as a PNG.
func Histogram(path string, h Hist) error {
	img, err := h.Render()
	if err != nil {
		return fmt.Errorf("report: histogram %s: %w", path, err)
	}
	return writePNG(path, img)
}

// Float64s converts float32 values (e.g. image pixels) for HistSet.Values.
func Float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// histData holds the binned heights of every set.
type histData struct {
	lo, hi  float64
	bins    int
	heights [][]float64
}

func (h Hist) bin() (*histData, error) {
	if len(h.Sets) == 0 {
		return nil, fmt.Errorf("histogram has no value sets")
	}
	bins := h.Bins
	if bins <= 0 {
		bins = 40
	}
	if bins > 10000 {
		return nil, fmt.Errorf("%d bins is more than the limit 10000", bins)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range h.Sets {
		for _, v := range s.Values {
			if finite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi {
		lo, hi = 0, 1
	}
	if h.Min != nil {
		lo = *h.Min
	}
	if h.Max != nil {
		hi = *h.Max
	}
	if !finite(lo) || !finite(hi) {
		return nil, fmt.Errorf("bin range [%g, %g] is not finite", lo, hi)
	}
	if h.Min != nil && h.Max != nil && lo >= hi {
		return nil, fmt.Errorf("Min %g must be less than Max %g", lo, hi)
	}
	if lo >= hi { // constant data, or one end fixed beyond the data
		switch {
		case h.Min != nil:
			hi = lo + 2*padRange(lo)
		case h.Max != nil:
			lo = hi - 2*padRange(hi)
		default:
			p := padRange(lo)
			lo, hi = lo-p, hi+p
		}
	}
	if !finite(hi - lo) {
		return nil, fmt.Errorf("bin range [%g, %g] is too large", lo, hi)
	}
	d := &histData{lo: lo, hi: hi, bins: bins}
	width := (hi - lo) / float64(bins)
	for _, s := range h.Sets {
		counts := make([]float64, bins)
		n := 0.0
		for _, v := range s.Values {
			if !finite(v) || v < lo || v > hi {
				continue
			}
			i := min(int((v-lo)/(hi-lo)*float64(bins)), bins-1)
			counts[i]++
			n++
		}
		if h.Density && n > 0 {
			for i := range counts {
				counts[i] /= n * width
			}
		}
		d.heights = append(d.heights, counts)
	}
	return d, nil
}

func (h Hist) layout() (*frame, *histData, error) {
	w, ht, err := chartSize(h.Width, h.Height)
	if err != nil {
		return nil, nil, err
	}
	d, err := h.bin()
	if err != nil {
		return nil, nil, err
	}
	top := 0.0
	for _, hs := range d.heights {
		for _, v := range hs {
			top = math.Max(top, v)
		}
	}
	if top == 0 {
		top = 1
	}
	ylabel := h.YLabel
	if ylabel == "" {
		ylabel = "count"
		if h.Density {
			ylabel = "density"
		}
	}
	spec := frameSpec{width: w, height: ht, title: h.Title, xlabel: h.XLabel, ylabel: ylabel,
		xlo: d.lo, xhi: d.hi, xFixLo: true, xFixHi: true, ylo: 0, yhi: top, yFixLo: true}
	named := false
	for _, s := range h.Sets {
		named = named || s.Name != ""
	}
	if named {
		for i, s := range h.Sets {
			name := s.Name
			if name == "" {
				name = fmt.Sprintf("set %d", i+1)
			}
			spec.legend = append(spec.legend, legendEntry{name: name, color: seriesColor(s.Color, i), alpha: histAlpha, kind: legendBox})
		}
	}
	f, err := layoutFrame(spec)
	if err != nil {
		return nil, nil, err
	}
	return f, d, nil
}

const histAlpha = 110

// Render draws the histogram into an image.
func (h Hist) Render() (*image.RGBA, error) {
	f, d, err := h.layout()
	if err != nil {
		return nil, err
	}
	cv := newCanvas(f.spec.width, f.spec.height)
	f.drawGrid(cv)
	width := (d.hi - d.lo) / float64(d.bins)
	edge := func(i int) int { return int(math.Round(f.px(d.lo + float64(i)*width))) }
	base := int(math.Round(f.py(0))) + 1
	for k, hs := range d.heights {
		col := seriesColor(h.Sets[k].Color, k)
		fillCol := color.NRGBA{col.R, col.G, col.B, histAlpha}
		for i, v := range hs {
			if v <= 0 {
				continue
			}
			top := int(math.Round(f.py(v)))
			cv.fill(image.Rect(edge(i), top, edge(i+1)+1, base).Intersect(f.plot), fillCol)
		}
	}
	// Outline each set's histogram as an opaque step line on top; empty
	// bins get no outline, so the baseline stays clear.
	for k, hs := range d.heights {
		col := seriesColor(h.Sets[k].Color, k)
		height := func(i int) float64 {
			if i < 0 || i >= len(hs) {
				return 0
			}
			return hs[i]
		}
		for i := 0; i <= len(hs); i++ {
			a, b := height(i-1), height(i)
			x := float64(edge(i))
			if a > 0 || b > 0 {
				cv.line(x, f.py(a), x, f.py(b), 1, col, f.plot)
			}
			if b > 0 {
				cv.line(x, f.py(b), float64(edge(i+1)), f.py(b), 1, col, f.plot)
			}
		}
	}
	f.drawDecorations(cv)
	return cv.img, nil
}
