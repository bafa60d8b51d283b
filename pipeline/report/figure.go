package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"io"
	"math"
	"path/filepath"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Palette is the default series colour cycle (matplotlib's "tab10"), chosen
// so that neighbouring series are easy to tell apart.
var Palette = []color.RGBA{
	{31, 119, 180, 255},  // blue
	{255, 127, 14, 255},  // orange
	{44, 160, 44, 255},   // green
	{214, 39, 40, 255},   // red
	{148, 103, 189, 255}, // purple
	{140, 86, 75, 255},   // brown
	{227, 119, 194, 255}, // pink
	{127, 127, 127, 255}, // grey
	{188, 189, 34, 255},  // olive
	{23, 190, 207, 255},  // cyan
}

// seriesColor returns c made opaque, or the i-th palette colour when c is
// unset (A == 0).
func seriesColor(c color.RGBA, i int) color.RGBA {
	if c.A != 0 {
		c.A = 255
		return c
	}
	return Palette[i%len(Palette)]
}

const (
	defaultWidth  = 640
	defaultHeight = 400
	maxSide       = 16384
	// minWidth and minHeight are the smallest chart that still has room
	// for the axes, their labels and a plot.
	minWidth, minHeight = 120, 90
	// dpi relates chart pixels to gonum/plot's points: 1 px = 0.75 pt, the
	// CSS ratio, so an SVG of w×h px·0.75 pt shows as w×h CSS pixels.
	dpi = 96
)

// chartSize applies defaults and limits to a requested chart size.
func chartSize(w, h int) (int, int, error) {
	if w <= 0 {
		w = defaultWidth
	}
	if h <= 0 {
		h = defaultHeight
	}
	if w > maxSide || h > maxSide {
		return 0, 0, fmt.Errorf("size %dx%d is larger than the limit %dx%d", w, h, maxSide, maxSide)
	}
	if w < minWidth || h < minHeight {
		return 0, 0, fmt.Errorf("size %dx%d leaves no room for the plot (at least %dx%d)", w, h, minWidth, minHeight)
	}
	return w, h, nil
}

// px converts a length in chart pixels to gonum/plot's points.
func px(v float64) vg.Length { return vg.Length(v) * vg.Inch / dpi }

var (
	sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	boldFont = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
	colText  = color.RGBA{20, 20, 20, 255}
	colAxis  = color.RGBA{40, 40, 40, 255}
	colGrid  = color.RGBA{228, 228, 228, 255}
	colFaint = color.RGBA{110, 110, 110, 255}
)

// figure is a gonum/plot chart with its legend drawn right of the plot
// area (not over the data), at a size in pixels.
type figure struct {
	p      *plot.Plot
	legend plot.Legend
	w, h   int // pixels
	rows   int // legend entries
	more   int // legend entries left out for lack of room
}

// newFigure makes a plot of w×h pixels with the report's fonts and colours.
func newFigure(w, h int, title, xlabel, ylabel string) *figure {
	p := plot.New()
	style := func(s *text.Style, f font.Font, size vg.Length) {
		s.Font = font.From(f, size)
		s.Color = colText
	}
	style(&p.Title.TextStyle, boldFont, 13)
	p.Title.Padding = px(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		style(&a.Label.TextStyle, sansFont, 11)
		style(&a.Tick.Label, sansFont, 9.5)
		a.LineStyle.Color = colAxis
		a.Tick.LineStyle.Color = colAxis
		a.Tick.Length = px(5)
	}
	f := &figure{p: p, legend: plot.NewLegend(), w: w, h: h}
	style(&f.legend.TextStyle, sansFont, 10)
	f.legend.Top, f.legend.Left = true, true
	f.legend.Padding = px(3)
	W := px(float64(w)) - px(16)
	p.Title.Text = fitText(p.Title.TextStyle, title, W)
	p.X.Label.Text = fitText(p.X.Label.TextStyle, xlabel, W)
	p.Y.Label.Text = fitText(p.Y.Label.TextStyle, ylabel, px(float64(h))-px(16))
	return f
}

// grid adds light grid lines behind the data (vertical ones only if
// vertical is set).
func (f *figure) grid(vertical bool) {
	g := plotter.NewGrid()
	g.Horizontal = draw.LineStyle{Color: colGrid, Width: px(1)}
	g.Vertical = g.Horizontal
	if !vertical {
		g.Vertical.Color = nil
	}
	f.p.Add(g)
}

// addLegend adds a legend entry, shortening names that would take more
// than a third of the chart's width.
func (f *figure) addLegend(name string, thumbs ...plot.Thumbnailer) {
	maxW := max(px(float64(f.w))/3, px(60)) - f.legend.ThumbnailWidth
	f.legend.Add(strings.TrimPrefix(fitText(f.legend.TextStyle, " "+name, maxW), " "), thumbs...)
	f.rows++
}

// fitText shortens s (ending it in "…") until it is at most maxW wide in
// style sty. Tabs and newlines become spaces.
func fitText(sty text.Style, s string, maxW vg.Length) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if s == "" || sty.Width(s) <= maxW {
		return s
	}
	// The longest prefix that fits with the ellipsis, by bisection (at
	// least one rune is kept).
	r := []rune(s)
	lo, hi := 1, len(r)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if sty.Width(string(r[:mid])+"…") <= maxW {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return string(r[:lo]) + "…"
}

// wrapText breaks s into lines of at most maxW in style sty, at spaces
// where possible, and at most maxLines lines (the last ends in "…" if cut).
func wrapText(sty text.Style, s string, maxW vg.Length, maxLines int) string {
	lines := wrapWords(strings.Fields(s), func(line string) bool { return sty.Width(line) <= maxW })
	if len(lines) > maxLines {
		lines = lines[:maxLines]
		lines[maxLines-1] += " …"
	}
	for i, l := range lines {
		lines[i] = fitText(sty, l, maxW)
	}
	return strings.Join(lines, "\n")
}

// draw draws the figure onto c: the title centred over the whole width,
// the legend in a column on the right, the plot with its axes in the rest.
func (f *figure) draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	c = draw.Crop(c, px(8), -px(10), px(6), -px(8))
	p := *f.p // the title is drawn here, not by gonum/plot
	if t := p.Title.Text; t != "" {
		sty := p.Title.TextStyle
		c.FillText(sty, vg.Point{X: c.Center().X, Y: c.Max.Y + sty.FontExtents().Descent}, t)
		c.Max.Y -= sty.Rectangle(t).Size().Y + p.Title.Padding
		p.Title.Text = ""
	}
	if f.rows == 0 {
		p.Draw(c)
		return
	}
	lw := f.legendWidth()
	p.Draw(draw.Crop(c, 0, -lw, 0, 0))
	f.legend.Draw(draw.Crop(c, c.Size().X-lw+px(12), 0, 0, 0))
}

