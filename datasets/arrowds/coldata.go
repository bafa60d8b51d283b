package arrowds

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// colData is one column of one record batch in Arrow's physical layout,
// either read buffer by buffer from the file (fast path) or taken from an
// array decoded by the Arrow library (fallback). The decoders below read it
// with bounds checks, so a corrupt file is an error, never a panic.
type colData struct {
	dt       arrow.DataType
	length   int
	nulls    int
	offset   int
	bufs     [][]byte   // validity (nil: all valid), then the type's buffers
	specs    []bufSpec  // fast path: where each buffer lies in the body
	children []*colData // list / fixed-size-list values, struct fields
	dict     *colData   // dictionary values (fallback only)
}

// layoutCount returns how many field nodes and buffers a type occupies in an
// IPC record batch; ok is false for types the fast path does not handle.
func layoutCount(dt arrow.DataType) (nodes, bufs int, ok bool) {
	switch dt.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256,
		arrow.DATE32, arrow.DATE64, arrow.TIME32, arrow.TIME64, arrow.TIMESTAMP,
		arrow.DURATION, arrow.INTERVAL_MONTHS, arrow.INTERVAL_DAY_TIME, arrow.INTERVAL_MONTH_DAY_NANO,
		arrow.DICTIONARY, arrow.FIXED_SIZE_BINARY:
		return 1, 2, true
	case arrow.BINARY, arrow.STRING, arrow.LARGE_BINARY, arrow.LARGE_STRING:
		return 1, 3, true
	case arrow.LIST, arrow.LARGE_LIST, arrow.MAP:
		n, b, ok := layoutCount(dt.(arrow.ListLikeType).Elem())
		return 1 + n, 2 + b, ok
	case arrow.FIXED_SIZE_LIST:
		n, b, ok := layoutCount(dt.(*arrow.FixedSizeListType).Elem())
		return 1 + n, 1 + b, ok
	case arrow.STRUCT:
		nodes, bufs = 1, 1
		for _, f := range dt.(*arrow.StructType).Fields() {
			n, b, ok := layoutCount(f.Type)
			if !ok {
				return 0, 0, false
			}
			nodes += n
			bufs += b
		}
		return nodes, bufs, true
	case arrow.EXTENSION:
		return layoutCount(dt.(arrow.ExtensionType).StorageType())
	}
	return 0, 0, false
}

// buildCol lays out a column from a batch's nodes and buffers (fast path),
// advancing *ni and *bi. Buffer bytes are fetched later.
func buildCol(m *batchMeta, dt arrow.DataType, ni, bi *int) (*colData, error) {
	if *ni >= len(m.nodes) {
		return nil, fmt.Errorf("record batch has %d field nodes, the schema needs more", len(m.nodes))
	}
	node := m.nodes[*ni]
	*ni++
	if node.length < 0 || node.nulls < 0 || node.nulls > node.length || node.length > math.MaxInt32*16 {
		return nil, fmt.Errorf("field node %d has length %d and %d nulls", *ni-1, node.length, node.nulls)
	}
	c := &colData{dt: dt, length: int(node.length), nulls: int(node.nulls)}
	take := func(n int) error {
		if *bi+n > len(m.buffers) {
			return fmt.Errorf("record batch has %d buffers, the schema needs more", len(m.buffers))
		}
		c.specs = append(c.specs, m.buffers[*bi:*bi+n]...)
		*bi += n
		return nil
	}
	if ext, ok := dt.(arrow.ExtensionType); ok {
		dt = ext.StorageType()
	}
	switch dt.ID() {
	case arrow.BINARY, arrow.STRING, arrow.LARGE_BINARY, arrow.LARGE_STRING:
		return c, take(3)
	case arrow.LIST, arrow.LARGE_LIST, arrow.MAP:
		if err := take(2); err != nil {
			return nil, err
		}
		ch, err := buildCol(m, dt.(arrow.ListLikeType).Elem(), ni, bi)
		c.children = []*colData{ch}
		return c, err
	case arrow.FIXED_SIZE_LIST:
		if err := take(1); err != nil {
			return nil, err
		}
		ch, err := buildCol(m, dt.(*arrow.FixedSizeListType).Elem(), ni, bi)
		c.children = []*colData{ch}
		return c, err
	case arrow.STRUCT:
		if err := take(1); err != nil {
			return nil, err
		}
		for _, f := range dt.(*arrow.StructType).Fields() {
			ch, err := buildCol(m, f.Type, ni, bi)
			if err != nil {
				return nil, err
			}
			c.children = append(c.children, ch)
		}
		return c, nil
	default:
		return c, take(2)
	}
}

