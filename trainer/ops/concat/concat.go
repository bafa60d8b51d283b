package concat

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// Concat joins xs (float32 tensors of one rank, equal but on axis) along
// axis (0 ≤ axis < rank).
func Concat(axis int, xs ...*gorgonia.Node) (*gorgonia.Node, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("Concat: no inputs")
	}
	rank := xs[0].Dims()
	if axis < 0 || axis >= rank {
		return nil, fmt.Errorf("Concat: axis %d of rank-%d inputs", axis, rank)
	}
	for i, x := range xs {
		if err := opkit.CheckFloat32("Concat", fmt.Sprintf("input %d", i), x); err != nil {
			return nil, err
		}
	}
	return opkit.Apply("Concat", &concatOp{axis: axis, rank: rank, n: len(xs)}, xs...)
}

// blocks describes the copies of a concatenation: outer runs, and per input
// a contiguous run of inner[i] values at offset off[i] of each output run of
// total values.
type blocks struct {
	outer int
	inner []int
	off   []int
	total int
}

func blocksOf(axis int, shapes []tensor.Shape) blocks {
	b := blocks{outer: 1, inner: make([]int, len(shapes)), off: make([]int, len(shapes))}
	for _, d := range shapes[0][:axis] {
		b.outer *= d
	}
	for i, s := range shapes {
		n := 1
		for _, d := range s[axis:] {
			n *= d
		}
		b.inner[i], b.off[i] = n, b.total
		b.total += n
	}
	return b
}

// concatShape checks the inputs' shapes and returns the output's.
func concatShape(axis, rank int, shapes []tensor.Shape) (tensor.Shape, error) {
	out := shapes[0].Clone()
	if len(out) != rank {
		return nil, fmt.Errorf("Concat: input 0 has shape %v, want rank %d", out, rank)
	}
	for i, s := range shapes[1:] {
		if len(s) != rank {
			return nil, fmt.Errorf("Concat: input %d has shape %v, want rank %d", i+1, s, rank)
		}
		for d := range s {
			if d != axis && s[d] != out[d] {
				return nil, fmt.Errorf("Concat: input %d has shape %v, input 0 %v: they differ on axis %d, not only on the concatenation axis %d", i+1, s, shapes[0], d, axis)
			}
		}
		out[axis] += s[axis]
	}
	return out, nil
}

type concatOp struct {
	opkit.Plain
	axis, rank, n int
}

func (op *concatOp) Arity() int { return op.n }

func (op *concatOp) Type() hm.Type {
	ranks := make([]int, op.n+1)
	for i := range ranks {
		ranks[i] = op.rank
	}
	return opkit.FnType(ranks...)
}

func (op *concatOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if err := opkit.CheckArity("Concat", len(in), op.n); err != nil {
		return nil, err
	}
	shapes := make([]tensor.Shape, len(in))
	for i, d := range in {
		s, err := opkit.InputShape("Concat", d)
		if err != nil {
			return nil, err
		}
		shapes[i] = s
	}
	return concatShape(op.axis, op.rank, shapes)
}

func (op *concatOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// UsePreallocDo writes into prealloc when it has the output's shape and
// shares no memory with the inputs.
func (op *concatOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := opkit.CheckArity("Concat", len(in), op.n); err != nil {
		return nil, err
	}
	data := make([][]float32, len(in))
	shapes := make([]tensor.Shape, len(in))
	for i, v := range in {
		d, s, _, err := opkit.Float32Data("Concat", v)
		if err != nil {
			return nil, err
		}
		data[i], shapes[i] = d, s
	}
	shape, err := concatShape(op.axis, op.rank, shapes)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, false, data...)
	b := blocksOf(op.axis, shapes)
	y := out.Data
	opkit.ParallelFor(b.outer, len(y), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			row := y[o*b.total : (o+1)*b.total]
			for i, x := range data {
				copy(row[b.off[i]:b.off[i]+b.inner[i]], x[o*b.inner[i]:(o+1)*b.inner[i]])
			}
		}
	})
	return out.Value(), nil
}

func (op *concatOp) String() string { return fmt.Sprintf("Concat(axis=%d, %d inputs)", op.axis, op.n) }

func (op *concatOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.Concat(%d,%d,%d)", op.axis, op.rank, op.n)
}

func (op *concatOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *concatOp) DiffWRT(inputs int) []bool { return opkit.DiffAll(inputs) }

// SymDiff gives each input its slice of the output gradient.
func (op *concatOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if err := opkit.CheckArity("Concat", len(inputs), op.n); err != nil {
		return nil, err
	}
	shapes := make([]tensor.Shape, len(inputs))
	for i, x := range inputs {
		shapes[i] = x.Shape()
	}
	b := blocksOf(op.axis, shapes)
	out := make(gorgonia.Nodes, len(inputs))
	for i := range inputs {
		g := &sliceOp{rank: op.rank, shape: shapes[i].Clone(), inner: b.inner[i], off: b.off[i], total: b.total}
		n, err := opkit.Apply("Concat gradient", g, grad)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// sliceOp is the gradient of Concat for one input: from every run of total
// values of the output gradient, the inner values at off.
type sliceOp struct {
	opkit.Plain
	rank              int
	shape             tensor.Shape // the input's
	inner, off, total int
}

func (op *sliceOp) Arity() int { return 1 }

func (op *sliceOp) Type() hm.Type { return opkit.FnType(op.rank, op.rank) }

func (op *sliceOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if err := opkit.CheckArity("Concat gradient", len(in), 1); err != nil {
		return nil, err
	}
	return op.shape.Clone(), nil
}

func (op *sliceOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// UsePreallocDo writes into prealloc when it has the input's shape and
// shares no memory with the gradient.
func (op *sliceOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := opkit.CheckArity("Concat gradient", len(in), 1); err != nil {
		return nil, err
	}
	dy, s, _, err := opkit.Float32Data("Concat gradient", in[0])
	if err != nil {
		return nil, err
	}
	outer := op.shape.TotalSize() / max(1, op.inner)
	if len(dy) != outer*op.total {
		return nil, fmt.Errorf("Concat gradient: the output gradient has shape %v (%d values), want %d runs of %d", s, len(dy), outer, op.total)
	}
	out := opkit.NewOutput(prealloc, op.shape, false, dy)
	dx := out.Data
	opkit.ParallelFor(outer, len(dx), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			copy(dx[o*op.inner:(o+1)*op.inner], dy[o*op.total+op.off:][:op.inner])
		}
	})
	return out.Value(), nil
}

func (op *sliceOp) String() string {
	return fmt.Sprintf("Concat gradient(%v at %d of %d)", op.shape, op.off, op.total)
}

func (op *sliceOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.ConcatGrad(%v,%d,%d,%d)", op.shape, op.inner, op.off, op.total)
}

func (op *sliceOp) Hashcode() uint32 { return opkit.Hashcode(op) }
