package arrowds

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
)

// Row is the index entry of one image: every column but the pixels and the
// mask, and where the pixels lie. Rows are kept in memory (about 100 bytes
// plus the strings per row); pixels never are.
type Row struct {
	ID, Source, Split, Group string
	Label                    int32   // -1 for multilabel datasets
	Labels                   []int32 // multi-hot; nil for single-label datasets
	Height, Width, Channels  int32
	BBox                     []float32 // nil when absent or null
	HasMask                  bool
	// File, Batch and Index locate the row: the part file (index into
	// Dataset.Files), the record batch in it and the row in the batch.
	File, Batch, Index int32
	pixPos, pixLen     int64 // fast path: absolute file position; fallback: position in the values buffer
	maskPos, maskLen   int64
}

// Pixels returns Height*Width*Channels.
func (r *Row) Pixels() int { return int(r.Height) * int(r.Width) * int(r.Channels) }

// Dataset is an open dataset: a directory of part files or one file. It
// holds an index of all rows (no pixels); pixels are read row by row with
// one positioned read each. A Dataset is safe for concurrent reads.
type Dataset struct {
	path   string
	files  []*partFile
	meta   Metadata
	schema *arrow.Schema
	cols   Columns
	rows   []Row
	starts [][]int // first row of each record batch, per file
}

type partFile struct {
	path   string
	f      *os.File
	fr     *ipc.FileReader
	blocks []fileBlock
	layout batchLayout // what each record batch's node and buffer lists must hold
	fast   bool        // buffers are read directly (uncompressed, plain layout)
	fieldN []int
	fieldB []int

	mu        sync.Mutex // fallback only: one decoded batch is cached
	cacheB    int
	cacheRec  arrow.Record
	cachePix  *colData
	cacheMask *colData
}

