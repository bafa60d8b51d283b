package report

import (
	"bytes"
	"encoding/base64"
	"errors"
	stdhtml "html"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func decodePNG(t *testing.T, path string) *image.RGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	b := img.Bounds()
	out := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

func ptr(v float64) *float64 { return &v }

// noTemp fails if dir holds anything besides the named files.
func noTemp(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[string]bool{}
	for _, w := range want {
		ok[w] = true
	}
	for _, e := range ents {
		if !ok[e.Name()] {
			t.Errorf("unexpected file %s left in %s", e.Name(), dir)
		}
	}
}

func hasDark(img *image.RGBA, r image.Rectangle) bool {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := img.RGBAAt(x, y); c.R < 100 && c.G < 100 && c.B < 100 {
				return true
			}
		}
	}
	return false
}

func ramp(h, w int) []float32 {
	p := make([]float32, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p[y*w+x] = float32(x) * 3 // any range: minmax rescales it
		}
	}
	return p
}

func constant(n int, v float32) []float32 {
	p := make([]float32, n)
	for i := range p {
		p[i] = v
	}
	return p
}

func TestImageGrid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "grid.png")
	rgb := append(append(constant(28*28, 1), constant(28*28, 0)...), constant(28*28, 0)...) // pure red
	withNaN := constant(7*7, 0.5)
	withNaN[3*7+3] = float32(math.NaN())
	g := Grid{
		Title:     "APGA masks",
		Columns:   []string{"image", "policy probability", "aid mask", "masked image"},
		RowLabels: []string{"pneumonia", "normal"},
		Rows: [][]Panel{
			{
				{Pix: constant(28*28, 1), C: 1, H: 28, W: 28, Scale: "unit"},
				{Pix: ramp(28, 28), C: 1, H: 28, W: 28},
				{Pix: ramp(28, 28), C: 1, H: 28, W: 28, Colormap: "viridis", Label: "p=0.93"},
				{Pix: rgb, C: 3, H: 28, W: 28, Scale: "fixed", Lo: 0, Hi: 1},
			},
			{
				{Pix: withNaN, C: 1, H: 7, W: 7, Scale: "unit"}, // a small noise matrix
				{},
			},
		},
	}
	if err := ImageGrid(path, g); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	l, err := g.layout()
	if err != nil {
		t.Fatal(err)
	}
	if img.Rect.Dx() != l.width || img.Rect.Dy() != l.height {
		t.Fatalf("size %v, want %dx%d", img.Rect, l.width, l.height)
	}
	if l.cell < 96 {
		t.Errorf("cell side %d, want >= 96", l.cell)
	}
	center := func(r image.Rectangle) image.Point { return image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2) }

	// Constant-1 "unit" panel: white at the centre.
	r := l.panelRect(0, 0, 28, 28)
	if r.Dx() < 96 || r.Dx()%28 != 0 {
		t.Errorf("28-px panel drawn %d px wide, want a whole multiple >= 96", r.Dx())
	}
	if c := img.RGBAAt(center(r).X, center(r).Y); c != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("unit constant-1 panel centre %v, want white", c)
	}
	// Minmax ramp: dark at the left, light at the right, non-decreasing.
	r = l.panelRect(0, 1, 28, 28)
	y := center(r).Y
	if c := img.RGBAAt(r.Min.X, y); c.R > 10 {
		t.Errorf("ramp left edge %v, want black", c)
	}
	if c := img.RGBAAt(r.Max.X-1, y); c.R < 245 {
		t.Errorf("ramp right edge %v, want white", c)
	}
	for x := r.Min.X + 1; x < r.Max.X; x++ {
		if img.RGBAAt(x, y).R < img.RGBAAt(x-1, y).R {
			t.Fatalf("ramp decreases at x=%d", x)
		}
	}
	// Viridis: dark purple on the left, yellow on the right.
	r = l.panelRect(0, 2, 28, 28)
	if c := img.RGBAAt(r.Min.X, center(r).Y); c != viridis(0) {
		t.Errorf("viridis left %v, want %v", c, viridis(0))
	}
	if c := img.RGBAAt(r.Max.X-1, center(r).Y); c.R < 200 || c.G < 200 || c.B > 80 {
		t.Errorf("viridis right %v, want yellow", c)
	}
	// RGB panel is red.
	r = l.panelRect(0, 3, 28, 28)
	if c := img.RGBAAt(center(r).X, center(r).Y); c != (color.RGBA{255, 0, 0, 255}) {
		t.Errorf("RGB panel %v, want red", c)
	}
	// The 7x7 panel is scaled up by a whole factor too; its NaN centre is magenta.
	r = l.panelRect(1, 0, 7, 7)
	if r.Dx() < 90 || r.Dx()%7 != 0 {
		t.Errorf("7-px panel drawn %d px wide", r.Dx())
	}
	if c := img.RGBAAt(center(r).X, center(r).Y); c != colNaN {
		t.Errorf("NaN pixel %v, want %v", c, colNaN)
	}
	if c := img.RGBAAt(r.Min.X+2, r.Min.Y+2); c != (color.RGBA{128, 128, 128, 255}) {
		t.Errorf("0.5 unit pixel %v, want mid grey", c)
	}
	// Column headers: text above the first row of every header column.
	for c := range g.Columns {
		o := l.cellOrigin(0, c)
		if !hasDark(img, image.Rect(o.X, o.Y-40, o.X+l.cell, o.Y)) {
			t.Errorf("no header text above column %d", c+1)
		}
	}
	// Row labels left of the first column.
	if !hasDark(img, image.Rect(0, l.top, l.left-4, l.top+l.cell)) {
		t.Error("no row label drawn")
	}
}

func TestImageGridErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "grid.png")
	ok := Panel{Pix: constant(4, 0), C: 1, H: 2, W: 2}
	cases := []struct {
		p    Panel
		want string
	}{
		{Panel{Pix: constant(700, 0), C: 1, H: 28, W: 28}, "row 2 column 3: Pix has 700 values, want C*H*W = 1*28*28 = 784"},
		{Panel{Pix: constant(8, 0), C: 2, H: 2, W: 2}, "row 2 column 3: C is 2"},
		{Panel{C: 1, H: 0, W: 5}, "H and W must be positive"},
		{Panel{Pix: constant(4, 0), C: 1, H: 2, W: 2, Scale: "log"}, `unknown Scale "log"`},
		{Panel{Pix: constant(4, 0), C: 1, H: 2, W: 2, Scale: "fixed", Lo: 1, Hi: 1}, "fixed scale needs finite Lo < Hi"},
		{Panel{Pix: constant(12, 0), C: 3, H: 2, W: 2, Colormap: "viridis"}, "viridis needs a one-channel panel"},
		{Panel{Pix: constant(4, 0), C: 1, H: 2, W: 2, Colormap: "jet"}, `unknown Colormap "jet"`},
	}
	for _, tc := range cases {
		g := Grid{Rows: [][]Panel{{ok, ok, ok}, {ok, ok, tc.p}}}
		err := ImageGrid(path, g)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("got %v, want an error naming %s and containing %q", err, path, tc.want)
		}
	}
	if err := ImageGrid(path, Grid{}); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("empty grid: %v", err)
	}
	big := Panel{Pix: make([]float32, 4000*4000), C: 1, H: 4000, W: 4000}
	if err := ImageGrid(path, Grid{Rows: [][]Panel{{big, big, big, big, big}}}); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("huge grid: %v", err)
	}
	noTemp(t, dir)
	// A constant minmax panel and an all-NaN panel still render.
	nan := constant(4, float32(math.NaN()))
	if _, err := (Grid{Rows: [][]Panel{{{Pix: constant(4, 0.5), C: 1, H: 2, W: 2}, {Pix: nan, C: 1, H: 2, W: 2}}}}).Render(); err != nil {
		t.Error(err)
	}
}

