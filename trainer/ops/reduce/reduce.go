package reduce

import (
	"fmt"
	"hash"
	"slices"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// ReduceSum sums x over axes, as ONNX ReduceSum. Negative axes count from the
// end; nil or empty axes reduce every axis (ONNX's behaviour when
// noop_with_empty_axes is 0; with noop_with_empty_axes = 1 and no axes the
// importer should use x itself). keepDims keeps the reduced axes with length
// 1 (the ONNX default). Reducing every axis without keepDims gives a scalar
// node. Sums accumulate in float64.
func ReduceSum(x *gorgonia.Node, axes []int, keepDims bool) (*gorgonia.Node, error) {
	return applyReduce("ReduceSum", x, axes, keepDims, false)
}

// ReduceMean is the mean of x over axes, as ONNX ReduceMean; the arguments are
// those of [ReduceSum].
func ReduceMean(x *gorgonia.Node, axes []int, keepDims bool) (*gorgonia.Node, error) {
	return applyReduce("ReduceMean", x, axes, keepDims, true)
}

func applyReduce(name string, x *gorgonia.Node, axes []int, keepDims, mean bool) (*gorgonia.Node, error) {
	if err := opkit.CheckFloat32(name, "input", x); err != nil {
		return nil, err
	}
	shape := opkit.ShapeOf(x)
	if shape.Dims() == 0 {
		return nil, fmt.Errorf("%s: input %q is a scalar, want a tensor of rank >= 1", name, x.Name())
	}
	norm, err := normaliseAxes(name, axes, shape.Dims())
	if err != nil {
		return nil, err
	}
	op := &reduceOp{name: name, axes: norm, keepDims: keepDims, mean: mean, rank: shape.Dims()}
	return opkit.Apply(name, op, x)
}

// normaliseAxes checks axes against rank and returns them sorted and
// non-negative; no axes means all.
func normaliseAxes(name string, axes []int, rank int) ([]int, error) {
	if len(axes) == 0 {
		all := make([]int, rank)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		if a < -rank || a >= rank {
			return nil, fmt.Errorf("%s: axis %d out of range for rank %d (want -%d..%d)", name, a, rank, rank, rank-1)
		}
		if a < 0 {
			a += rank
		}
		out[i] = a
	}
	slices.Sort(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			return nil, fmt.Errorf("%s: axis %d given twice in %v", name, out[i], axes)
		}
	}
	return out, nil
}

// reduction describes a reduction of a contiguous row-major tensor, with
// adjacent axes of the same kind merged and length-1 axes dropped.
type reduction struct {
	segs     []segment
	inSize   int
	outSize  int
	count    int // elements summed into each output
	outShape tensor.Shape
}

type segment struct {
	size      int
	reduced   bool
	inStride  int
	outStride int // 0 for reduced segments
}

func planReduction(in tensor.Shape, axes []int, keepDims bool) reduction {
	red := make([]bool, len(in))
	for _, a := range axes {
		red[a] = true
	}
	var r reduction
	r.inSize, r.outSize, r.count = 1, 1, 1
	r.outShape = tensor.Shape{}
	for d, s := range in {
		r.inSize *= s
		if red[d] {
			r.count *= s
			if keepDims {
				r.outShape = append(r.outShape, 1)
			}
		} else {
			r.outSize *= s
			r.outShape = append(r.outShape, s)
		}
		if s == 1 {
			continue
		}
		if n := len(r.segs); n > 0 && r.segs[n-1].reduced == red[d] {
			r.segs[n-1].size *= s
		} else {
			r.segs = append(r.segs, segment{size: s, reduced: red[d]})
		}
	}
	in1, out1 := 1, 1
	for i := len(r.segs) - 1; i >= 0; i-- {
		r.segs[i].inStride = in1
		in1 *= r.segs[i].size
		if !r.segs[i].reduced {
			r.segs[i].outStride = out1
			out1 *= r.segs[i].size
		}
	}
	return r
}