// Open opens a dataset directory (every *.arrow file in it, in name order;
// hidden files are ignored) or a single .arrow file, checks that the files
// agree on schema and metadata, and builds the row index by reading only the
// small columns.
func Open(path string) (*Dataset, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("opening dataset: %w", err)
	}
	var names []string
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("opening dataset: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".arrow") && !strings.HasPrefix(e.Name(), ".") {
				names = append(names, filepath.Join(path, e.Name()))
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			return nil, fmt.Errorf("dataset %s: the directory has no .arrow files", path)
		}
	} else {
		names = []string{path}
	}
	d := &Dataset{path: path}
	for i, name := range names {
		if err := d.openFile(i, name); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

// Close closes the files.
func (d *Dataset) Close() error {
	var first error
	for _, pf := range d.files {
		if pf.cacheRec != nil {
			pf.cacheRec.Release()
			pf.cacheRec = nil
		}
		if err := pf.f.Close(); err != nil && first == nil {
			first = err
		}
	}
	d.files = nil
	return first
}

// Path returns the path the dataset was opened from.
func (d *Dataset) Path() string { return d.path }

// Meta returns the dataset metadata (of the first file; all files agree on
// task, classes, channels and pixel type).
func (d *Dataset) Meta() Metadata { return d.meta.Clone() }

// Schema returns the Arrow schema of the first file.
func (d *Dataset) Schema() *arrow.Schema { return d.schema }

// Columns reports which optional columns the dataset has.
func (d *Dataset) Columns() Columns { return d.cols }

// Files returns the paths of the part files.
func (d *Dataset) Files() []string {
	out := make([]string, len(d.files))
	for i, pf := range d.files {
		out[i] = pf.path
	}
	return out
}

// Len returns the number of rows.
func (d *Dataset) Len() int { return len(d.rows) }

// Row returns the index entry of row i (0 <= i < Len). The returned value
// must not be modified.
func (d *Dataset) Row(i int) *Row { return &d.rows[i] }

// Indices returns the row numbers of a split, in file order; "" selects
// every row.
func (d *Dataset) Indices(split string) []int {
	var out []int
	for i := range d.rows {
		if split == "" || d.rows[i].Split == split {
			out = append(out, i)
		}
	}
	return out
}

// where names a row in error messages.
func (d *Dataset) where(r *Row) string {
	return fmt.Sprintf("%s, record batch %d, row %d (id %q)", d.files[r.File].path, r.Batch, r.Index, r.ID)
}

func (d *Dataset) openFile(idx int, name string) (err error) {
	pf, err := openPart(name)
	if err != nil {
		return fmt.Errorf("dataset %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			recovered(r)
			err = fmt.Errorf("dataset file %s is corrupt: %v", name, r)
		}
		if err != nil {
			pf.f.Close()
		}
	}()
	schema := pf.fr.Schema()
	meta, err := MetadataFromArrow(schema.Metadata())
	if err != nil {
		return fmt.Errorf("dataset file %s: %w", name, err)
	}
	if idx == 0 {
		d.meta, d.schema, d.cols = meta, schema, ColumnsOf(schema)
		if err := checkColumns(schema, &meta); err != nil {
			return fmt.Errorf("dataset file %s: %w", name, err)
		}
	} else {
		if !meta.structuralEqual(&d.meta) {
			return fmt.Errorf("dataset file %s: its metadata (task %s, classes %v, %d channels, %s) differs from %s's (task %s, classes %v, %d channels, %s)",
				name, meta.Task, meta.Classes, meta.Channels, meta.PixelType,
				d.files[0].path, d.meta.Task, d.meta.Classes, d.meta.Channels, d.meta.PixelType)
		}
		if !sameFields(schema, d.schema) {
			return fmt.Errorf("dataset file %s: its columns %v differ from %s's %v", name, schema, d.files[0].path, d.schema)
		}
	}
	pf.fast = true
	for _, fld := range schema.Fields() {
		n, b, ok := layoutCount(fld.Type)
		if !ok {
			pf.fast = false
			break
		}
		pf.fieldN = append(pf.fieldN, n)
		pf.fieldB = append(pf.fieldB, b)
	}
	for _, c := range indexColumns {
		if i := schema.FieldIndices(c); len(i) > 0 && schema.Field(i[0]).Type.ID() == arrow.DICTIONARY {
			pf.fast = false
		}
	}
	d.files = append(d.files, pf)
	index := func() ([]Row, error) {
		var all []Row
		for b := range pf.blocks {
			rows, err := d.indexBatch(idx, pf, b)
			if err != nil {
				return nil, err
			}
			all = append(all, rows...)
		}
		return all, nil
	}
	fast := pf.fast
	rows, err := index()
	if err == nil && fast && !pf.fast {
		// A batch needed the Arrow decoder (compression): index the whole
		// file again so that every row uses the same addressing.
		rows, err = index()
	}
	if err != nil {
		d.files = d.files[:len(d.files)-1]
		return err
	}
	starts := make([]int, len(pf.blocks))
	for i := range starts {
		starts[i] = -1
	}
	for i := range rows {
		if b := rows[i].Batch; starts[b] < 0 {
			starts[b] = len(d.rows) + i
		}
	}
	for i := range starts {
		if starts[i] < 0 { // an empty batch starts where the next row is
			starts[i] = len(d.rows) + len(rows)
			for j := i + 1; j < len(starts); j++ {
				if starts[j] >= 0 {
					starts[i] = starts[j]
					break
				}
			}
		}
	}
	d.starts = append(d.starts, starts)
	d.rows = append(d.rows, rows...)
	return nil
}

// panicHook, when set (by the fuzz tests), is called by the deferred
// functions that turn panics into errors, with the panic's value and the
// stack where it happened, so that tests can tell the Arrow library's
// panics on corrupt input (expected) from this package's (bugs).
var panicHook func(v any, stack []byte)

func recovered(v any) {
	if panicHook != nil {
		panicHook(v, debug.Stack())
	}
}

// BatchStart returns the dataset row number of the first row of a record
// batch (as passed to Scan and Rewrite's Map).
func (d *Dataset) BatchStart(file, batch int) int { return d.starts[file][batch] }

// indexColumns are the columns the index reads.
var indexColumns = []string{ColID, ColSource, ColSplit, ColLabel, ColLabels, ColHeight, ColWidth, ColChannels, ColGroup, ColBBox, ColPixels, ColMask}

// checkColumns checks that the schema has the required columns with usable
// types.
func checkColumns(s *arrow.Schema, m *Metadata) error {
	need := []string{ColID, ColSplit, ColHeight, ColWidth, ColChannels, ColPixels}
	if m.Task == Multilabel {
		need = append(need, ColLabels)
	} else {
		need = append(need, ColLabel)
	}
	for _, c := range need {
		if !s.HasField(c) {
			return fmt.Errorf("no %q column (a %s dataset needs %s)", c, m.Task, strings.Join(need, ", "))
		}
	}
	isInt := func(t arrow.DataType) bool {
		switch t.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
			return true
		}
		return false
	}
	isStr := func(t arrow.DataType) bool {
		switch t.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
			return true
		case arrow.DICTIONARY:
			v := t.(*arrow.DictionaryType).ValueType.ID()
			return v == arrow.STRING || v == arrow.LARGE_STRING
		}
		return false
	}
	typ := func(c string) arrow.DataType { return s.Field(s.FieldIndices(c)[0]).Type }
	for _, c := range []string{ColID, ColSource, ColSplit, ColGroup} {
		if s.HasField(c) && !isStr(typ(c)) {
			return fmt.Errorf("column %q is %s, want utf8", c, typ(c))
		}
	}
	for _, c := range []string{ColLabel, ColHeight, ColWidth, ColChannels} {
		if s.HasField(c) && !isInt(typ(c)) {
			return fmt.Errorf("column %q is %s, want int32", c, typ(c))
		}
	}
	if s.HasField(ColLabels) {
		t := typ(ColLabels)
		ll, ok := t.(arrow.ListLikeType)
		if !ok || !isInt(ll.Elem()) || (t.ID() != arrow.FIXED_SIZE_LIST && t.ID() != arrow.LIST && t.ID() != arrow.LARGE_LIST) {
			return fmt.Errorf("column %q is %s, want fixed_size_list<int32>[%d] (multi-hot) or list<int32> (class indices)",
				ColLabels, t, len(m.Classes))
		}
		if fl, ok := t.(*arrow.FixedSizeListType); ok && int(fl.Len()) != len(m.Classes) {
			return fmt.Errorf("column %q has %d values per row, the dataset %d classes", ColLabels, fl.Len(), len(m.Classes))
		}
	}
	if s.HasField(ColBBox) {
		fl, ok := typ(ColBBox).(*arrow.FixedSizeListType)
		if !ok || fl.Len() != 4 || (fl.Elem().ID() != arrow.FLOAT32 && fl.Elem().ID() != arrow.FLOAT64) {
			return fmt.Errorf("column %q is %s, want fixed_size_list<float32>[4]", ColBBox, typ(ColBBox))
		}
	}
	want := arrow.UINT8
	if m.PixelType == Uint16 {
		want = arrow.UINT16
	}
	for _, c := range []string{ColPixels, ColMask} {
		if !s.HasField(c) {
			continue
		}
		t := typ(c)
		ok := false
		switch t.ID() {
		case arrow.BINARY, arrow.LARGE_BINARY:
			ok = want == arrow.UINT8 || c == ColMask
		case arrow.LIST, arrow.LARGE_LIST:
			e := t.(arrow.ListLikeType).Elem().ID()
			ok = e == want || (c == ColMask && e == arrow.UINT8)
		}
		if !ok {
			w := "list<" + string(m.PixelType) + ">"
			if c == ColMask {
				w = "list<uint8>"
			}
			return fmt.Errorf("column %q is %s, want %s (metadata %s is %s)", c, t, w, KeyPixelDType, m.PixelType)
		}
	}
	return nil
}

