package arrowds

// A minimal, bounds-checked reader of the parts of the Arrow IPC file format
// (File.fbs, Message.fbs) that random access needs: the footer's record batch
// blocks and each record batch's field nodes and buffer locations. With them
// the reader loads only the buffers of the columns it needs — the small
// columns to build the index, and then exactly one row's pixel bytes — where
// the Arrow library would read a whole record batch. The schema itself is
// decoded by the Arrow library.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

var (
	arrowMagic   = []byte("ARROW1")
	errTruncated = errors.New("truncated flatbuffer")
)

// fbTable is a flatbuffers table inside buf.
type fbTable struct {
	buf []byte
	pos int
	vt  int // vtable position
	vtn int // vtable size in bytes
}

func u16(b []byte, p int) (int, error) {
	if p < 0 || p+2 > len(b) {
		return 0, errTruncated
	}
	return int(binary.LittleEndian.Uint16(b[p:])), nil
}

func u32(b []byte, p int) (uint32, error) {
	if p < 0 || p+4 > len(b) {
		return 0, errTruncated
	}
	return binary.LittleEndian.Uint32(b[p:]), nil
}

func i64(b []byte, p int) (int64, error) {
	if p < 0 || p+8 > len(b) {
		return 0, errTruncated
	}
	return int64(binary.LittleEndian.Uint64(b[p:])), nil
}

func fbRoot(buf []byte) (fbTable, error) {
	off, err := u32(buf, 0)
	if err != nil {
		return fbTable{}, err
	}
	return fbTableAt(buf, int(off))
}

func fbTableAt(buf []byte, pos int) (fbTable, error) {
	so, err := u32(buf, pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := pos - int(int32(so))
	n, err := u16(buf, vt)
	if err != nil {
		return fbTable{}, err
	}
	if n < 4 || vt+n > len(buf) {
		return fbTable{}, errTruncated
	}
	return fbTable{buf: buf, pos: pos, vt: vt, vtn: n}, nil
}

// field returns the absolute position of field slot i, or 0 when absent.
// A slot is present when its offset in the vtable is less than the
// vtable's size, as the flatbuffers library (and so the Arrow decoder)
// reads it: with an odd size, the last slot's second byte lies past the
// vtable (FuzzOpen's crasher 85a0a28f8f42b129, whose record batch had an
// 11-byte vtable: compressed for Arrow, uncompressed here, so the sizes
// of its compressed buffers went unchecked).
func (t fbTable) field(i int) (int, error) {
	o := 4 + 2*i
	if o >= t.vtn {
		return 0, nil
	}
	v, err := u16(t.buf, t.vt+o)
	if err != nil || v == 0 {
		return 0, err
	}
	return t.pos + v, nil
}

func (t fbTable) int64Field(i int, def int64) (int64, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return def, err
	}
	return i64(t.buf, p)
}

func (t fbTable) uint8Field(i int) (int, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return 0, err
	}
	if p >= len(t.buf) {
		return 0, errTruncated
	}
	return int(t.buf[p]), nil
}

func (t fbTable) int16Field(i int) (int, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return 0, err
	}
	return u16(t.buf, p)
}

// indirect follows the uoffset stored at field i: a table or a vector.
func (t fbTable) indirect(i int) (int, bool, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return 0, false, err
	}
	off, err := u32(t.buf, p)
	if err != nil {
		return 0, false, err
	}
	return p + int(off), true, nil
}

// structVector returns the start and length of a vector of structs of size
// elem at field i.
func (t fbTable) structVector(i, elem int) (start, n int, err error) {
	p, ok, err := t.indirect(i)
	if err != nil || !ok {
		return 0, 0, err
	}
	l, err := u32(t.buf, p)
	if err != nil {
		return 0, 0, err
	}
	start, n = p+4, int(l)
	if n < 0 || start+n*elem > len(t.buf) || start+n*elem < start {
		return 0, 0, errTruncated
	}
	return start, n, nil
}

// fileBlock is a Block struct of the footer.
type fileBlock struct {
	offset  int64
	metaLen int64
	bodyLen int64
}

