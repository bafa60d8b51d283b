// Package spatial provides differentiable NCHW float32 spatial operators for
// gorgonia graphs, with the semantics of the ONNX operators (opsets 11–22):
//
//   - Conv2D / Conv2DBias: ONNX Conv (strides, dilations, group — grouped
//     and depthwise —, asymmetric pads, auto_pad), weight OIHW.
//   - ConvTranspose2D / ConvTranspose2DBias: ONNX ConvTranspose (strides,
//     dilations, group, pads, output_padding, output_shape, auto_pad), weight
//     C_in × C_out/group × kH × kW.
//   - MaxPool2D, AveragePool2D: ONNX MaxPool (Y output only) and AveragePool
//     (kernel, strides, asymmetric pads, dilations, ceil_mode,
//     count_include_pad), with PyTorch's rules for ties, padding and windows
//     that run past the padded edge.
//   - GlobalAveragePool2D, GlobalMaxPool2D.
//
// The attributes are given in ConvParams, ConvTransposeParams and PoolParams,
// whose zero values are the ONNX defaults; ResolveAutoPad and
// ConvTransposeGeometry expose how auto_pad and output_shape resolve to
// explicit pads. Every constructor checks shapes and attributes and returns
// an error naming the operator and what it expected; the ops never panic on
// bad input.
//
// Each operator is a gorgonia.Op and a gorgonia.SDOp: its gradients are graph
// nodes of further custom ops (a convolution's input gradient is a transposed
// convolution and vice versa; weight and bias gradients have their own ops;
// pooling gradients find the argmax again rather than keeping state). The ops
// take their batch size, and most their sizes, from the input values, and
// every parameter enters Hashcode, so gorgonia never merges two different
// operators. Do returns a fresh tensor and never modifies its inputs;
// UsePreallocDo writes every element of an output tensor of the right shape
// that shares no memory with the inputs (trainer/executor hands each op the
// buffer it wrote on the step before; all scratch memory is pooled). The ops
// are not ADOps: differentiate with gorgonia.Grad and run the graph with
// trainer/executor or a tape machine, not the lisp machine.
//
// Convolutions run as im2col + SGEMM (blas.Float32) + col2im, with the column
// buffers reused across calls (sync.Pool); 1×1 stride-1 unpadded
// convolutions use the input directly. With a single-threaded BLAS (gonum, or
// OpenBLAS with one thread) the batch is split across GOMAXPROCS goroutines;
// with a multi-threaded OpenBLAS the images go one after the other and each
// SGEMM uses OpenBLAS's threads, since calling it from several goroutines at
// once makes its threads collide. The first is faster on the 2-core machines
// of the project (about 110 vs 90 GFLOP/s for a 3×3 64→64 layer's forward and
// backward), so run OpenBLAS single-threaded (OPENBLAS_NUM_THREADS=1) when
// the convolutions dominate. Large images are processed in bands of output
// rows so that a column matrix stays within a few MB; small images (fewer
// than 128 output pixels: the last stages of ResNet and DenseNet at the
// sizes trained here) share one column matrix, side by side, so that each
// SGEMM has at least 128 columns (one SGEMM of a 512×4608 weight with 16
// columns ran at 27 GFLOP/s on one core, with 128 at 59). Stride-1 input
// gradients (and stride-1 transposed convolutions) are computed as a
// convolution with the flipped kernel rather than through col2im.
//
// gorgonia traps that still apply to graphs built with these ops: name every
// input node uniquely (unnamed nodes of one shape are merged); with a tape
// machine, read intermediate values with gorgonia.Read, and remember that
// gradients accumulate across RunAll calls until a solver step clears them.
package spatial
