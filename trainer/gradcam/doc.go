// Package gradcam computes Grad-CAM maps and masks (Selvaraju et al. 2017)
// from a frozen classifier imported from ONNX, as the Grad-CAM baseline of
// the APGA paper does: Grad-CAM at the last feature layer for the top-1
// predicted class, bilinear up-sampling to the input size, per-image min-max
// scaling, and a mask keeping the pixels whose scaled map exceeds 0.5.
//
// For each image of a batch, with A the activation of the chosen layer
// (K channels, h'×w') and y the logit of the image's top-1 class:
//
//	w_k = mean over (i, j) of ∂y/∂A_k(i, j)
//	cam = ReLU(Σ_k w_k · A_k)
//	map = minmax(bilinear(cam, H×W))   (align_corners=False, as PyTorch's interpolate)
//	mask = map > threshold
//
// An all-zero cam gives an all-zero map (never NaN).
//
// The explainer builds, per input shape, one gorgonia graph holding the
// network, the top-1 selection (a one-hot constant multiplied into the logits
// and summed, so one backward pass serves the whole batch: in inference mode
// the images are independent) and the backward pass from that score to the
// layer's activation only. No gradient with respect to a parameter is taken,
// no solver runs, and BatchNormalization uses its running statistics, so the
// model is left exactly as it was. gorgonia.Grad refuses intermediate nodes;
// the explainer calls gorgonia.Backpropagate, whose result for a value with
// several consumers is the sum of their contributions, computed once.
// Each call runs the network twice: a forward pass to find the top-1
// classes, then forward and backward with the one-hot selection. Each input
// shape keeps its graph and two executor programs (with their buffers) until Close.
//
// An Explainer uses the model it is given: if the model trains meanwhile,
// the maps follow its current weights. Use [FrozenCopy] for an independent
// copy, as the paper's baseline does.
package gradcam
