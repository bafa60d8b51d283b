package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var (
	red  = color.RGBA{220, 0, 0, 255}
	blue = color.RGBA{0, 0, 220, 255}
)

// countColor counts the pixels of img within 6 of col in every channel.
func countColor(img *image.RGBA, col color.RGBA) int {
	near := func(a, b uint8) bool { return int(a)-int(b) <= 6 && int(b)-int(a) <= 6 }
	n := 0
	for i := 0; i+3 < len(img.Pix); i += 4 {
		if near(img.Pix[i], col.R) && near(img.Pix[i+1], col.G) && near(img.Pix[i+2], col.B) {
			n++
		}
	}
	return n
}

// readSVG checks that path is well-formed XML with an <svg> root of the
// given size in pixels (as points, 0.75 pt per pixel) and returns its text.
func readSVG(t *testing.T, path string, w, h int) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not valid XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
			attr := map[string]string{}
			for _, a := range se.Attr {
				attr[a.Name.Local] = a.Value
			}
			if want := fmt.Sprintf("0 0 %g %g", 0.75*float64(w), 0.75*float64(h)); attr["viewBox"] != want {
				t.Errorf("%s: viewBox %q, want %q", path, attr["viewBox"], want)
			}
		}
	}
	if root != "svg" {
		t.Fatalf("%s: root element %q, want svg", path, root)
	}
	return string(b)
}

// svgText is the text content of every <text> element of an SVG.
func svgText(t *testing.T, svg string) []string {
	t.Helper()
	var texts []string
	d := xml.NewDecoder(strings.NewReader(svg))
	in := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return texts
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if in = tok.Name.Local == "text"; in {
				texts = append(texts, "")
			}
		case xml.CharData:
			if in {
				texts[len(texts)-1] += string(tok)
			}
		case xml.EndElement:
			in = false
		}
	}
}

func hasText(texts []string, s string) bool {
	for _, x := range texts {
		if x == s {
			return true
		}
	}
	return false
}

// hexStroke is how gonum/plot's SVG writes a stroke colour.
func hexStroke(c color.RGBA) string { return fmt.Sprintf("stroke:#%02X%02X%02X;", c.R, c.G, c.B) }

func TestLineChart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "loss.png")
	c := Chart{
		Title: "loss ± std", XLabel: "epoch", YLabel: "loss", Width: 400, Height: 300, LineWidth: 3,
		Series: []Series{
			{Name: "rising", X: []float64{0, 10}, Y: []float64{0, 1}, Color: red},
			{Name: "flat", X: []float64{0, 10}, Y: []float64{0.25, 0.25}, Color: blue},
			{Name: "gappy", X: []float64{0, 1, 2, 3, 4}, Y: []float64{0.8, 0.8, math.NaN(), 0.8, 0.8}},
		},
	}
	if err := LineChart(path, c); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	if b := img.Bounds(); b.Dx() != 400 || b.Dy() != 300 {
		t.Fatalf("size %v, want 400x300", b)
	}
	gappy := Palette[2]
	for _, col := range []color.RGBA{red, blue, gappy} {
		if n := countColor(img, col); n < 100 {
			t.Errorf("colour %v: %d pixels, want a line's worth", col, n)
		}
	}
	if !hasDark(img, image.Rect(0, 0, 60, 300)) || !hasDark(img, image.Rect(60, 250, 400, 300)) {
		t.Error("no tick labels left of or under the plot")
	}
	svg := readSVG(t, filepath.Join(dir, "loss.svg"), 400, 300)
	texts := svgText(t, svg)
	for _, want := range []string{"loss ± std", "epoch", "loss", "rising", "flat", "gappy"} {
		if !hasText(texts, want) {
			t.Errorf("SVG has no text %q (texts %q)", want, texts)
		}
	}
	// The gappy series is two lines (broken at the NaN) plus its legend
	// swatch; the others one line each plus theirs.
	for _, tc := range []struct {
		col  color.RGBA
		want int
	}{{red, 2}, {blue, 2}, {gappy, 3}} {
		if n := strings.Count(svg, hexStroke(tc.col)); n != tc.want {
			t.Errorf("%d strokes of %v, want %d", n, tc.col, tc.want)
		}
	}
	noTemp(t, dir, "loss.png", "loss.svg")
}

