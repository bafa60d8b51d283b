package special

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// orderLnGamma is the order of ln Γ in the chain ln Γ → ψ → ψ₁ → ψ₂ → ...
const orderLnGamma = -1

func orderName(k int) string {
	switch k {
	case orderLnGamma:
		return "LnGamma"
	case 0:
		return "Digamma"
	case 1:
		return "Trigamma"
	}
	return fmt.Sprintf("Polygamma%d", k)
}

func eval(k int, x float64) float64 {
	if k == orderLnGamma {
		return LnGammaF64(x)
	}
	return PolygammaF64(k, x)
}

// LnGamma is ln|Γ(x)| elementwise (ONNX has no such operator; PyTorch's
// torch.lgamma), computed in float64 with math.Lgamma. Its gradient is
// ψ(x)·dy, itself differentiable.
func LnGamma(x *gorgonia.Node) (*gorgonia.Node, error) { return apply(orderLnGamma, x) }

// Digamma is ψ(x) = d/dx ln Γ(x) elementwise, in float64 internally (see
// [DigammaF64]). Its gradient is ψ₁(x)·dy ([Trigamma]), itself differentiable.
func Digamma(x *gorgonia.Node) (*gorgonia.Node, error) { return apply(0, x) }

// Trigamma is ψ₁(x) = ψ'(x) elementwise (see [PolygammaF64]); its gradient
// is ψ₂(x)·dy.
func Trigamma(x *gorgonia.Node) (*gorgonia.Node, error) { return apply(1, x) }

// Polygamma is ψ⁽ⁿ⁾(x) elementwise, 0 ≤ n ≤ [MaxOrder]; its gradient is
// ψ⁽ⁿ⁺¹⁾(x)·dy (differentiable while n+1 ≤ MaxOrder).
func Polygamma(n int, x *gorgonia.Node) (*gorgonia.Node, error) {
	if n < 0 || n > MaxOrder {
		return nil, fmt.Errorf("Polygamma: order %d out of range 0..%d", n, MaxOrder)
	}
	return apply(n, x)
}

func apply(k int, x *gorgonia.Node) (*gorgonia.Node, error) {
	return opkit.ApplyUnary(orderName(k), x, func(rank int) gorgonia.Op { return &valueOp{order: k, rank: rank} })
}

// valueOp is y = f_k(x) elementwise, f_{-1} = ln Γ, f_k = ψ⁽ᵏ⁾.
type valueOp struct {
	opkit.Plain
	order int
	rank  int
}

var (
	_ gorgonia.Op              = (*valueOp)(nil)
	_ gorgonia.SDOp            = (*valueOp)(nil)
	_ gorgonia.UsePreallocDoer = (*valueOp)(nil)
)

func (op *valueOp) Arity() int { return 1 }

func (op *valueOp) Type() hm.Type { return opkit.FnType(op.rank, op.rank) }

func (op *valueOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return opkit.UnaryShape(orderName(op.order), in)
}

func (op *valueOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *valueOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, shape, scalar, err := opkit.UnaryData(orderName(op.order), in)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, scalar, x)
	k := op.order
	// ψ costs tens of flops per element: parallelise early.
	opkit.ParallelFor(len(x), 32*len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out.Data[i] = float32(eval(k, float64(x[i])))
		}
	})
	return out.Value(), nil
}

func (op *valueOp) String() string { return orderName(op.order) }

func (op *valueOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.special.value/%d/%d", op.order, op.rank)
}

func (op *valueOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *valueOp) DiffWRT(int) []bool { return []bool{op.order < MaxOrder} }

func (op *valueOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.order >= MaxOrder {
		return nil, fmt.Errorf("%s gradient: derivatives beyond ψ⁽%d⁾ are not implemented", orderName(op.order), MaxOrder)
	}
	return opkit.UnaryGrad(orderName(op.order), inputs, grad, &scaleOp{order: op.order + 1, rank: op.rank})
}

// scaleOp is y = f_k(x)·v elementwise: the gradient of f_{k-1}, fused. It is
// differentiable in both inputs: ∂/∂x = f_{k+1}(x)·v·dy, ∂/∂v = f_k(x)·dy.
type scaleOp struct {
	opkit.Plain
	order int
	rank  int
}

var (
	_ gorgonia.Op              = (*scaleOp)(nil)
	_ gorgonia.SDOp            = (*scaleOp)(nil)
	_ gorgonia.UsePreallocDoer = (*scaleOp)(nil)
)

func (op *scaleOp) name() string { return orderName(op.order) + "·v" }

func (op *scaleOp) Arity() int { return 2 }

func (op *scaleOp) Type() hm.Type { return opkit.FnType(op.rank, op.rank, op.rank) }

func (op *scaleOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, v, err := opkit.GradShapes(op.name(), in)
	if err != nil {
		return nil, err
	}
	if !s.Eq(v) {
		return nil, fmt.Errorf("%s: the inputs have shapes %v and %v, want equal shapes", op.name(), s, v)
	}
	return s.Clone(), nil
}

func (op *scaleOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *scaleOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := opkit.CheckArity(op.name(), len(in), 2); err != nil {
		return nil, err
	}
	x, shape, scalar, err := opkit.Float32Data(op.name(), in[0])
	if err != nil {
		return nil, err
	}
	v, _, _, err := opkit.Float32Data(op.name(), in[1])
	if err != nil {
		return nil, err
	}
	if len(v) != len(x) {
		return nil, fmt.Errorf("%s: the inputs have %d and %d elements", op.name(), len(x), len(v))
	}
	out := opkit.NewOutput(prealloc, shape, scalar, x, v)
	k := op.order
	opkit.ParallelFor(len(x), 32*len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out.Data[i] = float32(eval(k, float64(x[i])) * float64(v[i]))
		}
	})
	return out.Value(), nil
}

func (op *scaleOp) String() string { return op.name() }

func (op *scaleOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.special.scale/%d/%d", op.order, op.rank)
}

func (op *scaleOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *scaleOp) DiffWRT(int) []bool { return []bool{op.order < MaxOrder, true} }

func (op *scaleOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	name := op.name() + " gradient"
	if err := opkit.CheckArity(name, len(inputs), 2); err != nil {
		return nil, err
	}
	x, v := inputs[0], inputs[1]
	dv, err := gorgonia.ApplyOp(&scaleOp{order: op.order, rank: op.rank}, x, grad)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if op.order >= MaxOrder {
		return gorgonia.Nodes{nil, dv}, nil
	}
	vg, err := gorgonia.HadamardProd(v, grad)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dx, err := gorgonia.ApplyOp(&scaleOp{order: op.order + 1, rank: op.rank}, x, vg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return gorgonia.Nodes{dx, dv}, nil
}
