// Package reduce provides ONNX ReduceSum and ReduceMean over any set of axes
// (with keepdims), and Softmax and LogSoftmax along one axis (ONNX opset 13
// semantics; the opset-11 "flatten from axis" variants too), as
// differentiable gorgonia operators on float32 tensors.
//
// gorgonia's Sum and Mean give wrong values (or panic) over a middle axis of
// a 4-D tensor; these operators work on the contiguous layout directly, with
// float64 accumulation. Softmax subtracts the maximum and exponentiates in
// float64, so logits far beyond float32's exp range and -Inf (masked)
// entries are handled. Gradients are custom operators: the broadcast of the
// output gradient for the reductions, y·(dy − Σdy·y) and dy − exp(y)·Σdy for
// softmax and log-softmax (computed from the forward output).
package reduce
