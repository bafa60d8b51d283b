package importer

import (
	"fmt"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// hostTensor is a constant known at build time: float data (float32) or
// integer/boolean data (int64).
type hostTensor struct {
	isFloat bool
	shape   []int
	f       []float32
	i       []int64
}

func (t *hostTensor) numel() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

func (t *hostTensor) String() string {
	kind := "int64"
	if t.isFloat {
		kind = "float32"
	}
	return fmt.Sprintf("%s%v", kind, t.shape)
}

// ints returns the tensor's values as int64 (floats truncated).
func (t *hostTensor) ints() []int64 {
	if !t.isFloat {
		return t.i
	}
	out := make([]int64, len(t.f))
	for k, v := range t.f {
		out[k] = int64(v)
	}
	return out
}

// floats returns the tensor's values as float32.
func (t *hostTensor) floats() []float32 {
	if t.isFloat {
		return t.f
	}
	out := make([]float32, len(t.i))
	for k, v := range t.i {
		out[k] = float32(v)
	}
	return out
}

func newFloatHost(shape []int, data []float32) *hostTensor {
	return &hostTensor{isFloat: true, shape: append([]int{}, shape...), f: data}
}

func newIntHost(shape []int, data []int64) *hostTensor {
	return &hostTensor{shape: append([]int{}, shape...), i: data}
}

func dimsToInts(d []int64) []int {
	out := make([]int, len(d))
	for i, v := range d {
		out[i] = int(v)
	}
	return out
}

func isFloatType(dt int32) bool {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16:
		return true
	}
	return false
}

// hostFromProto converts an ONNX tensor: floating types to float32, integer
// and boolean types to int64.
func hostFromProto(t *onnxpb.TensorProto) (*hostTensor, error) {
	if isFloatType(t.GetDataType()) {
		data, dims, err := onnxio.TensorToFloat32(t)
		if err != nil {
			return nil, err
		}
		return newFloatHost(dimsToInts(dims), data), nil
	}
	data, dims, err := onnxio.TensorToInt64(t)
	if err != nil {
		return nil, err
	}
	return newIntHost(dimsToInts(dims), data), nil
}

// hostFromTensor converts a decoded tensor (floats to float32, integers and
// booleans to int64).
func hostFromTensor(t *onnxio.Tensor) (*hostTensor, error) {
	shape := dimsToInts(t.Dims)
	switch t.DType {
	case onnxio.DTypeFloat32, onnxio.DTypeFloat16, onnxio.DTypeBFloat16:
		return newFloatHost(shape, append([]float32(nil), t.Float32...)), nil
	case onnxio.DTypeFloat64:
		f := make([]float32, len(t.Float64))
		for i, v := range t.Float64 {
			f[i] = float32(v)
		}
		return newFloatHost(shape, f), nil
	case onnxio.DTypeBool:
		v := make([]int64, len(t.Bool))
		for i, b := range t.Bool {
			if b {
				v[i] = 1
			}
		}
		return newIntHost(shape, v), nil
	}
	return newIntHost(shape, append([]int64(nil), t.Int64...)), nil
}
