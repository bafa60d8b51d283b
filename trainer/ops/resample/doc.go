// Package resample provides ONNX Resize (opset 11–19: nearest and bilinear
// on the H and W axes of N×C×H×W tensors, every coordinate transformation
// and nearest rounding mode PyTorch exports and more, from scales or sizes)
// and ONNX Pad (constant, reflect, edge and wrap; negative pads crop; any
// rank) as differentiable gorgonia operators on float32 tensors. gorgonia has
// only integer-factor nearest up-sampling.
//
// Both are custom operators whose gradients (the transposed resampling, the
// sum over the copies a padding makes) are custom operators too. Planes run
// in parallel.
//
// Correspondence with PyTorch's F.interpolate: mode='nearest' is Nearest with
// Asymmetric and Floor; 'nearest-exact' is Nearest with HalfPixel and
// RoundPreferCeil; 'bilinear' with align_corners=True is Linear with
// AlignCorners, with align_corners=False Linear with HalfPixel (PyTorch's
// exporter writes pytorch_half_pixel, which differs only for an output of
// length 1). F.pad's 'reflect', 'replicate' and 'circular' are Reflect, Edge
// and Wrap.
package resample
