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

var colWhite = color.RGBA{255, 255, 255, 255}

// The image grids (grid.go) draw their text with basicfont's 7×13 ASCII
// face onto a plain RGBA canvas; the charts use gonum/plot (figure.go).

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
	var words []string
	for _, w := range strings.Fields(s) {
		for len(w) > maxC {
			words = append(words, w[:maxC])
			w = w[maxC:]
		}
		words = append(words, w)
	}
	return wrapWords(words, func(line string) bool { return len(line) <= maxC })
}

// wrapWords joins words greedily into lines, each as long as fits allows
// (a word that does not fit alone stands on its own line).
func wrapWords(words []string, fits func(line string) bool) []string {
	var lines []string
	cur := ""
	for _, w := range words {
		switch {
		case cur == "":
			cur = w
		case fits(cur + " " + w):
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

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