// sum accumulates in (r.inSize elements) into acc (r.outSize elements).
func (r *reduction) sum(in []float32, acc []float64) {
	if len(r.segs) == 0 { // every axis has length 1
		acc[0] += float64(in[0])
		return
	}
	first := r.segs[0]
	if !first.reduced {
		if len(r.segs) == 1 {
			r.sumRec(r.segs, in, acc, 0, 0)
			return
		}
		// The outputs of different indices of the first (kept) segment are
		// disjoint: split it across goroutines.
		opkit.ParallelFor(first.size, r.inSize, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r.sumRec(r.segs[1:], in, acc, i*first.inStride, i*first.outStride)
			}
		})
		return
	}
	// The first segment is reduced: split it into a number of chunks that
	// depends on the sizes only (so results do not depend on the number of
	// cores), sum each into its own partial and add the partials in order.
	chunks := 1
	if r.inSize >= opkit.MinParallelWork {
		chunks = min(first.size, 8)
	}
	per := (first.size + chunks - 1) / chunks
	chunks = (first.size + per - 1) / per
	parts := make([]float64, chunks*r.outSize)
	opkit.ParallelFor(chunks, r.inSize, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			p := parts[k*r.outSize : (k+1)*r.outSize]
			i0, i1 := k*per, min((k+1)*per, first.size)
			if len(r.segs) == 1 { // one contiguous run
				var t float64
				for _, v := range in[i0:i1] {
					t += float64(v)
				}
				p[0] += t
				continue
			}
			for i := i0; i < i1; i++ {
				r.sumRec(r.segs[1:], in, p, i*first.inStride, 0)
			}
		}
	})
	for k := 0; k < chunks; k++ {
		for j, v := range parts[k*r.outSize : (k+1)*r.outSize] {
			acc[j] += v
		}
	}
}

func (r *reduction) sumRec(segs []segment, in []float32, acc []float64, inOff, outOff int) {
	s := segs[0]
	if len(segs) == 1 {
		src := in[inOff : inOff+s.size]
		if s.reduced {
			var t float64
			for _, v := range src {
				t += float64(v)
			}
			acc[outOff] += t
		} else {
			dst := acc[outOff : outOff+s.size]
			for i, v := range src {
				dst[i] += float64(v)
			}
		}
		return
	}
	for i := 0; i < s.size; i++ {
		r.sumRec(segs[1:], in, acc, inOff+i*s.inStride, outOff+i*s.outStride)
	}
}

// broadcast writes dx[i] = scale·dy[output index of i].
func (r *reduction) broadcast(dy, dx []float32, scale float32) {
	if len(r.segs) == 0 {
		dx[0] = scale * dy[0]
		return
	}
	first := r.segs[0]
	if len(r.segs) == 1 {
		r.broadcastRec(r.segs, dy, dx, scale, 0, 0)
		return
	}
	opkit.ParallelFor(first.size, r.inSize, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r.broadcastRec(r.segs[1:], dy, dx, scale, i*first.inStride, i*first.outStride)
		}
	})
}

func (r *reduction) broadcastRec(segs []segment, dy, dx []float32, scale float32, inOff, outOff int) {
	s := segs[0]
	if len(segs) == 1 {
		dst := dx[inOff : inOff+s.size]
		if s.reduced {
			v := scale * dy[outOff]
			for i := range dst {
				dst[i] = v
			}
		} else {
			src := dy[outOff : outOff+s.size]
			for i, v := range src {
				dst[i] = scale * v
			}
		}
		return
	}
	for i := 0; i < s.size; i++ {
		r.broadcastRec(segs[1:], dy, dx, scale, inOff+i*s.inStride, outOff+i*s.outStride)
	}
}

// reduceOp sums or averages over axes.
type reduceOp struct {
	opkit.Plain
	name     string
	axes     []int // sorted, non-negative
	keepDims bool
	mean     bool
	rank     int
}

var (
	_ gorgonia.Op              = (*reduceOp)(nil)
	_ gorgonia.SDOp            = (*reduceOp)(nil)
	_ gorgonia.UsePreallocDoer = (*reduceOp)(nil)
)

