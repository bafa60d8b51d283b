// Package pipeline puts the stages together: training a classifier from an
// ONNX file and an Arrow dataset (baseline), evaluating an ONNX model with
// ONNX Runtime, and the built-in end-to-end demo. The CLI commands are thin
// wrappers over these functions.
package pipeline