// legendWidth is the width of the legend column, gap included (0 without
// a legend).
func (f *figure) legendWidth() vg.Length {
	if f.rows == 0 {
		return 0
	}
	return f.legend.Rectangle(draw.Canvas{}).Size().X + px(14)
}

// setLegend adds the legend entries, as many as fit the chart's height; when
// they do not all fit, the last row says how many were left out.
func (f *figure) setLegend(names []string, thumbs [][]plot.Thumbnailer) {
	sty := f.legend.TextStyle
	rowH := sty.Rectangle("Mg").Size().Y + f.legend.Padding
	avail := px(float64(f.h)) - px(60)
	if f.p.Title.Text != "" {
		avail -= f.p.Title.TextStyle.Rectangle(f.p.Title.Text).Size().Y
	}
	maxRows := max(int(avail/rowH), 1)
	for i, name := range names {
		if i == maxRows-1 && len(names) > maxRows {
			f.more = len(names) - i
			f.addLegend(fmt.Sprintf("+%d more", f.more))
			return
		}
		f.addLegend(name, thumbs[i]...)
	}
}

// fixRanges settles both axes' ranges before drawing, as gonum/plot would
// (no data: 0; reversed ends swapped), but widening a degenerate range by
// 10% of its value (gonum/plot's ±1 vanishes at large magnitudes and its
// tick search then panics), and rejects a range whose span overflows (the
// tick search would not end).
func (f *figure) fixRanges() error {
	for _, a := range []struct {
		name string
		axis *plot.Axis
	}{{"x", &f.p.X}, {"y", &f.p.Y}} {
		lo, hi := a.axis.Min, a.axis.Max
		if math.IsInf(lo, 0) || math.IsNaN(lo) {
			lo = 0
		}
		if math.IsInf(hi, 0) || math.IsNaN(hi) {
			hi = 0
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if lo == hi {
			p := padRange(lo)
			lo, hi = lo-p, hi+p
			if lo == hi {
				lo, hi = lo-1, hi+1
			}
		}
		if !finite(hi-lo) || !finite(lo) || !finite(hi) {
			return fmt.Errorf("%s axis range [%g, %g] is too large to draw", a.name, a.axis.Min, a.axis.Max)
		}
		a.axis.Min, a.axis.Max = lo, hi
	}
	return nil
}

// image renders the figure into a w×h RGBA image.
func (f *figure) image() *image.RGBA {
	c := vgimg.NewWith(vgimg.UseWH(px(float64(f.w)), px(float64(f.h))), vgimg.UseDPI(dpi))
	f.draw(draw.New(c))
	if img, ok := c.Image().(*image.RGBA); ok {
		return img
	}
	src := c.Image()
	img := image.NewRGBA(src.Bounds())
	stddraw.Draw(img, img.Bounds(), src, src.Bounds().Min, stddraw.Src)
	return img
}

// svg renders the figure as an SVG document.
func (f *figure) svg() ([]byte, error) {
	c := vgsvg.New(px(float64(f.w)), px(float64(f.h)))
	f.draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// svgPath is where the SVG beside the PNG at path goes: path with its
// extension replaced by .svg.
func svgPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".svg"
}

// write renders the figure and writes it as a PNG to path and as an SVG
// beside it (svgPath), each atomically. Both are rendered before either is
// written, so a rendering error leaves no file.
func (f *figure) write(path string) error {
	if path == "" {
		return fmt.Errorf("report: empty output path")
	}
	if strings.EqualFold(filepath.Ext(path), ".svg") {
		return fmt.Errorf("report: %s: the chart path is the PNG's; its SVG goes beside it", path)
	}
	svg, err := f.svg()
	if err != nil {
		return fmt.Errorf("report: %s: render SVG: %w", svgPath(path), err)
	}
	if err := writePNG(path, f.image()); err != nil {
		return err
	}
	return writeAtomic(svgPath(path), func(w io.Writer) error {
		_, err := w.Write(svg)
		return err
	})
}