func (op *reduceOp) outRank() int {
	if op.keepDims {
		return op.rank
	}
	return op.rank - len(op.axes)
}

func (op *reduceOp) Arity() int { return 1 }

func (op *reduceOp) Type() hm.Type { return opkit.FnType(op.rank, op.outRank()) }

// checkRank reports an error naming op unless the input's shape s has the
// rank the operator was built for.
func checkRank(op string, s tensor.Shape, rank int) error {
	if s.Dims() != rank {
		return fmt.Errorf("%s: input has shape %v, want rank %d", op, s, rank)
	}
	return nil
}

func (op *reduceOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := opkit.UnaryShape(op.name, in)
	if err != nil {
		return nil, err
	}
	if err := checkRank(op.name, s, op.rank); err != nil {
		return nil, err
	}
	r := planReduction(s, op.axes, op.keepDims)
	return r.outShape, nil
}

func (op *reduceOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *reduceOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, shape, _, err := opkit.UnaryData(op.name, in)
	if err != nil {
		return nil, err
	}
	if err := checkRank(op.name, shape, op.rank); err != nil {
		return nil, err
	}
	r := planReduction(shape, op.axes, op.keepDims)
	out := opkit.NewOutput(prealloc, r.outShape, true, x)
	acc := make([]float64, r.outSize)
	r.sum(x, acc)
	scale := 1.0
	if op.mean {
		scale = 1 / float64(r.count)
	}
	for i, v := range acc {
		out.Data[i] = float32(v * scale)
	}
	return out.Value(), nil
}

func (op *reduceOp) String() string {
	return fmt.Sprintf("%s(axes=%v, keepdims=%t)", op.name, op.axes, op.keepDims)
}

func (op *reduceOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.reduce.%s%v/%t/%t/%d", op.name, op.axes, op.keepDims, op.mean, op.rank)
}

func (op *reduceOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *reduceOp) DiffWRT(int) []bool { return []bool{true} }

func (op *reduceOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return opkit.UnaryGrad(op.name, inputs, grad, &reduceGradOp{fwd: *op})
}

// reduceGradOp spreads the output gradient back over the reduced axes:
// (x, dy) → dx. x only gives the shape.
type reduceGradOp struct {
	opkit.Plain
	fwd reduceOp
}

var (
	_ gorgonia.Op              = (*reduceGradOp)(nil)
	_ gorgonia.UsePreallocDoer = (*reduceGradOp)(nil)
)

func (op *reduceGradOp) Arity() int { return 2 }

func (op *reduceGradOp) name() string { return op.fwd.name + " gradient" }

func (op *reduceGradOp) Type() hm.Type {
	r := op.fwd.rank
	return opkit.FnType(r, op.fwd.outRank(), r)
}

func (op *reduceGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, g, err := opkit.GradShapes(op.name(), in)
	if err != nil {
		return nil, err
	}
	if err := opkit.CheckGradShape(op.name(), g, planReduction(s, op.fwd.axes, op.fwd.keepDims).outShape); err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

func (op *reduceGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *reduceGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	name := op.name()
	// x gives the shape; its data only guards against writing over it.
	x, dy, shape, _, err := opkit.GradValues(name, in)
	if err != nil {
		return nil, err
	}
	if err := checkRank(name, shape, op.fwd.rank); err != nil {
		return nil, err
	}
	r := planReduction(shape, op.fwd.axes, op.fwd.keepDims)
	if err := opkit.CheckGradSize(name, len(dy), r.outSize); err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, false, x, dy)
	scale := float32(1)
	if op.fwd.mean {
		scale = float32(1 / float64(r.count))
	}
	r.broadcast(dy, out.Data, scale)
	return out.Value(), nil
}

func (op *reduceGradOp) String() string { return op.fwd.String() + "'" }

func (op *reduceGradOp) WriteHash(h hash.Hash) {
	h.Write([]byte("grad:"))
	op.fwd.WriteHash(h)
}

func (op *reduceGradOp) Hashcode() uint32 { return opkit.Hashcode(op) }