func TestLineChartDegenerate(t *testing.T) {
	// A constant series and a one-point series both render; the point gets
	// a marker.
	c := Chart{LineWidth: 3, Series: []Series{
		{Name: "const", Y: []float64{5, 5, 5}, Color: red},
		{Name: "one", X: []float64{1}, Y: []float64{5.2}, Color: blue},
	}}
	img, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	if countColor(img, red) < 100 {
		t.Error("constant line not drawn")
	}
	if n := countColor(img, blue); n < 10 {
		t.Errorf("single point: %d pixels of its colour, want a marker", n)
	}
	// A constant series gets a y axis around its value: tick labels below
	// and above 5 (the x ticks are 0 and 1).
	f, err := (Chart{Series: []Series{{Y: []float64{5, 5}}}}).figure()
	if err != nil {
		t.Fatal(err)
	}
	svg, err := f.svg()
	if err != nil {
		t.Fatal(err)
	}
	below, above := false, false
	for _, s := range svgText(t, string(svg)) {
		if v, err := strconv.ParseFloat(s, 64); err == nil {
			below, above = below || (v > 1 && v < 5), above || v > 5
		}
	}
	if !below || !above {
		t.Errorf("constant series: y ticks %q should lie either side of 5", svgText(t, string(svg)))
	}

	// No data at all: an empty frame saying so, no error.
	dir := t.TempDir()
	for i, c := range []Chart{{}, {Series: []Series{{Name: "empty"}}}, {Series: []Series{{Y: []float64{math.NaN(), math.Inf(1)}}}}} {
		path := filepath.Join(dir, fmt.Sprintf("empty%d.png", i))
		if err := LineChart(path, c); err != nil {
			t.Errorf("empty chart: %v", err)
			continue
		}
		if !hasText(svgText(t, readSVG(t, svgPath(path), 640, 400)), "no data") {
			t.Errorf("empty chart %d does not say no data", i)
		}
	}
	// Huge and tiny values do not hang or panic: they draw, or a range
	// whose span overflows is an error.
	for _, ys := range [][]float64{{-1e300, 1e300}, {1e20, 1e20}, {1e308, 1e308}, {5e-324, 0}, {1, 1 + 1e-15}} {
		if _, err := (Chart{Series: []Series{{Y: ys}}}).Render(); err != nil {
			t.Errorf("line chart of %g: %v", ys, err)
		}
		if _, err := (Bars{Categories: []string{"a", "b"}, Series: []BarSeries{{Mean: ys}}}).Render(); err != nil {
			t.Errorf("bar chart of %g: %v", ys, err)
		}
		if _, err := (Hist{Sets: []HistSet{{Values: ys}}}).Render(); err != nil {
			t.Errorf("histogram of %g: %v", ys, err)
		}
	}
	huge := []float64{-1e308, 1e308}
	if _, err := (Chart{Series: []Series{{Y: huge}}}).Render(); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("line chart spanning 2e308: %v", err)
	}
	if _, err := (Bars{Categories: []string{"a", "b"}, Series: []BarSeries{{Mean: huge}}}).Render(); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("bar chart spanning 2e308: %v", err)
	}
	// Fixed limits clip data that lies outside, markers included.
	c = Chart{YMin: ptr(0), YMax: ptr(1), XMax: ptr(1.5), Markers: true, Series: []Series{{Y: []float64{-5, 0.5, 7}, Color: red}}}
	f, err = c.figure()
	if err != nil {
		t.Fatalf("clipped chart: %v", err)
	}
	img = f.image()
	if f.p.Y.Min != 0 || f.p.Y.Max != 1 || f.p.X.Max != 1.5 {
		t.Errorf("fixed limits: axes [%g, %g]x[%g, %g]", f.p.X.Min, f.p.X.Max, f.p.Y.Min, f.p.Y.Max)
	}
	if !hasDark(img, img.Rect) || countColor(img, red) == 0 {
		t.Error("clipped chart draws nothing")
	}
	// One fixed end beyond the data still leaves a range.
	f, err = (Chart{YMin: ptr(10), Series: []Series{{Y: []float64{1, 2}}}}).figure()
	if err != nil || f.p.Y.Min != 10 || !(f.p.Y.Max > 10) {
		t.Errorf("YMin above the data: %v, axis [%g, %g]", err, f.p.Y.Min, f.p.Y.Max)
	}
}

func TestLineChartErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.png")
	cases := []struct {
		c    Chart
		want string
	}{
		{Chart{Series: []Series{{Name: "a", Y: []float64{1}}, {Name: "val", X: []float64{1, 2, 3}, Y: []float64{1, 2}}}}, `series 2 ("val"): X has 3 values but Y has 2`},
		{Chart{YMin: ptr(1), YMax: ptr(0)}, "YMin 1 must be less than YMax 0"},
		{Chart{YMin: ptr(math.NaN())}, "YMin is NaN"},
		{Chart{XMax: ptr(math.Inf(1))}, "XMax is +Inf"},
		{Chart{Width: 100000}, "larger than the limit"},
		{Chart{Width: 30, Height: 30}, "no room for the plot"},
	}
	for _, tc := range cases {
		err := LineChart(path, tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("got error %v, want one naming %s and containing %q", err, path, tc.want)
		}
	}
	if err := LineChart("", Chart{}); err == nil || !strings.Contains(err.Error(), "empty output path") {
		t.Errorf("empty path: %v", err)
	}
	if err := LineChart(filepath.Join(dir, "x.svg"), Chart{}); err == nil || !strings.Contains(err.Error(), "x.svg") {
		t.Errorf(".svg path: %v", err)
	}
	noTemp(t, dir)
}

func TestLegendLong(t *testing.T) {
	// Many series with long names: the legend is cut to the height and
	// names are shortened, without panicking.
	var c Chart
	for i := 0; i < 40; i++ {
		c.Series = append(c.Series, Series{Name: strings.Repeat("a very long series name ", 4) + fmt.Sprint(i), Y: []float64{float64(i), float64(i + 1)}})
	}
	c.Title = strings.Repeat("an overly long title ", 20)
	f, err := c.figure()
	if err != nil {
		t.Fatal(err)
	}
	if f.more == 0 || f.rows >= 40 {
		t.Errorf("legend of 40 entries in 400 px: %d rows, %d more", f.rows, f.more)
	}
	svg, err := f.svg()
	if err != nil {
		t.Fatal(err)
	}
	texts := svgText(t, string(svg))
	if !hasText(texts, fmt.Sprintf("+%d more", f.more)) {
		t.Errorf("no \"+%d more\" row in %q", f.more, texts)
	}
	for _, s := range texts {
		if strings.HasPrefix(s, "a very") && !strings.HasSuffix(s, "…") {
			t.Errorf("legend name %q not shortened", s)
		}
	}
}

func TestHistogram(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hist.png")
	var vals []float64
	add := func(v float64, n int) {
		for i := 0; i < n; i++ {
			vals = append(vals, v)
		}
	}
	add(0.35, 5)
	add(0.75, 50)
	add(0.85, 20)
	vals = append(vals, math.NaN(), 7) // ignored: NaN and out of range
	h := Hist{
		Title: "pixel intensities", XLabel: "intensity", Bins: 10, Min: ptr(0), Max: ptr(1),
		Sets: []HistSet{{Name: "original", Values: vals}},
	}
	if err := Histogram(path, h); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	if img.Rect.Dx() != 640 || img.Rect.Dy() != 400 {
		t.Fatalf("size %v", img.Rect)
	}
	f, d, err := h.figure()
	if err != nil {
		t.Fatal(err)
	}
	if got := d.heights[0]; got[3] != 5 || got[7] != 50 || got[8] != 20 {
		t.Fatalf("counts %v", got)
	}
	if f.p.X.Min != 0 || f.p.X.Max != 1 || f.p.Y.Min != 0 || f.p.Y.Max < 50 {
		t.Errorf("axes [%g, %g]x[%g, %g]", f.p.X.Min, f.p.X.Max, f.p.Y.Min, f.p.Y.Max)
	}
	// The translucent fill is the series colour blended over white.
	a := float64(histAlpha) / 255
	light := color.RGBA{uint8(math.Round(255*(1-a) + float64(Palette[0].R)*a)), uint8(math.Round(255*(1-a) + float64(Palette[0].G)*a)), uint8(math.Round(255*(1-a) + float64(Palette[0].B)*a)), 255}
	if n := countColor(img, light); n < 1000 {
		t.Errorf("%d pixels of the fill colour %v", n, light)
	}
	svg := readSVG(t, filepath.Join(dir, "hist.svg"), 640, 400)
	texts := svgText(t, svg)
	for _, want := range []string{"pixel intensities", "intensity", "count", "original"} {
		if !hasText(texts, want) {
			t.Errorf("SVG has no text %q", want)
		}
	}
	// Three non-empty bins, each outlined, plus the legend swatch.
	if n := strings.Count(svg, hexStroke(Palette[0])); n != 4 {
		t.Errorf("%d outlines, want 3 bins + 1 legend swatch", n)
	}
}

