// Package importer turns an ONNX model into trainable gorgonia graphs.
//
// [Import] reads the model once: initializers and weights stored as Constant
// nodes (or computed by constant sub-graphs) become named [Param]s,
// BatchNormalization running statistics become [batchnorm.State]s, and the
// rest of the graph is kept in topological order. [Model.Build] then builds a
// gorgonia ExprGraph for concrete input shapes (any batch size: graphs are
// built per shape and share the parameters' storage), folding the shape
// sub-graphs that exporters emit (Shape, Gather, Unsqueeze, Concat, ...) to
// constants on the host. Every parameter is a gorgonia node whose value is the
// Param's tensor, so a solver that updates the nodes updates the model, and
// [Model.Export] (package exporter) writes the current values back to ONNX.
//
// An operator, attribute value or opset that is not supported is reported as
// one [*UnsupportedError] naming the operator, the node, the opset and what is
// supported.
package importer