// fromArrow wraps an array decoded by the Arrow library.
func fromArrow(d arrow.ArrayData) *colData {
	c := &colData{dt: d.DataType(), length: d.Len(), nulls: d.NullN(), offset: d.Offset()}
	for _, b := range d.Buffers() {
		if b == nil {
			c.bufs = append(c.bufs, nil)
		} else {
			c.bufs = append(c.bufs, b.Bytes())
		}
	}
	if c.nulls == 0 && len(c.bufs) > 0 {
		c.bufs[0] = nil
	}
	for _, ch := range d.Children() {
		c.children = append(c.children, fromArrow(ch))
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		if dd, ok := d.Dictionary().(*array.Data); ok && dd != nil {
			c.dict = fromArrow(dd)
		}
	}
	return c
}

func (c *colData) buf(i int) []byte {
	if i < len(c.bufs) {
		return c.bufs[i]
	}
	return nil
}

// valid reports whether row i (0-based, before c.offset) is not null.
func (c *colData) valid(i int) (bool, error) {
	if c.nulls == 0 {
		return true, nil
	}
	v := c.buf(0)
	if v == nil {
		return true, nil
	}
	j := c.offset + i
	if j/8 >= len(v) {
		return false, fmt.Errorf("validity bitmap too short for row %d", i)
	}
	return v[j/8]&(1<<(j%8)) != 0, nil
}

// intAt returns element i of an integer column.
func (c *colData) intAt(i int) (int64, error) {
	b := c.buf(1)
	j := c.offset + i
	w := 0
	switch c.dt.ID() {
	case arrow.INT8, arrow.UINT8:
		w = 1
	case arrow.INT16, arrow.UINT16:
		w = 2
	case arrow.INT32, arrow.UINT32:
		w = 4
	case arrow.INT64, arrow.UINT64:
		w = 8
	default:
		return 0, fmt.Errorf("type %s is not an integer type", c.dt)
	}
	if j < 0 || (j+1)*w > len(b) {
		return 0, fmt.Errorf("data buffer too short for element %d", i)
	}
	switch c.dt.ID() {
	case arrow.INT8:
		return int64(int8(b[j])), nil
	case arrow.UINT8:
		return int64(b[j]), nil
	case arrow.INT16:
		return int64(int16(binary.LittleEndian.Uint16(b[2*j:]))), nil
	case arrow.UINT16:
		return int64(binary.LittleEndian.Uint16(b[2*j:])), nil
	case arrow.INT32:
		return int64(int32(binary.LittleEndian.Uint32(b[4*j:]))), nil
	case arrow.UINT32:
		return int64(binary.LittleEndian.Uint32(b[4*j:])), nil
	case arrow.INT64:
		return int64(binary.LittleEndian.Uint64(b[8*j:])), nil
	default:
		u := binary.LittleEndian.Uint64(b[8*j:])
		if u > math.MaxInt64 {
			return 0, fmt.Errorf("value %d does not fit in int64", u)
		}
		return int64(u), nil
	}
}

// floatAt returns element i of a float32/float64 column.
func (c *colData) floatAt(i int) (float64, error) {
	b := c.buf(1)
	j := c.offset + i
	switch c.dt.ID() {
	case arrow.FLOAT32:
		if j < 0 || 4*(j+1) > len(b) {
			return 0, fmt.Errorf("data buffer too short for element %d", i)
		}
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))), nil
	case arrow.FLOAT64:
		if j < 0 || 8*(j+1) > len(b) {
			return 0, fmt.Errorf("data buffer too short for element %d", i)
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b[8*j:])), nil
	}
	return c.intAsFloat(i)
}

func (c *colData) intAsFloat(i int) (float64, error) {
	v, err := c.intAt(i)
	return float64(v), err
}

// offsetsAt returns the [start, end) offsets of variable-length element i.
func (c *colData) offsetsAt(i int) (int64, int64, error) {
	b := c.buf(1)
	j := c.offset + i
	switch c.dt.ID() {
	case arrow.BINARY, arrow.STRING, arrow.LIST, arrow.MAP:
		if j < 0 || 4*(j+2) > len(b) {
			return 0, 0, fmt.Errorf("offsets buffer too short for row %d", i)
		}
		s := int64(int32(binary.LittleEndian.Uint32(b[4*j:])))
		e := int64(int32(binary.LittleEndian.Uint32(b[4*j+4:])))
		if s < 0 || e < s {
			return 0, 0, fmt.Errorf("offsets %d..%d of row %d are not increasing", s, e, i)
		}
		return s, e, nil
	case arrow.LARGE_BINARY, arrow.LARGE_STRING, arrow.LARGE_LIST:
		if j < 0 || 8*(j+2) > len(b) {
			return 0, 0, fmt.Errorf("offsets buffer too short for row %d", i)
		}
		s := int64(binary.LittleEndian.Uint64(b[8*j:]))
		e := int64(binary.LittleEndian.Uint64(b[8*j+8:]))
		if s < 0 || e < s {
			return 0, 0, fmt.Errorf("offsets %d..%d of row %d are not increasing", s, e, i)
		}
		return s, e, nil
	}
	return 0, 0, fmt.Errorf("type %s has no offsets", c.dt)
}

