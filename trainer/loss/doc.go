// Package loss provides the training losses as differentiable gorgonia
// operators: softmax cross-entropy against (soft) target distributions and
// binary cross-entropy on probabilities. Both return the mean over the batch
// (and, for BCE, over every element), as PyTorch's defaults do.
package loss
