package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// ReadJSONLines reads a metrics log: one JSON object per line. Blank lines
// are skipped; a line that is not a JSON object is an error naming the file
// and line number. Numbers decode as float64.
func ReadJSONLines(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report: read %s: %w", path, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	var rows []map[string]any
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if err != nil && len(b) == 0 {
			if errors.Is(err, io.EOF) {
				return rows, nil
			}
			return nil, fmt.Errorf("report: read %s: line %d: %w", path, line, err)
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			var row map[string]any
			if uerr := json.Unmarshal(t, &row); uerr != nil {
				return nil, fmt.Errorf("report: read %s: line %d: %w", path, line, uerr)
			}
			if row == nil {
				return nil, fmt.Errorf("report: read %s: line %d: not a JSON object", path, line)
			}
			rows = append(rows, row)
		}
		if err != nil { // last line without a newline
			return rows, nil
		}
	}
}

// Lookup finds the value at a dot-separated key path in a decoded JSON
// object, e.g. "val.accuracy" or "val.per_class.1.F1" (a number indexes an
// array). A key that itself contains dots is found when it matches whole.
func Lookup(row map[string]any, path string) (any, bool) {
	var cur any = row
	rest := path
	for {
		switch v := cur.(type) {
		case map[string]any:
			if x, ok := v[rest]; ok {
				return x, true
			}
			key, tail, more := strings.Cut(rest, ".")
			x, ok := v[key]
			if !ok || !more {
				return nil, false
			}
			cur, rest = x, tail
		case []any:
			key, tail, more := strings.Cut(rest, ".")
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			if !more {
				return v[i], true
			}
			cur, rest = v[i], tail
		default:
			return nil, false
		}
	}
}

// LookupFloat is Lookup for a number. JSON null and the strings "NaN",
// "Inf", "+Inf", "-Inf" give NaN or ±Inf; numeric strings are parsed; a
// missing key or any other value gives ok == false.
func LookupFloat(row map[string]any, path string) (float64, bool) {
	v, ok := Lookup(row, path)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case nil:
		return math.NaN(), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// SeriesFromLog pulls the series y against x out of metrics-log rows, e.g.
// SeriesFromLog(rows, "epoch", "val.accuracy"). Rows where either key is
// missing or not a number are skipped (so logs mixing step and epoch lines
// work); null values become NaN, i.e. gaps in a LineChart. With x == "" the
// X values are the row indices. The series is named after y.
func SeriesFromLog(rows []map[string]any, x, y string) Series {
	s := Series{Name: y, X: []float64{}, Y: []float64{}}
	for i, row := range rows {
		yv, ok := LookupFloat(row, y)
		if !ok {
			continue
		}
		xv := float64(i)
		if x != "" {
			if xv, ok = LookupFloat(row, x); !ok {
				continue
			}
		}
		s.X = append(s.X, xv)
		s.Y = append(s.Y, yv)
	}
	return s
}
