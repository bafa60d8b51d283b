package reduce

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// Softmax is exp(x - max) / Σ exp(x - max) along one axis (ONNX Softmax,
// opset 13 and later; the ONNX default axis is -1). Negative axes count from
// the end. Exponentials and sums are computed in float64.
func Softmax(x *gorgonia.Node, axis int) (*gorgonia.Node, error) {
	return applySoftmax("Softmax", x, axis, false, false)
}

// LogSoftmax is x - max - log Σ exp(x - max) along one axis (ONNX
// LogSoftmax, opset 13 and later).
func LogSoftmax(x *gorgonia.Node, axis int) (*gorgonia.Node, error) {
	return applySoftmax("LogSoftmax", x, axis, true, false)
}

// SoftmaxOpset11 is ONNX Softmax before opset 13: the input is seen as a
// matrix of prod(shape[:axis]) rows and the softmax runs over each whole row
// (the old default axis is 1).
func SoftmaxOpset11(x *gorgonia.Node, axis int) (*gorgonia.Node, error) {
	return applySoftmax("Softmax", x, axis, false, true)
}

// LogSoftmaxOpset11 is ONNX LogSoftmax before opset 13 (see
// [SoftmaxOpset11]).
func LogSoftmaxOpset11(x *gorgonia.Node, axis int) (*gorgonia.Node, error) {
	return applySoftmax("LogSoftmax", x, axis, true, true)
}

func applySoftmax(name string, x *gorgonia.Node, axis int, log, coerce bool) (*gorgonia.Node, error) {
	if err := opkit.CheckFloat32(name, "input", x); err != nil {
		return nil, err
	}
	rank := opkit.ShapeOf(x).Dims()
	if rank == 0 {
		return nil, fmt.Errorf("%s: input %q is a scalar, want a tensor of rank >= 1", name, x.Name())
	}
	if axis < -rank || axis >= rank {
		return nil, fmt.Errorf("%s: axis %d out of range for rank %d (want -%d..%d)", name, axis, rank, rank, rank-1)
	}
	if axis < 0 {
		axis += rank
	}
	return opkit.Apply(name, &softmaxOp{log: log, axis: axis, coerce: coerce, rank: rank}, x)
}

// softmaxOp is (log-)softmax along axis; with coerce, along all axes from
// axis on (opset < 13).
type softmaxOp struct {
	opkit.Plain
	log    bool
	coerce bool
	axis   int
	rank   int
}

var (
	_ gorgonia.Op              = (*softmaxOp)(nil)
	_ gorgonia.SDOp            = (*softmaxOp)(nil)
	_ gorgonia.UsePreallocDoer = (*softmaxOp)(nil)
)

func (op *softmaxOp) name() string {
	if op.log {
		return "LogSoftmax"
	}
	return "Softmax"
}

// layout views a shape as [outer, n, inner] with the softmax over n.
func (op *softmaxOp) layout(s tensor.Shape) (outer, n, inner int) {
	outer, n, inner = 1, 1, 1
	for d, v := range s {
		switch {
		case d < op.axis:
			outer *= v
		case d == op.axis || op.coerce:
			n *= v
		default:
			inner *= v
		}
	}
	return
}

func (op *softmaxOp) Arity() int { return 1 }

func (op *softmaxOp) Type() hm.Type { return opkit.FnType(op.rank, op.rank) }

func (op *softmaxOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := opkit.UnaryShape(op.name(), in)
	if err != nil {
		return nil, err
	}
	if err := checkRank(op.name(), s, op.rank); err != nil {
		return nil, err
	}
	return s, nil
}

func (op *softmaxOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// softmaxChunk is the number of inner columns a task handles.
const softmaxChunk = 512

func (op *softmaxOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, shape, _, err := opkit.UnaryData(op.name(), in)
	if err != nil {
		return nil, err
	}
	if err := checkRank(op.name(), shape, op.rank); err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, false, x)
	y := out.Data
	outer, n, inner := op.layout(shape)
	chunks := (inner + softmaxChunk - 1) / softmaxChunk
	opkit.ParallelFor(outer*chunks, 4*len(x), func(lo, hi int) {
		var mx []float32
		var sum []float64
		for t := lo; t < hi; t++ {
			o, c := t/chunks, t%chunks
			base := o * n * inner
			if inner == 1 {
				softmaxRow(y[base:base+n], x[base:base+n], op.log)
				continue
			}
			c0, c1 := c*softmaxChunk, min((c+1)*softmaxChunk, inner)
			if mx == nil {
				mx = make([]float32, softmaxChunk)
				sum = make([]float64, softmaxChunk)
			}
			softmaxColumns(y[base:base+n*inner], x[base:base+n*inner], n, inner, c0, c1, op.log, mx, sum)
		}
	})
	return out.Value(), nil
}

func softmaxRow(y, x []float32, log bool) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m || v != v {
			m = v
		}
	}
	mf := float64(m)
	var s float64
	if log {
		for _, v := range x {
			s += math.Exp(float64(v) - mf)
		}
		ls := math.Log(s)
		for i, v := range x {
			y[i] = float32(float64(v) - mf - ls)
		}
		return
	}
	for i, v := range x {
		e := math.Exp(float64(v) - mf)
		s += e
		y[i] = float32(e)
	}
	inv := 1 / s
	for i, v := range y {
		y[i] = float32(float64(v) * inv)
	}
}

