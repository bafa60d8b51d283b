package arrowds

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

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
// footer (schema checks and layout, dictionary and record batch blocks) and
// every record batch message, with no recover in between, so a panic here
// is a crash.
func FuzzFooter(f *testing.F) {
	arrowSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		blocks, layout, err := readFooterBlocks(r, int64(len(data)))
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
			if layout.check(m) == nil && (len(m.nodes) != layout.nodes || len(m.buffers) != layout.bufs) {
				t.Fatalf("the layout check passed %d nodes and %d buffers for %+v", len(m.nodes), len(m.buffers), layout)
			}
		}
	})
}

// TestLayoutChecksAcceptDictionariesAndNesting: the node and buffer counts
// the reader now requires before the Arrow decoder sees a batch (it reads
// past short lists: FuzzOpen's crasher 361c6044157b4f0c, a compressed
// batch whose empty buffer list made it allocate 152 GB) match what the
// Arrow writer produces for dictionary-encoded, nested and compressed
// columns; a union column, whose layout is not checked, is refused.
func TestLayoutChecksAcceptDictionariesAndNesting(t *testing.T) {
	meta := testMeta(Binary, Uint8)
	base, err := NewSchema(meta, Columns{})
	if err != nil {
		t.Fatal(err)
	}
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	fields := append([]arrow.Field(nil), base.Fields()...)
	for i := range fields {
		if fields[i].Name == ColSplit {
			fields[i].Type = dict
		}
	}
	extra := arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "b", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		arrow.Field{Name: "c", Type: dict})
	fields = append(fields, arrow.Field{Name: "extra", Type: extra, Nullable: true}, arrow.Field{Name: "none", Type: arrow.Null, Nullable: true})
	md := base.Metadata()
	schema := arrow.NewSchema(fields, &md)
	dir := t.TempDir()
	for _, zstd := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("dict-%v.arrow", zstd))
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		opts := []ipc.Option{ipc.WithSchema(schema)}
		if zstd {
			opts = append(opts, ipc.WithZstd())
		}
		fw, err := ipc.NewFileWriter(f, opts...)
		if err != nil {
			t.Fatal(err)
		}
		b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
		for i := 0; i < 3; i++ {
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprint("r", i))
			b.Field(1).(*array.StringBuilder).Append("")
			if err := b.Field(2).(*array.BinaryDictionaryBuilder).AppendString(Splits[i%2]); err != nil {
				t.Fatal(err)
			}
			b.Field(3).(*array.Int32Builder).Append(int32(i % 2))
			for k := 4; k < 7; k++ {
				b.Field(k).(*array.Int32Builder).Append(1)
			}
			lb := b.Field(7).(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Uint8Builder).Append(uint8(i))
			sb := b.Field(8).(*array.StructBuilder)
			sb.Append(true)
			sb.FieldBuilder(0).(*array.Int64Builder).Append(int64(i))
			l := sb.FieldBuilder(1).(*array.ListBuilder)
			l.Append(true)
			l.ValueBuilder().(*array.StringBuilder).Append("x")
			if err := sb.FieldBuilder(2).(*array.BinaryDictionaryBuilder).AppendString("d"); err != nil {
				t.Fatal(err)
			}
			b.Field(9).(*array.NullBuilder).AppendNull()
		}
		rec := b.NewRecord()
		if err := fw.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		d, err := Open(path)
		if err != nil {
			t.Fatalf("zstd %v: %v", zstd, err)
		}
		for i := 0; i < d.Len(); i++ {
			s, err := d.ReadSample(i)
			if err != nil || s.Split != Splits[i%2] || s.Pix[0] != uint8(i) {
				t.Fatalf("zstd %v, row %d: %+v, %v", zstd, i, s, err)
			}
		}
		if err := d.Scan(func(_, _ int, rec arrow.Record) error { return nil }); err != nil {
			t.Fatal(err)
		}
		d.Close()
	}

	// A union column: refused, naming the file.
	uf := append(append([]arrow.Field(nil), base.Fields()...), arrow.Field{Name: "u",
		Type: arrow.SparseUnionOf([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int32}}, []arrow.UnionTypeCode{0}), Nullable: true})
	us := arrow.NewSchema(uf, &md)
	path := filepath.Join(dir, "union.arrow")
	writeRaw(t, path, us, func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).Append("r")
		b.Field(1).(*array.StringBuilder).Append("")
		b.Field(2).(*array.StringBuilder).Append("train")
		b.Field(3).(*array.Int32Builder).Append(0)
		for k := 4; k < 7; k++ {
			b.Field(k).(*array.Int32Builder).Append(1)
		}
		lb := b.Field(7).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Uint8Builder).Append(1)
		ub := b.Field(8).(*array.SparseUnionBuilder)
		ub.Append(0)
		ub.Child(0).(*array.Int32Builder).Append(5)
	})
	d, err := Open(path)
	if err == nil {
		// The fast path handles the file only if it can lay it out; a union makes it use the Arrow decoder.
		d.Close()
		t.Fatal("a file with a union column opened")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "cannot check") {
		t.Errorf("union: %v", err)
	}
}

// TestCompressedClaimsBoundedByRatio: a compressed buffer may not claim to
// decompress to more than maxCompressionRatio times its size (the Arrow
// decoder allocates the claim before decompressing), even below the 2 GiB
// bound on one buffer.
func TestCompressedClaimsBoundedByRatio(t *testing.T) {
	data := seedFile(t, testMeta(Binary, Uint8), Columns{}, 3, 0, true)
	r := bytes.NewReader(data)
	blocks, _, err := readFooterBlocks(r, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := readBatchMeta(r, blocks[0])
	if err != nil || !m.compressed {
		t.Fatalf("%+v %v", m, err)
	}
	for _, bs := range m.buffers {
		if bs.length >= 8 {
			binary.LittleEndian.PutUint64(data[m.bodyStart+bs.offset:], 1<<30)
			break
		}
	}
	path := filepath.Join(t.TempDir(), "claim.arrow")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "claims 1073741824 uncompressed bytes") {
		t.Fatalf("got %v", err)
	}
}
