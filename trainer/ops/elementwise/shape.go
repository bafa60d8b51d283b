package elementwise

import (
	"fmt"
	"strings"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// BroadcastShape returns the NumPy broadcast of two shapes.
func BroadcastShape(a, b tensor.Shape) (tensor.Shape, error) {
	n := max(len(a), len(b))
	out := make(tensor.Shape, n)
	for i := 0; i < n; i++ {
		da, db := dimFromRight(a, n-1-i), dimFromRight(b, n-1-i)
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast (axis %d: %d vs %d)", a, b, i, da, db)
		}
	}
	return out, nil
}

// dimFromRight returns the size of s at position k counted in a rank-n
// frame (k = 0 is the leftmost axis of that frame); missing axes are 1.
func dimFromRight(s tensor.Shape, fromRight int) int {
	i := len(s) - 1 - fromRight
	if i < 0 {
		return 1
	}
	return s[i]
}

// broadcastStrides returns, for an operand of shape s viewed in the output
// frame out, the element stride of each output axis (0 on broadcast axes).
func broadcastStrides(s, out tensor.Shape) []int {
	n := len(out)
	strides := make([]int, n)
	stride := 1
	for i := n - 1; i >= 0; i-- {
		d := dimFromRight(s, n-1-i)
		if d == 1 && out[i] != 1 {
			strides[i] = 0
		} else {
			strides[i] = stride
		}
		stride *= d
	}
	return strides
}

func numel(s tensor.Shape) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// forEach calls f(offA, offB, offOut, run) over the output in runs along the
// last axis: for k in [0,run) the elements are a[offA+k*sa], b[offB+k*sb],
// out[offOut+k], where sa, sb are the last-axis strides.
func forEach(out tensor.Shape, sa, sb []int, f func(offA, offB, offOut, run int)) {
	n := len(out)
	if n == 0 {
		f(0, 0, 0, 1)
		return
	}
	run := out[n-1]
	if run == 0 {
		return
	}
	outer := numel(out) / run
	idx := make([]int, n-1)
	offA, offB := 0, 0
	for o := 0; o < outer; o++ {
		f(offA, offB, o*run, run)
		// advance the multi-index over axes 0..n-2
		for ax := n - 2; ax >= 0; ax-- {
			idx[ax]++
			offA += sa[ax]
			offB += sb[ax]
			if idx[ax] < out[ax] {
				break
			}
			offA -= sa[ax] * out[ax]
			offB -= sb[ax] * out[ax]
			idx[ax] = 0
		}
	}
}

// numRows returns the number of runs along the last axis of out (1 for a
// scalar, 0 for an empty shape).
func numRows(out tensor.Shape) int {
	n := len(out)
	if n == 0 {
		return 1
	}
	if out[n-1] == 0 {
		return 0
	}
	return numel(out) / out[n-1]
}

// forRows calls f(offs, offOut, run) for the rows lo..hi-1 of out (runs
// along the last axis, numRows(out) in all), with any number of operands:
// for k in [0,run) the elements are operand i's [offs[i]+k*strides[i][n-1]]
// and out[offOut+k]. strides[i] are operand i's broadcastStrides in out's
// frame. offs is reused between calls: f must not keep it.
func forRows(out tensor.Shape, strides [][]int, lo, hi int, f func(offs []int, offOut, run int)) {
	n := len(out)
	offs := make([]int, len(strides))
	if n == 0 {
		if lo < hi {
			f(offs, 0, 1)
		}
		return
	}
	run := out[n-1]
	idx := make([]int, n-1)
	rem := lo
	for ax := n - 2; ax >= 0; ax-- {
		idx[ax] = rem % out[ax]
		rem /= out[ax]
		for i, s := range strides {
			offs[i] += idx[ax] * s[ax]
		}
	}
	for o := lo; o < hi; o++ {
		f(offs, o*run, run)
		for ax := n - 2; ax >= 0; ax-- {
			idx[ax]++
			for i, s := range strides {
				offs[i] += s[ax]
			}
			if idx[ax] < out[ax] {
				break
			}
			for i, s := range strides {
				offs[i] -= s[ax] * out[ax]
			}
			idx[ax] = 0
		}
	}
}

