// Package optim implements the optimizers the trainers use, with PyTorch's
// update rules so that results match runs of the published code: SGD (momentum,
// dampening, Nesterov, L2 weight decay), Adam (L2 weight decay) and AdamW
// (decoupled weight decay). Optimizer state is keyed by parameter name and can
// be saved and restored exactly (checkpoints).
package optim