// readFooterBlocks returns the record batch blocks of an Arrow IPC file and
// the layout its record batches must have.
func readFooterBlocks(r io.ReaderAt, size int64) ([]fileBlock, batchLayout, error) {
	if size < int64(len(arrowMagic))*2+4 {
		return nil, batchLayout{}, fmt.Errorf("file too small to be an Arrow IPC file (%d bytes)", size)
	}
	tail := make([]byte, 10)
	if _, err := r.ReadAt(tail, size-10); err != nil {
		return nil, batchLayout{}, fmt.Errorf("reading the footer: %w", err)
	}
	if string(tail[4:]) != string(arrowMagic) {
		return nil, batchLayout{}, errors.New("no ARROW1 magic at the end (not an Arrow IPC file, or a truncated one)")
	}
	flen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if flen <= 0 || flen > size-10-8 {
		return nil, batchLayout{}, fmt.Errorf("footer length %d does not fit in a %d-byte file", flen, size)
	}
	buf := make([]byte, flen)
	if _, err := r.ReadAt(buf, size-10-flen); err != nil {
		return nil, batchLayout{}, fmt.Errorf("reading the footer: %w", err)
	}
	footer, err := fbRoot(buf)
	if err != nil {
		return nil, batchLayout{}, fmt.Errorf("decoding the footer: %w", err)
	}
	// Footer: version(0) schema(1) dictionaries(2) recordBatches(3).
	sp, ok, err := footer.indirect(1)
	if err != nil || !ok {
		return nil, batchLayout{}, fmt.Errorf("decoding the footer's schema: %v", orMissing(err))
	}
	if err := checkSchemaFB(buf, sp); err != nil {
		return nil, batchLayout{}, fmt.Errorf("decoding the footer's schema: %w", err)
	}
	layout, dictLayouts, err := schemaLayoutFB(buf, sp)
	if err != nil {
		return nil, batchLayout{}, fmt.Errorf("decoding the footer's schema: %w", err)
	}
	dicts, err := footerBlocks(footer, 2, size, "dictionary")
	if err != nil {
		return nil, batchLayout{}, err
	}
	for i, b := range dicts {
		// The Arrow reader decodes dictionaries when it opens the file.
		m, err := readMessageMeta(r, b, msgHeaderDictionary)
		if err != nil {
			return nil, batchLayout{}, fmt.Errorf("dictionary %d: %w", i, err)
		}
		dl, ok := dictLayouts[m.dictID]
		if !ok {
			return nil, batchLayout{}, fmt.Errorf("dictionary %d: id %d belongs to no field of the schema", i, m.dictID)
		}
		if err := dl.check(m); err != nil {
			return nil, batchLayout{}, fmt.Errorf("dictionary %d (id %d): %w", i, m.dictID, err)
		}
	}
	blocks, err := footerBlocks(footer, 3, size, "record batch")
	return blocks, layout, err
}

func footerBlocks(footer fbTable, slot int, size int64, what string) ([]fileBlock, error) {
	start, n, err := footer.structVector(slot, 24)
	if err != nil {
		return nil, fmt.Errorf("decoding the footer's %s blocks: %w", what, err)
	}
	blocks := make([]fileBlock, n)
	for i := range blocks {
		p := start + 24*i
		off, _ := i64(footer.buf, p)
		ml, _ := u32(footer.buf, p+8)
		bl, _ := i64(footer.buf, p+16)
		b := fileBlock{offset: off, metaLen: int64(int32(ml)), bodyLen: bl}
		if b.offset < 0 || b.metaLen < 8 || b.bodyLen < 0 || b.offset+b.metaLen+b.bodyLen > size ||
			b.offset%8 != 0 || b.metaLen%8 != 0 || b.bodyLen%8 != 0 {
			return nil, fmt.Errorf("%s %d: block (offset %d, metadata %d, body %d) is misaligned or lies outside the %d-byte file",
				what, i, b.offset, b.metaLen, b.bodyLen, size)
		}
		blocks[i] = b
	}
	return blocks, nil
}

// maxSchemaDepth bounds type nesting, so that a corrupt schema cannot make
// the Arrow decoder recurse without end.
const maxSchemaDepth = 32

// checkSchemaFB checks that the vectors of a Schema table (fields, children,
// key-values) fit in the buffer before the Arrow library, which sizes its
// allocations by them, decodes it.
func checkSchemaFB(buf []byte, pos int) error {
	t, err := fbTableAt(buf, pos)
	if err != nil {
		return err
	}
	// Schema: endianness(0) fields(1) custom_metadata(2) features(3).
	if err := checkTableVector(t, 1, func(f fbTable) error { return checkFieldFB(f, 0) }); err != nil {
		return fmt.Errorf("fields: %w", err)
	}
	if err := checkTableVector(t, 2, checkKeyValueFB); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if _, _, err := t.structVector(3, 8); err != nil {
		return fmt.Errorf("features: %w", err)
	}
	return nil
}

