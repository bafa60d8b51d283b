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

// Pow returns a^b elementwise with NumPy broadcasting (ONNX Pow), computed
// in float64 and rounded to float32. As in C's pow and NumPy: a negative
// base with a non-integer exponent gives NaN, 0 to a negative power gives
// ±Inf, and x^0 = 1^y = 1 for every x and y (NaN included).
//
// The gradient follows PyTorch's torch.pow:
//
//	∂/∂a = b·a^(b−1)·dy, and 0 where b = 0 (also at a = 0);
//	∂/∂b = a^b·ln(a)·dy, and 0 where a = 0 and b ≥ 0.
//
// Elsewhere the formulas apply as they are: at a negative base ∂/∂b is NaN
// (ln a), at a = 0 with 0 < b < 1 ∂/∂a is +Inf·sign(dy), and at a = 0 with
// b < 0 both are infinite.
//
// gorgonia's Pow is not used: it broadcasts only scalars, and at a = 0 its
// gradient is NaN or −Inf where PyTorch's is 0 (0·0⁻¹ in a where b = 0;
// 0^b·ln 0 in b where b ≥ 0).
func Pow(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	if err := opkit.CheckFloat32("Pow", "base", a); err != nil {
		return nil, err
	}
	if err := opkit.CheckFloat32("Pow", "exponent", b); err != nil {
		return nil, err
	}
	fr, err := newFrame(opkit.ShapeOf(a), opkit.ShapeOf(b))
	if err != nil {
		return nil, fmt.Errorf("Pow: %w", err)
	}
	n, err := gorgonia.ApplyOp(&powOp{fr: fr}, a, b)
	if err != nil {
		return nil, fmt.Errorf("Pow of %v and %v: %w", fr.in[0], fr.in[1], err)
	}
	return n, nil
}

// powf is a^b in float64, rounded; the square, the most common exponent,
// is exact in float64 and takes a shortcut.
func powf(a, b float32) float32 {
	if b == 2 {
		return a * a
	}
	return float32(math.Pow(float64(a), float64(b)))
}

// powGradBase is ∂(a^b)/∂a · g (PyTorch: 0 where b = 0).
func powGradBase(a, b, g float32) float32 {
	if b == 0 {
		return 0
	}
	return float32(float64(b) * math.Pow(float64(a), float64(b)-1) * float64(g))
}

// powGradExp is ∂(a^b)/∂b · g (PyTorch: 0 where a = 0 and b ≥ 0).
func powGradExp(a, b, g float32) float32 {
	if a == 0 && b >= 0 {
		return 0
	}
	x := float64(a)
	return float32(math.Pow(x, float64(b)) * math.Log(x) * float64(g))
}

// powCost is a rough cost of math.Pow in element operations, for deciding
// when to parallelise.
const powCost = 24

// powOp is a^b with broadcasting.
type powOp struct {
	opkit.Plain
	fr frame
}

var (
	_ gorgonia.Op              = (*powOp)(nil)
	_ gorgonia.SDOp            = (*powOp)(nil)
	_ gorgonia.UsePreallocDoer = (*powOp)(nil)
)

func (op *powOp) Arity() int                                            { return 2 }
func (op *powOp) Type() hm.Type                                         { return op.fr.typ(0) }
func (op *powOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) { return op.fr.outShape(), nil }
func (op *powOp) String() string                                        { return "Pow" + op.fr.String() }
func (op *powOp) WriteHash(h hash.Hash)                                 { fmt.Fprintf(h, "pgaug.elementwise.Pow|%v", op.fr) }
func (op *powOp) Hashcode() uint32                                      { return opkit.Hashcode(op) }

func (op *powOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, vals...)
}

func (op *powOp) UsePreallocDo(prealloc gorgonia.Value, vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, scalar, err := op.fr.data("Pow", vals)
	if err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	out := opkit.NewOutput(prealloc, op.fr.out, scalar, a, b)
	ls := lastStrides(op.fr.out, op.fr.strides)
	la, lb := ls[0], ls[1]
	op.fr.rows(powCost, func(offs []int, offO, run int) {
		ia, ib := offs[0], offs[1]
		for k, o := 0, out.Data[offO:offO+run]; k < run; k++ {
			o[k] = powf(a[ia], b[ib])
			ia += la
			ib += lb
		}
	})
	return out.Value(), nil
}

func (op *powOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op *powOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("Pow gradient: got %d inputs, want 2", len(inputs))
	}
	out := make(gorgonia.Nodes, 2)
	for wrt := range out {
		g, err := gorgonia.ApplyOp(&powGradOp{fr: op.fr, wrt: wrt}, inputs[0], inputs[1], grad)
		if err != nil {
			return nil, fmt.Errorf("Pow gradient: %w", err)
		}
		if out[wrt], err = SumTo(g, op.fr.in[wrt], 1); err != nil {
			return nil, fmt.Errorf("Pow gradient: %w", err)
		}
	}
	return out, nil
}

// powGradOp is ∂(a^b)/∂a·dy (wrt 0) or ∂(a^b)/∂b·dy (wrt 1), in the
// output's shape (SumTo reduces it to the operand's).
type powGradOp struct {
	opkit.Plain
	fr  frame
	wrt int
}

var (
	_ gorgonia.Op              = (*powGradOp)(nil)
	_ gorgonia.UsePreallocDoer = (*powGradOp)(nil)
)

func (op *powGradOp) name() string {
	return [...]string{"Pow gradient (base)", "Pow gradient (exponent)"}[op.wrt]
}
func (op *powGradOp) Arity() int    { return 3 }
func (op *powGradOp) Type() hm.Type { return op.fr.typ(1) }
func (op *powGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.fr.outShape(), nil
}
func (op *powGradOp) String() string { return op.name() + op.fr.String() }
func (op *powGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.elementwise.PowGrad%d|%v", op.wrt, op.fr)
}
func (op *powGradOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *powGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, vals...)
}

func (op *powGradOp) UsePreallocDo(prealloc gorgonia.Value, vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, g, scalar, err := op.fr.gradData(op.name(), vals)
	if err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	out := opkit.NewOutput(prealloc, op.fr.out, scalar, a, b, g)
	ls := lastStrides(op.fr.out, op.fr.strides)
	la, lb := ls[0], ls[1]
	f := powGradBase
	if op.wrt == 1 {
		f = powGradExp
	}
	op.fr.rows(powCost, func(offs []int, offO, run int) {
		ia, ib := offs[0], offs[1]
		gs, o := g[offO:offO+run], out.Data[offO:offO+run]
		for k := range o {
			o[k] = f(a[ia], b[ib], gs[k])
			ia += la
			ib += lb
		}
	})
	return out.Value(), nil
}
