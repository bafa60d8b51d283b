// Package conformance runs ONNX backend test cases (a directory holding
// model.onnx and test_data_set_N/{input,output}_K.pb, as the ONNX project
// stores its operator tests) through the importer and compares the gorgonia
// forward pass with the expected outputs.
package conformance
