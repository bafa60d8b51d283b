// Package cli builds the pgaug command-line application: the command groups
// (model, data, train, infer, eval, pipeline, demo, doctor) and the flags they
// share. The binary itself is cli/pgaug.
//
// Each group lives in its own file and only wires flags to the packages that
// do the work (onnx/..., datasets/..., trainer/..., pipeline/...).
package cli
