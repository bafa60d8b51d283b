package activation

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// ONNX default attribute values.
const (
	DefaultLeakyReluAlpha   = 0.01 // LeakyRelu alpha
	DefaultHardSigmoidAlpha = 0.2  // HardSigmoid alpha
	DefaultHardSigmoidBeta  = 0.5  // HardSigmoid beta
)

// kind selects the elementwise function of an op.
type kind int

const (
	kindRelu kind = iota
	kindLeakyRelu
	kindClip
	kindHardSigmoid
	kindHardSwish
)

var kindNames = [...]string{"Relu", "LeakyRelu", "Clip", "HardSigmoid", "HardSwish"}

func (k kind) String() string { return kindNames[k] }

// fn is a parameterised elementwise function: a and b are alpha and beta
// (LeakyRelu uses a; Clip uses a = min and b = max).
type fn struct {
	kind kind
	a, b float32
}

func (f fn) String() string {
	switch f.kind {
	case kindLeakyRelu:
		return fmt.Sprintf("LeakyRelu(alpha=%g)", f.a)
	case kindClip:
		return fmt.Sprintf("Clip(min=%g, max=%g)", f.a, f.b)
	case kindHardSigmoid:
		return fmt.Sprintf("HardSigmoid(alpha=%g, beta=%g)", f.a, f.b)
	}
	return f.kind.String()
}

// hardSwish uses the ONNX constants alpha = 1/6, beta = 1/2.
const hsAlpha = float32(1.0 / 6)

// forward computes dst = f(src) elementwise.
func (f fn) forward(dst, src []float32) {
	a, b := f.a, f.b
	switch f.kind {
	case kindRelu:
		for i, x := range src {
			if x > 0 {
				dst[i] = x
			} else if x != x {
				dst[i] = x // NaN propagates
			} else {
				dst[i] = 0
			}
		}
	case kindLeakyRelu:
		for i, x := range src {
			if x > 0 {
				dst[i] = x
			} else {
				dst[i] = a * x
			}
		}
	case kindClip:
		for i, x := range src {
			if x < a {
				x = a
			}
			if x > b {
				x = b
			}
			dst[i] = x
		}
	case kindHardSigmoid:
		for i, x := range src {
			v := a*x + b
			if v < 0 {
				v = 0
			} else if v > 1 {
				v = 1
			}
			dst[i] = v
		}
	case kindHardSwish:
		for i, x := range src {
			v := hsAlpha*x + 0.5
			if v < 0 {
				v = 0
			} else if v > 1 {
				v = 1
			}
			dst[i] = x * v
		}
	}
}

