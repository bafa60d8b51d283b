package arrowds

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Defaults of WriterOptions.
const (
	DefaultRowsPerFile  = 20000
	DefaultRowsPerBatch = 512
	// maxBatchBytes flushes a record batch early once its pixel bytes pass
	// this size, so that large images keep batches (and memory) bounded.
	maxBatchBytes = 32 << 20
)

// WriterOptions configures a Writer.
type WriterOptions struct {
	Meta    Metadata
	Columns Columns
	// RowsPerFile rolls to a new part file once a file holds this many rows
	// (directory output only). 0 means DefaultRowsPerFile.
	RowsPerFile int
	// RowsPerBatch is the number of rows per Arrow record batch. 0 means
	// DefaultRowsPerBatch.
	RowsPerBatch int
	// Overwrite replaces an existing output (atomically, on Close). Without
	// it Create fails when the output exists.
	Overwrite bool
}

// ErrInvalidSample marks Write errors about the sample itself (the writer
// stays usable); any other Write error is fatal to the writer.
var ErrInvalidSample = errors.New("invalid sample")

// Writer writes samples into a new dataset. Output whose path ends in
// ".arrow" is one file; any other path is a directory of part files
// (part-00000.arrow, part-00001.arrow, ...), a new one started every
// RowsPerFile rows.
//
// Nothing appears at the output path until Close succeeds: files are written
// under temporary names (a hidden staging directory next to the output, or a
// hidden temporary file), synced, and renamed into place by Close. An
// interrupted run leaves only a hidden ".*.tmp-*" entry behind.
type Writer struct {
	path    string
	single  bool
	stage   string // staging directory (directory mode) or temporary file (file mode)
	opts    WriterOptions
	schema  *arrow.Schema
	mem     memory.Allocator
	b       *array.RecordBuilder
	fw      *ipc.FileWriter
	f       *os.File
	bw      *posWriter
	tmpName string // current part file's temporary name
	final   string // current part file's final name
	part    int
	inFile  int
	inBatch int
	bytes   int
	rows    int
	ids     map[string]struct{}
	closed  bool
	err     error
}

// Create starts writing a dataset at path.
func Create(path string, opts WriterOptions) (*Writer, error) {
	if opts.RowsPerFile <= 0 {
		opts.RowsPerFile = DefaultRowsPerFile
	}
	if opts.RowsPerBatch <= 0 {
		opts.RowsPerBatch = DefaultRowsPerBatch
	}
	if opts.Meta.Name == "" {
		opts.Meta.Name = defaultName
	}
	schema, err := NewSchema(opts.Meta, opts.Columns)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	if err := checkOutput(path, opts.Overwrite); err != nil {
		return nil, err
	}
	w := &Writer{
		path:   filepath.Clean(path),
		single: strings.HasSuffix(path, ".arrow"),
		opts:   opts,
		schema: schema,
		mem:    memory.NewGoAllocator(),
		ids:    map[string]struct{}{},
	}
	dir := filepath.Dir(w.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	if !w.single {
		w.stage, err = os.MkdirTemp(dir, "."+filepath.Base(w.path)+".tmp-")
		if err != nil {
			return nil, fmt.Errorf("creating a staging directory for %s: %w", w.path, err)
		}
	}
	w.b = array.NewRecordBuilder(w.mem, schema)
	return w, nil
}

// checkOutput refuses to replace an existing output unless told to.
func checkOutput(path string, overwrite bool) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	if !overwrite {
		return fmt.Errorf("output %s already exists (use --force to replace it)", path)
	}
	if st.IsDir() == strings.HasSuffix(path, ".arrow") {
		return fmt.Errorf("output %s exists and is a %s; it cannot be replaced by a %s",
			path, kind(st.IsDir()), kind(!st.IsDir()))
	}
	return nil
}

func kind(dir bool) string {
	if dir {
		return "directory"
	}
	return "file"
}

// Schema returns the schema of the files being written.
func (w *Writer) Schema() *arrow.Schema { return w.schema }

// Rows returns the number of rows written so far.
func (w *Writer) Rows() int { return w.rows }