func TestWritePage(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "figs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := LineChart(filepath.Join(dir, "figs", "loss.png"), Chart{Title: "training loss <script>", Series: []Series{{Y: []float64{1, 0.5, 0.3}}}}); err != nil {
		t.Fatal(err)
	}
	if err := Histogram(filepath.Join(dir, "figs", "hist.png"), Hist{Sets: []HistSet{{Values: []float64{1, 2, 2}}}}); err != nil {
		t.Fatal(err)
	}
	if err := ImageGrid(filepath.Join(dir, "figs", "grid.png"), Grid{Rows: [][]Panel{{{Pix: ramp(8, 8), C: 1, H: 8, W: 8}}}}); err != nil {
		t.Fatal(err)
	}
	p := Page{
		Title:    "Run <demo> & friends",
		Subtitle: "runs/demo",
		Sections: []Section{
			{Heading: "Summary", Text: "First paragraph.\n\nSecond <b>paragraph</b>."},
			{Heading: "Results", Tables: []Table{{
				Caption: "Test metrics", Columns: []string{"method", "accuracy", "AUROC"},
				Rows: [][]string{{"baseline", "0.812", "0.90 ± 0.01"}, {"APGA<script>"}},
			}}},
			{Heading: "Curves", Figures: []Figure{
				{Path: "figs/loss.png", Caption: "<script>alert(1)</script>"},
				{Path: "figs/hist.png", Caption: "intensities"},
				{Path: "figs/grid.png", Caption: "masks"},
			}},
		},
		Footer: "pgaug test",
	}
	path := filepath.Join(dir, "index.html")
	if err := WritePage(path, p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;", "Run &lt;demo&gt; &amp; friends", "Second &lt;b&gt;paragraph&lt;/b&gt;.",
		`href="figs/loss.png"`, `href="figs/hist.png"`, `src="figs/grid.png"`, `<td class="num">0.812</td>`, `<td class="num">0.90 ± 0.01</td>`,
		"<td>APGA&lt;script&gt;</td><td></td><td></td>", `href="#s3"`, "<style>", ">training loss &lt;script&gt;</text>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The charts are inlined as SVG (2), the grid is an <img>.
	if n := strings.Count(html, "<svg"); n != 2 {
		t.Errorf("%d inline SVGs, want 2", n)
	}
	if n := strings.Count(html, "<img"); n != 1 {
		t.Errorf("%d <img>, want 1 (the grid)", n)
	}
	for _, bad := range []string{"<script", "http://", "https://", "<link", "<?xml", "<!--"} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q", bad)
		}
	}

	// Embedded: one file, the grid as a data: URI holding the PNG bytes, the
	// charts inline.
	p.Embed = true
	one := filepath.Join(dir, "one.html")
	if err := WritePage(one, p); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(one)
	html = string(b)
	if strings.Contains(html, `src="figs/`) || strings.Count(html, `src="data:image/png;base64,`) != 1 || strings.Count(html, "<svg") != 2 {
		t.Fatal("embedded page does not embed the grid and inline both charts")
	}
	i := strings.Index(html, "base64,") + len("base64,")
	enc := html[i : i+strings.IndexByte(html[i:], '"')]
	raw, err := base64.StdEncoding.DecodeString(stdhtml.UnescapeString(enc)) // the attribute escapes "+"
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "figs", "grid.png"))
	if !bytes.Equal(raw, want) {
		t.Error("embedded figure differs from the file")
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Error(err)
	}

	// Errors.
	p.Sections[2].Figures[2].Path = "figs/missing.png"
	if err := WritePage(one, p); err == nil || !strings.Contains(err.Error(), "missing.png") || !strings.Contains(err.Error(), "figure 3") {
		t.Errorf("missing embedded figure: %v", err)
	}
	p.Embed = false
	p.Sections[1].Tables[0].Rows = append(p.Sections[1].Tables[0].Rows, []string{"a", "b", "c", "d"})
	if err := WritePage(one, p); err == nil || !strings.Contains(err.Error(), "table 1 row 3 has 4 cells for 3 columns") {
		t.Errorf("long row: %v", err)
	}
	noTemp(t, dir, "figs", "index.html", "one.html")
}

