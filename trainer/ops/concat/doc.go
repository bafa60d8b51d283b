// Package concat provides ONNX Concat as a differentiable gorgonia operator
// on float32 tensors of any rank: the inputs joined along one axis, and its
// gradient, one slice of the output gradient per input.
//
// gorgonia's Concat copies through tensor iterators (a third of DenseNet's
// forward time, whose every dense layer concatenates all the features before
// it) and differentiates into sliced views that every consumer copies again.
// Here the forward pass and each gradient are block copies (an outer loop
// over the dimensions before the axis, one contiguous run per input), split
// across GOMAXPROCS goroutines for large tensors, into the preallocated
// output a trainer/executor program hands them.
package concat