// backward computes dx = f'(x)·dy elementwise. At the kinks it follows
// PyTorch: Relu'(0) = 0, LeakyRelu'(0) = alpha, Clip passes the gradient on
// the closed interval [min, max], HardSigmoid on the open linear region, and
// HardSwish' = 2αx+β on [-3, 3) (PyTorch's vectorised kernel).
func (f fn) backward(dx, x, dy []float32) {
	a, b := f.a, f.b
	switch f.kind {
	case kindRelu:
		for i, v := range x {
			if v <= 0 {
				dx[i] = 0
			} else {
				dx[i] = dy[i] // also for NaN, as PyTorch
			}
		}
	case kindLeakyRelu:
		for i, v := range x {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = a * dy[i]
			}
		}
	case kindClip:
		for i, v := range x {
			if v >= a && v <= b {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	case kindHardSigmoid:
		for i, v := range x {
			if s := a*v + b; s > 0 && s < 1 {
				dx[i] = a * dy[i]
			} else {
				dx[i] = 0
			}
		}
	case kindHardSwish:
		for i, v := range x {
			switch s := hsAlpha*v + 0.5; {
			case s < 0:
				dx[i] = 0
			case s < 1:
				dx[i] = (2*hsAlpha*v + 0.5) * dy[i]
			default:
				dx[i] = dy[i]
			}
		}
	}
}

// Relu is max(0, x) (NaN propagates). gorgonia's Rectify computes x·(x≥0),
// which gives NaN for x = -Inf; this one does not. Relu'(0) = 0 as in PyTorch.
func Relu(x *gorgonia.Node) (*gorgonia.Node, error) {
	return apply(x, fn{kind: kindRelu})
}

// LeakyRelu is x for x > 0 and alpha·x otherwise (ONNX LeakyRelu; the ONNX
// default alpha is [DefaultLeakyReluAlpha]).
func LeakyRelu(x *gorgonia.Node, alpha float32) (*gorgonia.Node, error) {
	if isNaNOrInf(alpha) {
		return nil, fmt.Errorf("LeakyRelu: alpha is %v, want a finite number", alpha)
	}
	return apply(x, fn{kind: kindLeakyRelu, a: alpha})
}

// Clip limits x to [min, max] (ONNX Clip; pass float32(math.Inf(-1)) or
// float32(math.Inf(1)) for a missing bound). As in ONNX and NumPy, min > max
// gives max everywhere. NaN inputs stay NaN. The gradient passes where
// min ≤ x ≤ max (PyTorch's clamp).
func Clip(x *gorgonia.Node, min, max float32) (*gorgonia.Node, error) {
	if min != min || max != max {
		return nil, fmt.Errorf("Clip: bounds (%v, %v) must not be NaN", min, max)
	}
	return apply(x, fn{kind: kindClip, a: min, b: max})
}

// Relu6 is Clip(x, 0, 6).
func Relu6(x *gorgonia.Node) (*gorgonia.Node, error) { return Clip(x, 0, 6) }

// HardSigmoid is max(0, min(1, alpha·x + beta)) (ONNX HardSigmoid; defaults
// [DefaultHardSigmoidAlpha], [DefaultHardSigmoidBeta]; PyTorch's
// hardsigmoid is alpha = 1/6, beta = 1/2).
func HardSigmoid(x *gorgonia.Node, alpha, beta float32) (*gorgonia.Node, error) {
	if isNaNOrInf(alpha) || isNaNOrInf(beta) {
		return nil, fmt.Errorf("HardSigmoid: alpha %v and beta %v must be finite", alpha, beta)
	}
	return apply(x, fn{kind: kindHardSigmoid, a: alpha, b: beta})
}

// HardSwish is x·HardSigmoid(x) with alpha = 1/6, beta = 1/2 (ONNX
// HardSwish, PyTorch hardswish).
func HardSwish(x *gorgonia.Node) (*gorgonia.Node, error) {
	return apply(x, fn{kind: kindHardSwish})
}

// Sigmoid is gorgonia's Sigmoid, checked by this package's tests against
// PyTorch and finite differences (it saturates to exactly 0 below -88 and
// exactly 1 above 15, within float32 rounding of the true value).
func Sigmoid(x *gorgonia.Node) (*gorgonia.Node, error) {
	if err := opkit.CheckFloat32("Sigmoid", "input", x); err != nil {
		return nil, err
	}
	return gorgonia.Sigmoid(x)
}

// Tanh is gorgonia's Tanh, checked by this package's tests against PyTorch
// and finite differences.
func Tanh(x *gorgonia.Node) (*gorgonia.Node, error) {
	if err := opkit.CheckFloat32("Tanh", "input", x); err != nil {
		return nil, err
	}
	return gorgonia.Tanh(x)
}

func isNaNOrInf(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }

func apply(x *gorgonia.Node, f fn) (*gorgonia.Node, error) {
	return opkit.ApplyUnary(f.kind.String(), x, func(rank int) gorgonia.Op { return &activationOp{f: f, rank: rank} })
}

// activationOp is y = f(x), elementwise.
type activationOp struct {
	opkit.Plain
	f    fn
	rank int
}

var (
	_ gorgonia.Op              = (*activationOp)(nil)
	_ gorgonia.SDOp            = (*activationOp)(nil)
	_ gorgonia.UsePreallocDoer = (*activationOp)(nil)
)

func (op *activationOp) Arity() int { return 1 }

func (op *activationOp) Type() hm.Type { return opkit.FnType(op.rank, op.rank) }

func (op *activationOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return opkit.UnaryShape(op.f.kind.String(), in)
}

func (op *activationOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *activationOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, shape, scalar, err := opkit.UnaryData(op.f.kind.String(), in)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, scalar, x)
	opkit.ParallelFor(len(x), len(x), func(lo, hi int) { op.f.forward(out.Data[lo:hi], x[lo:hi]) })
	return out.Value(), nil
}

func (op *activationOp) String() string { return op.f.String() }

func (op *activationOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.activation.%d(%08x,%08x)/%d", op.f.kind, math.Float32bits(op.f.a), math.Float32bits(op.f.b), op.rank)
}

func (op *activationOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *activationOp) DiffWRT(inputs int) []bool { return []bool{true} }

func (op *activationOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return opkit.UnaryGrad(op.f.kind.String(), inputs, grad, &activationGradOp{f: op.f, rank: op.rank})
}

// activationGradOp is dx = f'(x)·dy.
type activationGradOp struct {
	opkit.Plain
	f    fn
	rank int
}

var (
	_ gorgonia.Op              = (*activationGradOp)(nil)
	_ gorgonia.UsePreallocDoer = (*activationGradOp)(nil)
)

func (op *activationGradOp) Arity() int { return 2 }

func (op *activationGradOp) name() string { return op.f.kind.String() + " gradient" }

func (op *activationGradOp) Type() hm.Type { return opkit.FnType(op.rank, op.rank, op.rank) }

func (op *activationGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return opkit.ElementwiseGradShape(op.name(), in)
}

func (op *activationGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *activationGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, dy, shape, scalar, err := opkit.GradData(op.name(), in)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, scalar, x, dy)
	opkit.ParallelFor(len(x), len(x), func(lo, hi int) { op.f.backward(out.Data[lo:hi], x[lo:hi], dy[lo:hi]) })
	return out.Value(), nil
}

func (op *activationGradOp) String() string { return op.f.String() + "'" }

func (op *activationGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.activation.grad.%d(%08x,%08x)/%d", op.f.kind, math.Float32bits(op.f.a), math.Float32bits(op.f.b), op.rank)
}

func (op *activationGradOp) Hashcode() uint32 { return opkit.Hashcode(op) }
