package report

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
)

// axis is one axis' value range with its tick positions and labels.
type axis struct {
	lo, hi float64
	ticks  []float64
	labels []string
}

// padRange widens a degenerate range around v.
func padRange(v float64) float64 {
	if v == 0 {
		return 1
	}
	return math.Abs(v) * 0.1
}

// niceAxis chooses a tick step from {1, 2, 2.5, 5}×10^k so that at most
// about maxTicks ticks cover [lo, hi], and widens the ends that are not fixed
// to whole steps. lo and hi must be finite.
func niceAxis(lo, hi float64, fixLo, fixHi bool, maxTicks int) (axis, error) {
	if !finite(lo) || !finite(hi) {
		return axis{}, fmt.Errorf("axis range [%g, %g] is not finite", lo, hi)
	}
	if hi < lo {
		switch {
		case fixLo && !fixHi:
			hi = lo
		case fixHi && !fixLo:
			lo = hi
		default:
			lo, hi = hi, lo
		}
	}
	if hi == lo {
		p := padRange(lo)
		switch {
		case fixLo && !fixHi:
			hi = lo + 2*p
		case fixHi && !fixLo:
			lo = hi - 2*p
		default:
			lo, hi = lo-p, hi+p
		}
	}
	span := hi - lo
	if !finite(span) || span <= 0 {
		return axis{}, fmt.Errorf("axis range [%g, %g] is too large or too small to draw", lo, hi)
	}
	if maxTicks < 2 {
		maxTicks = 2
	}
	raw := span / float64(maxTicks-1)
	exp := math.Floor(math.Log10(raw))
	base := math.Pow(10, exp)
	step, mant := 10*base, 10.0
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*base >= raw*(1-1e-9) {
			step, mant = m*base, m
			break
		}
	}
	if mant == 10 {
		mant, exp = 1, exp+1
	}
	if !finite(step) || step <= 0 {
		return axis{}, fmt.Errorf("axis range [%g, %g] cannot be divided into ticks", lo, hi)
	}
	if !fixLo {
		lo = math.Floor(lo/step+1e-9) * step
	}
	if !fixHi {
		hi = math.Ceil(hi/step-1e-9) * step
	}
	a := axis{lo: lo, hi: hi}
	start := math.Ceil(lo/step-1e-9) * step
	for i := 0; i < 1000; i++ {
		v := start + float64(i)*step
		if v > hi+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		a.ticks = append(a.ticks, v)
	}
	dec := int(-exp)
	if mant == 2.5 {
		dec++
	}
	big := math.Max(math.Abs(lo), math.Abs(hi)) >= 1e7
	for _, v := range a.ticks {
		a.labels = append(a.labels, formatTick(v, dec, big))
	}
	return a, nil
}

func formatTick(v float64, dec int, big bool) string {
	if v == 0 {
		return "0"
	}
	if big || dec > 6 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return strconv.FormatFloat(v, 'f', max(dec, 0), 64)
}

func maxLabelWidth(labels []string) int {
	w := 0
	for _, l := range labels {
		w = max(w, textWidth(l))
	}
	return w
}

type legendKind int

const (
	legendLine legendKind = iota
	legendBox
)

type legendEntry struct {
	name  string
	color color.RGBA // solid colour
	alpha uint8      // fill opacity of a box entry (0: opaque)
	kind  legendKind
}

// frameSpec describes the decorations around a plot: titles, axes, legend.
type frameSpec struct {
	width, height         int
	title, xlabel, ylabel string
	legend                []legendEntry
	xlo, xhi              float64
	xFixLo, xFixHi        bool
	ylo, yhi              float64
	yFixLo, yFixHi        bool
	categories            []string // non-nil: categorical x axis, bands centred on 0..n-1
}

// frame is a laid-out plot: plot is the data rectangle, x and y map data to it.
type frame struct {
	spec     frameSpec
	plot     image.Rectangle
	x, y     axis
	catLines [][]string
	legendW  int
}

const (
	defaultWidth  = 640
	defaultHeight = 400
	maxSide       = 16384
	tickLen       = 5
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
	return w, h, nil
}

func layoutFrame(s frameSpec) (*frame, error) {
	f := &frame{spec: s}
	s.title = asciiText(s.title)
	s.xlabel = asciiText(s.xlabel)
	s.ylabel = asciiText(s.ylabel)
	f.spec = s
	W, H := s.width, s.height

	top := 10
	if s.title != "" {
		top += charH + 8
	}
	right := 14
	if len(s.legend) > 0 {
		nameW := 0
		for _, e := range s.legend {
			nameW = max(nameW, textWidth(asciiText(e.name)))
		}
		f.legendW = min(30+nameW, max(W/3, 60))
		right = 14 + f.legendW
	}
	bottomLines := 1
	for pass := 0; pass < 2; pass++ {
		bottom := 8 + tickLen + 4 + bottomLines*(charH+lineGap)
		if s.xlabel != "" {
			bottom += charH + 6
		}
		plotH := H - top - bottom
		if plotH < 20 {
			return nil, fmt.Errorf("size %dx%d leaves no room for the plot", W, H)
		}
		var err error
		f.y, err = niceAxis(s.ylo, s.yhi, s.yFixLo, s.yFixHi, min(max(plotH/45+1, 3), 11))
		if err != nil {
			return nil, fmt.Errorf("y %w", err)
		}
		left := 8 + maxLabelWidth(f.y.labels) + tickLen + 4
		if s.ylabel != "" {
			left += charH + 8
		}
		r := right
		if s.categories == nil && len(s.legend) == 0 {
			r = max(right, textWidth(formatTick(s.xhi, 2, false))/2+6)
		}
		plotW := W - left - r
		if plotW < 20 {
			return nil, fmt.Errorf("size %dx%d leaves no room for the plot", W, H)
		}
		f.plot = image.Rect(left, top, left+plotW, top+plotH)
		if s.categories != nil {
			n := len(s.categories)
			f.x = axis{lo: -0.5, hi: float64(n) - 0.5}
			band := plotW / max(n, 1)
			f.catLines = f.catLines[:0]
			bottomLines = 1
			for i, c := range s.categories {
				lines := wrap(asciiText(c), max(band-4, charW))
				if len(lines) > 3 {
					lines = lines[:3]
					lines[2] = truncate(lines[2]+"..", max(band-4, charW))
				}
				f.catLines = append(f.catLines, lines)
				f.x.ticks = append(f.x.ticks, float64(i))
				f.x.labels = append(f.x.labels, c)
				bottomLines = max(bottomLines, len(lines))
			}
			continue
		}
		for n := min(max(plotW/70+1, 3), 11); ; n-- {
			f.x, err = niceAxis(s.xlo, s.xhi, s.xFixLo, s.xFixHi, n)
			if err != nil {
				return nil, fmt.Errorf("x %w", err)
			}
			k := len(f.x.ticks)
			if n <= 2 || k < 2 || float64(maxLabelWidth(f.x.labels)+10) <= float64(plotW)*(f.x.ticks[1]-f.x.ticks[0])/(f.x.hi-f.x.lo) {
				break
			}
		}
	}
	return f, nil
}

