// Package exporter writes an imported (and possibly trained) model back to
// ONNX: the original graph with the current parameter values and
// BatchNormalization running statistics, its input and output names and
// dynamic dimensions kept, and metadata recording the producer and the
// training provenance.
//
// Parameters go back where they came from: initializers are overwritten,
// weights stored in Constant nodes get a new value attribute, and weights
// that a constant sub-graph computed (ConstantOfShape, ...) become
// initializers, the sub-graph that computed them being pruned. Parameter
// data is written bit for bit.
package exporter
