package onnxio

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/datasets/atomicfile"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// ReadTensorProtoFile reads a serialized TensorProto, the format of the ONNX
// conformance tests' input_N.pb and output_N.pb files.
func ReadTensorProtoFile(path string) (*onnxpb.TensorProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnxio: reading tensor: %w", err)
	}
	tp := new(onnxpb.TensorProto)
	if err := proto.Unmarshal(data, tp); err != nil {
		return nil, fmt.Errorf("onnxio: reading tensor %s: not a valid TensorProto (truncated or corrupt?): %w", path, err)
	}
	if tp.GetDataType() == int32(DTypeUndefined) {
		return nil, fmt.Errorf("onnxio: reading tensor %s: no data_type (is this a TensorProto file?)", path)
	}
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, fmt.Errorf("onnxio: reading tensor %s: stores its data externally, which tensor files do not support", path)
	}
	return tp, nil
}

// WriteTensorProtoFile writes tp as a serialized TensorProto, atomically.
func WriteTensorProtoFile(path string, tp *onnxpb.TensorProto) error {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(tp)
	if err != nil {
		return fmt.Errorf("onnxio: writing tensor %s: %w", path, err)
	}
	if err := atomicfile.WriteBytes(path, data); err != nil {
		return fmt.Errorf("onnxio: tensor file: %w", err)
	}
	return nil
}

// ReadTensorFile reads a tensor from an ONNX TensorProto file (extension
// .pb) or a NumPy file (.npy), choosing by the extension.
func ReadTensorFile(path string) (*Tensor, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".pb":
		tp, err := ReadTensorProtoFile(path)
		if err != nil {
			return nil, err
		}
		t, err := TensorFromProto(tp)
		if err != nil {
			return nil, fmt.Errorf("onnxio: reading tensor %s: %w", path, err)
		}
		return t, nil
	case ".npy":
		return ReadNPY(path)
	default:
		return nil, fmt.Errorf("onnxio: reading tensor %s: unknown extension %q (want .pb for an ONNX TensorProto or .npy for NumPy)", path, ext)
	}
}

// WriteTensorFile writes t atomically as an ONNX TensorProto (extension .pb)
// or a NumPy file (.npy), choosing by the extension.
func WriteTensorFile(path string, t *Tensor) error {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".pb":
		tp, err := t.Proto()
		if err != nil {
			return fmt.Errorf("onnxio: writing tensor %s: %w", path, err)
		}
		return WriteTensorProtoFile(path, tp)
	case ".npy":
		return WriteNPY(path, t)
	default:
		return fmt.Errorf("onnxio: writing tensor %s: unknown extension %q (want .pb for an ONNX TensorProto or .npy for NumPy)", path, ext)
	}
}
