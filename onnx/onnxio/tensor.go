package onnxio

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// Tensor is a dense tensor value decoded from (or to be encoded as) an ONNX
// TensorProto. Exactly one data slice is used, chosen by DType:
//
//	Float32: DTypeFloat32, DTypeFloat16, DTypeBFloat16 (half types widened)
//	Float64: DTypeFloat64
//	Int64:   DTypeInt8, DTypeUint8, DTypeInt16, DTypeUint16, DTypeInt32,
//	         DTypeUint32, DTypeInt64 (narrower integers widened)
//	Bool:    DTypeBool
//
// Data is in row-major (C) order; a tensor with no dims is a scalar with one
// element.
type Tensor struct {
	Name  string
	DType DType
	Dims  []int64

	Float32 []float32
	Float64 []float64
	Int64   []int64
	Bool    []bool
}

// NumElements returns the product of dims (1 for a scalar), or an error when
// a dim is negative or the product overflows.
func NumElements(dims []int64) (int64, error) {
	n := int64(1)
	for i, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("dim %d is %d, want >= 0", i, d)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("dims %v: element count overflows int64", dims)
		}
		n *= d
	}
	return n, nil
}

// Len returns the number of elements in the data slice that DType selects.
func (t *Tensor) Len() int {
	switch t.DType {
	case DTypeFloat32, DTypeFloat16, DTypeBFloat16:
		return len(t.Float32)
	case DTypeFloat64:
		return len(t.Float64)
	case DTypeBool:
		return len(t.Bool)
	}
	return len(t.Int64)
}

// TensorFromProto decodes tp into a Tensor. It reads raw_data (little
// endian) or, when raw_data is empty, the typed field ONNX specifies for the
// type (float_data, int32_data, int64_data, double_data, uint64_data).
// External data must have been resolved first (Load does that).
func TensorFromProto(tp *onnxpb.TensorProto) (*Tensor, error) {
	name := tensorName(tp)
	dt := DType(tp.GetDataType())
	if !dt.Supported() {
		return nil, fmt.Errorf("tensor %s: element type %s is not supported (want float32, float16, bfloat16, float64, int8, uint8, int16, uint16, int32, uint32, int64 or bool)", name, dt)
	}
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, fmt.Errorf("tensor %s: data is stored externally and was not loaded (read the model with onnxio.Load)", name)
	}
	n, err := NumElements(tp.GetDims())
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", name, err)
	}
	t := &Tensor{Name: tp.GetName(), DType: dt, Dims: append([]int64{}, tp.GetDims()...)}
	if raw := tp.GetRawData(); len(raw) > 0 || n == 0 || !hasTypedData(tp) {
		if len(raw) == 0 && n > 0 {
			return nil, fmt.Errorf("tensor %s: has no data (raw_data and the typed fields are empty), want %d %s elements for dims %v", name, n, dt, tp.GetDims())
		}
		if want, _ := dt.rawSize(n); int64(len(raw)) != want {
			return nil, fmt.Errorf("tensor %s: raw_data has %d bytes, want %d (%d %s elements for dims %v)", name, len(raw), want, n, dt, tp.GetDims())
		}
		decodeRaw(t, raw, int(n))
		return t, nil
	}
	if err := decodeTyped(t, tp, int(n)); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", name, err)
	}
	return t, nil
}

func tensorName(tp *onnxpb.TensorProto) string {
	if tp.GetName() == "" {
		return "(unnamed)"
	}
	return fmt.Sprintf("%q", tp.GetName())
}

func hasTypedData(tp *onnxpb.TensorProto) bool {
	return len(tp.GetFloatData()) > 0 || len(tp.GetInt32Data()) > 0 || len(tp.GetInt64Data()) > 0 ||
		len(tp.GetDoubleData()) > 0 || len(tp.GetUint64Data()) > 0
}

