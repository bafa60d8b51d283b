package onnxio

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// Proto encodes t as a TensorProto with little-endian raw_data. It returns an
// error when the data slice that DType selects does not hold exactly the
// number of elements Dims describes, or when an integer does not fit DType.
func (t *Tensor) Proto() (*onnxpb.TensorProto, error) {
	name := t.Name
	if name == "" {
		name = "(unnamed)"
	}
	if !t.DType.Supported() {
		return nil, fmt.Errorf("tensor %q: element type %s is not supported", name, t.DType)
	}
	n, err := NumElements(t.Dims)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	if int64(t.Len()) != n {
		return nil, fmt.Errorf("tensor %q: has %d %s values, dims %v want %d", name, t.Len(), t.DType, t.Dims, n)
	}
	raw, err := t.rawData()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	return &onnxpb.TensorProto{
		Name:     optString(t.Name),
		DataType: int32Ptr(int32(t.DType)),
		Dims:     append([]int64(nil), t.Dims...),
		RawData:  raw,
	}, nil
}

// rawData encodes t's data little-endian in t.DType's width.
func (t *Tensor) rawData() ([]byte, error) {
	le := binary.LittleEndian
	size := t.DType.Size()
	raw := make([]byte, t.Len()*size)
	switch t.DType {
	case DTypeFloat32:
		for i, v := range t.Float32 {
			le.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	case DTypeFloat16:
		for i, v := range t.Float32 {
			le.PutUint16(raw[2*i:], float32ToFloat16(v))
		}
	case DTypeBFloat16:
		for i, v := range t.Float32 {
			le.PutUint16(raw[2*i:], float32ToBFloat16(v))
		}
	case DTypeFloat64:
		for i, v := range t.Float64 {
			le.PutUint64(raw[8*i:], math.Float64bits(v))
		}
	case DTypeBool:
		for i, v := range t.Bool {
			if v {
				raw[i] = 1
			}
		}
	default:
		lo, hi := intRange(t.DType)
		for i, v := range t.Int64 {
			if v < lo || v > hi {
				return nil, fmt.Errorf("value %d at index %d is out of range for %s", v, i, t.DType)
			}
			switch size {
			case 1:
				raw[i] = byte(v)
			case 2:
				le.PutUint16(raw[2*i:], uint16(v))
			case 4:
				le.PutUint32(raw[4*i:], uint32(v))
			case 8:
				le.PutUint64(raw[8*i:], uint64(v))
			}
		}
	}
	return raw, nil
}

// intRange returns the values an integer DType can hold.
func intRange(d DType) (lo, hi int64) {
	switch d {
	case DTypeInt8:
		return math.MinInt8, math.MaxInt8
	case DTypeUint8:
		return 0, math.MaxUint8
	case DTypeInt16:
		return math.MinInt16, math.MaxInt16
	case DTypeUint16:
		return 0, math.MaxUint16
	case DTypeInt32:
		return math.MinInt32, math.MaxInt32
	case DTypeUint32:
		return 0, math.MaxUint32
	}
	return math.MinInt64, math.MaxInt64
}

// Float32Tensor returns a FLOAT TensorProto named name with the given dims
// whose raw_data holds data (little endian). Like gonum's mat.NewDense it
// panics when len(data) does not match dims, which is a programming error;
// use Tensor.Proto for values that come from input.
func Float32Tensor(name string, dims []int64, data []float32) *onnxpb.TensorProto {
	tp, err := (&Tensor{Name: name, DType: DTypeFloat32, Dims: dims, Float32: data}).Proto()
	if err != nil {
		panic("onnxio.Float32Tensor: " + err.Error())
	}
	return tp
}

// Int64Tensor returns an INT64 TensorProto named name with the given dims
// whose raw_data holds data (little endian). It panics when len(data) does
// not match dims, like Float32Tensor.
func Int64Tensor(name string, dims []int64, data []int64) *onnxpb.TensorProto {
	tp, err := (&Tensor{Name: name, DType: DTypeInt64, Dims: dims, Int64: data}).Proto()
	if err != nil {
		panic("onnxio.Int64Tensor: " + err.Error())
	}
	return tp
}

// TensorToFloat32 decodes a FLOAT, FLOAT16 or BFLOAT16 tensor (half types
// are widened exactly) and returns its data and dims. Other element types
// give an error naming the tensor and its type; use TensorFromProto for them.
func TensorToFloat32(tp *onnxpb.TensorProto) ([]float32, []int64, error) {
	switch DType(tp.GetDataType()) {
	case DTypeFloat32, DTypeFloat16, DTypeBFloat16:
	default:
		return nil, nil, fmt.Errorf("tensor %s: element type is %s, want float32, float16 or bfloat16", tensorName(tp), DType(tp.GetDataType()))
	}
	t, err := TensorFromProto(tp)
	if err != nil {
		return nil, nil, err
	}
	return t.Float32, t.Dims, nil
}

// TensorToInt64 decodes an integer tensor (INT8, UINT8, INT16, UINT16, INT32,
// UINT32 or INT64, widened exactly) and returns its data and dims. Other
// element types give an error naming the tensor and its type.
func TensorToInt64(tp *onnxpb.TensorProto) ([]int64, []int64, error) {
	switch DType(tp.GetDataType()) {
	case DTypeInt8, DTypeUint8, DTypeInt16, DTypeUint16, DTypeInt32, DTypeUint32, DTypeInt64:
	default:
		return nil, nil, fmt.Errorf("tensor %s: element type is %s, want an integer type (int8 to int64, uint8 to uint32)", tensorName(tp), DType(tp.GetDataType()))
	}
	t, err := TensorFromProto(tp)
	if err != nil {
		return nil, nil, err
	}
	return t.Int64, t.Dims, nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func int32Ptr(v int32) *int32 { return &v }
func int64Ptr(v int64) *int64 { return &v }
