package resample

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// PadMode is the ONNX Pad mode. The zero value is the ONNX default.
type PadMode int

// Pad modes.
const (
	Constant PadMode = iota // the constant Value
	Reflect                 // mirror without repeating the edge: [c b] a b c d [c b]
	Edge                    // repeat the edge: [a a] a b c d [d d]
	Wrap                    // periodic (opset 19): [c d] a b c d [a b]
)

var padNames = []string{"constant", "reflect", "edge", "wrap"}

func (m PadMode) String() string { return name(padNames, int(m)) }

// ParsePadMode parses an ONNX Pad mode attribute ("" gives the default).
func ParsePadMode(s string) (PadMode, error) {
	if s == "" {
		return Constant, nil
	}
	for i, n := range padNames {
		if n == s {
			return PadMode(i), nil
		}
	}
	return 0, fmt.Errorf("Pad: mode %q is not supported (supported: %v)", s, padNames)
}

// PadParams are the attributes and inputs of an ONNX Pad (opset 11–21).
// Pads has 2·rank entries in the ONNX order [x1_begin, x2_begin, ...,
// x1_end, x2_end, ...]; negative entries crop. An importer handling the
// opset-18 axes input expands it to all axes with zeros.
type PadParams struct {
	Pads  []int
	Mode  PadMode
	Value float32 // Constant mode only (any value, -Inf included)
}

// Pad pads (or, with negative pads, crops) x as ONNX Pad does, on any rank.
// As in ONNX Runtime, negative pads are applied first, so reflect, edge and
// wrap padding use the cropped tensor. Reflect padding may be wider than the
// axis: it keeps mirroring (NumPy's behaviour). The gradient flows to x.
func Pad(x *gorgonia.Node, p PadParams) (*gorgonia.Node, error) {
	if err := opkit.CheckFloat32("Pad", "input", x); err != nil {
		return nil, err
	}
	s := opkit.ShapeOf(x)
	if s.Dims() == 0 {
		return nil, fmt.Errorf("Pad: input %q is a scalar, want a tensor", x.Name())
	}
	if len(p.Pads) != 2*s.Dims() {
		return nil, fmt.Errorf("Pad: %d pads %v for input %q of rank %d, want %d", len(p.Pads), p.Pads, x.Name(), s.Dims(), 2*s.Dims())
	}
	if p.Mode < Constant || p.Mode > Wrap {
		return nil, fmt.Errorf("Pad: invalid mode %d", p.Mode)
	}
	op := &padOp{pads: append([]int(nil), p.Pads...), mode: p.Mode, value: p.Value}
	if _, err := op.InferShape(s); err != nil {
		return nil, err
	}
	return opkit.Apply("Pad", op, x)
}

type padOp struct {
	opkit.Plain
	pads  []int
	mode  PadMode
	value float32
}

var (
	_ gorgonia.Op              = (*padOp)(nil)
	_ gorgonia.SDOp            = (*padOp)(nil)
	_ gorgonia.UsePreallocDoer = (*padOp)(nil)
)

// padPlan maps each output index along each axis to its input index, -1 for
// the constant.
type padPlan struct {
	in, out tensor.Shape
	maps    [][]int
}

func (op *padOp) plan(in tensor.Shape) (padPlan, error) {
	r := in.Dims()
	if len(op.pads) != 2*r {
		return padPlan{}, fmt.Errorf("Pad: input of shape %v has rank %d, want %d", in, r, len(op.pads)/2)
	}
	p := padPlan{in: in, out: make(tensor.Shape, r), maps: make([][]int, r)}
	for d := 0; d < r; d++ {
		b, e, L := op.pads[d], op.pads[d+r], in[d]
		cs := max(-b, 0)
		lc := L - cs - max(-e, 0) // length after cropping
		if lc < 1 {
			return padPlan{}, fmt.Errorf("Pad: pads (%d, %d) crop all %d elements of axis %d", b, e, L, d)
		}
		n := lc + max(b, 0) + max(e, 0)
		p.out[d] = n
		m := make([]int, n)
		for o := range m {
			j := o - max(b, 0)
			switch {
			case j >= 0 && j < lc:
			case op.mode == Constant:
				m[o] = -1
				continue
			case op.mode == Edge:
				j = min(max(j, 0), lc-1)
			case op.mode == Wrap:
				j = ((j % lc) + lc) % lc
			case lc == 1: // Reflect of a single element
				j = 0
			default: // Reflect, period 2(lc-1)
				per := 2 * (lc - 1)
				j = ((j % per) + per) % per
				if j >= lc {
					j = per - j
				}
			}
			m[o] = cs + j
		}
		p.maps[d] = m
	}
	return p, nil
}

// planes views the tensors as stacks of 2-D planes (the last two axes; a
// leading 1 is added to rank-1 tensors) and calls fn with each output plane
// and the input plane it reads (-1 when the whole plane is the constant).
func (p *padPlan) planes(fn func(outPlane, inPlane int)) {
	r := len(p.in)
	if r <= 2 {
		fn(0, 0)
		return
	}
	outer := 1
	for d := 0; d < r-2; d++ {
		outer *= p.out[d]
	}
	idx := make([]int, r-2)
	for o := 0; o < outer; o++ {
		in := 0
		for d := 0; d < r-2; d++ {
			m := p.maps[d][idx[d]]
			if m < 0 {
				in = -1
				break
			}
			in = in*p.in[d] + m
		}
		fn(o, in)
		for d := r - 3; d >= 0; d-- {
			idx[d]++
			if idx[d] < p.out[d] {
				break
			}
			idx[d] = 0
		}
	}
}

