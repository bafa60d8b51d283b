package onnxio

import (
	"fmt"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// DType is an ONNX tensor element type (the values of
// onnxpb.TensorProto_DataType).
type DType int32

// The element types this package converts. Other ONNX types (string,
// complex, uint64, float8, int4) can be read and written as protos and
// summarised by Inspect, but Tensor conversion refuses them with an error.
const (
	DTypeUndefined DType = DType(onnxpb.TensorProto_UNDEFINED)
	DTypeFloat32   DType = DType(onnxpb.TensorProto_FLOAT)
	DTypeUint8     DType = DType(onnxpb.TensorProto_UINT8)
	DTypeInt8      DType = DType(onnxpb.TensorProto_INT8)
	DTypeUint16    DType = DType(onnxpb.TensorProto_UINT16)
	DTypeInt16     DType = DType(onnxpb.TensorProto_INT16)
	DTypeInt32     DType = DType(onnxpb.TensorProto_INT32)
	DTypeInt64     DType = DType(onnxpb.TensorProto_INT64)
	DTypeBool      DType = DType(onnxpb.TensorProto_BOOL)
	DTypeFloat16   DType = DType(onnxpb.TensorProto_FLOAT16)
	DTypeFloat64   DType = DType(onnxpb.TensorProto_DOUBLE)
	DTypeUint32    DType = DType(onnxpb.TensorProto_UINT32)
	DTypeBFloat16  DType = DType(onnxpb.TensorProto_BFLOAT16)
)

var dtypeNames = map[DType]string{
	DTypeFloat32:  "float32",
	DTypeUint8:    "uint8",
	DTypeInt8:     "int8",
	DTypeUint16:   "uint16",
	DTypeInt16:    "int16",
	DTypeInt32:    "int32",
	DTypeInt64:    "int64",
	DTypeBool:     "bool",
	DTypeFloat16:  "float16",
	DTypeFloat64:  "float64",
	DTypeUint32:   "uint32",
	DTypeBFloat16: "bfloat16",
}

// String returns the element type's short name ("float32", "int64", ...).
// Types this package does not convert are named after the ONNX enum in lower
// case ("string", "complex64", "float8e4m3fn"), unknown values as
// "dtype(N)".
func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	if s, ok := onnxpb.TensorProto_DataType_name[int32(d)]; ok {
		return lower(s)
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Supported reports whether Tensor conversion handles d.
func (d DType) Supported() bool {
	_, ok := dtypeNames[d]
	return ok
}

// Size returns the number of bytes one element of d takes in raw_data, or 0
// for types without a fixed byte width (undefined, string, and the packed
// 4-bit types).
func (d DType) Size() int {
	switch onnxpb.TensorProto_DataType(d) {
	case onnxpb.TensorProto_UINT8, onnxpb.TensorProto_INT8, onnxpb.TensorProto_BOOL,
		onnxpb.TensorProto_FLOAT8E4M3FN, onnxpb.TensorProto_FLOAT8E4M3FNUZ,
		onnxpb.TensorProto_FLOAT8E5M2, onnxpb.TensorProto_FLOAT8E5M2FNUZ:
		return 1
	case onnxpb.TensorProto_UINT16, onnxpb.TensorProto_INT16, onnxpb.TensorProto_FLOAT16,
		onnxpb.TensorProto_BFLOAT16:
		return 2
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32:
		return 4
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_UINT64, onnxpb.TensorProto_DOUBLE,
		onnxpb.TensorProto_COMPLEX64:
		return 8
	case onnxpb.TensorProto_COMPLEX128:
		return 16
	}
	return 0
}

// rawSize returns the raw_data byte length of n elements of d, and false for
// types without a fixed layout (undefined, string).
func (d DType) rawSize(n int64) (int64, bool) {
	switch onnxpb.TensorProto_DataType(d) {
	case onnxpb.TensorProto_INT4, onnxpb.TensorProto_UINT4:
		return (n + 1) / 2, true
	}
	s := d.Size()
	if s == 0 {
		return 0, false
	}
	return n * int64(s), true
}
