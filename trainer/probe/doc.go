// Package probe fits linear and shallow classifiers on frozen features: the
// transfer evaluation of the noise-mask paper (its Table 3 and Fig. 5).
//
// [FitLogReg] fits multinomial logistic regression with an L2 penalty by
// L-BFGS from a zero start, so a fit is deterministic; [FitMLP] trains a
// one-hidden-layer ReLU network with Adam on seeded mini-batches. Both
// standardise the features with statistics of their training set first.
// [FewShot] runs the few-shot protocol: for each k of k-shot (8 to 256 per
// class) and each of T trials it samples k training rows per class without
// replacement from a seeded generator, fits logistic regression and scores
// the test rows; [Summarize] reports the mean with its Student-t 95%
// interval, mean ± t(0.975, T−1)·s/√T.
//
// The package is pure Go (gonum's BLAS and L-BFGS); it knows nothing of
// ONNX. Features come in as a row-major float32 matrix ([Data]).
package probe