func checkFieldFB(f fbTable, depth int) error {
	if depth > maxSchemaDepth {
		return fmt.Errorf("types nested more than %d deep", maxSchemaDepth)
	}
	// Field: name(0) nullable(1) type_type(2) type(3) dictionary(4)
	// children(5) custom_metadata(6).
	if err := checkString(f, 0); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	if p, ok, err := f.indirect(3); err != nil {
		return err
	} else if ok {
		tt, err := fbTableAt(f.buf, p)
		if err != nil {
			return fmt.Errorf("type: %w", err)
		}
		// Union (type 14) has a vector of type ids at slot 1.
		if ty, _ := f.uint8Field(2); ty == 14 {
			if _, _, err := tt.structVector(1, 4); err != nil {
				return fmt.Errorf("union type ids: %w", err)
			}
		}
	}
	if p, ok, err := f.indirect(4); err != nil {
		return err
	} else if ok {
		if _, err := fbTableAt(f.buf, p); err != nil {
			return fmt.Errorf("dictionary: %w", err)
		}
	}
	if err := checkTableVector(f, 5, func(c fbTable) error { return checkFieldFB(c, depth+1) }); err != nil {
		return fmt.Errorf("children: %w", err)
	}
	if err := checkTableVector(f, 6, checkKeyValueFB); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	return nil
}

func checkKeyValueFB(kv fbTable) error {
	if err := checkString(kv, 0); err != nil {
		return err
	}
	return checkString(kv, 1)
}

func checkString(t fbTable, slot int) error {
	_, _, err := t.structVector(slot, 1)
	return err
}

// checkTableVector checks a vector of tables and each table in it.
func checkTableVector(t fbTable, slot int, each func(fbTable) error) error {
	start, n, err := t.structVector(slot, 4)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		p := start + 4*i
		off, _ := u32(t.buf, p)
		sub, err := fbTableAt(t.buf, p+int(off))
		if err != nil {
			return err
		}
		if err := each(sub); err != nil {
			return err
		}
	}
	return nil
}

// batchLayout is how many field nodes and buffers a record batch of a
// schema has (or a dictionary batch of a dictionary's values). The Arrow
// decoder takes the i-th node and buffer without checking i against the
// lengths of the batch's lists, reading past them into whatever follows,
// so a batch whose counts differ from its schema's must not reach it.
// ok is false when the schema holds a type whose layout is not known here
// (unions, view and run-end encoded types).
type batchLayout struct {
	nodes, bufs int
	ok          bool
}

func (l batchLayout) check(m *batchMeta) error {
	if !l.ok {
		return errors.New("the schema has a column of a type whose buffer layout this reader cannot check (union, view or run-end encoded)")
	}
	if len(m.nodes) != l.nodes || len(m.buffers) != l.bufs {
		return fmt.Errorf("%d field nodes and %d buffers, the schema needs %d and %d", len(m.nodes), len(m.buffers), l.nodes, l.bufs)
	}
	return nil
}

// schemaLayoutFB returns the layout of the record batches of the Schema
// table at pos, and of the dictionary batches of each dictionary id.
func schemaLayoutFB(buf []byte, pos int) (batchLayout, map[int64]batchLayout, error) {
	t, err := fbTableAt(buf, pos)
	if err != nil {
		return batchLayout{}, nil, err
	}
	l := batchLayout{ok: true}
	dicts := map[int64]batchLayout{}
	err = checkTableVector(t, 1, func(f fbTable) error { return fieldLayoutFB(f, false, 0, &l, dicts) })
	return l, dicts, err
}

