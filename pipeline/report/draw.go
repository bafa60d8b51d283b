package report

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
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

var (
	colWhite = color.RGBA{255, 255, 255, 255}
	colBlack = color.RGBA{0, 0, 0, 255}
	colAxis  = color.RGBA{40, 40, 40, 255}
	colGrid  = color.RGBA{228, 228, 228, 255}
	colText  = color.RGBA{20, 20, 20, 255}
	colFaint = color.RGBA{110, 110, 110, 255}
)

// seriesColor returns c made opaque, or the i-th palette colour when c is
// unset (A == 0).
func seriesColor(c color.RGBA, i int) color.RGBA {
	if c.A != 0 {
		c.A = 255
		return c
	}
	return Palette[i%len(Palette)]
}

// Text metrics of basicfont.Face7x13.
const (
	charW   = 7
	charH   = 13
	ascent  = 11
	lineGap = 2
)

var face = basicfont.Face7x13

// asciiText maps the few non-ASCII characters reports commonly use to ASCII,
// because basicfont only has ASCII glyphs; anything else becomes '?'.
func asciiText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			switch r {
			case '±':
				b.WriteString("+/-")
			case '×':
				b.WriteByte('x')
			case '–', '—', '−':
				b.WriteByte('-')
			case 'µ', 'μ':
				b.WriteByte('u')
			case 'α':
				b.WriteString("alpha")
			case 'β':
				b.WriteString("beta")
			case 'λ':
				b.WriteString("lambda")
			case 'σ':
				b.WriteString("sigma")
			case '…':
				b.WriteString("...")
			case '‘', '’':
				b.WriteByte('\'')
			case '“', '”':
				b.WriteByte('"')
			case '≤':
				b.WriteString("<=")
			case '≥':
				b.WriteString(">=")
			default:
				b.WriteByte('?')
			}
		}
	}
	return b.String()
}

// textWidth is the width in pixels of s (already ASCII) in the report font.
func textWidth(s string) int { return len(s) * charW }

// truncate shortens s (ASCII) to at most maxW pixels, ending in "..".
func truncate(s string, maxW int) string {
	if textWidth(s) <= maxW {
		return s
	}
	n := maxW/charW - 2
	if n <= 0 {
		n = max(maxW/charW, 0)
		return s[:min(n, len(s))]
	}
	return s[:n] + ".."
}

// wrap breaks s (ASCII) into lines of at most maxW pixels, at spaces where
// possible; words longer than a line are cut.
func wrap(s string, maxW int) []string {
	maxC := max(maxW/charW, 1)
	var lines []string
	var cur string
	for _, w := range strings.Fields(s) {
		for len(w) > maxC {
			if cur != "" {
				lines = append(lines, cur)
				cur = ""
			}
			lines = append(lines, w[:maxC])
			w = w[maxC:]
		}
		switch {
		case cur == "":
			cur = w
		case len(cur)+1+len(w) <= maxC:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

type canvas struct {
	img *image.RGBA
}

func newCanvas(w, h int) *canvas {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(colWhite), image.Point{}, draw.Src)
	return &canvas{img: img}
}

// fill paints r with col, blending when col is translucent.
func (c *canvas) fill(r image.Rectangle, col color.Color) {
	draw.Draw(c.img, r.Intersect(c.img.Rect), image.NewUniform(col), image.Point{}, draw.Over)
}

// rectOutline draws a 1-pixel outline just inside r.
func (c *canvas) rectOutline(r image.Rectangle, col color.RGBA) {
	if r.Empty() {
		return
	}
	c.fill(image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+1), col)
	c.fill(image.Rect(r.Min.X, r.Max.Y-1, r.Max.X, r.Max.Y), col)
	c.fill(image.Rect(r.Min.X, r.Min.Y, r.Min.X+1, r.Max.Y), col)
	c.fill(image.Rect(r.Max.X-1, r.Min.Y, r.Max.X, r.Max.Y), col)
}

// text draws s with its top-left corner at (x, y).
func (c *canvas) text(x, y int, s string, col color.Color) {
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: face, Dot: fixed.P(x, y+ascent)}
	d.DrawString(s)
}

// boldText draws s twice, one pixel apart, as a cheap bold face.
func (c *canvas) boldText(x, y int, s string, col color.Color) {
	c.text(x, y, s, col)
	c.text(x+1, y, s, col)
}

