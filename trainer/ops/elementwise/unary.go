package elementwise

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// unaryKind is an elementwise function of one tensor.
type unaryKind int

const (
	kindAbs unaryKind = iota
	kindErf
)

func (k unaryKind) String() string { return [...]string{"Abs", "Erf"}[k] }

// Abs is |x| elementwise (ONNX Abs). Its gradient is sign(x)·dy with
// sign(0) = 0 and, as in PyTorch, 0 at NaN.
//
// gorgonia's Abs is not used: its gradient on a scalar node is 1 at 0 (it
// takes the sign bit), though 0 on a tensor.
func Abs(x *gorgonia.Node) (*gorgonia.Node, error) { return applyUnary(kindAbs, x) }

// Erf is the error function elementwise (ONNX Erf; GELU is exported with
// it), computed by math.Erf in float64 and rounded. Its gradient is
// 2/√π·exp(−x²)·dy. gorgonia has no Erf.
func Erf(x *gorgonia.Node) (*gorgonia.Node, error) { return applyUnary(kindErf, x) }

func applyUnary(k unaryKind, x *gorgonia.Node) (*gorgonia.Node, error) {
	if err := opkit.CheckFloat32(k.String(), "input", x); err != nil {
		return nil, err
	}
	out, err := gorgonia.ApplyOp(&unaryOp{kind: k, rank: opkit.ShapeOf(x).Dims()}, x)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", k, err)
	}
	return out, nil
}

// twoOverSqrtPi is 2/√π, the scale of erf's derivative.
const twoOverSqrtPi = 2 / math.SqrtPi

func (k unaryKind) forward(dst, src []float32) {
	switch k {
	case kindAbs:
		for i, x := range src {
			dst[i] = math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
		}
	case kindErf:
		for i, x := range src {
			dst[i] = float32(math.Erf(float64(x)))
		}
	}
}

func (k unaryKind) backward(dx, x, dy []float32) {
	switch k {
	case kindAbs:
		for i, v := range x {
			switch {
			case v > 0:
				dx[i] = dy[i]
			case v < 0:
				dx[i] = -dy[i]
			default: // 0 and NaN
				dx[i] = 0
			}
		}
	case kindErf:
		for i, v := range x {
			x := float64(v)
			dx[i] = float32(twoOverSqrtPi * math.Exp(-x*x) * float64(dy[i]))
		}
	}
}

// cost is a rough cost per element in element operations.
func (k unaryKind) cost() int {
	if k == kindErf {
		return 24
	}
	return 1
}

// unaryOp is y = f(x) elementwise.
type unaryOp struct {
	kind unaryKind
	rank int
}

var (
	_ gorgonia.Op              = (*unaryOp)(nil)
	_ gorgonia.SDOp            = (*unaryOp)(nil)
	_ gorgonia.UsePreallocDoer = (*unaryOp)(nil)
)

func (op *unaryOp) Arity() int { return 1 }

func (op *unaryOp) Type() hm.Type {
	t := opkit.TensorType(op.rank)
	return hm.NewFnType(t, t)
}

func (op *unaryOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: got %d inputs, want 1", op.kind, len(in))
	}
	s, err := opkit.InputShape(op.kind.String(), in[0])
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

func (op *unaryOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *unaryOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	name := op.kind.String()
	if len(in) != 1 {
		return nil, fmt.Errorf("%s: got %d inputs, want 1", name, len(in))
	}
	x, shape, scalar, err := opkit.Float32Data(name, in[0])
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, scalar, x)
	opkit.ParallelFor(len(x), op.kind.cost()*len(x), func(lo, hi int) { op.kind.forward(out.Data[lo:hi], x[lo:hi]) })
	return out.Value(), nil
}

func (op *unaryOp) ReturnsPtr() bool     { return false }
func (op *unaryOp) CallsExtern() bool    { return false }
func (op *unaryOp) OverwritesInput() int { return -1 }
func (op *unaryOp) String() string       { return op.kind.String() }
func (op *unaryOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.elementwise.%v/%d", op.kind, op.rank)
}
func (op *unaryOp) Hashcode() uint32 { return hashOf(op) }

func (op *unaryOp) DiffWRT(int) []bool { return []bool{true} }

func (op *unaryOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%v gradient: got %d inputs, want 1", op.kind, len(inputs))
	}
	dx, err := gorgonia.ApplyOp(&unaryGradOp{kind: op.kind, rank: op.rank}, inputs[0], grad)
	if err != nil {
		return nil, fmt.Errorf("%v gradient: %w", op.kind, err)
	}
	return gorgonia.Nodes{dx}, nil
}

// unaryGradOp is dx = f'(x)·dy.
type unaryGradOp struct {
	kind unaryKind
	rank int
}

var (
	_ gorgonia.Op              = (*unaryGradOp)(nil)
	_ gorgonia.UsePreallocDoer = (*unaryGradOp)(nil)
)

func (op *unaryGradOp) name() string { return op.kind.String() + " gradient" }

func (op *unaryGradOp) Arity() int { return 2 }

func (op *unaryGradOp) Type() hm.Type {
	t := opkit.TensorType(op.rank)
	return hm.NewFnType(t, t, t)
}

func (op *unaryGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%s: got %d inputs, want 2", op.name(), len(in))
	}
	s, err := opkit.InputShape(op.name(), in[0])
	if err != nil {
		return nil, err
	}
	g, err := opkit.InputShape(op.name(), in[1])
	if err != nil {
		return nil, err
	}
	if !s.Eq(g) {
		return nil, fmt.Errorf("%s: output gradient has shape %v, want the input's %v", op.name(), g, s)
	}
	return s.Clone(), nil
}

func (op *unaryGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *unaryGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%s: got %d inputs, want 2", op.name(), len(in))
	}
	x, shape, scalar, err := opkit.Float32Data(op.name(), in[0])
	if err != nil {
		return nil, err
	}
	dy, _, _, err := opkit.Float32Data(op.name(), in[1])
	if err != nil {
		return nil, err
	}
	if len(dy) != len(x) {
		return nil, fmt.Errorf("%s: output gradient has %d elements, want %d", op.name(), len(dy), len(x))
	}
	out := opkit.NewOutput(prealloc, shape, scalar, x, dy)
	opkit.ParallelFor(len(x), op.kind.cost()*len(x), func(lo, hi int) { op.kind.backward(out.Data[lo:hi], x[lo:hi], dy[lo:hi]) })
	return out.Value(), nil
}

func (op *unaryGradOp) ReturnsPtr() bool     { return false }
func (op *unaryGradOp) CallsExtern() bool    { return false }
func (op *unaryGradOp) OverwritesInput() int { return -1 }
func (op *unaryGradOp) String() string       { return op.name() }
func (op *unaryGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.elementwise.%v'/%d", op.kind, op.rank)
}
func (op *unaryGradOp) Hashcode() uint32 { return hashOf(op) }
