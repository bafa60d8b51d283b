package arrowds

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

func testMeta(task Task, pt PixelType) Metadata {
	m := Metadata{Name: "t", Task: task, Channels: 1, PixelType: pt, Source: "test", Licence: "CC0"}
	switch task {
	case Binary:
		m.Classes = []string{"neg", "pos"}
	default:
		m.Classes = []string{"a", "b", "c"}
	}
	return m
}

// randomSamples makes n samples of varying size with random pixels.
func randomSamples(meta Metadata, cols Columns, n int, seed uint64) []*Sample {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]*Sample, n)
	for i := range out {
		h, w := 3+rng.IntN(9), 2+rng.IntN(11)
		s := &Sample{
			ID: fmt.Sprintf("img-%04d", i), Source: fmt.Sprintf("src/%d.png", i),
			Split: Splits[rng.IntN(3)],
			Image: Image{Height: h, Width: w, Channels: meta.Channels},
		}
		if meta.Task == Multilabel {
			s.Label = -1
			s.Labels = make([]int32, len(meta.Classes))
			for j := range s.Labels {
				s.Labels[j] = int32(rng.IntN(2))
			}
		} else {
			s.Label = int32(rng.IntN(len(meta.Classes)))
		}
		if meta.PixelType == Uint16 {
			s.Pix16 = make([]uint16, s.Len())
			for j := range s.Pix16 {
				s.Pix16[j] = uint16(rng.IntN(65536))
			}
		} else {
			s.Pix = make([]uint8, s.Len())
			for j := range s.Pix {
				s.Pix[j] = uint8(rng.IntN(256))
			}
		}
		if cols.Group {
			if i%5 != 0 {
				s.Group = fmt.Sprintf("patient-%d", i/3)
			}
		}
		if cols.Mask && i%2 == 0 {
			s.Mask = make([]uint8, h*w)
			for j := range s.Mask {
				s.Mask[j] = uint8(rng.IntN(2))
			}
		}
		if cols.BBox && i%3 == 0 {
			s.BBox = []float32{1, 2, float32(w), float32(h)}
		}
		out[i] = s
	}
	return out
}

func writeAll(t *testing.T, path string, opts WriterOptions, samples []*Sample) {
	t.Helper()
	w, err := Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func checkSamples(t *testing.T, d *Dataset, want []*Sample) {
	t.Helper()
	if d.Len() != len(want) {
		t.Fatalf("dataset has %d rows, want %d", d.Len(), len(want))
	}
	for i, w := range want {
		got, err := d.ReadSample(i)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
}

func TestRoundTripAllColumnTypes(t *testing.T) {
	for _, tc := range []struct {
		task Task
		pt   PixelType
		cols Columns
	}{
		{Binary, Uint8, Columns{}},
		{Multiclass, Uint16, Columns{Group: true, Mask: true, BBox: true}},
		{Multilabel, Uint8, Columns{Group: true}},
	} {
		t.Run(fmt.Sprintf("%s-%s", tc.task, tc.pt), func(t *testing.T) {
			meta := testMeta(tc.task, tc.pt)
			samples := randomSamples(meta, tc.cols, 157, 1)
			dir := filepath.Join(t.TempDir(), "ds")
			writeAll(t, dir, WriterOptions{Meta: meta, Columns: tc.cols, RowsPerFile: 50, RowsPerBatch: 16}, samples)
			d, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if got := len(d.Files()); got != 4 {
				t.Errorf("157 rows at 50 per file: %d files, want 4", got)
			}
			if !reflect.DeepEqual(d.FileRows(), []int{50, 50, 50, 7}) {
				t.Errorf("rows per file %v", d.FileRows())
			}
			for _, pf := range d.files {
				if !pf.fast {
					t.Errorf("%s: the fast path should read pgaug's own files", pf.path)
				}
			}
			checkSamples(t, d, samples)
			m := d.Meta()
			if m.Task != tc.task || m.PixelType != tc.pt || !reflect.DeepEqual(m.Classes, meta.Classes) || m.Licence != "CC0" {
				t.Errorf("metadata read back as %+v", m)
			}
			if d.Columns() != tc.cols {
				t.Errorf("columns %+v, want %+v", d.Columns(), tc.cols)
			}
		})
	}
}

func TestSingleFileAndSplitIndices(t *testing.T) {
	meta := testMeta(Binary, Uint8)
	samples := randomSamples(meta, Columns{}, 40, 2)
	path := filepath.Join(t.TempDir(), "one.arrow")
	writeAll(t, path, WriterOptions{Meta: meta, RowsPerFile: 5}, samples)
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if len(d.Files()) != 1 {
		t.Fatalf("a .arrow output is one file, got %v", d.Files())
	}
	n := 0
	for _, sp := range Splits {
		idx := d.Indices(sp)
		for _, i := range idx {
			if d.Row(i).Split != sp || samples[i].Split != sp {
				t.Fatalf("row %d in split %s", i, sp)
			}
		}
		n += len(idx)
	}
	if n != 40 || len(d.Indices("")) != 40 {
		t.Errorf("splits cover %d rows, want 40", n)
	}
}

// TestFallbackMatchesFastPath reads the same rows from a zstd-compressed
// file (which needs the Arrow decoder) and from the plain file.
func TestFallbackMatchesFastPath(t *testing.T) {
	meta := testMeta(Multiclass, Uint16)
	cols := Columns{Mask: true, Group: true, BBox: true}
	samples := randomSamples(meta, cols, 70, 3)
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.arrow")
	writeAll(t, plain, WriterOptions{Meta: meta, Columns: cols, RowsPerBatch: 8}, samples)
	src, err := Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	comp := filepath.Join(dir, "zstd.arrow")
	f, err := os.Create(comp)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(src.Schema()), ipc.WithZstd())
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Scan(func(_, _ int, rec arrow.Record) error { return fw.Write(rec) }); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	d, err := Open(comp)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.files[0].fast {
		t.Fatal("a compressed file must use the Arrow decoder")
	}
	// Read in an order that jumps between batches.
	for k := 0; k < d.Len(); k++ {
		i := (k * 37) % d.Len()
		got, err := d.ReadSample(i)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, samples[i]) {
			t.Fatalf("row %d differs:\n got %+v\nwant %+v", i, got, samples[i])
		}
	}
}