// Write appends one sample. The sample is validated against the metadata
// (channels, pixel count and type, label range, split name, unique id); an
// invalid sample is an error and is not written.
func (w *Writer) Write(s *Sample) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("arrowds: write after Close")
	}
	if err := checkSample(&w.opts.Meta, w.opts.Columns, s); err != nil {
		return fmt.Errorf("sample %q: %w: %w", s.ID, ErrInvalidSample, err)
	}
	if _, dup := w.ids[s.ID]; dup {
		return fmt.Errorf("sample %q: %w: the id is already in the dataset (ids must be unique)", s.ID, ErrInvalidSample)
	}
	w.ids[s.ID] = struct{}{}
	w.append(s)
	w.rows++
	w.inBatch++
	w.inFile++
	w.bytes += len(s.Pix) + 2*len(s.Pix16) + len(s.Mask)
	if w.inBatch >= w.opts.RowsPerBatch || w.bytes >= maxBatchBytes {
		if err := w.flushBatch(); err != nil {
			return w.fail(err)
		}
	}
	if !w.single && w.inFile >= w.opts.RowsPerFile {
		if err := w.finishFile(); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

func (w *Writer) fail(err error) error {
	w.err = err
	return err
}

func (w *Writer) append(s *Sample) {
	i := 0
	next := func() array.Builder { f := w.b.Field(i); i++; return f }
	next().(*array.StringBuilder).Append(s.ID)
	next().(*array.StringBuilder).Append(s.Source)
	next().(*array.StringBuilder).Append(s.Split)
	if w.opts.Meta.Task == Multilabel {
		lb := next().(*array.FixedSizeListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int32Builder).AppendValues(s.Labels, nil)
	} else {
		next().(*array.Int32Builder).Append(s.Label)
	}
	next().(*array.Int32Builder).Append(int32(s.Height))
	next().(*array.Int32Builder).Append(int32(s.Width))
	next().(*array.Int32Builder).Append(int32(s.Channels))
	if w.opts.Columns.Group {
		gb := next().(*array.StringBuilder)
		if s.Group == "" {
			gb.AppendNull()
		} else {
			gb.Append(s.Group)
		}
	}
	if w.opts.Columns.BBox {
		bb := next().(*array.FixedSizeListBuilder)
		vb := bb.ValueBuilder().(*array.Float32Builder)
		if s.BBox == nil {
			bb.Append(false)
			vb.AppendValues([]float32{0, 0, 0, 0}, nil)
		} else {
			bb.Append(true)
			vb.AppendValues(s.BBox, nil)
		}
	}
	pb := next().(*array.ListBuilder)
	pb.Append(true)
	if w.opts.Meta.PixelType == Uint16 {
		pb.ValueBuilder().(*array.Uint16Builder).AppendValues(s.Pix16, nil)
	} else {
		pb.ValueBuilder().(*array.Uint8Builder).AppendValues(s.Pix, nil)
	}
	if w.opts.Columns.Mask {
		mb := next().(*array.ListBuilder)
		if s.Mask == nil {
			mb.AppendNull()
		} else {
			mb.Append(true)
			mb.ValueBuilder().(*array.Uint8Builder).AppendValues(s.Mask, nil)
		}
	}
}

// WriteRecord appends a record batch whose schema has the writer's fields
// (metadata may differ). It is used to copy or rewrite datasets batch by
// batch; rows are not validated beyond the schema.
func (w *Writer) WriteRecord(rec arrow.Record) error {
	if w.err != nil {
		return w.err
	}
	if !sameFields(rec.Schema(), w.schema) {
		return fmt.Errorf("record schema %v does not match the dataset schema %v", rec.Schema(), w.schema)
	}
	if err := w.flushBatch(); err != nil {
		return w.fail(err)
	}
	if err := w.ensureFile(); err != nil {
		return w.fail(err)
	}
	out := array.NewRecord(w.schema, rec.Columns(), rec.NumRows())
	defer out.Release()
	if err := w.fw.Write(out); err != nil {
		return w.fail(fmt.Errorf("writing %s: %w", w.final, err))
	}
	w.rows += int(rec.NumRows())
	w.inFile += int(rec.NumRows())
	if !w.single && w.inFile >= w.opts.RowsPerFile {
		if err := w.finishFile(); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

func sameFields(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.Fields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || !arrow.TypeEqual(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

func (w *Writer) ensureFile() error {
	if w.fw != nil {
		return nil
	}
	var err error
	if w.single {
		w.final = w.path
		w.f, err = os.CreateTemp(filepath.Dir(w.path), "."+filepath.Base(w.path)+".tmp-")
	} else {
		w.final = filepath.Join(w.stage, fmt.Sprintf("part-%05d.arrow", w.part))
		w.f, err = os.CreateTemp(w.stage, ".part.tmp-")
	}
	if err != nil {
		return fmt.Errorf("creating a temporary file for %s: %w", w.final, err)
	}
	w.tmpName = w.f.Name()
	if w.single {
		w.stage = w.tmpName
	}
	w.bw = &posWriter{w: newBufWriter(w.f)}
	w.fw, err = ipc.NewFileWriter(w.bw, ipc.WithSchema(w.schema), ipc.WithAllocator(w.mem))
	if err != nil {
		return fmt.Errorf("starting %s: %w", w.final, err)
	}
	return nil
}

func (w *Writer) flushBatch() error {
	if w.inBatch == 0 {
		return nil
	}
	if err := w.ensureFile(); err != nil {
		return err
	}
	rec := w.b.NewRecord()
	defer rec.Release()
	w.inBatch, w.bytes = 0, 0
	if err := w.fw.Write(rec); err != nil {
		return fmt.Errorf("writing %s: %w", w.final, err)
	}
	return nil
}

// finishFile closes the current part file and renames it to its final name
// (inside the staging directory, or onto the output path for one file).
func (w *Writer) finishFile() error {
	if err := w.flushBatch(); err != nil {
		return err
	}
	if w.fw == nil {
		return nil
	}
	err := w.fw.Close()
	if err == nil {
		err = w.bw.w.Flush()
	}
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.fw, w.f, w.bw = nil, nil, nil
	if err != nil {
		return fmt.Errorf("writing %s: %w", w.final, err)
	}
	if !w.single {
		if err := os.Rename(w.tmpName, w.final); err != nil {
			return fmt.Errorf("renaming %s: %w", w.final, err)
		}
	}
	w.part++
	w.inFile = 0
	return nil
}

// Close finishes the last file and moves the output into place. After an
// error nothing is left at the output path (an existing output being
// replaced is kept).
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if w.err != nil {
		w.Abort()
		return w.err
	}
	// A dataset with no rows is still one valid (empty) file.
	if w.rows == 0 {
		if err := w.ensureFile(); err != nil {
			w.Abort()
			return w.fail(err)
		}
	}
	if err := w.finishFile(); err != nil {
		w.Abort()
		return w.fail(err)
	}
	w.closed = true
	w.b.Release()
	if err := commit(w.stage, w.path); err != nil {
		os.RemoveAll(w.stage)
		return w.fail(err)
	}
	return nil
}

// Abort discards everything written; the output path is left as it was.
func (w *Writer) Abort() {
	if w.closed && w.err == nil {
		return
	}
	w.closed = true
	if w.f != nil {
		w.f.Close()
		os.Remove(w.tmpName)
	}
	if w.stage != "" {
		os.RemoveAll(w.stage)
	}
	if w.err == nil {
		w.err = errors.New("arrowds: writer aborted")
	}
}

// commit renames a finished staging file or directory onto path, replacing
// what is there: the old output is first renamed aside, then removed.
func commit(stage, path string) error {
	dir := filepath.Dir(path)
	if err := publishModes(stage); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := syncDir(stage); err != nil {
		return err
	}
	var old string
	if _, err := os.Lstat(path); err == nil {
		old = filepath.Join(dir, "."+filepath.Base(path)+".old-"+randSuffix())
		if err := os.Rename(path, old); err != nil {
			return fmt.Errorf("moving the old %s aside: %w", path, err)
		}
	}
	if err := os.Rename(stage, path); err != nil {
		if old != "" {
			os.Rename(old, path)
		}
		return fmt.Errorf("moving the new %s into place: %w", path, err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("removing the old %s (now %s): %w", path, old, err)
		}
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory (a no-op for regular files) so that renames in
// it are durable.
func syncDir(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return nil
	}
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	return nil
}

func randSuffix() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

func newBufWriter(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, 1<<20) }

// posWriter gives a buffered writer the Seek(0, io.SeekCurrent) the Arrow file
// writer asks for.
type posWriter struct {
	w   *bufio.Writer
	pos int64
}

func (p *posWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.pos += int64(n)
	return n, err
}

func (p *posWriter) Seek(offset int64, whence int) (int64, error) {
	if offset == 0 && whence == io.SeekCurrent {
		return p.pos, nil
	}
	return 0, errors.New("arrowds: the file writer only reports its position")
}

// publishModes gives a staged output the modes of an ordinary output (files
// 0644, directories 0755) in place of the temporary ones' 0600 and 0700.
func publishModes(stage string) error {
	return filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	})
}