// px maps a data x value to a pixel column (as a float).
func (f *frame) px(x float64) float64 {
	return float64(f.plot.Min.X) + (x-f.x.lo)/(f.x.hi-f.x.lo)*float64(f.plot.Dx()-1)
}

// py maps a data y value to a pixel row (as a float).
func (f *frame) py(y float64) float64 {
	return float64(f.plot.Max.Y-1) - (y-f.y.lo)/(f.y.hi-f.y.lo)*float64(f.plot.Dy()-1)
}

// drawGrid draws the light grid lines behind the data.
func (f *frame) drawGrid(c *canvas) {
	for _, t := range f.y.ticks {
		y := int(math.Round(f.py(t)))
		c.fill(image.Rect(f.plot.Min.X, y, f.plot.Max.X, y+1), colGrid)
	}
	if f.spec.categories == nil {
		for _, t := range f.x.ticks {
			x := int(math.Round(f.px(t)))
			c.fill(image.Rect(x, f.plot.Min.Y, x+1, f.plot.Max.Y), colGrid)
		}
	}
}

// drawDecorations draws axes, ticks, labels, legend and title on top of the data.
func (f *frame) drawDecorations(c *canvas) {
	p := f.plot
	c.fill(image.Rect(p.Min.X-1, p.Min.Y, p.Min.X, p.Max.Y+1), colAxis)
	c.fill(image.Rect(p.Min.X-1, p.Max.Y, p.Max.X, p.Max.Y+1), colAxis)
	for i, t := range f.y.ticks {
		y := int(math.Round(f.py(t)))
		c.fill(image.Rect(p.Min.X-1-tickLen, y, p.Min.X-1, y+1), colAxis)
		l := f.y.labels[i]
		c.text(p.Min.X-1-tickLen-3-textWidth(l), y-charH/2-1, l, colText)
	}
	for i, t := range f.x.ticks {
		x := int(math.Round(f.px(t)))
		c.fill(image.Rect(x, p.Max.Y+1, x+1, p.Max.Y+1+tickLen), colAxis)
		if f.spec.categories != nil {
			for j, l := range f.catLines[i] {
				c.centeredText(x, p.Max.Y+tickLen+4+j*(charH+lineGap), l, colText)
			}
			continue
		}
		c.centeredText(x, p.Max.Y+tickLen+4, f.x.labels[i], colText)
	}
	if s := f.spec.xlabel; s != "" {
		c.centeredText((p.Min.X+p.Max.X)/2, f.spec.height-8-charH, truncate(s, f.spec.width-16), colText)
	}
	if s := f.spec.ylabel; s != "" {
		c.verticalText(8, (p.Min.Y+p.Max.Y)/2, truncate(s, f.spec.height-16), colText)
	}
	if s := f.spec.title; s != "" {
		s = truncate(s, f.spec.width-16)
		cx := (p.Min.X + p.Max.X) / 2
		cx = min(max(cx, 8+textWidth(s)/2), f.spec.width-8-textWidth(s)/2)
		c.boldText(cx-textWidth(s)/2, 8, s, colText)
	}
	f.drawLegend(c)
}

func (f *frame) drawLegend(c *canvas) {
	if len(f.spec.legend) == 0 {
		return
	}
	x := f.plot.Max.X + 12
	y := f.plot.Min.Y
	const rowH = 18
	maxRows := max(f.plot.Dy()/rowH, 1)
	for i, e := range f.spec.legend {
		if i == maxRows-1 && len(f.spec.legend) > maxRows {
			c.text(x, y+i*rowH+2, fmt.Sprintf("+%d more", len(f.spec.legend)-i), colFaint)
			return
		}
		yy := y + i*rowH
		switch e.kind {
		case legendLine:
			c.fill(image.Rect(x, yy+7, x+20, yy+10), e.color)
		case legendBox:
			box := image.Rect(x+3, yy+2, x+17, yy+16)
			if e.alpha != 0 {
				c.fill(box, color.NRGBA{e.color.R, e.color.G, e.color.B, e.alpha})
			} else {
				c.fill(box, e.color)
			}
			c.rectOutline(box, e.color)
		}
		c.text(x+26, yy+2, truncate(asciiText(e.name), f.legendW-28), colText)
	}
}
