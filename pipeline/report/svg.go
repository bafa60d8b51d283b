package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"
)

// inlineSVG prepares an SVG document (as LineChart, BarChart and Histogram
// write it) for inlining into an HTML page: it checks that it is well-formed
// XML with an <svg> root and nothing active in it (no scripts, event
// handlers, foreign objects or external references), drops the XML prolog
// and the namespace declarations (HTML gives inline <svg> its namespace),
// and prefixes every id, and the references to it, with prefix so that
// several figures on one page cannot clash.
func inlineSVG(b []byte, prefix string) (template.HTML, error) {
	if err := checkSVG(b); err != nil {
		return "", err
	}
	s := string(b)
	start := strings.Index(s, "<svg")
	end := strings.LastIndex(s, "</svg>")
	if start < 0 || end < start {
		return "", fmt.Errorf("no <svg> element")
	}
	s = s[start : end+len("</svg>")]
	rootEnd := strings.IndexByte(s, '>')
	root := xmlnsAttr.ReplaceAllString(s[:rootEnd], "")
	s = root + s[rootEnd:]
	s = idAttr.ReplaceAllString(s, `${1}id="`+prefix+`${2}"`)
	s = idRef.ReplaceAllString(s, `${1}#`+prefix)
	// The document was checked above, and ids are made of the prefix (a
	// fixed pattern) and the original id text, so it is safe as HTML.
	return template.HTML(s), nil
}

var (
	xmlnsAttr = regexp.MustCompile(`\s+xmlns(:[A-Za-z_][\w.-]*)?\s*=\s*"[^"]*"`)
	idAttr    = regexp.MustCompile(`(\s)id="([^"]*)"`)
	idRef     = regexp.MustCompile(`(url\(\s*|href=")#`)
)

// checkSVG rejects SVG that is not well-formed XML under an <svg> root, or
// that could run code or load anything when inlined into a page.
func checkSVG(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("not well-formed XML: %w", err)
		}
		switch tok := tok.(type) {
		case xml.Directive:
			return fmt.Errorf("SVG has a <!%s> directive", strings.Fields(string(tok) + " x")[0])
		case xml.StartElement:
			name := strings.ToLower(tok.Name.Local)
			if depth == 0 && name != "svg" {
				return fmt.Errorf("root element is <%s>, not <svg>", tok.Name.Local)
			}
			switch name {
			case "script", "foreignobject", "iframe", "object", "embed", "style":
				// <style> could hold @import; gonum/plot writes styles inline.
				return fmt.Errorf("SVG has a <%s> element", tok.Name.Local)
			}
			for _, a := range tok.Attr {
				n, v := strings.ToLower(a.Name.Local), strings.ToLower(strings.TrimSpace(a.Value))
				switch {
				case strings.HasPrefix(n, "on"):
					return fmt.Errorf("SVG has an event handler %s", a.Name.Local)
				case n == "href" && !strings.HasPrefix(v, "#") && !strings.HasPrefix(v, "data:image/"):
					return fmt.Errorf("SVG refers to %q", a.Value)
				case strings.Contains(strings.ReplaceAll(v, " ", ""), "url(") && !safeURLs(v):
					return fmt.Errorf("SVG attribute %s refers outside the document", a.Name.Local)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 {
		return fmt.Errorf("SVG ends inside an element")
	}
	return nil
}

// safeURLs reports whether every url(...) in v is a fragment, url(#id).
func safeURLs(v string) bool {
	v = strings.ReplaceAll(v, " ", "")
	for {
		i := strings.Index(v, "url(")
		if i < 0 {
			return true
		}
		v = strings.TrimLeft(v[i+len("url("):], `"'`)
		if !strings.HasPrefix(v, "#") {
			return false
		}
	}
}
