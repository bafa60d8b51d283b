package report

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// BarSeries is one method (or group) of a bar chart: a mean and an optional
// error (e.g. standard deviation) per category. NaN means are left out; a
// NaN error draws no error bar.
type BarSeries struct {
	Name string
	Mean []float64
	Err  []float64 // nil, or one per category; must be >= 0
	// Color is the bar colour; the zero value picks the next Palette colour.
	Color color.RGBA
}

// Bars is a grouped bar chart with error bars: one group of bars per
// category, one bar per series in each group (e.g. categories = methods and a
// single series "accuracy", or categories = metrics and one series per
// method). Bars rise from 0, or from the nearest axis end if 0 is outside a
// fixed y range.
type Bars struct {
	Title, XLabel, YLabel string
	Categories            []string
	Series                []BarSeries
	YMin, YMax            *float64
	// Width and Height in pixels; zero means 640×400.
	Width, Height int
}

// BarChart draws b and writes it to path as a PNG.
func BarChart(path string, b Bars) error {
	img, err := b.Render()
	if err != nil {
		return fmt.Errorf("report: bar chart %s: %w", path, err)
	}
	return writePNG(path, img)
}

func (b Bars) layout() (*frame, error) {
	w, h, err := chartSize(b.Width, b.Height)
	if err != nil {
		return nil, err
	}
	if len(b.Categories) == 0 {
		return nil, fmt.Errorf("bar chart has no categories")
	}
	if len(b.Series) == 0 {
		return nil, fmt.Errorf("bar chart has no series")
	}
	lo, hi := 0.0, 0.0
	have := false
	for i, s := range b.Series {
		if len(s.Mean) != len(b.Categories) {
			return nil, fmt.Errorf("series %d (%q) has %d means for %d categories", i+1, s.Name, len(s.Mean), len(b.Categories))
		}
		if s.Err != nil && len(s.Err) != len(b.Categories) {
			return nil, fmt.Errorf("series %d (%q) has %d errors for %d categories", i+1, s.Name, len(s.Err), len(b.Categories))
		}
		for j, m := range s.Mean {
			if !finite(m) {
				continue
			}
			e := 0.0
			if s.Err != nil && !math.IsNaN(s.Err[j]) {
				e = s.Err[j]
				if e < 0 || math.IsInf(e, 0) {
					return nil, fmt.Errorf("series %d (%q) category %d (%q): error %g must be finite and >= 0", i+1, s.Name, j+1, b.Categories[j], e)
				}
			}
			lo, hi = math.Min(lo, m-e), math.Max(hi, m+e)
			have = true
		}
	}
	if !have {
		lo, hi = 0, 1
	}
	spec := frameSpec{width: w, height: h, title: b.Title, xlabel: b.XLabel, ylabel: b.YLabel,
		ylo: lo, yhi: hi, categories: b.Categories}
	if err := fixLimits("Y", b.YMin, b.YMax, &spec.ylo, &spec.yhi, &spec.yFixLo, &spec.yFixHi); err != nil {
		return nil, err
	}
	named := len(b.Series) > 1
	for _, s := range b.Series {
		named = named || s.Name != ""
	}
	if named {
		for i, s := range b.Series {
			name := s.Name
			if name == "" {
				name = fmt.Sprintf("series %d", i+1)
			}
			spec.legend = append(spec.legend, legendEntry{name: name, color: seriesColor(s.Color, i), kind: legendBox})
		}
	}
	return layoutFrame(spec)
}

// barRect is the pixel rectangle of series k's bar in category j for value v.
func (b Bars) barRect(f *frame, j, k int, v float64) image.Rectangle {
	band := float64(f.plot.Dx()) / float64(len(b.Categories))
	inner := band * 0.8
	bw := inner / float64(len(b.Series))
	x0 := float64(f.plot.Min.X) + band*float64(j) + (band-inner)/2 + bw*float64(k)
	base := math.Min(math.Max(0, f.y.lo), f.y.hi)
	y0, y1 := f.py(base), f.py(math.Min(math.Max(v, f.y.lo), f.y.hi))
	if y0 > y1 {
		y0, y1 = y1, y0
	}
	r := image.Rect(int(math.Round(x0))+1, int(math.Round(y0)), int(math.Round(x0+bw)), int(math.Round(y1))+1)
	if r.Dx() < 1 {
		r.Max.X = r.Min.X + 1
	}
	return r.Intersect(f.plot)
}

// Render draws the bar chart into an image.
func (b Bars) Render() (*image.RGBA, error) {
	f, err := b.layout()
	if err != nil {
		return nil, err
	}
	cv := newCanvas(f.spec.width, f.spec.height)
	f.drawGrid(cv)
	for k, s := range b.Series {
		col := seriesColor(s.Color, k)
		for j, m := range s.Mean {
			if !finite(m) {
				continue
			}
			cv.fill(b.barRect(f, j, k, m), col)
		}
	}
	for k, s := range b.Series {
		if s.Err == nil {
			continue
		}
		for j, m := range s.Mean {
			e := s.Err[j]
			if !finite(m) || !finite(e) || e == 0 {
				continue
			}
			r := b.barRect(f, j, k, m)
			cx := float64(r.Min.X+r.Max.X-1) / 2
			half := math.Max(2, float64(r.Dx())/4)
			yLo, yHi := f.py(m-e), f.py(m+e)
			cv.line(cx, yLo, cx, yHi, 2, colBlack, f.plot.Inset(-1))
			cv.line(cx-half, yLo, cx+half, yLo, 2, colBlack, f.plot.Inset(-1))
			cv.line(cx-half, yHi, cx+half, yHi, 2, colBlack, f.plot.Inset(-1))
		}
	}
	f.drawDecorations(cv)
	return cv.img, nil
}
