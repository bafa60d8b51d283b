package onnxio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/pgaug/pgaug/pipeline/atomicfile"
)

// npyMagic starts every NumPy .npy file.
const npyMagic = "\x93NUMPY"

// npyDescr maps the NumPy dtype descriptors this package reads and writes to
// element types. Only little-endian (or byte-sized) types are accepted.
var npyDescr = map[string]DType{
	"<f4": DTypeFloat32,
	"<f8": DTypeFloat64,
	"<f2": DTypeFloat16,
	"|i1": DTypeInt8,
	"<i2": DTypeInt16,
	"<i4": DTypeInt32,
	"<i8": DTypeInt64,
	"|u1": DTypeUint8,
	"<u2": DTypeUint16,
	"<u4": DTypeUint32,
	"|b1": DTypeBool,
}

// ReadNPY reads a NumPy .npy file (format version 1.0, 2.0 or 3.0) holding a
// C-order array of a little-endian f2, f4, f8, i1, i2, i4, i8, u1, u2, u4 or
// b1 dtype. Fortran-order arrays, big-endian data and other dtypes are
// refused with an error naming the file.
func ReadNPY(path string) (*Tensor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnxio: reading NumPy file: %w", err)
	}
	t, err := DecodeNPY(data)
	if err != nil {
		return nil, fmt.Errorf("onnxio: reading NumPy file %s: %w", path, err)
	}
	return t, nil
}

// DecodeNPY decodes the contents of a .npy file; see ReadNPY.
func DecodeNPY(data []byte) (*Tensor, error) {
	if len(data) < 10 || string(data[:6]) != npyMagic {
		return nil, errors.New("not a NumPy .npy file (missing the \\x93NUMPY magic)")
	}
	major, minor := data[6], data[7]
	var headerLen, start int
	switch major {
	case 1:
		headerLen, start = int(binary.LittleEndian.Uint16(data[8:10])), 10
	case 2, 3:
		if len(data) < 12 {
			return nil, errors.New("truncated .npy header")
		}
		hl := binary.LittleEndian.Uint32(data[8:12])
		if uint64(hl) > uint64(len(data)) {
			return nil, fmt.Errorf("header length %d exceeds the file size %d", hl, len(data))
		}
		headerLen, start = int(hl), 12
	default:
		return nil, fmt.Errorf("format version %d.%d is not supported (want 1.0, 2.0 or 3.0)", major, minor)
	}
	if start+headerLen > len(data) {
		return nil, fmt.Errorf("truncated .npy header (%d bytes declared, %d present)", headerLen, len(data)-start)
	}
	h, err := parseNPYHeader(string(data[start : start+headerLen]))
	if err != nil {
		return nil, err
	}
	dt, ok := npyDescr[h.descr]
	if !ok {
		return nil, fmt.Errorf("dtype %q is not supported (want little-endian <f2, <f4, <f8, |i1, <i2, <i4, <i8, |u1, <u2, <u4 or |b1)", h.descr)
	}
	if h.fortran {
		return nil, errors.New("array is in Fortran (column-major) order, only C order is supported (save it with numpy.ascontiguousarray)")
	}
	n, err := NumElements(h.shape)
	if err != nil {
		return nil, fmt.Errorf("shape %v: %w", h.shape, err)
	}
	body := data[start+headerLen:]
	if want, _ := dt.rawSize(n); int64(len(body)) != want {
		return nil, fmt.Errorf("data has %d bytes, shape %v of %s wants %d (truncated?)", len(body), h.shape, h.descr, want)
	}
	t := &Tensor{DType: dt, Dims: h.shape}
	decodeRaw(t, body, int(n))
	return t, nil
}

type npyHeader struct {
	descr   string
	fortran bool
	shape   []int64
}

