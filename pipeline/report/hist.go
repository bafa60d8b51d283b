package report

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
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

// Histogram draws h and writes it to path as a PNG, and as an SVG beside it
// (path with the extension .svg).
func Histogram(path string, h Hist) error {
	f, _, err := h.figure()
	if err != nil {
		return fmt.Errorf("report: histogram %s: %w", path, err)
	}
	return f.write(path)
}

// Render draws the histogram into an image.
func (h Hist) Render() (*image.RGBA, error) {
	f, _, err := h.figure()
	if err != nil {
		return nil, err
	}
	return f.image(), nil
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

func (h Hist) figure() (*figure, *histData, error) {
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
	f := newFigure(w, ht, h.Title, h.XLabel, ylabel)
	f.grid(true)
	width := (d.hi - d.lo) / float64(d.bins)
	var names []string
	var thumbs [][]plot.Thumbnailer
	named := false
	for k, hs := range d.heights {
		col := seriesColor(h.Sets[k].Color, k)
		// Empty bins are left out, so the baseline stays clear.
		ph := &plotter.Histogram{
			Width:     width,
			FillColor: color.NRGBA{col.R, col.G, col.B, histAlpha},
			LineStyle: draw.LineStyle{Color: col, Width: px(1)},
		}
		for i, v := range hs {
			if v > 0 {
				lo := d.lo + float64(i)*width
				ph.Bins = append(ph.Bins, plotter.HistogramBin{Min: lo, Max: lo + width, Weight: v})
			}
		}
		f.p.Add(ph)
		name := h.Sets[k].Name
		named = named || name != ""
		if name == "" {
			name = fmt.Sprintf("set %d", k+1)
		}
		names = append(names, name)
		thumbs = append(thumbs, []plot.Thumbnailer{box{col, histAlpha}})
	}
	if named {
		f.setLegend(names, thumbs)
	}
	f.p.X.Min, f.p.X.Max = d.lo, d.hi
	f.p.Y.Min, f.p.Y.Max = 0, top*1.04
	f.p.Y.Padding = 0
	return f, d, f.fixRanges()
}

const histAlpha = 110