func TestInlineSVGIDs(t *testing.T) {
	// Two figures whose SVGs use the same ids get distinct ones on the page,
	// and the references follow.
	dir := t.TempDir()
	svg := `<?xml version="1.0"?>
<!-- a comment -->
<svg width="10pt" height="10pt" viewBox="0 0 10 10" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
<defs><clipPath id="c1"><rect width="5" height="5"/></clipPath></defs>
<g clip-path="url(#c1)"><use xlink:href="#c1"/><path d="M0,0L10,10" style="stroke:#000"/></g>
</svg>
`
	for _, name := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, name+".svg"), []byte(svg), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := ImageGrid(filepath.Join(dir, name+".png"), Grid{Rows: [][]Panel{{{Pix: ramp(2, 2), C: 1, H: 2, W: 2}}}}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "page.html")
	if err := WritePage(path, Page{Title: "ids", Sections: []Section{
		{Figures: []Figure{{Path: "a.png"}}},
		{Figures: []Figure{{Path: "b.png"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	html := string(b)
	for _, want := range []string{`id="s1f1-c1"`, `url(#s1f1-c1)`, `href="#s1f1-c1"`, `id="s2f1-c1"`, `url(#s2f1-c1)`, `href="#s2f1-c1"`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(html, `id="c1"`) || strings.Contains(html, "http://") {
		t.Error("ids not prefixed or namespaces left in")
	}

	// SVG that could run code or load something is not inlined: the PNG
	// is shown instead.
	for i, bad := range []string{
		`<svg><script>alert(1)</script></svg>`,
		`<svg><rect onclick="alert(1)"/></svg>`,
		`<svg><image href="https://example.com/x.png"/></svg>`,
		`<svg><rect style="fill:url(https://example.com/x)"/></svg>`,
		`<svg><foreignObject><div/></foreignObject></svg>`,
		`<!DOCTYPE svg [<!ENTITY x "y">]><svg>&x;</svg>`,
		`<svg><rect></svg>`,
		`<html><svg/></html>`,
	} {
		if _, err := inlineSVG([]byte(bad), "p-"); err == nil {
			t.Errorf("case %d: %q inlined", i, bad)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "a.svg"), []byte(`<svg><script>alert(1)</script></svg>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WritePage(path, Page{Sections: []Section{{Figures: []Figure{{Path: "a.png"}}}}}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if html := string(b); strings.Contains(html, "<script") || !strings.Contains(html, `<img src="a.png"`) {
		t.Error("unsafe SVG inlined instead of the PNG")
	}
}

func TestAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	if err := WriteJSON(path, map[string]any{"a": 1, "b": []int{1, 2}}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if string(before) != "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ]\n}\n" {
		t.Errorf("WriteJSON wrote %q", before)
	}
	// A writer failing half-way leaves the old file and no temporary file.
	boom := errors.New("boom")
	err := writeAtomic(path, func(w io.Writer) error {
		w.Write(bytes.Repeat([]byte("x"), 1<<17))
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v should wrap boom and name %s", err, path)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("failed write changed the existing file")
	}
	if err := WriteJSON(path, math.NaN()); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("NaN JSON: %v", err)
	}
	noTemp(t, dir, "out.json")
	// Missing directory: the error names the file.
	bad := filepath.Join(dir, "no", "such", "dir", "x.png")
	if err := LineChart(bad, Chart{}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("missing dir: %v", err)
	}
	// Written files are readable by others, like os.Create's.
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v", st.Mode(), err)
	}
}

func TestJSONLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.jsonl")
	log := `{"epoch":1,"train_loss":0.9,"val":{"accuracy":0.5,"per_class":[{"F1":0.1},{"F1":0.2}]}}
{"step":10,"loss":0.7}

{"epoch":2,"train_loss":0.6,"val":{"accuracy":null}}
{"epoch":3,"train_loss":"NaN","val":{"accuracy":0.8},"a.b":4}`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadJSONLines(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	s := SeriesFromLog(rows, "epoch", "val.accuracy")
	if s.Name != "val.accuracy" || len(s.X) != 3 || s.X[0] != 1 || s.X[2] != 3 || s.Y[0] != 0.5 || !math.IsNaN(s.Y[1]) || s.Y[2] != 0.8 {
		t.Errorf("series %+v", s)
	}
	s = SeriesFromLog(rows, "", "train_loss")
	if len(s.X) != 3 || s.X[1] != 2 || !math.IsNaN(s.Y[2]) {
		t.Errorf("indexed series %+v", s)
	}
	if v, ok := LookupFloat(rows[0], "val.per_class.1.F1"); !ok || v != 0.2 {
		t.Errorf("array path: %v %v", v, ok)
	}
	if v, ok := LookupFloat(rows[3], "a.b"); !ok || v != 4 {
		t.Errorf("dotted key: %v %v", v, ok)
	}
	if _, ok := Lookup(rows[0], "val.per_class.5.F1"); ok {
		t.Error("out-of-range index found")
	}
	// The series draws, with its NaN as a gap.
	if err := LineChart(filepath.Join(dir, "acc.png"), Chart{Series: []Series{SeriesFromLog(rows, "epoch", "val.accuracy")}}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ text, want string }{
		{"{\"a\":1}\n{\"a\":2}\n{\"a\":\n", "line 3"},
		{"{\"a\":1}\n[1,2]\n", "line 2"},
		{"{\"a\":1}\n\nnull\n", "line 3: not a JSON object"},
	} {
		if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadJSONLines(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("got %v, want an error naming %s and %q", err, path, tc.want)
		}
	}
	if _, err := ReadJSONLines(filepath.Join(dir, "none.jsonl")); err == nil {
		t.Error("missing file accepted")
	}
}