// batchColumns returns the index columns of record batch b, reading only
// their buffers (fast path) or decoding the whole batch (fallback).
func (d *Dataset) batchColumns(pf *partFile, b int) (cols map[string]*colData, n int, rec arrow.Record, err error) {
	if pf.fast {
		cols, n, err = d.fastColumns(pf, b)
		if err == nil || !errors.Is(err, errNeedFallback) {
			return cols, n, nil, err
		}
		pf.fast = false
	}
	rec, err = recordAt(pf, b)
	if err != nil {
		return nil, 0, nil, err
	}
	cols = map[string]*colData{}
	for i, f := range rec.Schema().Fields() {
		cols[f.Name] = fromArrow(rec.Column(i).Data())
	}
	return cols, int(rec.NumRows()), rec, nil
}

var errNeedFallback = errors.New("record batch needs the Arrow decoder")

// recordAt decodes record batch b with the Arrow library, turning its panics
// on corrupt input into errors.
func recordAt(pf *partFile, b int) (rec arrow.Record, err error) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r)
			rec, err = nil, fmt.Errorf("%s, record batch %d: corrupt: %v", pf.path, b, r)
		}
	}()
	if b < 0 || b >= pf.fr.NumRecords() {
		return nil, fmt.Errorf("%s: record batch %d out of range [0,%d)", pf.path, b, pf.fr.NumRecords())
	}
	// Check the buffer locations and sizes first: the Arrow decoder trusts
	// them for its allocations.
	m, err := readBatchMeta(pf.f, pf.blocks[b])
	if err != nil {
		return nil, fmt.Errorf("%s, record batch %d: %w", pf.path, b, err)
	}
	if err := pf.layout.check(m); err != nil {
		return nil, fmt.Errorf("%s, record batch %d: %w", pf.path, b, err)
	}
	rec, err = pf.fr.RecordAt(b)
	if err != nil {
		return nil, fmt.Errorf("%s, record batch %d: %w", pf.path, b, err)
	}
	return rec, nil
}

