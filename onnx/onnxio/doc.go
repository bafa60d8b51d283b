// Package onnxio reads, writes, inspects and builds ONNX models, and
// converts their tensors to and from Go slices.
//
// Models are the protobuf types of package onnx/onnxpb. Load reads a model
// file of IR version 3 to 10 (and the newer 11 to 13, whose additions are
// kept as unknown fields) and resolves tensors stored as external data
// (files beside the model, as exporters write for models over 2 GB); Save
// writes a model atomically, optionally moving large tensors to an external
// data file. Malformed or truncated input gives an error naming the file,
// never a panic.
//
// Tensor is a decoded tensor value; TensorFromProto and Tensor.Proto convert
// between it and TensorProto for float32, float16, bfloat16, float64, the
// integer types up to int64, and bool. TensorToFloat32, TensorToInt64,
// Float32Tensor and Int64Tensor are shortcuts for the common cases.
// ReadTensorFile and WriteTensorFile read and write single tensors as ONNX
// TensorProto files (.pb, the format of the ONNX conformance tests) or NumPy
// files (.npy).
//
// Inspect summarises a model (inputs and outputs with symbolic dimensions,
// operators used, parameter counts, opsets, metadata). GraphBuilder builds
// models programmatically, for exporters, tests and the model zoo.
package onnxio
