// Package transfer is the transfer evaluation of the noise-mask paper (its
// Table 3 and Fig. 5): it extracts frozen features from an ONNX classifier
// with ONNX Runtime and fits probes on them (trainer/probe).
//
// [NewExtractor] cuts a model at one of its values (by default the input of
// its final Gemm or MatMul, the penultimate features): the value becomes the
// graph's only output, the cut model is saved to a temporary file and opened
// in an ONNX Runtime session. A feature map of rank above 2 (N×C×H×W) is
// global-average pooled to N×C. [Run] extracts the train and test splits of
// an Arrow dataset, fits an MLP and/or logistic-regression probe on the full
// training split, runs the few-shot protocol (k = 8 … 256 per class, T
// trials, logistic regression, mean with its 95% Student-t interval) and
// writes a JSON report atomically.
//
// ONNX Runtime must be loaded first (ort.Init).
package transfer
