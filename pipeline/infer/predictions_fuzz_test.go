package infer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/fuzzcorpus"
)

// predictionsBytes is a small predictions file as Run writes it.
func predictionsBytes(tb testing.TB, classes []string, rows int) []byte {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "p.arrow")
	w, err := newPredictionWriter(path, fileHeader{Classes: classes, Model: "m.onnx", Data: "d.arrow", Split: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	var ids []string
	var idx []int
	var labels, preds []int32
	var probs []float32
	for i := 0; i < rows; i++ {
		ids, idx = append(ids, "img-"+string(rune('a'+i%26))), append(idx, i)
		labels, preds = append(labels, int32(i%len(classes))), append(preds, int32((i+1)%len(classes)))
		for k := range classes {
			probs = append(probs, float32(k+1)/float32(len(classes)*(len(classes)+1)/2))
		}
	}
	labels[0] = -1
	if err := w.append(ids, idx, labels, preds, probs); err != nil {
		tb.Fatal(err)
	}
	if err := w.commit(); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzReadPredictions reads arbitrary bytes as a predictions file (what
// `pgaug infer merge` reads from other
// machines): no panic, every error names the file, and what reads holds
// one probability vector of the classes' width per row.
func FuzzReadPredictions(f *testing.F) {
	two := predictionsBytes(f, []string{"normal", "pneumonia"}, 5)
	three := predictionsBytes(f, []string{"a", "b", "c"}, 3)
	fuzzcorpus.Add(f, "two-classes", two)
	fuzzcorpus.Add(f, "three-classes", three)
	fuzzcorpus.Add(f, "truncated", two[:len(two)*2/3])
	f.Add([]byte("ARROW1\x00\x00"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.arrow")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := ReadPredictions(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("the error does not name %s: %v", path, err)
			}
			return
		}
		n := len(p.IDs)
		if len(p.Rows) != n || len(p.Labels) != n || len(p.Preds) != n || len(p.Probs) != n*len(p.Classes) {
			t.Fatalf("%d ids, %d rows, %d labels, %d preds, %d probabilities for %d classes", n, len(p.Rows), len(p.Labels), len(p.Preds), len(p.Probs), len(p.Classes))
		}
	})
}
