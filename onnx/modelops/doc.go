// Package modelops changes ONNX models for fine-tuning: a new classifier
// head, a first convolution adapted to another number of input channels,
// weights loaded by name, freeze patterns recorded for trainers, and a
// check that the result still imports, runs, and agrees with ONNX Runtime.
//
// [ReplaceHead] finds the final classifier (the last Gemm, MatMul+Add or
// MatMul feeding the single output, possibly through Softmax, Dropout,
// Identity and similar nodes) and gives it a fresh N-class weight and bias
// with PyTorch's default Linear initialisation, seeded; the output's shape
// follows.
//
// [AdaptInputChannels] rebuilds the first convolution's filters for C
// input channels from the Cin it has. With [ChannelSum] each new channel is
// the sum of the Cin filter slices divided by C, so a C-channel image whose
// channels are all the same gray plane gives exactly the response the
// original gave to that plane replicated (for RGB → 1 channel: the new
// filter is R+G+B, and a grayscale image is seen as the RGB model saw its
// RGB version). With [ChannelMean] each new channel is the mean slice, which
// scales that response by C/Cin (1/3 for RGB → 1).
//
// [Convert] (and [ConvertModel] in memory) imports a model with package
// importer, applies those changes, checks the freeze patterns against the
// parameters (importer.Model.Freeze's syntax) and records them in the
// metadata under [MetaFreeze], verifies the result ([Verify]: it imports,
// a forward pass on a seeded batch is finite, and ONNX Runtime, when its
// library loads, computes the same outputs), and writes it atomically with
// onnxio.Save, returning a [Report] of what was done.
//
// [LoadWeights] copies weights between models by tensor name, e.g. a
// PyTorch export (scripts/export_pretrained.py) into a model from package
// zoo; [StateDict] lists a model's named tensors as PyTorch names them.
//
// Errors name the node or tensor concerned and what was expected; nothing
// panics on malformed models.
package modelops
