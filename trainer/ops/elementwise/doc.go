// Package elementwise provides the elementwise arithmetic operators of ONNX
// as differentiable gorgonia operators on float32 tensors, with full
// NumPy-style broadcasting: Add, Sub, Mul, Div and Pow; the variadic Min and
// Max; the unary Abs and Erf; and the two shape operators the gradients of
// broadcasting need: SumTo (sum over broadcast axes) and Expand (the
// reverse).
//
// gorgonia's own broadcasting operators need the caller to name the
// broadcast axes; these infer them from the shapes as ONNX does. gorgonia
// has no elementwise Min, Max or Erf, and its Pow and Abs have wrong
// gradients at 0 (see [Pow] and [Abs]).
//
// Derivatives where the function has a kink or a singularity follow
// PyTorch: Abs'(0) = 0; a tie of Min or Max splits the gradient evenly
// between the operands that attain it (torch.maximum, torch.minimum); Pow's
// gradients are 0 in the base where the exponent is 0 and 0 in the exponent
// where the base is 0 and the exponent non-negative (torch.pow). Values
// follow ONNX and NumPy: NaN propagates through Min and Max, and Pow of a
// negative base to a non-integer power is NaN.
package elementwise