func TestWriterRejectsBadSamples(t *testing.T) {
	meta := testMeta(Binary, Uint8)
	dir := t.TempDir()
	good := func() *Sample {
		return &Sample{ID: "x", Split: "train", Label: 1, Image: Image{Height: 2, Width: 2, Channels: 1, Pix: []uint8{1, 2, 3, 4}}}
	}
	for _, tc := range []struct {
		name string
		mod  func(s *Sample)
		want string
	}{
		{"pixels", func(s *Sample) { s.Pix = s.Pix[:3] }, "want 4 uint8 pixel values"},
		{"label", func(s *Sample) { s.Label = 2 }, "label 2 out of range [0,2)"},
		{"split", func(s *Sample) { s.Split = "valid" }, `split "valid"`},
		{"channels", func(s *Sample) { s.Channels = 3 }, "3 channels"},
		{"id", func(s *Sample) { s.ID = "" }, "empty id"},
		{"mask", func(s *Sample) { s.Mask = []uint8{1} }, "no mask column"},
		{"id utf8", func(s *Sample) { s.ID = "scan\xff" }, `id "scan\xff" is not valid UTF-8`},
		{"source utf8", func(s *Sample) { s.Source = "\xc3(" }, "source"},
	} {
		w, err := Create(filepath.Join(dir, tc.name), WriterOptions{Meta: meta})
		if err != nil {
			t.Fatal(err)
		}
		s := good()
		tc.mod(s)
		err = w.Write(s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		w.Abort()
	}
	w, _ := Create(filepath.Join(dir, "dup"), WriterOptions{Meta: meta})
	if err := w.Write(good()); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(good()); err == nil || !strings.Contains(err.Error(), "already in the dataset") {
		t.Errorf("duplicate id: %v", err)
	}
	w.Abort()
}

func TestWriterIsAtomic(t *testing.T) {
	meta := testMeta(Binary, Uint8)
	samples := randomSamples(meta, Columns{}, 30, 4)
	parent := t.TempDir()
	out := filepath.Join(parent, "ds")
	w, err := Create(out, WriterOptions{Meta: meta, RowsPerFile: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	// Two part files are complete, yet nothing is visible at the output.
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("output exists before Close: %v", err)
	}
	w.Abort()
	ents, _ := os.ReadDir(parent)
	if len(ents) != 0 {
		t.Fatalf("Abort left %v behind", ents)
	}
	// Replacing needs Overwrite, and keeps the old data until Close.
	writeAll(t, out, WriterOptions{Meta: meta}, samples[:5])
	if _, err := Create(out, WriterOptions{Meta: meta}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Create over an existing output: %v", err)
	}
	w, err = Create(out, WriterOptions{Meta: meta, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples[5:9] {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Open(out)
	if err != nil || d.Len() != 5 {
		t.Fatalf("old output during the rewrite: %v rows, %v", d.Len(), err)
	}
	d.Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	checkSamples(t, d, samples[5:9])
	ents, _ = os.ReadDir(parent)
	if len(ents) != 1 {
		t.Errorf("after replacing, the parent holds %v", ents)
	}
}

func TestEmptyDataset(t *testing.T) {
	out := filepath.Join(t.TempDir(), "empty")
	writeAll(t, out, WriterOptions{Meta: testMeta(Binary, Uint8)}, nil)
	d, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Len() != 0 {
		t.Errorf("%d rows", d.Len())
	}
}

func TestOpenErrorsNameFileAndRow(t *testing.T) {
	dir := t.TempDir()
	meta := testMeta(Binary, Uint8)
	// A file written by hand with a label out of range in row 2 of batch 0.
	schema, err := NewSchema(meta, Columns{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bad.arrow")
	writeRaw(t, path, schema, func(b *array.RecordBuilder) {
		for i := 0; i < 4; i++ {
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprint("r", i))
			b.Field(1).(*array.StringBuilder).Append("")
			b.Field(2).(*array.StringBuilder).Append("train")
			lab := int32(i % 2)
			if i == 2 {
				lab = 7
			}
			b.Field(3).(*array.Int32Builder).Append(lab)
			for f := 4; f < 7; f++ {
				b.Field(f).(*array.Int32Builder).Append(1)
			}
			lb := b.Field(7).(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Uint8Builder).Append(9)
		}
	})
	_, err = Open(path)
	if err == nil || !strings.Contains(err.Error(), "bad.arrow, record batch 0, row 2") || !strings.Contains(err.Error(), "label 7 out of range") {
		t.Errorf("error %v should name the file, batch, row and the problem", err)
	}

	// Truncated and garbage files.
	good := filepath.Join(dir, "good.arrow")
	writeAll(t, good, WriterOptions{Meta: meta, RowsPerBatch: 4}, randomSamples(meta, Columns{}, 12, 5))
	data, _ := os.ReadFile(good)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"truncated.arrow", data[:len(data)-7]},
		{"garbage.arrow", []byte("this is not arrow at all, not even close")},
		{"empty.arrow", nil},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, tc.data, 0o644)
		if _, err := Open(p); err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: error %v should name the file", tc.name, err)
		}
	}
	// Flipping bytes anywhere must give an error or valid data, never a panic.
	rng := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < 300; k++ {
		c := append([]byte(nil), data...)
		for j := 0; j < 1+rng.IntN(4); j++ {
			c[rng.IntN(len(c))] = byte(rng.IntN(256))
		}
		p := filepath.Join(dir, "flip.arrow")
		os.WriteFile(p, c, 0o644)
		d, err := Open(p)
		if err != nil {
			continue
		}
		for i := 0; i < d.Len(); i++ {
			d.ReadSample(i)
		}
		d.Close()
	}
}

func writeRaw(t *testing.T, path string, schema *arrow.Schema, fill func(b *array.RecordBuilder)) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	fill(b)
	rec := b.NewRecord()
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMetadataRoundTripAndValidation(t *testing.T) {
	m := testMeta(Multiclass, Uint8)
	m.NormMean, m.NormStd, m.NormSplit = []float64{0.25}, []float64{0.5}, "train"
	m.Extra = map[string]string{"other.tool": "x"}
	got, err := MetadataFromArrow(m.ToArrow())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("got %+v\nwant %+v", got, m)
	}
	for _, bad := range []func(m *Metadata){
		func(m *Metadata) { m.Task = "regression" },
		func(m *Metadata) { m.Classes = []string{"a", "a"} },
		func(m *Metadata) { m.Channels = 2 },
		func(m *Metadata) { m.PixelType = "float32" },
		func(m *Metadata) { m.NormStd = []float64{0} },
		func(m *Metadata) { m.Task = Binary },
	} {
		c := m.Clone()
		bad(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%+v should not validate", c)
		}
	}
}

// Outputs get ordinary modes (files 0644, directories 0755), not those of
// the temporary files and directories they were staged in.
func TestOutputModes(t *testing.T) {
	meta := testMeta(Binary, Uint8)
	samples := randomSamples(meta, Columns{}, 12, 3)
	dir := t.TempDir()
	one, many := filepath.Join(dir, "one.arrow"), filepath.Join(dir, "many")
	writeAll(t, one, WriterOptions{Meta: meta}, samples)
	writeAll(t, many, WriterOptions{Meta: meta, RowsPerFile: 5}, samples)
	check := func(p string, want os.FileMode) {
		t.Helper()
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}
	check(one, 0o644)
	check(many, 0o755)
	parts, err := filepath.Glob(filepath.Join(many, "*"))
	if err != nil || len(parts) < 3 {
		t.Fatalf("parts %v (%v)", parts, err)
	}
	for _, p := range parts {
		check(p, 0o644)
	}
}