func (d *Dataset) fastColumns(pf *partFile, b int) (map[string]*colData, int, error) {
	m, err := readBatchMeta(pf.f, pf.blocks[b])
	if err != nil {
		return nil, 0, fmt.Errorf("%s, record batch %d: %w", pf.path, b, err)
	}
	if m.compressed || (m.version != metadataV4 && m.version != metadataV5) {
		return nil, 0, errNeedFallback
	}
	// Every row takes at least an offset (4 bytes) in the id column: this
	// bounds the index allocation by the file size.
	if m.length > m.bodyLen/4+1 {
		return nil, 0, fmt.Errorf("%s, record batch %d: %d rows cannot fit in a %d-byte body", pf.path, b, m.length, m.bodyLen)
	}
	cols := map[string]*colData{}
	ni, bi := 0, 0
	var reqs []fetchReq
	for i, f := range d.schema.Fields() {
		want := false
		for _, c := range indexColumns {
			want = want || f.Name == c
		}
		if !want {
			ni += pf.fieldN[i]
			bi += pf.fieldB[i]
			continue
		}
		c, err := buildCol(m, f.Type, &ni, &bi)
		if err != nil {
			return nil, 0, fmt.Errorf("%s, record batch %d, column %q: %w", pf.path, b, f.Name, err)
		}
		if c.length != int(m.length) {
			return nil, 0, fmt.Errorf("%s, record batch %d, column %q: %d rows, the batch %d", pf.path, b, f.Name, c.length, m.length)
		}
		cols[f.Name] = c
		reqs = wantBuffers(c, f.Name == ColPixels || f.Name == ColMask, reqs)
	}
	if ni != len(m.nodes) || bi != len(m.buffers) {
		return nil, 0, fmt.Errorf("%s, record batch %d: %d field nodes and %d buffers, the schema needs %d and %d",
			pf.path, b, len(m.nodes), len(m.buffers), ni, bi)
	}
	if err := fetch(pf.f, m.bodyStart, reqs); err != nil {
		return nil, 0, fmt.Errorf("%s, record batch %d: %w", pf.path, b, err)
	}
	for _, c := range cols {
		setBodyStart(c, m.bodyStart)
	}
	return cols, int(m.length), nil
}

// setBodyStart turns the buffer offsets of a column (relative to the body)
// into absolute file positions.
func setBodyStart(c *colData, start int64) {
	for i := range c.specs {
		c.specs[i].offset += start
	}
	for _, ch := range c.children {
		setBodyStart(ch, start)
	}
}

type fetchReq struct {
	c *colData
	i int
}

// wantBuffers lists the buffers of a column to read. For pixel-like columns
// only the validity and offsets are read, not the values.
func wantBuffers(c *colData, pixelLike bool, reqs []fetchReq) []fetchReq {
	c.bufs = make([][]byte, len(c.specs))
	for i := range c.specs {
		if i == 0 && c.nulls == 0 {
			continue
		}
		if pixelLike && i >= 2 {
			continue
		}
		reqs = append(reqs, fetchReq{c, i})
	}
	for _, ch := range c.children {
		if pixelLike {
			ch.bufs = make([][]byte, len(ch.specs))
			continue
		}
		reqs = wantBuffers(ch, false, reqs)
	}
	return reqs
}

