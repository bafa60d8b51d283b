// Package zoo builds freshly initialised networks as ONNX models that pgaug
// imports and trains: resnet10t, resnet18, resnet50, densenet121,
// densenet169, ternausnet11 (a U-Net with a VGG11 encoder) and smallcnn (a
// small CNN for tests and demos).
//
// [Build] returns a model with input "input" (float32 N×C×S×S, the batch
// dimension N symbolic) and output "logits" (N×classes) or, for
// ternausnet11, "probability" (N×1×S×S, a sigmoid per pixel). The graph
// uses only operators the importer trains (Conv, BatchNormalization, Relu,
// MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm, Add, Concat,
// ConvTranspose, Sigmoid) at opset 17, with BatchNormalization kept apart
// from the convolutions.
//
// Parameters are initializers named and shaped exactly as the original's
// PyTorch state_dict (conv1.weight, bn1.running_mean, layer1.0.conv1.weight,
// fc.weight; features.denseblock1.denselayer1.norm1.weight, classifier.bias;
// encoder.0.weight, center.block.1.weight, final.bias), which is what
// scripts/export_pretrained.py writes for the same architecture, so weights
// exported from PyTorch load into a zoo model by name. They are initialised
// as the originals initialise them:
//
//   - torchvision ResNets, resnet10t and smallcnn: convolutions
//     Kaiming-normal with fan_out and ReLU gain, N(0, 2/fan_out); the
//     classifier (fc) PyTorch's default Linear, U(±1/√fan_in) for weight
//     and bias.
//   - torchvision DenseNets: convolutions nn.init.kaiming_normal_ with its
//     defaults, N(0, 2/fan_in); the classifier's weight U(±1/√fan_in), its
//     bias 0.
//   - TernausNet: the VGG11 encoder as torchvision's VGG, N(0, 2/fan_out)
//     weights and zero biases; the decoder convolutions, transposed
//     convolutions and the final 1×1 convolution PyTorch's default,
//     U(±1/√fan_in) with PyTorch's fan_in (for a transposed convolution
//     that is Cout·k·k).
//   - Every BatchNorm: weight 1, bias 0, running mean 0, running variance 1
//     (epsilon 1e-5, momentum 0.1 in PyTorch's convention).
//
// With C ≠ 3 input channels the first convolution is built C channels wide
// and initialised by the same rule (fan_out does not depend on C, so its
// distribution is unchanged); to adapt a pretrained RGB filter bank instead,
// use package modelops.
//
// Initialisation is reproducible: every tensor is drawn from its own random
// stream, derived from Options.Seed and the tensor's name, so the same seed
// gives the same model bit for bit, and changing the class count changes
// only the classifier.
//
// [List] describes the networks (what each is, its parameter count, its
// expected input); [ParamCount] counts parameters without building weights.
package zoo
