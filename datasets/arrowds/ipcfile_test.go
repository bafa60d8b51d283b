package arrowds

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// OpenIPC reads an Arrow file of any schema back, and names the file when
// it is damaged.
func TestOpenIPC(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.arrow")
	schema := arrow.NewSchema([]arrow.Field{{Name: "name", Type: arrow.BinaryTypes.String}, {Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	writeRaw(t, path, schema, func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "bc"}, nil)
		b.Field(1).(*array.Int64Builder).AppendValues([]int64{3, 7}, nil)
	})

	r, err := OpenIPC(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.NumRecords() != 1 || r.Schema().Field(0).Name != "name" {
		t.Fatalf("%d records, schema %v", r.NumRecords(), r.Schema())
	}
	rec, err := r.Record(0)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Column(0).(*array.String).Value(1); got != "bc" || rec.Column(1).(*array.Int64).Value(0) != 3 {
		t.Errorf("record 0: %v", rec)
	}
	rec.Release()
	if _, err := r.Record(1); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("record 1 of 1: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	data, _ := os.ReadFile(path)
	bad := filepath.Join(t.TempDir(), "bad.arrow")
	if err := os.WriteFile(bad, data[:len(data)-20], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenIPC(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a truncated file: %v", err)
	}
	if _, err := OpenIPC(filepath.Join(t.TempDir(), "missing.arrow")); err == nil || !strings.Contains(err.Error(), "missing.arrow") {
		t.Errorf("a missing file: %v", err)
	}
}
