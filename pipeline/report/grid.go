package report

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// Panel is one image of a Grid, in CHW layout: Pix[c*H*W + y*W + x].
//
// The zero Panel is an empty cell, so rows may be ragged.
type Panel struct {
	Pix     []float32
	C, H, W int // C is 1 (one channel, drawn through Colormap) or 3 (RGB)
	// Scale maps values to display intensity:
	//   "minmax" (default): the panel's finite minimum is black, its maximum
	//            white; a constant panel is shown as its value clamped to [0, 1];
	//   "unit":  values in [0, 1] (clamped);
	//   "fixed": values in [Lo, Hi] (clamped).
	Scale  string
	Lo, Hi float64
	// Colormap for one-channel panels: "gray" (default) or "viridis".
	Colormap string
	// Label is an optional caption drawn under the panel (e.g. "p=0.93").
	Label string
}

// Grid is a table of image panels with column headers, e.g. image | policy
// probability | aid mask | masked image, one row per example. Every panel is
// enlarged by a whole factor (nearest neighbour) to fill a square cell of at
// least MinSide pixels; NaN pixels are drawn magenta.
type Grid struct {
	Title     string
	Columns   []string // column headers; may be fewer than the widest row
	RowLabels []string // optional labels left of each row
	Rows      [][]Panel
	MinSide   int // minimum cell side in pixels (0 means 96)
	Gap       int // pixels between cells (0 means 6)
}

// ImageGrid draws g and writes it to path as a PNG.
func ImageGrid(path string, g Grid) error {
	img, err := g.Render()
	if err != nil {
		return fmt.Errorf("report: image grid %s: %w", path, err)
	}
	return writePNG(path, img)
}

var colNaN = color.RGBA{255, 0, 255, 255}

func (p Panel) empty() bool {
	return p.Pix == nil && p.C == 0 && p.H == 0 && p.W == 0
}

// check validates a panel; the error says what is wrong with it.
func (p Panel) check() error {
	if p.C != 1 && p.C != 3 {
		return fmt.Errorf("C is %d; it must be 1 or 3", p.C)
	}
	if p.H <= 0 || p.W <= 0 {
		return fmt.Errorf("size %dx%d: H and W must be positive", p.H, p.W)
	}
	if p.H > maxSide || p.W > maxSide {
		return fmt.Errorf("size %dx%d is larger than the limit %d", p.H, p.W, maxSide)
	}
	if want := p.C * p.H * p.W; len(p.Pix) != want {
		return fmt.Errorf("Pix has %d values, want C*H*W = %d*%d*%d = %d", len(p.Pix), p.C, p.H, p.W, want)
	}
	switch p.Scale {
	case "", "minmax", "unit":
	case "fixed":
		if !finite(p.Lo) || !finite(p.Hi) || p.Hi <= p.Lo {
			return fmt.Errorf("fixed scale needs finite Lo < Hi, got Lo=%g Hi=%g", p.Lo, p.Hi)
		}
	default:
		return fmt.Errorf("unknown Scale %q (want minmax, unit or fixed)", p.Scale)
	}
	switch p.Colormap {
	case "", "gray", "grey":
	case "viridis":
		if p.C != 1 {
			return fmt.Errorf("colormap viridis needs a one-channel panel, this one has C=%d", p.C)
		}
	default:
		return fmt.Errorf("unknown Colormap %q (want gray or viridis)", p.Colormap)
	}
	return nil
}