// centeredText draws s horizontally centred on cx with its top at y.
func (c *canvas) centeredText(cx, y int, s string, col color.Color) {
	c.text(cx-textWidth(s)/2, y, s, col)
}

// verticalText draws s rotated 90° counter-clockwise (reading bottom to top),
// centred vertically on cy, with its left edge at x.
func (c *canvas) verticalText(x, cy int, s string, col color.Color) {
	w := textWidth(s)
	if w == 0 {
		return
	}
	tmp := image.NewAlpha(image.Rect(0, 0, w, charH))
	d := font.Drawer{Dst: tmp, Src: image.Opaque, Face: face, Dot: fixed.P(0, ascent)}
	d.DrawString(s)
	top := cy - w/2
	src := image.NewUniform(col)
	for ty := 0; ty < charH; ty++ {
		for tx := 0; tx < w; tx++ {
			a := tmp.AlphaAt(tx, ty).A
			if a == 0 {
				continue
			}
			// (tx, ty) -> (ty, w-1-tx): rotation by 90° counter-clockwise.
			p := image.Pt(x+ty, top+w-1-tx)
			draw.DrawMask(c.img, image.Rectangle{Min: p, Max: p.Add(image.Pt(1, 1))}, src, image.Point{},
				image.NewUniform(color.Alpha{a}), image.Point{}, draw.Over)
		}
	}
}

// clipSegment clips the segment (x0,y0)-(x1,y1) to the closed box
// [minX,maxX]×[minY,maxY] (Liang–Barsky). ok is false when nothing is left.
func clipSegment(x0, y0, x1, y1, minX, minY, maxX, maxY float64) (a0, b0, a1, b1 float64, ok bool) {
	dx, dy := x1-x0, y1-y0
	t0, t1 := 0.0, 1.0
	edges := [4][2]float64{{-dx, x0 - minX}, {dx, maxX - x0}, {-dy, y0 - minY}, {dy, maxY - y0}}
	for _, e := range edges {
		p, q := e[0], e[1]
		if p == 0 {
			if q < 0 {
				return 0, 0, 0, 0, false
			}
			continue
		}
		r := q / p
		if p < 0 {
			if r > t1 {
				return 0, 0, 0, 0, false
			}
			t0 = math.Max(t0, r)
		} else {
			if r < t0 {
				return 0, 0, 0, 0, false
			}
			t1 = math.Min(t1, r)
		}
	}
	return x0 + t0*dx, y0 + t0*dy, x0 + t1*dx, y0 + t1*dy, true
}

// stamp paints a width×width square pen centred (as far as integers allow)
// on (x, y), restricted to clip.
func (c *canvas) stamp(x, y, width int, col color.RGBA, clip image.Rectangle) {
	lo := -(width / 2)
	hi := (width - 1) / 2
	for dy := lo; dy <= hi; dy++ {
		for dx := lo; dx <= hi; dx++ {
			p := image.Pt(x+dx, y+dy)
			if p.In(clip) {
				c.img.SetRGBA(p.X, p.Y, col)
			}
		}
	}
}

// line draws a straight line of the given pen width between two points in
// pixel coordinates, clipped to clip. Non-finite coordinates draw nothing.
func (c *canvas) line(x0, y0, x1, y1 float64, width int, col color.RGBA, clip image.Rectangle) {
	for _, v := range [4]float64{x0, y0, x1, y1} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
	}
	clip = clip.Intersect(c.img.Rect)
	if clip.Empty() {
		return
	}
	pad := float64(width)
	x0, y0, x1, y1, ok := clipSegment(x0, y0, x1, y1,
		float64(clip.Min.X)-pad, float64(clip.Min.Y)-pad, float64(clip.Max.X)+pad, float64(clip.Max.Y)+pad)
	if !ok {
		return
	}
	ix0, iy0 := int(math.Round(x0)), int(math.Round(y0))
	ix1, iy1 := int(math.Round(x1)), int(math.Round(y1))
	dx, dy := abs(ix1-ix0), -abs(iy1-iy0)
	sx, sy := 1, 1
	if ix0 > ix1 {
		sx = -1
	}
	if iy0 > iy1 {
		sy = -1
	}
	e := dx + dy
	for {
		c.stamp(ix0, iy0, width, col, clip)
		if ix0 == ix1 && iy0 == iy1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			ix0 += sx
		}
		if e2 <= dx {
			e += dx
			iy0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