// softmaxColumns handles columns [c0, c1) of an n×inner block, the softmax
// running down each column.
func softmaxColumns(y, x []float32, n, inner, c0, c1 int, log bool, mx []float32, sum []float64) {
	w := c1 - c0
	mx, sum = mx[:w], sum[:w]
	for j := range mx {
		mx[j] = float32(math.Inf(-1))
		sum[j] = 0
	}
	for k := 0; k < n; k++ {
		row := x[k*inner+c0 : k*inner+c1]
		for j, v := range row {
			if v > mx[j] || v != v {
				mx[j] = v
			}
		}
	}
	for k := 0; k < n; k++ {
		row := x[k*inner+c0 : k*inner+c1]
		for j, v := range row {
			sum[j] += math.Exp(float64(v) - float64(mx[j]))
		}
	}
	if log {
		for j := range sum {
			sum[j] = float64(mx[j]) + math.Log(sum[j])
		}
		for k := 0; k < n; k++ {
			row := x[k*inner+c0 : k*inner+c1]
			dst := y[k*inner+c0 : k*inner+c1]
			for j, v := range row {
				dst[j] = float32(float64(v) - sum[j])
			}
		}
		return
	}
	for j := range sum {
		sum[j] = 1 / sum[j]
	}
	for k := 0; k < n; k++ {
		row := x[k*inner+c0 : k*inner+c1]
		dst := y[k*inner+c0 : k*inner+c1]
		for j, v := range row {
			dst[j] = float32(math.Exp(float64(v)-float64(mx[j])) * sum[j])
		}
	}
}

func (op *softmaxOp) String() string {
	if op.coerce {
		return fmt.Sprintf("%s-11(axis=%d)", op.name(), op.axis)
	}
	return fmt.Sprintf("%s(axis=%d)", op.name(), op.axis)
}

func (op *softmaxOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.reduce.softmax/%t/%t/%d/%d", op.log, op.coerce, op.axis, op.rank)
}

func (op *softmaxOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *softmaxOp) DiffWRT(int) []bool { return []bool{true} }

func (op *softmaxOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	name := op.name() + " gradient"
	if err := opkit.CheckArity(name, len(inputs), 1); err != nil {
		return nil, err
	}
	// The gradient is computed from the forward output, not the input.
	dx, err := opkit.Apply(name, &softmaxGradOp{fwd: *op}, output, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// softmaxGradOp is (y, dy) → dx with y the forward output:
// softmax: dx = y·(dy - Σ dy·y); log-softmax: dx = dy - exp(y)·Σ dy.
type softmaxGradOp struct {
	opkit.Plain
	fwd softmaxOp
}

var (
	_ gorgonia.Op              = (*softmaxGradOp)(nil)
	_ gorgonia.UsePreallocDoer = (*softmaxGradOp)(nil)
)

func (op *softmaxGradOp) Arity() int { return 2 }

func (op *softmaxGradOp) name() string { return op.fwd.name() + " gradient" }

func (op *softmaxGradOp) Type() hm.Type { return opkit.FnType(op.fwd.rank, op.fwd.rank, op.fwd.rank) }

func (op *softmaxGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return opkit.ElementwiseGradShape(op.name(), in)
}

func (op *softmaxGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *softmaxGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	y, dy, shape, _, err := opkit.GradData(op.name(), in)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, false, y, dy)
	dx := out.Data
	outer, n, inner := op.fwd.layout(shape)
	chunks := (inner + softmaxChunk - 1) / softmaxChunk
	log := op.fwd.log
	opkit.ParallelFor(outer*chunks, 4*len(y), func(lo, hi int) {
		var acc []float64
		for t := lo; t < hi; t++ {
			o, c := t/chunks, t%chunks
			base := o * n * inner
			c0, c1 := c*softmaxChunk, min((c+1)*softmaxChunk, inner)
			w := c1 - c0
			if acc == nil {
				acc = make([]float64, min(softmaxChunk, inner))
			}
			a := acc[:w]
			clear(a)
			for k := 0; k < n; k++ {
				off := base + k*inner
				yr, gr := y[off+c0:off+c1], dy[off+c0:off+c1]
				if log {
					for j, g := range gr {
						a[j] += float64(g)
					}
				} else {
					for j, g := range gr {
						a[j] += float64(g) * float64(yr[j])
					}
				}
			}
			for k := 0; k < n; k++ {
				off := base + k*inner
				yr, gr, dr := y[off+c0:off+c1], dy[off+c0:off+c1], dx[off+c0:off+c1]
				if log {
					for j, g := range gr {
						dr[j] = float32(float64(g) - math.Exp(float64(yr[j]))*a[j])
					}
				} else {
					for j, g := range gr {
						dr[j] = float32(float64(yr[j]) * (float64(g) - a[j]))
					}
				}
			}
		}
	})
	return out.Value(), nil
}

func (op *softmaxGradOp) String() string { return op.fwd.String() + "'" }

func (op *softmaxGradOp) WriteHash(h hash.Hash) {
	h.Write([]byte("grad:"))
	op.fwd.WriteHash(h)
}

func (op *softmaxGradOp) Hashcode() uint32 { return opkit.Hashcode(op) }