// fieldLayoutFB adds a Field table's nodes and buffers to l: its values'
// (values set: in a dictionary batch) or, for a dictionary-encoded field
// in a record batch, its indices'. It records the layout of the values of
// every dictionary-encoded field it meets in dicts.
func fieldLayoutFB(f fbTable, values bool, depth int, l *batchLayout, dicts map[int64]batchLayout) error {
	if depth > maxSchemaDepth {
		return fmt.Errorf("types nested more than %d deep", maxSchemaDepth)
	}
	// Field: name(0) nullable(1) type_type(2) type(3) dictionary(4) children(5).
	if !values {
		dp, ok, err := f.indirect(4)
		if err != nil {
			return err
		}
		if ok {
			// DictionaryEncoding: id(0) indexType(1) isOrdered(2).
			de, err := fbTableAt(f.buf, dp)
			if err != nil {
				return err
			}
			id, err := de.int64Field(0, 0)
			if err != nil {
				return err
			}
			dl := batchLayout{ok: true}
			if err := fieldLayoutFB(f, true, depth, &dl, dicts); err != nil {
				return err
			}
			dicts[id] = dl
			l.nodes++
			l.bufs += 2
			return nil
		}
	}
	ty, err := f.uint8Field(2)
	if err != nil {
		return err
	}
	children := 0 // how many children the Arrow decoder reads
	switch ty {
	case 1: // Null
		l.nodes++
	case 2, 3, 6, 7, 8, 9, 10, 11, 15, 18: // Int, FloatingPoint, Bool, Decimal, Date, Time, Timestamp, Interval, FixedSizeBinary, Duration
		l.nodes++
		l.bufs += 2
	case 4, 5, 19, 20: // Binary, Utf8, LargeBinary, LargeUtf8
		l.nodes++
		l.bufs += 3
	case 12, 17, 21: // List, Map, LargeList
		l.nodes++
		l.bufs += 2
		children = 1
	case 16: // FixedSizeList
		l.nodes++
		l.bufs++
		children = 1
	case 13: // Struct
		l.nodes++
		l.bufs++
		children = -1
	default:
		l.ok = false
		return nil
	}
	i := 0
	return checkTableVector(f, 5, func(c fbTable) error {
		if children >= 0 && i >= children {
			return nil
		}
		i++
		return fieldLayoutFB(c, false, depth+1, l, dicts)
	})
}

// fieldNode is a FieldNode struct: an array's length and null count.
type fieldNode struct{ length, nulls int64 }

// bufSpec is a Buffer struct: a region of the body.
type bufSpec struct{ offset, length int64 }

// batchMeta is what a record batch message says about its body.
type batchMeta struct {
	version    int // MetadataVersion: 3 = V4, 4 = V5
	length     int64
	nodes      []fieldNode
	buffers    []bufSpec
	compressed bool
	bodyStart  int64 // absolute file offset of the body
	bodyLen    int64
	dictID     int64 // dictionary batches: the dictionary's id
}

const (
	msgHeaderDictionary  = 2
	msgHeaderRecordBatch = 3
	metadataV4           = 3
	metadataV5           = 4
)

// readBatchMeta reads and decodes the message of record batch block b.
func readBatchMeta(r io.ReaderAt, b fileBlock) (*batchMeta, error) {
	return readMessageMeta(r, b, msgHeaderRecordBatch)
}

