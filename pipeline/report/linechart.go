package report

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one named line of a Chart. Points whose X or Y is NaN or ±Inf
// are gaps: the line is broken there. When X is empty, the X values are the
// indices 0, 1, 2, ... of Y. Points are joined in the order given.
type Series struct {
	Name string
	X, Y []float64
	// Color is the line colour; the zero value picks the next Palette colour.
	// The colour is always drawn opaque.
	Color color.RGBA
}

// Chart is a line chart, e.g. training loss or validation accuracy against
// epoch or step.
type Chart struct {
	Title, XLabel, YLabel string
	Series                []Series
	// Width and Height in pixels; zero means 640×400.
	Width, Height int
	// YMin and YMax fix the ends of the y axis (nil: from the data). XMin
	// and XMax do the same for the x axis. Data outside fixed limits are
	// clipped.
	YMin, YMax, XMin, XMax *float64
	// LineWidth in pixels (0 means 2).
	LineWidth int
	// Markers draws a small square at every point. Isolated points (a
	// series of one point, or a point between two gaps) always get one.
	Markers bool
}

// LineChart draws c and writes it to path as a PNG, and as an SVG beside it
// (path with the extension .svg).
func LineChart(path string, c Chart) error {
	f, err := c.figure()
	if err != nil {
		return fmt.Errorf("report: line chart %s: %w", path, err)
	}
	return f.write(path)
}

// Render draws the chart into an image.
func (c Chart) Render() (*image.RGBA, error) {
	f, err := c.figure()
	if err != nil {
		return nil, err
	}
	return f.image(), nil
}

func pointX(s Series, j int) float64 {
	if len(s.X) == 0 {
		return float64(j)
	}
	return s.X[j]
}

// check validates the chart.
func (c Chart) check() error {
	for i, s := range c.Series {
		if len(s.X) != 0 && len(s.X) != len(s.Y) {
			return fmt.Errorf("series %d (%q): X has %d values but Y has %d", i+1, s.Name, len(s.X), len(s.Y))
		}
	}
	if err := checkLimits("X", c.XMin, c.XMax); err != nil {
		return err
	}
	return checkLimits("Y", c.YMin, c.YMax)
}

// inside reports whether v lies within the optional fixed limits.
func inside(v float64, lo, hi *float64) bool {
	return (lo == nil || v >= *lo) && (hi == nil || v <= *hi)
}

// figure validates the chart and lays it out as a gonum/plot figure.
func (c Chart) figure() (*figure, error) {
	w, h, err := chartSize(c.Width, c.Height)
	if err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	f := newFigure(w, h, c.Title, c.XLabel, c.YLabel)
	f.grid(true)
	lw := c.LineWidth
	if lw <= 0 {
		lw = 2
	}
	lw = min(lw, 20)
	var names []string
	var thumbs [][]plot.Thumbnailer
	named, empty := false, true
	for i, s := range c.Series {
		col := seriesColor(s.Color, i)
		line := draw.LineStyle{Color: col, Width: px(float64(lw))}
		glyph := draw.GlyphStyle{Color: col, Shape: draw.BoxGlyph{}, Radius: px(float64(lw+3)) / 2}
		var run, marks plotter.XYs
		flush := func() {
			switch {
			case len(run) > 1:
				f.p.Add(&plotter.Line{XYs: run, LineStyle: line})
			case len(run) == 1 && !c.Markers:
				marks = append(marks, run[0])
			}
			run = nil
		}
		for j, y := range s.Y {
			x := pointX(s, j)
			if !finite(x) || !finite(y) {
				flush()
				continue
			}
			empty = false
			run = append(run, plotter.XY{X: x, Y: y})
			if c.Markers {
				marks = append(marks, plotter.XY{X: x, Y: y})
			}
		}
		flush()
		// Markers are not clipped by gonum/plot: leave out those beyond
		// fixed limits. They still count for the data range.
		var shown plotter.XYs
		for _, m := range marks {
			if inside(m.X, c.XMin, c.XMax) && inside(m.Y, c.YMin, c.YMax) {
				shown = append(shown, m)
			}
		}
		if len(marks) > 0 {
			f.p.Add(&markers{XYs: marks, shown: shown, style: glyph})
		}
		th := []plot.Thumbnailer{&plotter.Line{LineStyle: line}}
		if c.Markers {
			th = append(th, &markers{style: glyph})
		}
		name := s.Name
		named = named || name != ""
		if name == "" {
			name = fmt.Sprintf("series %d", i+1)
		}
		names, thumbs = append(names, name), append(thumbs, th)
	}
	if named {
		f.setLegend(names, thumbs)
	}
	if empty {
		f.p.Add(noData{})
		f.p.X.Min, f.p.X.Max, f.p.Y.Min, f.p.Y.Max = 0, 1, 0, 1
	}
	setLimits(&f.p.X, c.XMin, c.XMax)
	setLimits(&f.p.Y, c.YMin, c.YMax)
	return f, f.fixRanges()
}

// markers is a scatter of square glyphs. Its data range covers XYs; it
// draws only shown.
type markers struct {
	XYs, shown plotter.XYs
	style      draw.GlyphStyle
}

func (m *markers) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, pt := range m.shown {
		c.DrawGlyph(m.style, vg.Point{X: trX(pt.X), Y: trY(pt.Y)})
	}
}

func (m *markers) DataRange() (xmin, xmax, ymin, ymax float64) { return plotter.XYRange(m.XYs) }

func (m *markers) Thumbnail(c *draw.Canvas) { c.DrawGlyph(m.style, c.Center()) }

// noData writes "no data" in the middle of an empty plot.
type noData struct{}

func (noData) Plot(c draw.Canvas, p *plot.Plot) {
	sty := p.X.Tick.Label
	sty.Color = colFaint
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	c.FillText(sty, c.Center(), "no data")
}

// checkLimits validates optional fixed axis ends.
func checkLimits(name string, lo, hi *float64) error {
	if lo != nil && !finite(*lo) {
		return fmt.Errorf("%sMin is %g; it must be finite", name, *lo)
	}
	if hi != nil && !finite(*hi) {
		return fmt.Errorf("%sMax is %g; it must be finite", name, *hi)
	}
	if lo != nil && hi != nil && *lo >= *hi {
		return fmt.Errorf("%sMin %g must be less than %sMax %g", name, *lo, name, *hi)
	}
	return nil
}

// setLimits fixes an axis' ends where given. A single fixed end beyond
// the data leaves a range of 10% of its size (or 1) on its side.
func setLimits(a *plot.Axis, lo, hi *float64) {
	if lo != nil {
		a.Min = *lo
	}
	if hi != nil {
		a.Max = *hi
	}
	if a.Min >= a.Max && finite(a.Min) && finite(a.Max) {
		switch {
		case lo != nil && hi == nil:
			a.Max = a.Min + 2*padRange(a.Min)
		case hi != nil && lo == nil:
			a.Min = a.Max - 2*padRange(a.Max)
		}
	}
}

// padRange widens a degenerate range around v.
func padRange(v float64) float64 {
	if v == 0 {
		return 1
	}
	return math.Abs(v) * 0.1
}