func TestHistogramDensityOverlay(t *testing.T) {
	a := []float64{0.1, 0.2, 0.2, 0.3}
	b := make([]float64, 400)
	for i := range b {
		b[i] = 0.5 + float64(i)/1000
	}
	h := Hist{Sets: []HistSet{{Name: "original", Values: a}, {Name: "masked", Values: b}}, Density: true, Bins: 20}
	f, d, err := h.figure()
	if err != nil {
		t.Fatal(err)
	}
	w := (d.hi - d.lo) / float64(d.bins)
	for k, hs := range d.heights {
		area := 0.0
		for _, v := range hs {
			area += v * w
		}
		if math.Abs(area-1) > 1e-9 {
			t.Errorf("set %d density integrates to %g", k, area)
		}
	}
	svg, err := f.svg()
	if err != nil {
		t.Fatal(err)
	}
	texts := svgText(t, string(svg))
	for _, want := range []string{"density", "original", "masked"} {
		if !hasText(texts, want) {
			t.Errorf("overlay SVG has no text %q", want)
		}
	}
	img := f.image()
	for _, col := range Palette[:2] {
		if countColor(img, col) == 0 {
			t.Errorf("no outline in %v", col)
		}
	}
	// Degenerate inputs.
	for _, h := range []Hist{
		{Sets: []HistSet{{Values: []float64{3, 3, 3}}}},
		{Sets: []HistSet{{Name: "empty"}}},
		{Sets: []HistSet{{Values: []float64{math.NaN()}}}},
		{Sets: []HistSet{{Values: []float64{1, 2}}}, Min: ptr(5)},
	} {
		if _, err := h.Render(); err != nil {
			t.Errorf("degenerate histogram: %v", err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "h.png")
	for _, tc := range []struct {
		h    Hist
		want string
	}{
		{Hist{}, "no value sets"},
		{Hist{Sets: []HistSet{{Values: a}}, Min: ptr(1), Max: ptr(0)}, "Min 1 must be less than Max 0"},
		{Hist{Sets: []HistSet{{Values: a}}, Bins: 1e6}, "bins"},
		{Hist{Sets: []HistSet{{Values: a}}, Height: 10}, "no room"},
	} {
		if err := Histogram(path, tc.h); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("got %v, want %q naming %s", err, tc.want, path)
		}
	}
	noTemp(t, dir)
}

func TestBarChart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bars.png")
	b := Bars{
		Title: "test accuracy", YLabel: "accuracy", YMin: ptr(0), YMax: ptr(1), Width: 500, Height: 320,
		Categories: []string{"baseline", "APGA", "noise mask with a long name that wraps"},
		Series: []BarSeries{
			{Name: "accuracy", Mean: []float64{0.8, 0.85, 0.9}, Err: []float64{0.02, 0.1, math.NaN()}, Color: red},
			{Name: "balanced accuracy", Mean: []float64{0.7, math.NaN(), 0.88}, Color: blue},
		},
	}
	if err := BarChart(path, b); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	if img.Rect.Dx() != 500 || img.Rect.Dy() != 320 {
		t.Fatalf("size %v", img.Rect)
	}
	// Bars are solid blocks of their colour; red's three bars outweigh
	// blue's two.
	nr, nb := countColor(img, red), countColor(img, blue)
	if nb < 2000 || nr <= nb {
		t.Errorf("bar pixels: red %d, blue %d", nr, nb)
	}
	f, err := b.figure()
	if err != nil {
		t.Fatal(err)
	}
	if f.p.Y.Min != 0 || f.p.Y.Max != 1 {
		t.Errorf("fixed y axis [%g, %g]", f.p.Y.Min, f.p.Y.Max)
	}
	svg := readSVG(t, filepath.Join(dir, "bars.svg"), 500, 320)
	texts := svgText(t, svg)
	for _, want := range []string{"test accuracy", "accuracy", "balanced accuracy", "baseline", "APGA"} {
		if !hasText(texts, want) {
			t.Errorf("SVG has no text %q (texts %q)", want, texts)
		}
	}
	// Error bars: black strokes, three per finite non-zero error (2 here).
	if n := strings.Count(svg, "stroke:#000000;"); n != 6 {
		t.Errorf("%d black strokes, want 2 error bars of 3 lines", n)
	}
	// Red bars: 3, blue 2 (its NaN mean is left out), each filled once,
	// plus the legend swatches.
	for _, tc := range []struct {
		col  color.RGBA
		want int
	}{{red, 4}, {blue, 3}} {
		fill := fmt.Sprintf("fill:#%02X%02X%02X", tc.col.R, tc.col.G, tc.col.B)
		if n := strings.Count(svg, fill+`"`) + strings.Count(svg, fill+";"); n != tc.want {
			t.Errorf("%d fills of %v, want %d", n, tc.col, tc.want)
		}
	}
	dir2 := t.TempDir()
	bad := filepath.Join(dir2, "bad.png")
	for _, tc := range []struct {
		b    Bars
		want string
	}{
		{Bars{}, "no categories"},
		{Bars{Categories: []string{"a"}}, "no series"},
		{Bars{Categories: []string{"a", "b"}, Series: []BarSeries{{Name: "m", Mean: []float64{1}}}}, `series 1 ("m") has 1 means for 2 categories`},
		{Bars{Categories: []string{"a"}, Series: []BarSeries{{Mean: []float64{1}, Err: []float64{-1}}}}, "must be finite and >= 0"},
		{Bars{Categories: []string{"a"}, Series: []BarSeries{{Mean: []float64{1}}}, YMin: ptr(2), YMax: ptr(1)}, "YMin 2 must be less than YMax 1"},
	} {
		if err := BarChart(bad, tc.b); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), bad) {
			t.Errorf("got %v, want %q naming %s", err, tc.want, bad)
		}
	}
	noTemp(t, dir2)
	// Negative means hang down from 0; all-NaN means and a y range above 0
	// still render.
	for _, b := range []Bars{
		{Categories: []string{"a", "b"}, Series: []BarSeries{{Mean: []float64{-1, 2}}}},
		{Categories: []string{"a"}, Series: []BarSeries{{Mean: []float64{math.NaN()}, Err: []float64{math.NaN()}}}},
		{Categories: []string{"a"}, Series: []BarSeries{{Mean: []float64{0.9}, Err: []float64{0.5}}}, YMin: ptr(0.5), YMax: ptr(1)},
	} {
		if _, err := b.Render(); err != nil {
			t.Error(err)
		}
	}
	f, err = (Bars{Categories: []string{"a", "b"}, Series: []BarSeries{{Mean: []float64{-1, 2}}}}).figure()
	if err != nil || f.p.Y.Min > -1 || f.p.Y.Max < 2 {
		t.Errorf("negative bars: %v, y axis [%g, %g]", err, f.p.Y.Min, f.p.Y.Max)
	}
}

// wrap joins words greedily up to the line's width in characters and cuts
// words longer than a line.
func TestWrapCutsLongWordsAndJoinsShortOnes(t *testing.T) {
	for _, c := range []struct {
		s     string
		chars int
		want  []string
	}{
		{"ab cdefghij k", 4, []string{"ab", "cdef", "ghij", "k"}},
		{"a b c de", 3, []string{"a b", "c", "de"}},
		{"  ", 5, nil},
	} {
		got := wrap(c.s, c.chars*charW)
		if strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
			t.Errorf("wrap(%q, %d chars) = %q, want %q", c.s, c.chars, got, c.want)
		}
	}
}