// lastStrides returns each operand's stride along the last axis of out
// (0 for a scalar output).
func lastStrides(out tensor.Shape, strides [][]int) []int {
	ls := make([]int, len(strides))
	if n := len(out); n > 0 {
		for i, s := range strides {
			ls[i] = s[n-1]
		}
	}
	return ls
}

// frame is the NumPy broadcast of several operands: their shapes, the
// output shape and each operand's strides in the output's frame.
type frame struct {
	in      []tensor.Shape
	out     tensor.Shape
	strides [][]int
}

func newFrame(shapes ...tensor.Shape) (frame, error) {
	fr := frame{in: make([]tensor.Shape, len(shapes))}
	var out tensor.Shape
	for i, s := range shapes {
		fr.in[i] = s.Clone()
		if i == 0 {
			out = s.Clone()
			continue
		}
		b, err := BroadcastShape(out, s)
		if err != nil {
			return frame{}, err
		}
		out = b
	}
	fr.out = out
	fr.strides = make([][]int, len(shapes))
	for i, s := range fr.in {
		fr.strides[i] = broadcastStrides(s, out)
	}
	return fr, nil
}

// outShape is the output shape as InferShape reports it.
func (fr frame) outShape() tensor.Shape {
	if len(fr.out) == 0 {
		return tensor.ScalarShape()
	}
	return fr.out.Clone()
}

// data returns the float32 elements of the operands, checking their sizes
// against the frame; allScalar reports that every operand is a gorgonia
// Scalar (a scalar output is then a Scalar too).
func (fr frame) data(name string, vals []gorgonia.Value) (data [][]float32, allScalar bool, err error) {
	if err := opkit.CheckArity(name, len(vals), len(fr.in)); err != nil {
		return nil, false, err
	}
	data = make([][]float32, len(vals))
	allScalar = true
	for i, v := range vals {
		d, _, scalar, err := opkit.Float32Data(name, v)
		if err != nil {
			return nil, false, err
		}
		if len(d) != numel(fr.in[i]) {
			return nil, false, fmt.Errorf("%s: input %d has %d elements, the graph expects shape %v", name, i, len(d), fr.in[i])
		}
		data[i] = d
		allScalar = allScalar && scalar
	}
	return data, allScalar, nil
}

// gradData reads the inputs of a gradient operator over the frame: the
// operands, then the output gradient (of the output's shape). scalar reports
// that all of them are gorgonia Scalars.
func (fr frame) gradData(name string, vals []gorgonia.Value) (in [][]float32, g []float32, scalar bool, err error) {
	n := len(fr.in)
	if err := opkit.CheckArity(name, len(vals), n+1); err != nil {
		return nil, nil, false, err
	}
	in, scalar, err = fr.data(name, vals[:n])
	if err != nil {
		return nil, nil, false, err
	}
	g, _, gScalar, err := opkit.Float32Data(name, vals[n])
	if err != nil {
		return nil, nil, false, err
	}
	if err := opkit.CheckGradSize(name, len(g), numel(fr.out)); err != nil {
		return nil, nil, false, err
	}
	return in, g, scalar && gScalar, nil
}

// rows runs f over every row of the output, on several goroutines when
// costPerElem·numel(out) is large enough (see opkit.ParallelFor).
func (fr frame) rows(costPerElem int, f func(offs []int, offOut, run int)) {
	opkit.ParallelFor(numRows(fr.out), costPerElem*numel(fr.out), func(lo, hi int) {
		forRows(fr.out, fr.strides, lo, hi, f)
	})
}

// typ is the gorgonia type of an op taking the operands (and extra
// operands of the output's shape) and returning the output.
func (fr frame) typ(extraOutShaped int) hm.Type {
	ts := make([]hm.Type, 0, len(fr.in)+extraOutShaped+1)
	for _, s := range fr.in {
		ts = append(ts, opkit.TensorType(len(s)))
	}
	for i := 0; i < extraOutShaped; i++ {
		ts = append(ts, opkit.TensorType(len(fr.out)))
	}
	return hm.NewFnType(append(ts, opkit.TensorType(len(fr.out)))...)
}

func (fr frame) String() string {
	var b strings.Builder
	for _, s := range fr.in {
		fmt.Fprintf(&b, "%v", s)
	}
	fmt.Fprintf(&b, "→%v", fr.out)
	return b.String()
}