// fetch reads the requested buffers: in one read when they lie close
// together (the small columns come first in pgaug's layout), else one by one.
func fetch(r io.ReaderAt, body int64, reqs []fetchReq) error {
	lo, hi, total := int64(-1), int64(0), int64(0)
	for _, q := range reqs {
		s := q.c.specs[q.i]
		if s.length == 0 {
			continue
		}
		if lo < 0 || s.offset < lo {
			lo = s.offset
		}
		if s.offset+s.length > hi {
			hi = s.offset + s.length
		}
		total += s.length
	}
	if lo < 0 {
		return nil
	}
	if hi-lo <= 2*total+64<<10 {
		span := make([]byte, hi-lo)
		if _, err := r.ReadAt(span, body+lo); err != nil {
			return fmt.Errorf("reading column buffers: %w", err)
		}
		for _, q := range reqs {
			s := q.c.specs[q.i]
			if s.length == 0 {
				continue // left nil, as when every buffer is empty; its offset may lie before lo
			}
			q.c.bufs[q.i] = span[s.offset-lo : s.offset-lo+s.length]
		}
		return nil
	}
	for _, q := range reqs {
		s := q.c.specs[q.i]
		if s.length == 0 {
			continue
		}
		buf := make([]byte, s.length)
		if _, err := r.ReadAt(buf, body+s.offset); err != nil {
			return fmt.Errorf("reading column buffers: %w", err)
		}
		q.c.bufs[q.i] = buf
	}
	return nil
}

// indexBatch decodes the index rows of one record batch.
func (d *Dataset) indexBatch(fi int, pf *partFile, b int) ([]Row, error) {
	cols, n, rec, err := d.batchColumns(pf, b)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		defer rec.Release()
	}
	rows := make([]Row, n)
	intern := map[string]string{}
	str := func(s string) string {
		if v, ok := intern[s]; ok {
			return v
		}
		if len(intern) < 1024 {
			intern[s] = s
		}
		return s
	}
	k := len(d.meta.Classes)
	pixW := d.meta.PixelType.Bytes()
	for i := range rows {
		r := &rows[i]
		r.File, r.Batch, r.Index = int32(fi), int32(b), int32(i)
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%s, record batch %d, row %d (id %q): %s", pf.path, b, i, r.ID, fmt.Sprintf(format, args...))
		}
		var ok bool
		if r.ID, ok, err = cols[ColID].stringAt(i); err != nil || !ok {
			return nil, bad("id: %v", orNull(err))
		}
		if c := cols[ColSource]; c != nil {
			if r.Source, _, err = c.stringAt(i); err != nil {
				return nil, bad("source: %v", err)
			}
		}
		s, ok, err := cols[ColSplit].stringAt(i)
		if err != nil || !ok {
			return nil, bad("split: %v", orNull(err))
		}
		r.Split = str(s)
		if c := cols[ColGroup]; c != nil {
			g, _, err := c.stringAt(i)
			if err != nil {
				return nil, bad("group: %v", err)
			}
			r.Group = str(g)
		}
		for _, f := range []struct {
			name string
			dst  *int32
			max  int64
		}{{ColHeight, &r.Height, maxImageSide}, {ColWidth, &r.Width, maxImageSide}, {ColChannels, &r.Channels, int64(maxChannels)}} {
			c := cols[f.name]
			if ok, err := c.valid(i); err != nil || !ok {
				return nil, bad("%s: %v", f.name, orNull(err))
			}
			v, err := c.intAt(i)
			if err != nil {
				return nil, bad("%s: %v", f.name, err)
			}
			if v < 1 || v > f.max {
				return nil, bad("%s is %d, want 1..%d", f.name, v, f.max)
			}
			*f.dst = int32(v)
		}
		if int(r.Channels) != d.meta.Channels {
			return nil, bad("%d channels, the dataset metadata says %d", r.Channels, d.meta.Channels)
		}
		if d.meta.Task == Multilabel {
			r.Label = -1
			if r.Labels, err = decodeLabels(cols[ColLabels], i, k); err != nil {
				return nil, bad("labels: %v", err)
			}
		} else {
			c := cols[ColLabel]
			if ok, err := c.valid(i); err != nil || !ok {
				return nil, bad("label: %v", orNull(err))
			}
			v, err := c.intAt(i)
			if err != nil {
				return nil, bad("label: %v", err)
			}
			if v < 0 || v >= int64(k) {
				return nil, bad("label %d out of range [0,%d) (classes %v)", v, k, d.meta.Classes)
			}
			r.Label = int32(v)
		}
		if c := cols[ColBBox]; c != nil {
			if ok, err := c.valid(i); err != nil {
				return nil, bad("bbox: %v", err)
			} else if ok {
				ch, s, e, err := c.valueRange(i)
				if err != nil {
					return nil, bad("bbox: %v", err)
				}
				r.BBox = make([]float32, 0, 4)
				for j := s; j < e; j++ {
					v, err := ch.floatAt(int(j) - ch.offset)
					if err != nil {
						return nil, bad("bbox: %v", err)
					}
					r.BBox = append(r.BBox, float32(v))
				}
			}
		}
		pos, ln, err := locate(cols[ColPixels], i, pf.fast, pixW)
		if err != nil {
			return nil, bad("pixels: %v", err)
		}
		if ln != int64(r.Pixels()*pixW) {
			return nil, bad("pixels has %d values, want height*width*channels = %d*%d*%d = %d",
				ln/int64(pixW), r.Height, r.Width, r.Channels, r.Pixels())
		}
		r.pixPos, r.pixLen = pos, ln
		if c := cols[ColMask]; c != nil {
			if ok, err := c.valid(i); err != nil {
				return nil, bad("mask: %v", err)
			} else if ok {
				pos, ln, err := locate(c, i, pf.fast, 1)
				if err != nil {
					return nil, bad("mask: %v", err)
				}
				if ln != int64(r.Height)*int64(r.Width) {
					return nil, bad("mask has %d values, want height*width = %d", ln, int64(r.Height)*int64(r.Width))
				}
				r.maskPos, r.maskLen, r.HasMask = pos, ln, true
			}
		}
	}
	return rows, nil
}