// decodeRaw fills t's data slice from little-endian raw bytes; len(raw) has
// been checked against n.
func decodeRaw(t *Tensor, raw []byte, n int) {
	le := binary.LittleEndian
	switch t.DType {
	case DTypeFloat32:
		t.Float32 = make([]float32, n)
		for i := range t.Float32 {
			t.Float32[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case DTypeFloat16:
		t.Float32 = make([]float32, n)
		for i := range t.Float32 {
			t.Float32[i] = float16ToFloat32(le.Uint16(raw[2*i:]))
		}
	case DTypeBFloat16:
		t.Float32 = make([]float32, n)
		for i := range t.Float32 {
			t.Float32[i] = bfloat16ToFloat32(le.Uint16(raw[2*i:]))
		}
	case DTypeFloat64:
		t.Float64 = make([]float64, n)
		for i := range t.Float64 {
			t.Float64[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
	case DTypeBool:
		t.Bool = make([]bool, n)
		for i := range t.Bool {
			t.Bool[i] = raw[i] != 0
		}
	default:
		t.Int64 = make([]int64, n)
		for i := range t.Int64 {
			switch t.DType {
			case DTypeInt8:
				t.Int64[i] = int64(int8(raw[i]))
			case DTypeUint8:
				t.Int64[i] = int64(raw[i])
			case DTypeInt16:
				t.Int64[i] = int64(int16(le.Uint16(raw[2*i:])))
			case DTypeUint16:
				t.Int64[i] = int64(le.Uint16(raw[2*i:]))
			case DTypeInt32:
				t.Int64[i] = int64(int32(le.Uint32(raw[4*i:])))
			case DTypeUint32:
				t.Int64[i] = int64(le.Uint32(raw[4*i:]))
			case DTypeInt64:
				t.Int64[i] = int64(le.Uint64(raw[8*i:]))
			}
		}
	}
}

// decodeTyped fills t's data slice from the typed field ONNX uses for its
// element type.
func decodeTyped(t *Tensor, tp *onnxpb.TensorProto, n int) error {
	count := func(field string, got int) error {
		if got != n {
			return fmt.Errorf("%s has %d values, want %d (%s, dims %v)", field, got, n, t.DType, t.Dims)
		}
		return nil
	}
	switch t.DType {
	case DTypeFloat32:
		if err := count("float_data", len(tp.GetFloatData())); err != nil {
			return err
		}
		t.Float32 = append([]float32(nil), tp.GetFloatData()...)
	case DTypeFloat64:
		if err := count("double_data", len(tp.GetDoubleData())); err != nil {
			return err
		}
		t.Float64 = append([]float64(nil), tp.GetDoubleData()...)
	case DTypeInt64:
		if err := count("int64_data", len(tp.GetInt64Data())); err != nil {
			return err
		}
		t.Int64 = append([]int64(nil), tp.GetInt64Data()...)
	case DTypeUint32:
		if err := count("uint64_data", len(tp.GetUint64Data())); err != nil {
			return err
		}
		t.Int64 = make([]int64, n)
		for i, v := range tp.GetUint64Data() {
			if v > math.MaxUint32 {
				return fmt.Errorf("uint64_data[%d] = %d is out of range for uint32", i, v)
			}
			t.Int64[i] = int64(v)
		}
	default: // the types stored in int32_data
		src := tp.GetInt32Data()
		if err := count("int32_data", len(src)); err != nil {
			return err
		}
		switch t.DType {
		case DTypeFloat16:
			t.Float32 = make([]float32, n)
			for i, v := range src {
				t.Float32[i] = float16ToFloat32(uint16(v))
			}
		case DTypeBFloat16:
			t.Float32 = make([]float32, n)
			for i, v := range src {
				t.Float32[i] = bfloat16ToFloat32(uint16(v))
			}
		case DTypeBool:
			t.Bool = make([]bool, n)
			for i, v := range src {
				t.Bool[i] = v != 0
			}
		default:
			t.Int64 = make([]int64, n)
			for i, v := range src {
				t.Int64[i] = int64(v)
			}
		}
	}
	return nil
}

// IsFloat reports whether the tensor holds floating-point values.
func (t *Tensor) IsFloat() bool {
	switch t.DType {
	case DTypeFloat32, DTypeFloat16, DTypeBFloat16, DTypeFloat64:
		return true
	}
	return false
}

// AsFloat32 returns a floating-point tensor's values as float32 (the
// Float32 slice itself for float32, float16 and bfloat16; a converted copy
// for float64).
func (t *Tensor) AsFloat32() ([]float32, error) {
	switch t.DType {
	case DTypeFloat32, DTypeFloat16, DTypeBFloat16:
		return t.Float32, nil
	case DTypeFloat64:
		out := make([]float32, len(t.Float64))
		for i, v := range t.Float64 {
			out[i] = float32(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("tensor %q is %v, not floating point", t.Name, t.DType)
}

// Shape returns the dims as ints.
func (t *Tensor) Shape() []int {
	out := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		out[i] = int(d)
	}
	return out
}
