package arrowds

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"

	"github.com/pgaug/pgaug/datasets/fuzzcorpus"
)

// seedFile writes samples with the package's Writer (or, with zstd, copies
// them through the Arrow library's compressed writer) and returns the
// file's bytes.
func seedFile(tb testing.TB, meta Metadata, cols Columns, n, perBatch int, zstd bool) []byte {
	tb.Helper()
	dir := tb.TempDir()
	path := filepath.Join(dir, "seed.arrow")
	w, err := Create(path, WriterOptions{Meta: meta, Columns: cols, RowsPerBatch: perBatch})
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range randomSamples(meta, cols, n, uint64(n)) {
		if err := w.Write(s); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if zstd {
		d, err := Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		defer d.Close()
		path = filepath.Join(dir, "zstd.arrow")
		out, err := os.Create(path)
		if err != nil {
			tb.Fatal(err)
		}
		defer out.Close()
		fw, err := ipc.NewFileWriter(out, ipc.WithSchema(d.Schema()), ipc.WithZstd())
		if err != nil {
			tb.Fatal(err)
		}
		if err := d.Scan(func(_, _ int, rec arrow.Record) error { return fw.Write(rec) }); err != nil {
			tb.Fatal(err)
		}
		if err := fw.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// arrowSeeds are the seed files of both fuzz targets: valid files of each
// task, pixel type and optional column, a compressed one, and damaged
// copies.
func arrowSeeds(f *testing.F) {
	small := seedFile(f, testMeta(Binary, Uint8), Columns{}, 3, 0, false)
	full := seedFile(f, testMeta(Multiclass, Uint16), Columns{Mask: true, Group: true, BBox: true}, 4, 2, false)
	ml := testMeta(Multilabel, Uint8)
	fuzzcorpus.Add(f, "binary-uint8", small)
	fuzzcorpus.Add(f, "multiclass-uint16-mask-group-bbox", full)
	fuzzcorpus.Add(f, "multilabel", seedFile(f, ml, Columns{}, 2, 1, false))
	fuzzcorpus.Add(f, "zstd", seedFile(f, testMeta(Binary, Uint8), Columns{Group: true}, 3, 2, true))
	fuzzcorpus.Add(f, "truncated", small[:len(small)*2/3])
	bad := bytes.Clone(full)
	bad[len(bad)-10] ^= 0x40 // footer length
	fuzzcorpus.Add(f, "footer-length-flipped", bad)
	f.Add([]byte("ARROW1\x00\x00"))
}

// panicSite returns the function a stack (from debug.Stack in a deferred
// function) panicked in: the first frame after panic() that is not in the
// runtime.
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "panic(") {
			continue
		}
		for _, fn := range lines[i+1:] {
			if fn == "" || strings.HasPrefix(fn, "\t") || strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "panic(") {
				continue
			}
			return fn
		}
	}
	return ""
}

// FuzzOpen writes arbitrary bytes as an .arrow file and uses it as a
// program would: Open, every row's index entry and sample (pixels and
// mask), and Scan. Nothing may panic — the panics of the Arrow library on
// corrupt input that the reader turns into errors are allowed, panics in
// this package are not — and every error must name the file. (Writing
// what was read back through Writer, which syncs every file it writes, cut
// the exec rate to a few per second, so the round trip is left to the
// unit tests.)
func FuzzOpen(f *testing.F) {
	arrowSeeds(f)
	var site string
	panicHook = func(v any, stack []byte) {
		if s := panicSite(stack); strings.HasPrefix(s, "github.com/pgaug/pgaug/") {
			site = fmt.Sprintf("%v\n%s", v, stack)
		}
	}
	f.Cleanup(func() { panicHook = nil })
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		site = ""
		path := filepath.Join(dir, "fuzz.arrow")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		named := func(what string, err error) {
			t.Helper()
			if site != "" {
				t.Fatalf("%s: a panic in pgaug's code, turned into the error %v:\n%s", what, err, site)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Fatalf("%s: the error does not name the file %s: %v", what, path, err)
			}
		}
		d, err := Open(path)
		named("Open", err)
		if err != nil {
			return
		}
		defer d.Close()
		meta := d.Meta()
		for i := 0; i < d.Len(); i++ {
			r := d.Row(i)
			if r.Pixels() <= 0 || int(r.Channels) != meta.Channels {
				t.Fatalf("row %d: %dx%dx%d for %d channels", i, r.Height, r.Width, r.Channels, meta.Channels)
			}
			s, err := d.ReadSample(i)
			named(fmt.Sprintf("ReadSample(%d)", i), err)
			if err != nil {
				break
			}
			if s.ID != r.ID || s.Label != r.Label || s.Len() != r.Pixels() {
				t.Fatalf("row %d: the sample (%q, label %d, %d values) disagrees with the index (%q, label %d, %d pixels)",
					i, s.ID, s.Label, s.Len(), r.ID, r.Label, r.Pixels())
			}
		}
		named("Scan", d.Scan(func(_, _ int, rec arrow.Record) error { return nil }))
	})
}

// FuzzFooter feeds arbitrary bytes to the reader's own flatbuffer code: the
// footer (schema checks, dictionary and record batch blocks) and every
// record batch message, with no recover in between, so a panic here is a
// crash.
func FuzzFooter(f *testing.F) {
	arrowSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		blocks, err := readFooterBlocks(r, int64(len(data)))
		if err != nil {
			return
		}
		for _, b := range blocks {
			if b.offset < 0 || b.offset+b.metaLen+b.bodyLen > int64(len(data)) {
				t.Fatalf("block %+v outside the %d-byte file", b, len(data))
			}
			m, err := readBatchMeta(r, b)
			if err != nil {
				continue
			}
			for i, s := range m.buffers {
				if s.offset < 0 || s.length < 0 || s.offset+s.length > b.bodyLen {
					t.Fatalf("buffer %d %+v outside the %d-byte body", i, s, b.bodyLen)
				}
			}
		}
	})
}
