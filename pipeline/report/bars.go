package report

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
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

// BarChart draws b and writes it to path as a PNG, and as an SVG beside it
// (path with the extension .svg).
func BarChart(path string, b Bars) error {
	f, err := b.figure()
	if err != nil {
		return fmt.Errorf("report: bar chart %s: %w", path, err)
	}
	return f.write(path)
}

// Render draws the bar chart into an image.
func (b Bars) Render() (*image.RGBA, error) {
	f, err := b.figure()
	if err != nil {
		return nil, err
	}
	return f.image(), nil
}

// check validates the chart and returns the range of its bars and error
// bars, including 0.
func (b Bars) check() (lo, hi float64, err error) {
	if len(b.Categories) == 0 {
		return 0, 0, fmt.Errorf("bar chart has no categories")
	}
	if len(b.Series) == 0 {
		return 0, 0, fmt.Errorf("bar chart has no series")
	}
	have := false
	for i, s := range b.Series {
		if len(s.Mean) != len(b.Categories) {
			return 0, 0, fmt.Errorf("series %d (%q) has %d means for %d categories", i+1, s.Name, len(s.Mean), len(b.Categories))
		}
		if s.Err != nil && len(s.Err) != len(b.Categories) {
			return 0, 0, fmt.Errorf("series %d (%q) has %d errors for %d categories", i+1, s.Name, len(s.Err), len(b.Categories))
		}
		for j, m := range s.Mean {
			e := 0.0
			if s.Err != nil && !math.IsNaN(s.Err[j]) {
				e = s.Err[j]
				if e < 0 || math.IsInf(e, 0) {
					return 0, 0, fmt.Errorf("series %d (%q) category %d (%q): error %g must be finite and >= 0", i+1, s.Name, j+1, b.Categories[j], e)
				}
			}
			if !finite(m) {
				continue
			}
			lo, hi = math.Min(lo, m-e), math.Max(hi, m+e)
			have = true
		}
	}
	if !have {
		lo, hi = 0, 1
	}
	return lo, hi, checkLimits("Y", b.YMin, b.YMax)
}

func (b Bars) figure() (*figure, error) {
	w, h, err := chartSize(b.Width, b.Height)
	if err != nil {
		return nil, err
	}
	lo, hi, err := b.check()
	if err != nil {
		return nil, err
	}
	f := newFigure(w, h, b.Title, b.XLabel, b.YLabel)
	f.grid(false)
	g := &groupedBars{b: b, lo: lo, hi: hi}
	for k, s := range b.Series {
		g.colors = append(g.colors, seriesColor(s.Color, k))
	}
	f.p.Add(g)
	named := len(b.Series) > 1
	for _, s := range b.Series {
		named = named || s.Name != ""
	}
	if named {
		var names []string
		var thumbs [][]plot.Thumbnailer
		for k, s := range b.Series {
			name := s.Name
			if name == "" {
				name = fmt.Sprintf("series %d", k+1)
			}
			names = append(names, name)
			thumbs = append(thumbs, []plot.Thumbnailer{box{g.colors[k], 255}})
		}
		f.setLegend(names, thumbs)
	}
	// Category names under their groups, wrapped to the group's width
	// (estimated: the plot is the chart less margins, y axis and legend)
	// and at most three lines.
	band := (px(float64(w)) - px(90) - f.legendWidth()) / vg.Length(len(b.Categories))
	names := make([]string, len(b.Categories))
	for j, c := range b.Categories {
		names[j] = wrapText(f.p.X.Tick.Label, c, max(band-px(6), px(20)), 3)
	}
	f.p.NominalX(names...)
	f.p.Y.Padding = 0
	f.p.X.Min, f.p.X.Max = -0.5, float64(len(b.Categories))-0.5
	setLimits(&f.p.Y, b.YMin, b.YMax)
	return f, f.fixRanges()
}

// groupedBars draws the bars and error bars of a Bars in data coordinates:
// category j spans [j-0.5, j+0.5], its bars the middle 80%.
type groupedBars struct {
	b      Bars
	lo, hi float64
	colors []color.RGBA
}

func (g *groupedBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -0.5, float64(len(g.b.Categories)) - 0.5, g.lo, g.hi
}

// span is the x range of series k's bar in category j.
func (g *groupedBars) span(j, k int) (x0, x1 float64) {
	const inner = 0.8
	bw := inner / float64(len(g.b.Series))
	x0 = float64(j) - inner/2 + bw*float64(k)
	return x0, x0 + bw
}

func (g *groupedBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	base := math.Min(math.Max(0, p.Y.Min), p.Y.Max)
	for k, s := range g.b.Series {
		for j, m := range s.Mean {
			if !finite(m) {
				continue
			}
			x0, x1 := g.span(j, k)
			// One pixel of white between neighbouring bars.
			l, r := trX(x0)+px(0.5), trX(x1)-px(0.5)
			if r <= l {
				r = l + px(1)
			}
			y0, y1 := trY(base), trY(m)
			pts := []vg.Point{{X: l, Y: y0}, {X: r, Y: y0}, {X: r, Y: y1}, {X: l, Y: y1}}
			c.FillPolygon(g.colors[k], c.ClipPolygonXY(pts))
		}
	}
	errStyle := draw.LineStyle{Color: color.Black, Width: px(1.5)}
	for k, s := range g.b.Series {
		if s.Err == nil {
			continue
		}
		for j, m := range s.Mean {
			e := s.Err[j]
			if !finite(m) || !finite(e) || e == 0 {
				continue
			}
			x0, x1 := g.span(j, k)
			cx := trX((x0 + x1) / 2)
			half := max(px(2), (trX(x1)-trX(x0))/4)
			yLo, yHi := trY(m-e), trY(m+e)
			c.StrokeLines(errStyle, c.ClipLinesXY(
				[]vg.Point{{X: cx, Y: yLo}, {X: cx, Y: yHi}},
				[]vg.Point{{X: cx - half, Y: yLo}, {X: cx + half, Y: yLo}},
				[]vg.Point{{X: cx - half, Y: yHi}, {X: cx + half, Y: yHi}},
			)...)
		}
	}
}

// box is a legend swatch: a square of colour c at opacity alpha, outlined
// in c.
type box struct {
	c     color.RGBA
	alpha uint8
}

func (b box) Thumbnail(c *draw.Canvas) {
	side := min(c.Max.Y-c.Min.Y, c.Max.X-c.Min.X)
	x0 := (c.Min.X + c.Max.X - side) / 2
	pts := []vg.Point{{X: x0, Y: c.Min.Y}, {X: x0 + side, Y: c.Min.Y}, {X: x0 + side, Y: c.Min.Y + side}, {X: x0, Y: c.Min.Y + side}}
	c.FillPolygon(color.NRGBA{b.c.R, b.c.G, b.c.B, b.alpha}, pts)
	c.StrokeLines(draw.LineStyle{Color: b.c, Width: px(1)}, append(pts, pts[0]))
}