// valueRange is the [lo, hi] the panel's values are mapped from.
func (p Panel) valueRange() (lo, hi float64) {
	switch p.Scale {
	case "unit":
		return 0, 1
	case "fixed":
		return p.Lo, p.Hi
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range p.Pix {
		f := float64(v)
		if finite(f) {
			lo, hi = math.Min(lo, f), math.Max(hi, f)
		}
	}
	if lo >= hi { // constant or no finite values: show the value itself
		return 0, 1
	}
	return lo, hi
}

// render converts the panel to an RGBA image at its own size.
func (p Panel) render() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, p.W, p.H))
	lo, hi := p.valueRange()
	norm := func(v float32) (float64, bool) {
		f := float64(v)
		if math.IsNaN(f) {
			return 0, false
		}
		t := (f - lo) / (hi - lo)
		return math.Min(math.Max(t, 0), 1), true
	}
	n := p.H * p.W
	for y := 0; y < p.H; y++ {
		for x := 0; x < p.W; x++ {
			i := y*p.W + x
			if p.C == 3 {
				var rgb [3]uint8
				bad := false
				for ch := 0; ch < 3; ch++ {
					t, ok := norm(p.Pix[ch*n+i])
					bad = bad || !ok
					rgb[ch] = uint8(math.Round(t * 255))
				}
				if bad {
					img.SetRGBA(x, y, colNaN)
				} else {
					img.SetRGBA(x, y, color.RGBA{rgb[0], rgb[1], rgb[2], 255})
				}
				continue
			}
			t, ok := norm(p.Pix[i])
			switch {
			case !ok:
				img.SetRGBA(x, y, colNaN)
			case p.Colormap == "viridis":
				img.SetRGBA(x, y, viridis(t))
			default:
				g := uint8(math.Round(t * 255))
				img.SetRGBA(x, y, color.RGBA{g, g, g, 255})
			}
		}
	}
	return img
}

// viridisStops are matplotlib's viridis at 10 evenly spaced points.
var viridisStops = [...][3]float64{
	{0x44, 0x01, 0x54}, {0x48, 0x28, 0x78}, {0x3e, 0x4a, 0x89}, {0x31, 0x68, 0x8e}, {0x26, 0x82, 0x8e},
	{0x1f, 0x9e, 0x89}, {0x35, 0xb7, 0x79}, {0x6d, 0xcd, 0x59}, {0xb4, 0xde, 0x2c}, {0xfd, 0xe7, 0x25},
}

// viridis maps t in [0, 1] to the viridis colour map.
func viridis(t float64) color.RGBA {
	t = math.Min(math.Max(t, 0), 1) * float64(len(viridisStops)-1)
	i := min(int(t), len(viridisStops)-2)
	f := t - float64(i)
	a, b := viridisStops[i], viridisStops[i+1]
	mix := func(k int) uint8 { return uint8(math.Round(a[k] + f*(b[k]-a[k]))) }
	return color.RGBA{mix(0), mix(1), mix(2), 255}
}

// gridLayout holds the geometry of a rendered grid.
type gridLayout struct {
	width, height int
	cell          int // side of the square cell
	gap           int
	left, top     int // position of the first cell
	headerLines   [][]string
	rowLines      [][]string
	labelH        int // extra height under each row for panel labels
	labelLines    int // lines of panel label text (at most 2)
	cols          int
}

// cellOrigin is the top-left corner of the cell at (row, col), 0-based.
func (l *gridLayout) cellOrigin(r, c int) image.Point {
	return image.Pt(l.left+c*(l.cell+l.gap), l.top+r*(l.cell+l.labelH+l.gap))
}

// panelRect is where a panel of size h×w is drawn inside its cell.
func (l *gridLayout) panelRect(r, c, h, w int) image.Rectangle {
	s := max(1, min(l.cell/w, l.cell/h))
	o := l.cellOrigin(r, c)
	x0 := o.X + (l.cell-s*w)/2
	y0 := o.Y + (l.cell-s*h)/2
	return image.Rect(x0, y0, x0+s*w, y0+s*h)
}

