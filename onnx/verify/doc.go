// Package verify checks an imported model against ONNX Runtime: it runs the
// gorgonia forward pass and an ONNX Runtime session on the same inputs (given,
// or seeded random ones) and reports the largest absolute and relative
// differences per output, and against expected outputs when given.
package verify
