package infer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/pipeline/infer"
)

// partedData writes a synthetic dataset as a directory of part files.
func partedData(t *testing.T, dir string, count, rowsPerFile int) string {
	t.Helper()
	p := filepath.Join(dir, "parted")
	cfg := synthetic.Default()
	cfg.Count, cfg.Size, cfg.Classes, cfg.Seed = count, 16, 2, 7
	if _, err := convert.Synthetic(cfg, convert.Options{Out: p, RowsPerFile: rowsPerFile}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestShardRanges(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7} {
		for _, rows := range []int{7, 10, 61} {
			next := 0
			for k := 1; k <= n; k++ {
				lo, hi := infer.Shard{K: k, N: n}.Range(rows)
				if lo != next || hi-lo < rows/n || hi-lo > rows/n+1 {
					t.Fatalf("%d rows, shard %d/%d: [%d, %d) after %d", rows, k, n, lo, hi, next)
				}
				next = hi
			}
			if next != rows {
				t.Fatalf("%d rows in %d shards end at %d", rows, n, next)
			}
		}
	}
	for _, bad := range []string{"0/2", "3/2", "1", "a/b", "1/0", "-1/2"} {
		if _, err := infer.ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

// Shards run in any order and merged equal one unsharded run, row for row
// and byte for byte, on a dataset of several part files and on one split.
func TestMergedShardsEqualOneRun(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	data := partedData(t, dir, 61, 16)
	model := zooModel(t, dir, "smallcnn", 2, 1, 16)
	for _, split := range []string{"", "test"} {
		whole := filepath.Join(dir, "whole"+split+".arrow")
		if _, err := infer.Run(context.Background(), infer.Config{Model: model, Data: data, Output: whole, Split: split, Batch: 5, Threads: 1, Version: "v"}); err != nil {
			t.Fatal(err)
		}
		var shards []string
		for _, k := range []int{3, 1, 2} {
			out := filepath.Join(dir, fmt.Sprintf("shard%s-%d.arrow", split, k))
			res, err := infer.Run(context.Background(), infer.Config{Model: model, Data: data, Output: out, Split: split, Batch: 4, Threads: 1, Version: "v", Shard: infer.Shard{K: k, N: 3}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows == 0 {
				t.Fatalf("shard %d/3 wrote no rows", k)
			}
			shards = append(shards, out)
		}
		merged := filepath.Join(dir, "merged"+split+".arrow")
		if _, err := infer.Merge(merged, shards); err != nil {
			t.Fatal(err)
		}
		a, err := infer.ReadPredictions(whole)
		if err != nil {
			t.Fatal(err)
		}
		b, err := infer.ReadPredictions(merged)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.IDs, b.IDs) || !slices.Equal(a.Rows, b.Rows) || !slices.Equal(a.Labels, b.Labels) ||
			!slices.Equal(a.Preds, b.Preds) || !slices.Equal(a.Probs, b.Probs) || b.Shard != "" {
			t.Fatalf("split %q: merged shards differ from the unsharded run (%d rows against %d, shard %q)", split, b.Len(), a.Len(), b.Shard)
		}
		wb, _ := os.ReadFile(whole)
		mb, _ := os.ReadFile(merged)
		if !slices.Equal(wb, mb) {
			t.Errorf("split %q: merged file is not byte for byte the unsharded one", split)
		}
	}
}

func TestMergeRefusesWhatDoesNotBelong(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	data := partedData(t, dir, 40, 16)
	model := zooModel(t, dir, "smallcnn", 2, 1, 16)
	other := filepath.Join(dir, "other.onnx")
	if err := os.Rename(tinyClassifier(t, t.TempDir(), 2, 16, 0, false), other); err != nil {
		t.Fatal(err)
	}
	run := func(name, m string, split string, k, n int) string {
		out := filepath.Join(dir, name)
		if _, err := infer.Run(context.Background(), infer.Config{Model: m, Data: data, Output: out, Split: split, Threads: 1, Shard: infer.Shard{K: k, N: n}}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	s1, s2, s3 := run("a1.arrow", model, "", 1, 3), run("a2.arrow", model, "", 2, 3), run("a3.arrow", model, "", 3, 3)
	whole := filepath.Join(dir, "whole.arrow")
	if _, err := infer.Run(context.Background(), infer.Config{Model: model, Data: data, Output: whole, Threads: 1}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "merged.arrow")
	for _, c := range []struct {
		name   string
		inputs []string
		want   string
	}{
		{"missing", []string{s1, s3}, "missing shard 2/3"},
		{"twice", []string{s1, s2, s2, s3}, "shard 2/3 given twice"},
		{"not a shard", []string{s1, whole}, "is not a shard"},
		{"other model", []string{s1, s2, run("b3.arrow", other, "", 3, 3)}, "model"},
		{"other split", []string{s1, s2, run("c3.arrow", model, "test", 3, 3)}, "split"},
		{"other count", []string{s1, s2, run("d4.arrow", model, "", 4, 4)}, "shards of 3 and of 4"},
	} {
		_, err := infer.Merge(out, c.inputs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%s: a refused merge left %s", c.name, out)
		}
	}
}
