package report

import (
	"fmt"
	"image"
	"image/color"
	"math"
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
	// YMin and YMax fix the ends of the y axis (nil: from the data, widened
	// to whole tick steps). XMin and XMax do the same for the x axis. Data
	// outside fixed limits are clipped.
	YMin, YMax, XMin, XMax *float64
	// LineWidth in pixels (0 means 2).
	LineWidth int
	// Markers draws a small square at every point. Isolated points (a
	// series of one point, or a point between two gaps) always get one.
	Markers bool
}

// LineChart draws c and writes it to path as a PNG.
func LineChart(path string, c Chart) error {
	img, err := c.Render()
	if err != nil {
		return fmt.Errorf("report: line chart %s: %w", path, err)
	}
	return writePNG(path, img)
}

// Render draws the chart into an image.
func (c Chart) Render() (*image.RGBA, error) {
	f, err := c.layout()
	if err != nil {
		return nil, err
	}
	cv := newCanvas(f.spec.width, f.spec.height)
	f.drawGrid(cv)
	lw := c.LineWidth
	if lw <= 0 {
		lw = 2
	}
	lw = min(lw, 20)
	clip := f.plot
	empty := true
	for i, s := range c.Series {
		col := seriesColor(s.Color, i)
		var prevX, prevY float64
		run := 0 // length of the current run of finite points
		isolated := func() {
			if run == 1 && !c.Markers {
				cv.marker(prevX, prevY, lw, col, clip)
			}
		}
		for j := range s.Y {
			x, y := pointX(s, j), s.Y[j]
			if !finite(x) || !finite(y) {
				isolated()
				run = 0
				continue
			}
			empty = false
			X, Y := f.px(x), f.py(y)
			if run > 0 {
				cv.line(prevX, prevY, X, Y, lw, col, clip)
			}
			if c.Markers {
				cv.marker(X, Y, lw, col, clip)
			}
			prevX, prevY = X, Y
			run++
		}
		isolated()
	}
	if empty {
		msg := "no data"
		cv.centeredText((f.plot.Min.X+f.plot.Max.X)/2, (f.plot.Min.Y+f.plot.Max.Y)/2-charH/2, msg, colFaint)
	}
	f.drawDecorations(cv)
	return cv.img, nil
}

// marker draws a filled square a little larger than the line width.
func (c *canvas) marker(x, y float64, lw int, col color.RGBA, clip image.Rectangle) {
	if !finite(x) || !finite(y) || math.Abs(x) > 1e9 || math.Abs(y) > 1e9 {
		return
	}
	c.stamp(int(math.Round(x)), int(math.Round(y)), lw+3, col, clip)
}

func pointX(s Series, j int) float64 {
	if len(s.X) == 0 {
		return float64(j)
	}
	return s.X[j]
}

// layout validates the chart and computes its frame.
func (c Chart) layout() (*frame, error) {
	w, h, err := chartSize(c.Width, c.Height)
	if err != nil {
		return nil, err
	}
	spec := frameSpec{width: w, height: h, title: c.Title, xlabel: c.XLabel, ylabel: c.YLabel}
	xlo, xhi := math.Inf(1), math.Inf(-1)
	ylo, yhi := math.Inf(1), math.Inf(-1)
	named := false
	for i, s := range c.Series {
		if len(s.X) != 0 && len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("series %d (%q): X has %d values but Y has %d", i+1, s.Name, len(s.X), len(s.Y))
		}
		for j, y := range s.Y {
			x := pointX(s, j)
			if !finite(x) || !finite(y) {
				continue
			}
			xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
			ylo, yhi = math.Min(ylo, y), math.Max(yhi, y)
		}
		if s.Name != "" {
			named = true
		}
	}
	if named {
		for i, s := range c.Series {
			name := s.Name
			if name == "" {
				name = fmt.Sprintf("series %d", i+1)
			}
			spec.legend = append(spec.legend, legendEntry{name: name, color: seriesColor(s.Color, i), kind: legendLine})
		}
	}
	if xlo > xhi { // no finite points
		xlo, xhi, ylo, yhi = 0, 1, 0, 1
	}
	spec.xlo, spec.xhi = xlo, xhi
	spec.ylo, spec.yhi = ylo, yhi
	if err := fixLimits("X", c.XMin, c.XMax, &spec.xlo, &spec.xhi, &spec.xFixLo, &spec.xFixHi); err != nil {
		return nil, err
	}
	if err := fixLimits("Y", c.YMin, c.YMax, &spec.ylo, &spec.yhi, &spec.yFixLo, &spec.yFixHi); err != nil {
		return nil, err
	}
	return layoutFrame(spec)
}

// fixLimits applies optional fixed axis ends.
func fixLimits(name string, lo, hi *float64, dlo, dhi *float64, fixLo, fixHi *bool) error {
	if lo != nil {
		if !finite(*lo) {
			return fmt.Errorf("%sMin is %g; it must be finite", name, *lo)
		}
		*dlo, *fixLo = *lo, true
	}
	if hi != nil {
		if !finite(*hi) {
			return fmt.Errorf("%sMax is %g; it must be finite", name, *hi)
		}
		*dhi, *fixHi = *hi, true
	}
	if lo != nil && hi != nil && *lo >= *hi {
		return fmt.Errorf("%sMin %g must be less than %sMax %g", name, *lo, name, *hi)
	}
	return nil
}
