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
	return opkit.ApplyUnary(k.String(), x, func(rank int) gorgonia.Op { return &unaryOp{kind: k, rank: rank} })
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
	opkit.Plain
	kind unaryKind
	rank int
}

var (
	_ gorgonia.Op              = (*unaryOp)(nil)
	_ gorgonia.SDOp            = (*unaryOp)(nil)
	_ gorgonia.UsePreallocDoer = (*unaryOp)(nil)
)

func (op *unaryOp) Arity() int { return 1 }

func (op *unaryOp) Type() hm.Type { return opkit.FnType(op.rank, op.rank) }

func (op *unaryOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return opkit.UnaryShape(op.kind.String(), in)
}

func (op *unaryOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *unaryOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, shape, scalar, err := opkit.UnaryData(op.kind.String(), in)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, scalar, x)
	opkit.ParallelFor(len(x), op.kind.cost()*len(x), func(lo, hi int) { op.kind.forward(out.Data[lo:hi], x[lo:hi]) })
	return out.Value(), nil
}

func (op *unaryOp) String() string { return op.kind.String() }
func (op *unaryOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.elementwise.%v/%d", op.kind, op.rank)
}
func (op *unaryOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *unaryOp) DiffWRT(int) []bool { return []bool{true} }

func (op *unaryOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return opkit.UnaryGrad(op.kind.String(), inputs, grad, &unaryGradOp{kind: op.kind, rank: op.rank})
}

// unaryGradOp is dx = f'(x)·dy.
type unaryGradOp struct {
	opkit.Plain
	kind unaryKind
	rank int
}

var (
	_ gorgonia.Op              = (*unaryGradOp)(nil)
	_ gorgonia.UsePreallocDoer = (*unaryGradOp)(nil)
)

func (op *unaryGradOp) name() string { return op.kind.String() + " gradient" }

func (op *unaryGradOp) Arity() int { return 2 }

func (op *unaryGradOp) Type() hm.Type { return opkit.FnType(op.rank, op.rank, op.rank) }

func (op *unaryGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return opkit.ElementwiseGradShape(op.name(), in)
}

func (op *unaryGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *unaryGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, dy, shape, scalar, err := opkit.GradData(op.name(), in)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, scalar, x, dy)
	opkit.ParallelFor(len(x), op.kind.cost()*len(x), func(lo, hi int) { op.kind.backward(out.Data[lo:hi], x[lo:hi], dy[lo:hi]) })
	return out.Value(), nil
}

func (op *unaryGradOp) String() string { return op.name() }
func (op *unaryGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.elementwise.%v'/%d", op.kind, op.rank)
}
func (op *unaryGradOp) Hashcode() uint32 { return opkit.Hashcode(op) }
