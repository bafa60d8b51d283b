package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Page is a self-contained HTML report: inline CSS, no scripts, no external
// resources, so it reads the same offline.
type Page struct {
	Title    string
	Subtitle string // e.g. the run directory and date
	Sections []Section
	// Embed puts every figure into the page as a data: URI, so the page is one
	// file. Otherwise figures are linked by their relative paths. Figures
	// with an SVG beside them are inlined as SVG either way.
	Embed bool
	// Footer is an optional line at the bottom (e.g. the pgaug version).
	Footer string
}

// Section is a heading followed by text, tables and figures, in that order.
// Text is plain text; blank lines separate paragraphs.
type Section struct {
	Heading string
	Text    string
	Tables  []Table
	Figures []Figure
}

// Table is a captioned table. Rows shorter than Columns are padded with
// empty cells; numeric-looking cells (e.g. "0.912", "0.91 ± 0.02", "12%")
// are right-aligned.
type Table struct {
	Caption string
	Columns []string
	Rows    [][]string
}

// Figure is an image file, Path relative to the page's directory (or
// absolute), with a caption. A PNG with an SVG beside it (same name, .svg,
// as LineChart, BarChart and Histogram write them) is shown as the SVG,
// inlined into the page so that it scales, with a link to the PNG.
type Figure struct {
	Path    string
	Caption string
}

// WritePage renders p as HTML into path (atomically). Figures with an SVG
// beside them are inlined as SVG (their ids prefixed per figure, so they
// stay unique on the page). With p.Embed, every other figure is read
// (relative to path's directory) and a missing or unreadable figure is an
// error; without it, those figures are only referenced.
func WritePage(path string, p Page) error {
	var buf bytes.Buffer
	if err := p.render(&buf, filepath.Dir(path)); err != nil {
		return fmt.Errorf("report: page %s: %w", path, err)
	}
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	})
}

type htmlCell struct {
	Text string
	Num  bool
}

type htmlTable struct {
	Caption string
	Columns []string
	Rows    [][]htmlCell
}

type htmlFigure struct {
	Src     any // string (escaped by the template) or template.URL (data: URI)
	Caption string
	SVG     template.HTML // the figure's SVG, inlined in place of the <img>
	PNG     string        // with SVG: the PNG's path, linked
}

type htmlSection struct {
	ID         string
	Heading    string
	Paragraphs []string
	Tables     []htmlTable
	Figures    []htmlFigure
}

var numericCell = regexp.MustCompile(`^[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?\s*%?(\s*(±|\+/-|\+-)\s*[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?\s*%?)?$|^(NaN|-|n/a)$`)

func (p Page) render(w io.Writer, dir string) error {
	var secs []htmlSection
	for i, s := range p.Sections {
		hs := htmlSection{ID: fmt.Sprintf("s%d", i+1), Heading: s.Heading}
		for _, para := range regexp.MustCompile(`\n\s*\n`).Split(strings.TrimSpace(s.Text), -1) {
			if para = strings.TrimSpace(para); para != "" {
				hs.Paragraphs = append(hs.Paragraphs, para)
			}
		}
		for ti, t := range s.Tables {
			ht := htmlTable{Caption: t.Caption, Columns: t.Columns}
			for ri, row := range t.Rows {
				if len(t.Columns) > 0 && len(row) > len(t.Columns) {
					return fmt.Errorf("section %d (%q) table %d row %d has %d cells for %d columns",
						i+1, s.Heading, ti+1, ri+1, len(row), len(t.Columns))
				}
				cells := make([]htmlCell, max(len(row), len(t.Columns)))
				for ci, c := range row {
					cells[ci] = htmlCell{Text: c, Num: numericCell.MatchString(strings.TrimSpace(c))}
				}
				ht.Rows = append(ht.Rows, cells)
			}
			hs.Tables = append(hs.Tables, ht)
		}
		for fi, f := range s.Figures {
			if f.Path == "" {
				return fmt.Errorf("section %d (%q) figure %d has no path", i+1, s.Heading, fi+1)
			}
			hf := htmlFigure{Caption: f.Caption, Src: filepath.ToSlash(f.Path)}
			if svg, ok := siblingSVG(f.Path, dir, fmt.Sprintf("s%df%d-", i+1, fi+1)); ok {
				hf.SVG, hf.PNG = svg, filepath.ToSlash(f.Path)
			} else if p.Embed {
				uri, err := dataURI(f.Path, dir)
				if err != nil {
					return fmt.Errorf("section %d (%q) figure %d: %w", i+1, s.Heading, fi+1, err)
				}
				hf.Src = uri
			}
			hs.Figures = append(hs.Figures, hf)
		}
		secs = append(secs, hs)
	}
	return pageTemplate.Execute(w, struct {
		Title, Subtitle, Footer string
		Sections                []htmlSection
		TOC                     bool
	}{p.Title, p.Subtitle, p.Footer, secs, len(secs) >= 3})
}

