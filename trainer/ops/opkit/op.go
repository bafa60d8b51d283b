package opkit

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds the pieces of gorgonia.Op that the operators share: the
// fixed methods, the type signature, the hash, the arity and shape checks of
// InferShape, the input reads of Do, and SymDiff for a one-input operator.
// Every error names the operator (op); a gradient operator's name is the
// forward operator's with " gradient" appended.

// Plain supplies ReturnsPtr, CallsExtern and OverwritesInput for an operator
// that returns a value of its own (a new tensor, or the preallocated one it
// is given), runs in Go on the CPU and writes into none of its inputs, which
// is every operator of trainer/ops. Embed it in the operator's struct.
type Plain struct{}

// ReturnsPtr is false: the result is not a pointer into an input.
func (Plain) ReturnsPtr() bool { return false }

// CallsExtern is false: the operator runs in Go, not on a device.
func (Plain) CallsExtern() bool { return false }

// OverwritesInput is -1: no input is written.
func (Plain) OverwritesInput() int { return -1 }

// FnType is the gorgonia type of an operator over float tensors of the given
// ranks, one type variable for all of them: the operands' ranks, then the
// result's last. Rank 0 is a scalar (see [TensorType]).
func FnType(ranks ...int) hm.Type {
	ts := make([]hm.Type, len(ranks))
	for i, r := range ranks {
		ts[i] = TensorType(r)
	}
	return hm.NewFnType(ts...)
}

// HashWriter is an operator that writes its identity into a hash (the
// WriteHash method of gorgonia.Op).
type HashWriter interface{ WriteHash(hash.Hash) }

// Hashcode is an operator's Hashcode: the 32-bit FNV-1a hash of what its
// WriteHash writes.
func Hashcode(op HashWriter) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// DiffAll is the DiffWRT of an operator differentiable in each of its n
// inputs.
func DiffAll(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

// CheckArity reports an error naming op unless it got want inputs (of
// InferShape, Do or SymDiff).
func CheckArity(op string, got, want int) error {
	if got != want {
		return fmt.Errorf("%s: got %d inputs, want %d", op, got, want)
	}
	return nil
}

// UnaryShape is the shape check of the InferShape of a one-input operator:
// it checks that there is one input and returns a copy of its shape (which
// is the result's shape for an elementwise operator).
func UnaryShape(op string, in []gorgonia.DimSizer) (tensor.Shape, error) {
	if err := CheckArity(op, len(in), 1); err != nil {
		return nil, err
	}
	s, err := InputShape(op, in[0])
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

// GradShapes is the shape check of the InferShape of a gradient operator
// whose inputs are (x, dy): x (the forward input or output) and the output
// gradient. It checks that there are two inputs and returns their shapes; the
// caller checks dy's against what the forward operator gives for x (see
// [CheckGradShape]).
func GradShapes(op string, in []gorgonia.DimSizer) (x, dy tensor.Shape, err error) {
	if err = CheckArity(op, len(in), 2); err != nil {
		return nil, nil, err
	}
	if x, err = InputShape(op, in[0]); err != nil {
		return nil, nil, err
	}
	if dy, err = InputShape(op, in[1]); err != nil {
		return nil, nil, err
	}
	return x, dy, nil
}

// CheckGradShape reports an error naming op unless the output gradient's
// shape dy is want, the shape of the forward operator's output.
func CheckGradShape(op string, dy, want tensor.Shape) error {
	if !dy.Eq(want) {
		return fmt.Errorf("%s: output gradient has shape %v, want %v", op, dy, want)
	}
	return nil
}

// ElementwiseGradShape is the InferShape of an elementwise gradient operator
// (x, dy) → dx: dy must have x's shape, and so has the result (a copy).
func ElementwiseGradShape(op string, in []gorgonia.DimSizer) (tensor.Shape, error) {
	x, dy, err := GradShapes(op, in)
	if err != nil {
		return nil, err
	}
	if !x.Eq(dy) {
		return nil, fmt.Errorf("%s: output gradient has shape %v, want the input's %v", op, dy, x)
	}
	return x.Clone(), nil
}

// UnaryData reads the input of the Do of a one-input operator: it checks that
// there is one and returns what [Float32Data] returns for it.
func UnaryData(op string, in []gorgonia.Value) (x []float32, shape tensor.Shape, scalar bool, err error) {
	if err = CheckArity(op, len(in), 1); err != nil {
		return nil, nil, false, err
	}
	return Float32Data(op, in[0])
}

// GradValues reads the inputs (x, dy) of the Do of a gradient operator: it
// checks that there are two and returns their float32 elements and shapes
// (see [Float32Data]). The caller checks dy against x.
func GradValues(op string, in []gorgonia.Value) (x, dy []float32, xShape, dyShape tensor.Shape, err error) {
	if err = CheckArity(op, len(in), 2); err != nil {
		return nil, nil, nil, nil, err
	}
	if x, xShape, _, err = Float32Data(op, in[0]); err != nil {
		return nil, nil, nil, nil, err
	}
	if dy, dyShape, _, err = Float32Data(op, in[1]); err != nil {
		return nil, nil, nil, nil, err
	}
	return x, dy, xShape, dyShape, nil
}

// GradData reads the inputs (x, dy) of the Do of an elementwise gradient
// operator: as [GradValues], and dy must have as many elements as x. shape
// and scalar are x's (see [Float32Data]).
func GradData(op string, in []gorgonia.Value) (x, dy []float32, shape tensor.Shape, scalar bool, err error) {
	if err = CheckArity(op, len(in), 2); err != nil {
		return nil, nil, nil, false, err
	}
	if x, shape, scalar, err = Float32Data(op, in[0]); err != nil {
		return nil, nil, nil, false, err
	}
	if dy, _, _, err = Float32Data(op, in[1]); err != nil {
		return nil, nil, nil, false, err
	}
	if err = CheckGradSize(op, len(dy), len(x)); err != nil {
		return nil, nil, nil, false, err
	}
	return x, dy, shape, scalar, nil
}

// CheckGradSize reports an error naming op unless the output gradient has
// want elements.
func CheckGradSize(op string, got, want int) error {
	if got != want {
		return fmt.Errorf("%s: output gradient has %d elements, want %d", op, got, want)
	}
	return nil
}

// Apply applies op to the nodes, an error wrapped as "name: ...".
func Apply(name string, op gorgonia.Op, args ...*gorgonia.Node) (*gorgonia.Node, error) {
	out, err := gorgonia.ApplyOp(op, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// ApplyUnary applies the one-input operator name to x: it checks that x is a
// float32 node (see [CheckFloat32]), builds the operator for x's rank with
// newOp and applies it (see [Apply]).
func ApplyUnary(name string, x *gorgonia.Node, newOp func(rank int) gorgonia.Op) (*gorgonia.Node, error) {
	if err := CheckFloat32(name, "input", x); err != nil {
		return nil, err
	}
	return Apply(name, newOp(ShapeOf(x).Dims()), x)
}

// UnaryGrad is the SymDiff of a one-input operator named op whose input
// gradient is gradOp applied to (x, dy), x the input and dy the output
// gradient grad. Errors are "op gradient: ...".
func UnaryGrad(op string, inputs gorgonia.Nodes, grad *gorgonia.Node, gradOp gorgonia.Op) (gorgonia.Nodes, error) {
	name := op + " gradient"
	if err := CheckArity(name, len(inputs), 1); err != nil {
		return nil, err
	}
	dx, err := Apply(name, gradOp, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}