// readMessageMeta reads and checks a record batch or dictionary batch
// message: every buffer must lie inside the body, and compressed buffers
// must not claim an absurd uncompressed size.
func readMessageMeta(r io.ReaderAt, b fileBlock, kind int) (*batchMeta, error) {
	buf := make([]byte, b.metaLen)
	if _, err := r.ReadAt(buf, b.offset); err != nil {
		return nil, fmt.Errorf("reading the message: %w", err)
	}
	var fb []byte
	if binary.LittleEndian.Uint32(buf) == 0xFFFFFFFF {
		n := int64(binary.LittleEndian.Uint32(buf[4:]))
		if 8+n > int64(len(buf)) {
			return nil, fmt.Errorf("message length %d exceeds its block (%d bytes)", n, len(buf))
		}
		fb = buf[8 : 8+n]
	} else {
		n := int64(binary.LittleEndian.Uint32(buf))
		if 4+n > int64(len(buf)) {
			return nil, fmt.Errorf("message length %d exceeds its block (%d bytes)", n, len(buf))
		}
		fb = buf[4 : 4+n]
	}
	msg, err := fbRoot(fb)
	if err != nil {
		return nil, fmt.Errorf("decoding the message: %w", err)
	}
	// Message: version(0) header_type(1) header(2) bodyLength(3).
	version, err := msg.int16Field(0)
	if err != nil {
		return nil, fmt.Errorf("decoding the message: %w", err)
	}
	ht, err := msg.uint8Field(1)
	if err != nil {
		return nil, fmt.Errorf("decoding the message: %w", err)
	}
	if ht != kind {
		return nil, fmt.Errorf("message is of type %d, want %d", ht, kind)
	}
	hp, ok, err := msg.indirect(2)
	if err != nil || !ok {
		return nil, fmt.Errorf("decoding the message header: %v", orMissing(err))
	}
	rb, err := fbTableAt(fb, hp)
	if err != nil {
		return nil, fmt.Errorf("decoding the message header: %w", err)
	}
	var dictID int64
	if kind == msgHeaderDictionary {
		// DictionaryBatch: id(0) data(1) isDelta(2).
		if dictID, err = rb.int64Field(0, 0); err != nil {
			return nil, fmt.Errorf("decoding the dictionary batch: %w", err)
		}
		dp, ok, err := rb.indirect(1)
		if err != nil || !ok {
			return nil, fmt.Errorf("decoding the dictionary batch: %v", orMissing(err))
		}
		if rb, err = fbTableAt(fb, dp); err != nil {
			return nil, fmt.Errorf("decoding the dictionary batch: %w", err)
		}
	}
	// RecordBatch: length(0) nodes(1) buffers(2) compression(3).
	m := &batchMeta{version: version, bodyStart: b.offset + b.metaLen, bodyLen: b.bodyLen, dictID: dictID}
	if m.length, err = rb.int64Field(0, 0); err != nil {
		return nil, fmt.Errorf("decoding the record batch length: %w", err)
	}
	ns, nn, err := rb.structVector(1, 16)
	if err != nil {
		return nil, fmt.Errorf("decoding the record batch nodes: %w", err)
	}
	m.nodes = make([]fieldNode, nn)
	for i := range m.nodes {
		l, _ := i64(fb, ns+16*i)
		c, _ := i64(fb, ns+16*i+8)
		m.nodes[i] = fieldNode{l, c}
	}
	bs, bn, err := rb.structVector(2, 16)
	if err != nil {
		return nil, fmt.Errorf("decoding the record batch buffers: %w", err)
	}
	m.buffers = make([]bufSpec, bn)
	for i := range m.buffers {
		o, _ := i64(fb, bs+16*i)
		l, _ := i64(fb, bs+16*i+8)
		if o < 0 || l < 0 || o+l > b.bodyLen || o+l < o {
			return nil, fmt.Errorf("buffer %d (offset %d, length %d) lies outside the %d-byte body", i, o, l, b.bodyLen)
		}
		m.buffers[i] = bufSpec{o, l}
	}
	if _, ok, err := rb.indirect(3); err != nil || ok {
		m.compressed = ok
		if err != nil {
			return nil, fmt.Errorf("decoding the record batch compression: %w", err)
		}
	}
	if m.length < 0 || m.length > math.MaxInt32 {
		return nil, fmt.Errorf("record batch length %d", m.length)
	}
	if m.compressed {
		// Each compressed buffer starts with its uncompressed length (-1:
		// stored uncompressed), which the Arrow decoder allocates.
		for i, bs := range m.buffers {
			if bs.length == 0 {
				continue
			}
			if bs.length < 8 {
				return nil, fmt.Errorf("compressed buffer %d is %d bytes, shorter than its length prefix", i, bs.length)
			}
			var p [8]byte
			if _, err := r.ReadAt(p[:], m.bodyStart+bs.offset); err != nil {
				return nil, fmt.Errorf("reading compressed buffer %d: %w", i, err)
			}
			u := int64(binary.LittleEndian.Uint64(p[:]))
			if u != -1 && (u < 0 || u > maxUncompressed || u > (bs.length-8)*maxCompressionRatio+1<<16) {
				return nil, fmt.Errorf("compressed buffer %d claims %d uncompressed bytes from %d", i, u, bs.length-8)
			}
		}
	}
	return m, nil
}

// maxUncompressed bounds the uncompressed size of one buffer of a
// compressed record batch, and maxCompressionRatio how much larger it may
// be than its compressed bytes (ZSTD's run-length blocks reach about
// 32768:1, LZ4 frames about 255:1): the Arrow decoder allocates the
// claimed size before decompressing.
const (
	maxUncompressed     = 1 << 31
	maxCompressionRatio = 1 << 16
)

func orMissing(err error) error {
	if err == nil {
		return errors.New("missing")
	}
	return err
}
