package elementwise

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// Max returns the elementwise maximum of one or more tensors with NumPy
// broadcasting (ONNX Max). NaN propagates: an element is NaN when any
// operand's is. One operand is returned as it is.
//
// The gradient goes to the operands equal to the maximum, split evenly
// between ties: for two operands this is PyTorch's torch.maximum (half
// each on a tie) and also what central finite differences measure at a
// tie. Where the maximum is NaN it goes to the NaN operands, split evenly
// (torch.maximum gives the whole gradient to both operands there). The
// gradients of the operands always sum to the output's gradient.
func Max(xs ...*gorgonia.Node) (*gorgonia.Node, error) { return extremum(true, xs) }

// Min is the elementwise minimum, as [Max] in every other respect (ONNX
// Min, PyTorch torch.minimum).
func Min(xs ...*gorgonia.Node) (*gorgonia.Node, error) { return extremum(false, xs) }

func extremumName(isMax bool) string {
	if isMax {
		return "Max"
	}
	return "Min"
}

func extremum(isMax bool, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	name := extremumName(isMax)
	if len(xs) == 0 {
		return nil, fmt.Errorf("%s needs at least one input", name)
	}
	shapes := make([]tensor.Shape, len(xs))
	for i, x := range xs {
		if err := opkit.CheckFloat32(name, fmt.Sprintf("input %d", i), x); err != nil {
			return nil, err
		}
		shapes[i] = opkit.ShapeOf(x)
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	fr, err := newFrame(shapes...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	n, err := gorgonia.ApplyOp(&extremumOp{isMax: isMax, fr: fr}, xs...)
	if err != nil {
		return nil, fmt.Errorf("%s of %v: %w", name, fr, err)
	}
	return n, nil
}

// better reports whether v replaces the extremum m so far: it is larger
// (smaller), or NaN.
func better(isMax bool, v, m float32) bool {
	if isMax {
		return v > m || v != v
	}
	return v < m || v != v
}

// selected reports whether operand value v attains the extremum m (NaN
// attains a NaN extremum).
func selected(v, m float32) bool { return v == m || (m != m && v != v) }

// extremumOp is the maximum (minimum) of its operands, with broadcasting.
type extremumOp struct {
	opkit.Plain
	isMax bool
	fr    frame
}

var (
	_ gorgonia.Op              = (*extremumOp)(nil)
	_ gorgonia.SDOp            = (*extremumOp)(nil)
	_ gorgonia.UsePreallocDoer = (*extremumOp)(nil)
)

func (op *extremumOp) name() string  { return extremumName(op.isMax) }
func (op *extremumOp) Arity() int    { return len(op.fr.in) }
func (op *extremumOp) Type() hm.Type { return op.fr.typ(0) }
func (op *extremumOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.fr.outShape(), nil
}
func (op *extremumOp) String() string { return op.name() + op.fr.String() }
func (op *extremumOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.elementwise.%s|%v", op.name(), op.fr)
}
func (op *extremumOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *extremumOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, vals...)
}

func (op *extremumOp) UsePreallocDo(prealloc gorgonia.Value, vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, scalar, err := op.fr.data(op.name(), vals)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, op.fr.out, scalar, in...)
	ls := lastStrides(op.fr.out, op.fr.strides)
	isMax := op.isMax
	op.fr.rows(len(in), func(offs []int, offO, run int) {
		o := out.Data[offO : offO+run]
		for k := range o {
			m := in[0][offs[0]+k*ls[0]]
			for i := 1; i < len(in); i++ {
				if v := in[i][offs[i]+k*ls[i]]; better(isMax, v, m) {
					m = v
				}
			}
			o[k] = m
		}
	})
	return out.Value(), nil
}

func (op *extremumOp) DiffWRT(n int) []bool { return opkit.DiffAll(n) }

func (op *extremumOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != len(op.fr.in) {
		return nil, fmt.Errorf("%s gradient: got %d inputs, want %d", op.name(), len(inputs), len(op.fr.in))
	}
	args := append(append(gorgonia.Nodes{}, inputs...), grad)
	out := make(gorgonia.Nodes, len(inputs))
	for wrt := range inputs {
		g, err := gorgonia.ApplyOp(&extremumGradOp{isMax: op.isMax, fr: op.fr, wrt: wrt}, args...)
		if err != nil {
			return nil, fmt.Errorf("%s gradient: %w", op.name(), err)
		}
		if out[wrt], err = SumTo(g, op.fr.in[wrt], 1); err != nil {
			return nil, fmt.Errorf("%s gradient: %w", op.name(), err)
		}
	}
	return out, nil
}

// extremumGradOp is operand wrt's share of the output gradient, in the
// output's shape: dy/c where the operand attains the extremum and c
// operands do, 0 elsewhere. Its inputs are the operands and dy.
type extremumGradOp struct {
	opkit.Plain
	isMax bool
	fr    frame
	wrt   int
}

var (
	_ gorgonia.Op              = (*extremumGradOp)(nil)
	_ gorgonia.UsePreallocDoer = (*extremumGradOp)(nil)
)

func (op *extremumGradOp) name() string {
	return fmt.Sprintf("%s gradient (input %d)", extremumName(op.isMax), op.wrt)
}
func (op *extremumGradOp) Arity() int    { return len(op.fr.in) + 1 }
func (op *extremumGradOp) Type() hm.Type { return op.fr.typ(1) }
func (op *extremumGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.fr.outShape(), nil
}
func (op *extremumGradOp) String() string { return op.name() + op.fr.String() }
func (op *extremumGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.elementwise.%sGrad%d|%v", extremumName(op.isMax), op.wrt, op.fr)
}
func (op *extremumGradOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *extremumGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, vals...)
}

func (op *extremumGradOp) UsePreallocDo(prealloc gorgonia.Value, vals ...gorgonia.Value) (gorgonia.Value, error) {
	n := len(op.fr.in)
	in, g, scalar, err := op.fr.gradData(op.name(), vals)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, op.fr.out, scalar, append(append([][]float32{}, in...), g)...)
	ls := lastStrides(op.fr.out, op.fr.strides)
	isMax, wrt := op.isMax, op.wrt
	op.fr.rows(2*n, func(offs []int, offO, run int) {
		o, gs := out.Data[offO:offO+run], g[offO:offO+run]
		for k := range o {
			m := in[0][offs[0]+k*ls[0]]
			for i := 1; i < n; i++ {
				if v := in[i][offs[i]+k*ls[i]]; better(isMax, v, m) {
					m = v
				}
			}
			if !selected(in[wrt][offs[wrt]+k*ls[wrt]], m) {
				o[k] = 0
				continue
			}
			c := 0
			for i := 0; i < n; i++ {
				if selected(in[i][offs[i]+k*ls[i]], m) {
					c++
				}
			}
			o[k] = gs[k] / float32(c)
		}
	})
	return out.Value(), nil
}