// siblingSVG reads the SVG beside a PNG figure (path with the extension
// .svg, relative to dir unless absolute), as the charts write it, and
// prepares it for inlining with its ids prefixed. ok is false when the
// figure is not a PNG, has no SVG beside it, or the SVG is not one that
// can safely be inlined (then the PNG is shown as an <img>).
func siblingSVG(path, dir, prefix string) (template.HTML, bool) {
	if !strings.EqualFold(filepath.Ext(path), ".png") {
		return "", false
	}
	full := svgPath(path)
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, full)
	}
	b, err := os.ReadFile(full)
	if err != nil {
		return "", false
	}
	svg, err := inlineSVG(b, prefix)
	if err != nil {
		return "", false
	}
	return svg, true
}

var mimeTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".svg": "image/svg+xml", ".webp": "image/webp",
}

// dataURI reads an image file (relative to dir unless absolute) as a data: URI.
func dataURI(path, dir string) (template.URL, error) {
	mime, ok := mimeTypes[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return "", fmt.Errorf("cannot embed %s: unknown image type %q", path, filepath.Ext(path))
	}
	full := path
	if !filepath.IsAbs(path) {
		full = filepath.Join(dir, path)
	}
	b, err := os.ReadFile(full)
	if err != nil {
		return "", fmt.Errorf("cannot embed figure: %w", err)
	}
	// The URI is built here from a fixed MIME type and base64 text, so it is
	// safe to mark as trusted.
	return template.URL("data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b)), nil
}

// WriteJSON writes v as indented JSON (with a final newline) into path,
// atomically. NaN and ±Inf cannot be represented in JSON and are an error.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	b = append(b, '\n')
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root { --fg: #1d1f21; --muted: #5f6368; --line: #dadce0; --head: #f1f3f4; --zebra: #fafafa; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 20px 48px; }
header { border-bottom: 2px solid var(--accent); margin-bottom: 20px; padding-bottom: 8px; }
h1 { font-size: 26px; margin: 0 0 4px; }
.subtitle { color: var(--muted); margin: 0; }
nav { font-size: 14px; margin-bottom: 16px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
nav a:hover { text-decoration: underline; }
section { margin: 28px 0; }
h2 { font-size: 20px; margin: 0 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p { margin: 0 0 10px; white-space: pre-line; }
.table-wrap { overflow-x: auto; margin: 12px 0 18px; }
table { border-collapse: collapse; font-size: 14px; min-width: 40%; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0 6px; }
th, td { border: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
tbody tr:nth-child(even) { background: var(--zebra); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; margin: 12px 0; }
figure { margin: 0; max-width: 100%; }
figure img, figure .svg svg { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figure a.png { float: right; font-size: 12px; color: var(--muted); margin-top: 6px; margin-left: 8px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; max-width: 640px; }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); margin-top: 36px; padding-top: 8px; }
@media print { main { max-width: none; } nav { display: none; } section { break-inside: avoid-page; } }
</style>
</head>
<body>
<main>
<header>
<h1>{{.Title}}</h1>
{{- if .Subtitle}}
<p class="subtitle">{{.Subtitle}}</p>
{{- end}}
</header>
{{- if .TOC}}
<nav>{{range .Sections}}<a href="#{{.ID}}">{{.Heading}}</a> {{end}}</nav>
{{- end}}
{{- range .Sections}}
<section id="{{.ID}}">
{{- if .Heading}}
<h2>{{.Heading}}</h2>
{{- end}}
{{- range .Paragraphs}}
<p>{{.}}</p>
{{- end}}
{{- range .Tables}}
<div class="table-wrap"><table>
{{- if .Caption}}
<caption>{{.Caption}}</caption>
{{- end}}
{{- if .Columns}}
<thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead>
{{- end}}
<tbody>
{{- range .Rows}}
<tr>{{range .}}<td{{if .Num}} class="num"{{end}}>{{.Text}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table></div>
{{- end}}
{{- if .Figures}}
<div class="figures">
{{- range .Figures}}
<figure>
{{- if .SVG}}<div class="svg" role="img" aria-label="{{.Caption}}">{{.SVG}}</div><a class="png" href="{{.PNG}}">PNG</a>
{{- else}}<img src="{{.Src}}" alt="{{.Caption}}">{{end}}
{{- if .Caption}}<figcaption>{{.Caption}}</figcaption>{{end}}</figure>
{{- end}}
</div>
{{- end}}
</section>
{{- end}}
{{- if .Footer}}
<footer>{{.Footer}}</footer>
{{- end}}
</main>
</body>
</html>
`))
