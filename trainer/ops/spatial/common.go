package spatial

import (
	"fmt"
	"hash"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// writeHash is the WriteHash of every operator here: its String names every
// parameter.
func writeHash(h hash.Hash, s fmt.Stringer) { fmt.Fprint(h, s.String()) }

// shapeOf returns the i-th DimSizer as a tensor.Shape of the given rank.
func shapeOf(op, what string, ds []gorgonia.DimSizer, i, rank int) (tensor.Shape, error) {
	if i >= len(ds) {
		return nil, fmt.Errorf("%s: missing %s", op, what)
	}
	s, ok := ds[i].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%s: %s has a shape of type %T, expected tensor.Shape", op, what, ds[i])
	}
	if len(s) != rank {
		return nil, fmt.Errorf("%s: %s has shape %v, expected %d dimensions", op, what, s, rank)
	}
	return s, nil
}

// shapesOf checks that InferShape got want inputs, each of the given rank,
// and returns their shapes.
func shapesOf(op, what string, ds []gorgonia.DimSizer, want, rank int) ([]tensor.Shape, error) {
	if err := opkit.CheckArity(op, len(ds), want); err != nil {
		return nil, err
	}
	ss := make([]tensor.Shape, len(ds))
	for i := range ds {
		s, err := shapeOf(op, what, ds, i, rank)
		if err != nil {
			return nil, err
		}
		ss[i] = s
	}
	return ss, nil
}

// f32All checks that Do got want inputs, each of the given rank, and returns
// their data and shapes (see f32).
func f32All(op, what string, in []gorgonia.Value, want, rank int) ([][]float32, []tensor.Shape, error) {
	if err := opkit.CheckArity(op, len(in), want); err != nil {
		return nil, nil, err
	}
	data := make([][]float32, len(in))
	ss := make([]tensor.Shape, len(in))
	for i, v := range in {
		var err error
		if data[i], ss[i], err = f32(op, what, v, rank); err != nil {
			return nil, nil, err
		}
	}
	return data, ss, nil
}

// f32 returns the contiguous float32 data and the shape of a value, copying
// views that need an iterator.
func f32(op, what string, v gorgonia.Value, rank int) ([]float32, tensor.Shape, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, nil, fmt.Errorf("%s: %s is a %T, expected a *tensor.Dense", op, what, v)
	}
	if d.Dtype() != tensor.Float32 {
		return nil, nil, fmt.Errorf("%s: %s is %v, expected float32", op, what, d.Dtype())
	}
	s := d.Shape()
	if len(s) != rank {
		return nil, nil, fmt.Errorf("%s: %s has shape %v, expected %d dimensions", op, what, s, rank)
	}
	if d.RequiresIterator() {
		d = d.Materialize().(*tensor.Dense)
	}
	data, ok := d.Data().([]float32)
	if !ok || len(data) < s.TotalSize() {
		return nil, nil, fmt.Errorf("%s: %s (shape %v) has no contiguous float32 data", op, what, s)
	}
	return data[:s.TotalSize()], s.Clone(), nil
}

// output returns the destination of an operator's result: prealloc when
// it is a float32 tensor of the shape that shares no memory with the
// inputs (opkit.NewOutput), a new tensor otherwise.
func output(prealloc gorgonia.Value, inputs [][]float32, shape ...int) (*tensor.Dense, []float32) {
	o := opkit.NewOutput(prealloc, tensor.Shape(shape), false, inputs...)
	return o.Dense, o.Data
}

// nodeShape checks a node's rank and dtype before an op is applied to it.
func nodeShape(op, what string, n *gorgonia.Node, rank int) (tensor.Shape, error) {
	if n == nil {
		return nil, fmt.Errorf("%s: %s is nil", op, what)
	}
	if n.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("%s: %s %q is %v, expected float32", op, what, n.Name(), n.Dtype())
	}
	s := n.Shape()
	if len(s) != rank {
		return nil, fmt.Errorf("%s: %s %q has shape %v, expected %d dimensions", op, what, n.Name(), s, rank)
	}
	return s, nil
}

// The operators satisfy gorgonia's interfaces.
var (
	_ gorgonia.SDOp            = (*convOp)(nil)
	_ gorgonia.SDOp            = (*convTransposeOp)(nil)
	_ gorgonia.SDOp            = (*poolOp)(nil)
	_ gorgonia.SDOp            = globalPoolOp{}
	_ gorgonia.UsePreallocDoer = (*convOp)(nil)
	_ gorgonia.UsePreallocDoer = (*convTransposeOp)(nil)
	_ gorgonia.UsePreallocDoer = (*convWeightGradOp)(nil)
	_ gorgonia.UsePreallocDoer = biasGradOp{}
	_ gorgonia.UsePreallocDoer = (*poolOp)(nil)
	_ gorgonia.UsePreallocDoer = (*poolGradOp)(nil)
	_ gorgonia.UsePreallocDoer = globalPoolOp{}
	_ gorgonia.UsePreallocDoer = globalPoolGradOp{}
)