// stringAt returns element i of a utf8/binary (or dictionary-of-utf8)
// column; ok is false for a null.
func (c *colData) stringAt(i int) (string, bool, error) {
	if i < 0 || i >= c.length {
		return "", false, fmt.Errorf("row %d out of range", i)
	}
	ok, err := c.valid(i)
	if err != nil || !ok {
		return "", false, err
	}
	if c.dt.ID() == arrow.DICTIONARY {
		if c.dict == nil {
			return "", false, fmt.Errorf("dictionary column without a dictionary")
		}
		k, err := c.intAtIndexType(i)
		if err != nil {
			return "", false, err
		}
		if k < 0 || int(k) >= c.dict.length {
			return "", false, fmt.Errorf("dictionary index %d out of range [0,%d)", k, c.dict.length)
		}
		return c.dict.stringAt(int(k))
	}
	switch c.dt.ID() {
	case arrow.BINARY, arrow.STRING, arrow.LARGE_BINARY, arrow.LARGE_STRING:
	default:
		return "", false, fmt.Errorf("type %s is not a string type", c.dt)
	}
	s, e, err := c.offsetsAt(i)
	if err != nil {
		return "", false, err
	}
	data := c.buf(2)
	if e > int64(len(data)) {
		return "", false, fmt.Errorf("string of row %d ends at %d, past its %d-byte data buffer", i, e, len(data))
	}
	return string(data[s:e]), true, nil
}

func (c *colData) intAtIndexType(i int) (int64, error) {
	idx := *c
	idx.dt = c.dt.(*arrow.DictionaryType).IndexType
	return idx.intAt(i)
}

// valueRange returns, for row i of a list-like column, the child column
// and the [start, end) element range of the row in it.
func (c *colData) valueRange(i int) (*colData, int64, int64, error) {
	if i < 0 || i >= c.length {
		return nil, 0, 0, fmt.Errorf("row %d out of range", i)
	}
	if len(c.children) != 1 {
		return nil, 0, 0, fmt.Errorf("type %s has no values", c.dt)
	}
	ch := c.children[0]
	var s, e int64
	switch c.dt.ID() {
	case arrow.FIXED_SIZE_LIST:
		n := int64(c.dt.(*arrow.FixedSizeListType).Len())
		s = int64(c.offset+i) * n
		e = s + n
	case arrow.LIST, arrow.LARGE_LIST:
		var err error
		if s, e, err = c.offsetsAt(i); err != nil {
			return nil, 0, 0, err
		}
	default:
		return nil, 0, 0, fmt.Errorf("type %s is not a list", c.dt)
	}
	s += int64(ch.offset)
	e += int64(ch.offset)
	return ch, s, e, nil
}

// bytesRange returns, for row i of a binary or list<uint8|uint16> column,
// where its element values lie: the column holding the value bytes (the
// column itself for binary), the buffer index of the bytes in it, the byte
// range and the element width in bytes.
func (c *colData) bytesRange(i int) (holder *colData, buf int, start, end int64, width int, err error) {
	switch c.dt.ID() {
	case arrow.BINARY, arrow.LARGE_BINARY:
		if i < 0 || i >= c.length {
			return nil, 0, 0, 0, 0, fmt.Errorf("row %d out of range", i)
		}
		s, e, err := c.offsetsAt(i)
		return c, 2, s, e, 1, err
	case arrow.LIST, arrow.LARGE_LIST:
		ch, s, e, err := c.valueRange(i)
		if err != nil {
			return nil, 0, 0, 0, 0, err
		}
		switch ch.dt.ID() {
		case arrow.UINT8, arrow.INT8:
			return ch, 1, s, e, 1, nil
		case arrow.UINT16:
			return ch, 1, 2 * s, 2 * e, 2, nil
		}
		return nil, 0, 0, 0, 0, fmt.Errorf("pixel values of type %s, want uint8 or uint16", ch.dt)
	}
	return nil, 0, 0, 0, 0, fmt.Errorf("type %s cannot hold pixels (want binary, list<uint8> or list<uint16>)", c.dt)
}