func (g Grid) layout() (*gridLayout, error) {
	if len(g.Rows) == 0 {
		return nil, fmt.Errorf("grid has no rows")
	}
	minSide := g.MinSide
	if minSide <= 0 {
		minSide = 96
	}
	minSide = min(minSide, 4096)
	gap := g.Gap
	if gap <= 0 {
		gap = 6
	}
	gap = min(gap, 200)
	l := &gridLayout{gap: gap, cols: len(g.Columns)}
	labels := []string{}
	for r, row := range g.Rows {
		l.cols = max(l.cols, len(row))
		for c, p := range row {
			if p.empty() {
				continue
			}
			if err := p.check(); err != nil {
				return nil, fmt.Errorf("panel in row %d column %d: %w", r+1, c+1, err)
			}
			side := max(p.H, p.W)
			scale := (minSide + side - 1) / side
			l.cell = max(l.cell, side*scale)
			if p.Label != "" {
				labels = append(labels, asciiText(p.Label))
			}
		}
	}
	if l.cols == 0 {
		return nil, fmt.Errorf("grid has no columns")
	}
	if l.cell == 0 {
		l.cell = minSide
	}
	for _, s := range labels {
		l.labelLines = max(l.labelLines, min(len(wrap(s, l.cell)), 2))
	}
	if l.labelLines > 0 {
		l.labelH = l.labelLines*(charH+lineGap) + 4
	}
	maxLines := 0
	for _, h := range g.Columns {
		lines := wrap(asciiText(h), l.cell)
		if len(lines) > 4 {
			lines = lines[:4]
		}
		l.headerLines = append(l.headerLines, lines)
		maxLines = max(maxLines, len(lines))
	}
	rowLabelW := 0
	for _, s := range g.RowLabels {
		lines := wrap(asciiText(s), 140)
		if len(lines) > max(l.cell/(charH+lineGap), 1) {
			lines = lines[:max(l.cell/(charH+lineGap), 1)]
		}
		l.rowLines = append(l.rowLines, lines)
		for _, x := range lines {
			rowLabelW = max(rowLabelW, textWidth(x))
		}
	}
	const margin = 10
	l.top = margin
	if g.Title != "" {
		l.top += charH + 8
	}
	if maxLines > 0 {
		l.top += maxLines*(charH+lineGap) + 4
	}
	l.left = margin
	if rowLabelW > 0 {
		l.left += rowLabelW + 8
	}
	l.width = l.left + l.cols*l.cell + (l.cols-1)*gap + margin
	l.height = l.top + len(g.Rows)*(l.cell+l.labelH) + (len(g.Rows)-1)*gap + margin
	if g.Title != "" {
		l.width = max(l.width, textWidth(asciiText(g.Title))+2*margin+1)
	}
	if l.width > maxSide || l.height > maxSide {
		return nil, fmt.Errorf("grid would be %dx%d pixels, larger than the limit %d", l.width, l.height, maxSide)
	}
	return l, nil
}

// Render draws the grid into an image.
func (g Grid) Render() (*image.RGBA, error) {
	l, err := g.layout()
	if err != nil {
		return nil, err
	}
	cv := newCanvas(l.width, l.height)
	if g.Title != "" {
		cv.boldText(10, 8, asciiText(g.Title), colText)
	}
	for c, lines := range l.headerLines {
		o := l.cellOrigin(0, c)
		y0 := o.Y - 4 - len(lines)*(charH+lineGap)
		for i, s := range lines {
			cv.centeredText(o.X+l.cell/2, y0+i*(charH+lineGap), s, colText)
		}
	}
	for r, row := range g.Rows {
		if r < len(l.rowLines) {
			lines := l.rowLines[r]
			o := l.cellOrigin(r, 0)
			y0 := o.Y + l.cell/2 - len(lines)*(charH+lineGap)/2
			for i, s := range lines {
				cv.text(o.X-8-textWidth(s), y0+i*(charH+lineGap), s, colText)
			}
		}
		for c, p := range row {
			if p.empty() {
				continue
			}
			dst := l.panelRect(r, c, p.H, p.W)
			s := dst.Dx() / p.W
			src := p.render()
			for y := dst.Min.Y; y < dst.Max.Y; y++ {
				for x := dst.Min.X; x < dst.Max.X; x++ {
					cv.img.SetRGBA(x, y, src.RGBAAt((x-dst.Min.X)/s, (y-dst.Min.Y)/s))
				}
			}
			cv.rectOutline(dst.Inset(-1), colGrid)
			if p.Label != "" {
				o := l.cellOrigin(r, c)
				lines := wrap(asciiText(p.Label), l.cell)
				if len(lines) > l.labelLines {
					lines = lines[:l.labelLines]
					lines[len(lines)-1] = truncate(lines[len(lines)-1]+"..", l.cell)
				}
				for i, s := range lines {
					cv.centeredText(o.X+l.cell/2, o.Y+l.cell+3+i*(charH+lineGap), s, colText)
				}
			}
		}
	}
	return cv.img, nil
}