func orNull(err error) error {
	if err == nil {
		return errors.New("null, want a value")
	}
	return err
}

// decodeLabels reads a multilabel row: a multi-hot fixed-size list, or a
// list of class indices.
func decodeLabels(c *colData, i, k int) ([]int32, error) {
	if ok, err := c.valid(i); err != nil || !ok {
		return nil, orNull(err)
	}
	ch, s, e, err := c.valueRange(i)
	if err != nil {
		return nil, err
	}
	out := make([]int32, k)
	for j := s; j < e; j++ {
		v, err := ch.intAt(int(j) - ch.offset)
		if err != nil {
			return nil, err
		}
		if c.dt.ID() == arrow.FIXED_SIZE_LIST {
			if v != 0 && v != 1 {
				return nil, fmt.Errorf("multi-hot value %d at class %d, want 0 or 1", v, j-s)
			}
			out[j-s] = int32(v)
		} else {
			if v < 0 || v >= int64(k) {
				return nil, fmt.Errorf("class index %d out of range [0,%d)", v, k)
			}
			out[v] = 1
		}
	}
	return out, nil
}

// locate returns where row i's values lie: an absolute file position (fast
// path) or a position in the decoded values buffer (fallback), and the byte
// length.
func locate(c *colData, i int, fast bool, width int) (int64, int64, error) {
	if ok, err := c.valid(i); err != nil || !ok {
		return 0, 0, orNull(err)
	}
	h, bi, s, e, w, err := c.bytesRange(i)
	if err != nil {
		return 0, 0, err
	}
	if w != width {
		return 0, 0, fmt.Errorf("values are %d bytes wide, want %d", w, width)
	}
	if fast {
		if bi >= len(h.specs) || e > h.specs[bi].length {
			return 0, 0, fmt.Errorf("values %d..%d lie past the end of their buffer", s, e)
		}
		return h.specs[bi].offset + s, e - s, nil
	}
	if e > int64(len(h.buf(bi))) {
		return 0, 0, fmt.Errorf("values %d..%d lie past the end of their %d-byte buffer", s, e, len(h.buf(bi)))
	}
	return s, e - s, nil
}

