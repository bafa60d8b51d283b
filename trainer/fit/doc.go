// Package fit is the training loop shared by every method (plain training,
// APGA, noise-mask heating, fine-tuning): epochs over a datasets/loader
// Loader, a learning-rate schedule (constant, step, cosine with linear
// warm-up), evaluation every N steps and at each epoch's end, best-model
// selection on a chosen validation metric, early stopping with patience,
// checkpoints that resume a killed run exactly (via package checkpoint:
// weights, optimizer state, BN statistics, RNG state, step, baselines),
// a progress bar and a JSON-lines metrics log.
//
// A method plugs in by implementing Method: its per-batch TrainStep, its
// Evaluate, and what goes into a checkpoint.
package fit
