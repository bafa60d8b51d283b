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

	"github.com/pgaug/pgaug/datasets/atomicfile"
	"github.com/pgaug/pgaug/datasets/npy"
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

// DecodeNPY decodes the contents of a .npy file; see ReadNPY. The header
// is parsed by datasets/npy, the project's one .npy header parser.
func DecodeNPY(data []byte) (*Tensor, error) {
	h, start, err := npy.DecodeHeader(data)
	if err != nil {
		return nil, err
	}
	dt, ok := npyDescr[h.Descr]
	if !ok {
		return nil, fmt.Errorf("dtype %q is not supported (want little-endian <f2, <f4, <f8, |i1, <i2, <i4, <i8, |u1, <u2, <u4 or |b1)", h.Descr)
	}
	if h.Fortran && len(h.Shape) > 1 {
		return nil, errors.New("array is in Fortran (column-major) order, only C order is supported (save it with numpy.ascontiguousarray)")
	}
	shape := make([]int64, len(h.Shape))
	for i, d := range h.Shape {
		shape[i] = int64(d)
	}
	n, err := NumElements(shape)
	if err != nil {
		return nil, fmt.Errorf("shape %v: %w", shape, err)
	}
	body := data[start:]
	if want, _ := dt.rawSize(n); int64(len(body)) != want {
		return nil, fmt.Errorf("data has %d bytes, shape %v of %s wants %d (truncated?)", len(body), shape, h.Descr, want)
	}
	t := &Tensor{DType: dt, Dims: shape}
	decodeRaw(t, body, int(n))
	return t, nil
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