// ReadImage reads row i's pixels into im, reusing its buffers when they are
// large enough.
func (d *Dataset) ReadImage(i int, im *Image) error {
	r := &d.rows[i]
	im.Height, im.Width, im.Channels = int(r.Height), int(r.Width), int(r.Channels)
	n := r.Pixels()
	var raw []byte
	if d.meta.PixelType == Uint8 {
		if cap(im.Pix) < n {
			im.Pix = make([]uint8, n)
		}
		im.Pix, im.Pix16 = im.Pix[:n], nil
		raw = im.Pix
	} else {
		raw = make([]byte, 2*n)
	}
	if err := d.readValues(r, r.pixPos, r.pixLen, ColPixels, raw); err != nil {
		return err
	}
	if d.meta.PixelType == Uint16 {
		if cap(im.Pix16) < n {
			im.Pix16 = make([]uint16, n)
		}
		im.Pix16, im.Pix = im.Pix16[:n], nil
		for j := range im.Pix16 {
			im.Pix16[j] = binary.LittleEndian.Uint16(raw[2*j:])
		}
	}
	return nil
}

// ReadMask returns row i's mask, or nil when it has none.
func (d *Dataset) ReadMask(i int) ([]uint8, error) {
	r := &d.rows[i]
	if !r.HasMask {
		return nil, nil
	}
	out := make([]uint8, r.maskLen)
	return out, d.readValues(r, r.maskPos, r.maskLen, ColMask, out)
}

// ReadSample returns row i with its pixels and mask.
func (d *Dataset) ReadSample(i int) (*Sample, error) {
	r := &d.rows[i]
	s := &Sample{ID: r.ID, Source: r.Source, Split: r.Split, Group: r.Group, Label: r.Label}
	if r.Labels != nil {
		s.Labels = append([]int32(nil), r.Labels...)
	}
	if r.BBox != nil {
		s.BBox = append([]float32(nil), r.BBox...)
	}
	if err := d.ReadImage(i, &s.Image); err != nil {
		return nil, err
	}
	var err error
	s.Mask, err = d.ReadMask(i)
	return s, err
}

func (d *Dataset) readValues(r *Row, pos, n int64, col string, dst []byte) error {
	pf := d.files[r.File]
	if pf.fast {
		if _, err := pf.f.ReadAt(dst[:n], pos); err != nil {
			return fmt.Errorf("reading %s of %s: %w", col, d.where(r), err)
		}
		return nil
	}
	pf.mu.Lock()
	defer pf.mu.Unlock()
	if pf.cacheB != int(r.Batch) {
		if pf.cacheRec != nil {
			pf.cacheRec.Release()
			pf.cacheRec, pf.cacheB = nil, -1
		}
		rec, err := recordAt(pf, int(r.Batch))
		if err != nil {
			return fmt.Errorf("reading %s of %s: %w", col, d.where(r), err)
		}
		pf.cacheRec, pf.cacheB = rec, int(r.Batch)
		pf.cachePix, pf.cacheMask = nil, nil
		for i, f := range rec.Schema().Fields() {
			switch f.Name {
			case ColPixels:
				pf.cachePix = fromArrow(rec.Column(i).Data())
			case ColMask:
				pf.cacheMask = fromArrow(rec.Column(i).Data())
			}
		}
	}
	c := pf.cachePix
	if col == ColMask {
		c = pf.cacheMask
	}
	h, bi, s, _, _, err := c.bytesRange(int(r.Index))
	if err != nil {
		return fmt.Errorf("reading %s of %s: %w", col, d.where(r), err)
	}
	if s != pos || s+n > int64(len(h.buf(bi))) {
		return fmt.Errorf("reading %s of %s: the record batch changed since the index was built", col, d.where(r))
	}
	copy(dst, h.buf(bi)[s:s+n])
	return nil
}

// Scan calls fn with every record batch of every file, in order, decoded by
// the Arrow library: one batch in memory at a time. rec is valid only during
// the call.
func (d *Dataset) Scan(fn func(file, batch int, rec arrow.Record) error) error {
	for fi, pf := range d.files {
		for b := range pf.blocks {
			rec, err := recordAt(pf, b)
			if err != nil {
				return err
			}
			err = fn(fi, b, rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// FileRows returns the number of rows in each part file.
func (d *Dataset) FileRows() []int {
	out := make([]int, len(d.files))
	for i := range d.rows {
		out[d.rows[i].File]++
	}
	return out
}
