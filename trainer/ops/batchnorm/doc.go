// Package batchnorm provides BatchNormalization (ONNX opset 9–15 semantics,
// PyTorch BatchNorm1d/2d behaviour) as a differentiable gorgonia operator on
// float32 N×C, N×C×H×W (or any N×C×…) tensors.
//
// gorgonia's own BatchNorm is unusable for imported networks: its gradient in
// evaluation mode uses the last batch's variance, and every NewTapeMachine
// made without EvalMode resets its running statistics to 0/1. This package
// fixes both:
//
//   - the running statistics live in a [State] outside the graph (float32
//     slices, with epsilon and momentum), shared by the graphs built for
//     different batch sizes and readable by an exporter;
//   - the mode is a [ModeFlag] shared by the layers of a network and read
//     each time an operator runs: switching between Train, Eval and Frozen
//     needs no rebuild and never touches the statistics (the operators do not
//     implement gorgonia's TrainModeOp, so machines leave them alone);
//   - Train mode normalises with the batch statistics (biased variance) and
//     updates the running ones in the forward pass, PyTorch-style, with the
//     unbiased variance; Eval and Frozen use the running statistics;
//   - gradients with respect to x, scale and bias are exact in every mode: the
//     full batch-statistics backward in Train mode, the affine map in Eval.
//
// Momentum follows PyTorch (weight of the new batch); ONNX's momentum
// attribute is the weight of the old value: see [MomentumFromONNX].
//
// The backward pass is a statistics operator (per-channel Σdy and Σdy·x̂, with
// mean and 1/σ recomputed from x by the same summation as the forward pass)
// feeding a dx operator and two extractors for dscale and dbias, all custom
// operators. Statistics accumulate in float64; channels run in parallel.
package batchnorm