// rows and cols of the planes, and the maps of the last two axes.
func (p *padPlan) plane() (ih, iw, oh, ow int, mh, mw []int) {
	r := len(p.in)
	if r == 1 {
		return 1, p.in[0], 1, p.out[0], []int{0}, p.maps[0]
	}
	return p.in[r-2], p.in[r-1], p.out[r-2], p.out[r-1], p.maps[r-2], p.maps[r-1]
}

// outerInjective reports whether distinct output planes read distinct input
// planes, so that the backward pass may run planes concurrently.
func (p *padPlan) outerInjective() bool {
	for d := 0; d < len(p.in)-2; d++ {
		seen := make(map[int]bool, len(p.maps[d]))
		for _, m := range p.maps[d] {
			if m >= 0 {
				if seen[m] {
					return false
				}
				seen[m] = true
			}
		}
	}
	return true
}

func (op *padOp) Arity() int { return 1 }

func (op *padOp) Type() hm.Type {
	r := len(op.pads) / 2
	return opkit.FnType(r, r)
}

func (op *padOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := opkit.UnaryShape("Pad", in)
	if err != nil {
		return nil, err
	}
	p, err := op.plan(s)
	if err != nil {
		return nil, err
	}
	return p.out, nil
}

func (op *padOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *padOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, shape, _, err := opkit.UnaryData("Pad", in)
	if err != nil {
		return nil, err
	}
	p, err := op.plan(shape)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, p.out, false, x)
	y := out.Data
	ih, iw, oh, ow, mh, mw := p.plane()
	type job struct{ o, i int }
	var jobs []job
	p.planes(func(o, i int) { jobs = append(jobs, job{o, i}) })
	v := op.value
	opkit.ParallelFor(len(jobs), len(y), func(lo, hi int) {
		for _, j := range jobs[lo:hi] {
			dst := y[j.o*oh*ow : (j.o+1)*oh*ow]
			if j.i < 0 {
				fill(dst, v)
				continue
			}
			src := x[j.i*ih*iw : (j.i+1)*ih*iw]
			for oy, sy := range mh {
				drow := dst[oy*ow : (oy+1)*ow]
				if sy < 0 {
					fill(drow, v)
					continue
				}
				srow := src[sy*iw : (sy+1)*iw]
				for ox, sx := range mw {
					if sx < 0 {
						drow[ox] = v
					} else {
						drow[ox] = srow[sx]
					}
				}
			}
		}
	})
	return out.Value(), nil
}

func fill(d []float32, v float32) {
	for i := range d {
		d[i] = v
	}
}

func (op *padOp) String() string {
	if op.mode == Constant {
		return fmt.Sprintf("Pad(%v, %v, value=%g)", op.mode, op.pads, op.value)
	}
	return fmt.Sprintf("Pad(%v, %v)", op.mode, op.pads)
}

func (op *padOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.resample.pad/%d/%v/%08x", op.mode, op.pads, math.Float32bits(op.value))
}

func (op *padOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *padOp) DiffWRT(int) []bool { return []bool{true} }

func (op *padOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return opkit.UnaryGrad("Pad", inputs, grad, &padGradOp{fwd: *op})
}

// padGradOp sums the output gradient into the input elements each output
// element copies: (x, dy) → dx, x giving the shape.
type padGradOp struct {
	opkit.Plain
	fwd padOp
}

var (
	_ gorgonia.Op              = (*padGradOp)(nil)
	_ gorgonia.UsePreallocDoer = (*padGradOp)(nil)
)

func (op *padGradOp) Arity() int { return 2 }

func (op *padGradOp) Type() hm.Type {
	r := len(op.fwd.pads) / 2
	return opkit.FnType(r, r, r)
}

func (op *padGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, g, err := opkit.GradShapes("Pad gradient", in)
	if err != nil {
		return nil, err
	}
	p, err := op.fwd.plan(s)
	if err != nil {
		return nil, err
	}
	if err := opkit.CheckGradShape("Pad gradient", g, p.out); err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

func (op *padGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *padGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	// x gives the shape; its data only guards against writing over it.
	x, dy, shape, gs, err := opkit.GradValues("Pad gradient", in)
	if err != nil {
		return nil, err
	}
	p, err := op.fwd.plan(shape)
	if err != nil {
		return nil, err
	}
	if err := opkit.CheckGradShape("Pad gradient", gs, p.out); err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, false, x, dy)
	dx := out.Data
	clear(dx)
	ih, iw, oh, ow, mh, mw := p.plane()
	type job struct{ o, i int }
	var jobs []job
	p.planes(func(o, i int) {
		if i >= 0 {
			jobs = append(jobs, job{o, i})
		}
	})
	work := len(dy)
	if !p.outerInjective() {
		work = 0 // several output planes add into one input plane: stay serial
	}
	opkit.ParallelFor(len(jobs), work, func(lo, hi int) {
		for _, j := range jobs[lo:hi] {
			src := dy[j.o*oh*ow : (j.o+1)*oh*ow]
			dst := dx[j.i*ih*iw : (j.i+1)*ih*iw]
			for oy, sy := range mh {
				if sy < 0 {
					continue
				}
				grow := src[oy*ow : (oy+1)*ow]
				drow := dst[sy*iw : (sy+1)*iw]
				for ox, sx := range mw {
					if sx >= 0 {
						drow[sx] += grow[ox]
					}
				}
			}
		}
	})
	return out.Value(), nil
}

func (op *padGradOp) String() string { return op.fwd.String() + "'" }

func (op *padGradOp) WriteHash(h hash.Hash) {
	h.Write([]byte("grad:"))
	op.fwd.WriteHash(h)
}

func (op *padGradOp) Hashcode() uint32 { return opkit.Hashcode(op) }
