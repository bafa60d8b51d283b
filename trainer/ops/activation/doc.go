// Package activation provides ONNX activation functions as differentiable
// gorgonia operators on float32 tensors of any shape (scalars included):
// Relu, LeakyRelu, Clip (and Relu6 = Clip(0, 6)), HardSigmoid and HardSwish,
// each a custom op whose gradient is another custom op; Sigmoid and Tanh
// delegate to gorgonia's, which the tests check against PyTorch and finite
// differences.
//
// Values follow ONNX (opset 6–22) and PyTorch, NaN propagating. Derivatives at
// the kinks follow PyTorch: Relu'(0) = 0, LeakyRelu'(0) = alpha, Clip passes
// the gradient on the closed interval [min, max] (torch.clamp; note that
// PyTorch's relu6/hardtanh use the open interval), HardSigmoid on the open
// interval where 0 < alpha·x+beta < 1, HardSwish' = x/3 + 1/2 on [-3, 3), 1 above. The gradient at a NaN input
// is not specified.
//
// gorgonia's Rectify is not used: it computes x·(x ≥ 0), which is NaN at
// x = -Inf and has gradient 1 at 0.
package activation
