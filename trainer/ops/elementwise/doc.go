// Package elementwise provides the binary arithmetic operators of ONNX (Add,
// Sub, Mul, Div) with full NumPy-style broadcasting as differentiable gorgonia
// operators, and the two shape operators their gradients need: SumTo (sum
// over broadcast axes) and Expand (the reverse).
//
// gorgonia's own broadcasting operators need the caller to name the
// broadcast axes; these infer them from the shapes as ONNX does.
package elementwise
