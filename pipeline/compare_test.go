package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompareExperiments(t *testing.T) {
	dir := t.TempDir()
	start := MethodStats{Method: "converged start", Seeds: []uint64{1, 2}, Metrics: map[string]Stat{"accuracy": NewStat([]float64{0.8, 0.9})}}
	write := func(name string, ms ...MethodStats) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := writeJSONFile(filepath.Join(d, "results.json"), ExperimentResult{Seeds: []uint64{1, 2}, Methods: ms}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := write("a", start, MethodStats{Method: "apga", Seeds: []uint64{1, 2}, Metrics: map[string]Stat{"accuracy": NewStat([]float64{0.7, 0.8})}})
	b := write("b", start, MethodStats{Method: "apga", Seeds: []uint64{1, 2}, Metrics: map[string]Stat{"accuracy": NewStat([]float64{0.85, 0.95})}})
	res, err := CompareExperiments([]Labeled{{"paper", a}, {"sampled", b}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range res.Methods {
		names = append(names, m.Method)
	}
	if strings.Join(names, "|") != "converged start|paper: apga|sampled: apga" {
		t.Fatalf("rows %v", names)
	}
	if !strings.Contains(res.Markdown, "| sampled: apga | 0.9000 ± 0.0707 |") {
		t.Fatalf("markdown:\n%s", res.Markdown)
	}
	c := filepath.Join(dir, "c")
	if err := os.MkdirAll(c, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeJSONFile(filepath.Join(c, "results.json"), ExperimentResult{Seeds: []uint64{3}}); err != nil {
		t.Fatal(err)
	}
	if _, err := CompareExperiments([]Labeled{{"a", a}, {"c", c}}); err == nil || !strings.Contains(err.Error(), "same seeds") {
		t.Fatalf("other seeds must be refused: %v", err)
	}
	if _, err := CompareExperiments([]Labeled{{"x", filepath.Join(dir, "missing")}}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("a missing experiment: %v", err)
	}
}