// parseNPYHeader parses the Python dict literal of a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
func parseNPYHeader(s string) (npyHeader, error) {
	var h npyHeader
	bad := func(what string) (npyHeader, error) {
		return h, fmt.Errorf("malformed .npy header %q: %s", strings.TrimSpace(s), what)
	}
	p := &npyParser{s: strings.TrimSpace(s)}
	if !p.eat('{') {
		return bad("want a dict")
	}
	seen := map[string]bool{}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, ok := p.quoted()
		if !ok {
			return bad("want a quoted key")
		}
		p.space()
		if !p.eat(':') {
			return bad("want ':' after " + key)
		}
		p.space()
		switch key {
		case "descr":
			if h.descr, ok = p.quoted(); !ok {
				return bad("descr is not a string (structured dtypes are not supported)")
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				h.fortran = true
			case p.word("False"):
			default:
				return bad("fortran_order is not True or False")
			}
		case "shape":
			if h.shape, ok = p.tuple(); !ok {
				return bad("shape is not a tuple of integers")
			}
		default:
			return bad("unknown key " + key)
		}
		seen[key] = true
		p.space()
		if !p.eat(',') {
			p.space()
			if !p.eat('}') {
				return bad("want ',' or '}'")
			}
			break
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return bad("no " + k)
		}
	}
	return h, nil
}

type npyParser struct {
	s string
	i int
}

func (p *npyParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *npyParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *npyParser) word(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *npyParser) quoted() (string, bool) {
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, true
}

func (p *npyParser) tuple() ([]int64, bool) {
	if !p.eat('(') {
		return nil, false
	}
	dims := []int64{}
	for {
		p.space()
		if p.eat(')') {
			return dims, true
		}
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		// NumPy may write Python 2 longs ("3L").
		v, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil {
			return nil, false
		}
		p.i = j
		p.eat('L')
		dims = append(dims, v)
		p.space()
		if !p.eat(',') {
			p.space()
			if !p.eat(')') {
				return nil, false
			}
			return dims, true
		}
	}
}

// WriteNPY writes t atomically as a NumPy .npy file in C order: format
// version 1.0, or 2.0 when the header needs more than 64 KiB.
func WriteNPY(path string, t *Tensor) error {
	data, err := EncodeNPY(t)
	if err != nil {
		return fmt.Errorf("onnxio: writing NumPy file %s: %w", path, err)
	}
	if err := atomicfile.WriteBytes(path, data); err != nil {
		return fmt.Errorf("onnxio: NumPy file: %w", err)
	}
	return nil
}

// EncodeNPY returns the contents of a .npy file holding t; see WriteNPY.
// BFloat16 tensors, which NumPy has no dtype for, are refused.
func EncodeNPY(t *Tensor) ([]byte, error) {
	descr := ""
	for d, dt := range npyDescr {
		if dt == t.DType {
			descr = d
		}
	}
	if descr == "" {
		return nil, fmt.Errorf("tensor %q: element type %s has no NumPy dtype this package writes", t.Name, t.DType)
	}
	n, err := NumElements(t.Dims)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if int64(t.Len()) != n {
		return nil, fmt.Errorf("tensor %q: has %d values, dims %v want %d", t.Name, t.Len(), t.Dims, n)
	}
	body, err := t.rawData()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	shape := make([]string, len(t.Dims))
	for i, d := range t.Dims {
		shape[i] = strconv.FormatInt(d, 10)
	}
	tuple := "(" + strings.Join(shape, ", ") + ")"
	if len(shape) == 1 {
		tuple = "(" + shape[0] + ",)"
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, tuple)
	// Pad with spaces and end with '\n' so the data starts on a multiple of
	// 64 bytes, as NumPy does.
	prefix := 10
	if len(header)+1+64 > math.MaxUint16 {
		prefix = 12
	}
	pad := 64 - (prefix+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header += strings.Repeat(" ", pad) + "\n"
	var buf bytes.Buffer
	buf.Grow(prefix + len(header) + len(body))
	buf.WriteString(npyMagic)
	if prefix == 10 {
		buf.Write([]byte{1, 0})
		binary.Write(&buf, binary.LittleEndian, uint16(len(header)))
	} else {
		buf.Write([]byte{2, 0})
		binary.Write(&buf, binary.LittleEndian, uint32(len(header)))
	}
	buf.WriteString(header)
	buf.Write(body)
	return buf.Bytes(), nil
}
