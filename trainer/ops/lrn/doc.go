// Package lrn is ONNX LocalResponseNormalization (used by AlexNet,
// ZFNet and GoogLeNet) as a differentiable gorgonia operator:
//
//	y[n,c,h,w] = x[n,c,h,w] / (bias + alpha/size · Σ x[n,c',h,w]²)^beta
//
// with c' over the channels max(0, c−⌊(size−1)/2⌋) … min(C−1, c+⌈(size−1)/2⌉).
package lrn
