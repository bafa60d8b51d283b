package spatial

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// MaxPool2D is ONNX MaxPool (the Y output) over NCHW float32 x. Padded cells
// and cells past the padded edge never win; among equal maxima the first in
// row-major window order wins (and receives the gradient), as in PyTorch; a
// NaN in the window wins over numbers. Every window must hold at least one
// input cell.
func MaxPool2D(x *gorgonia.Node, p PoolParams) (*gorgonia.Node, error) {
	const name = "MaxPool"
	if p.CountIncludePad {
		return nil, fmt.Errorf("%s: count_include_pad is an AveragePool attribute", name)
	}
	return pool2D(name, true, x, p)
}

// AveragePool2D is ONNX AveragePool over NCHW float32 x. The divisor of a
// window is the number of its cells inside the input, or with
// CountIncludePad inside the padded input; cells past the padded edge (ceil
// mode) never count. These are PyTorch's avg_pool2d semantics.
func AveragePool2D(x *gorgonia.Node, p PoolParams) (*gorgonia.Node, error) {
	return pool2D("AveragePool", false, x, p)
}

func pool2D(name string, isMax bool, x *gorgonia.Node, p PoolParams) (*gorgonia.Node, error) {
	xs, err := nodeShape(name, "input x", x, 4)
	if err != nil {
		return nil, err
	}
	a, ceil, _, err := resolvePool(name, p, [2]int{xs[2], xs[3]})
	if err != nil {
		return nil, err
	}
	return apply(&poolOp{max: isMax, a: a, ceil: ceil, countPad: p.CountIncludePad && !isMax}, x)
}

// GlobalAveragePool2D is ONNX GlobalAveragePool: N × C × H × W → N × C × 1 × 1.
func GlobalAveragePool2D(x *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeShape("GlobalAveragePool", "input x", x, 4); err != nil {
		return nil, err
	}
	return apply(globalPoolOp{max: false}, x)
}

// GlobalMaxPool2D is ONNX GlobalMaxPool: N × C × H × W → N × C × 1 × 1. The
// gradient goes to the first maximum of each plane.
func GlobalMaxPool2D(x *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeShape("GlobalMaxPool", "input x", x, 4); err != nil {
		return nil, err
	}
	return apply(globalPoolOp{max: true}, x)
}

// ---------------------------------------------------------------------------
// windows

// axisWin is the window of one output index along one axis: kernel taps
// [lo, hi) fall inside the input at start + tap·dilation; padCnt taps fall
// inside the padded input.
type axisWin struct{ start, lo, hi, padCnt int }

func windows(in, out, k, s, d, padBegin, padEnd int) []axisWin {
	ws := make([]axisWin, out)
	for o := range ws {
		start := o*s - padBegin
		lo, hi := span(start, d, in, k)
		plo, phi := span(start+padBegin, d, in+padBegin+padEnd, k)
		ws[o] = axisWin{start: start, lo: lo, hi: hi, padCnt: phi - plo}
	}
	return ws
}

// poolGeom is a pooling window over concrete sizes.
type poolGeom struct {
	planes, h, w, oh, ow int
	dh, dw               int
	wy, wx               []axisWin
}

func (op *poolOp) name() string {
	if op.max {
		return "MaxPool"
	}
	return "AveragePool"
}

// outSize checks an input shape and returns the output spatial size.
func poolOutSize(name string, a attrs, ceil, needCell bool, xs tensor.Shape) (int, int, error) {
	h, w := xs[2], xs[3]
	oh := poolOut(h, a.pt, a.pb, a.effH(), a.sh, ceil)
	ow := poolOut(w, a.pl, a.pr, a.effW(), a.sw, ceil)
	if oh < 1 || ow < 1 {
		return 0, 0, fmt.Errorf("%s: window %s does not fit input %v", name, a, xs)
	}
	if needCell {
		if o := emptyWindow(h, oh, a.pt, a.kh, a.dh, a.sh); o >= 0 {
			return 0, 0, fmt.Errorf("%s: output row %d of input %v has a window (%s) entirely in the padding", name, o, xs, a)
		}
		if o := emptyWindow(w, ow, a.pl, a.kw, a.dw, a.sw); o >= 0 {
			return 0, 0, fmt.Errorf("%s: output column %d of input %v has a window (%s) entirely in the padding", name, o, xs, a)
		}
	}
	return oh, ow, nil
}

func newPoolGeom(a attrs, xs tensor.Shape, oh, ow int) poolGeom {
	return poolGeom{
		planes: xs[0] * xs[1], h: xs[2], w: xs[3], oh: oh, ow: ow, dh: a.dh, dw: a.dw,
		wy: windows(xs[2], oh, a.kh, a.sh, a.dh, a.pt, a.pb),
		wx: windows(xs[3], ow, a.kw, a.sw, a.dw, a.pl, a.pr),
	}
}

// argmaxRow writes, for output row wy of a plane, the index in plane of each
// window's maximum: the first of equal maxima, the last NaN if any
// (PyTorch's rule). Windows always hold at least one input cell.
func (g *poolGeom) argmaxRow(plane []float32, wy axisWin, idx []int) {
	for ox, wx := range g.wx {
		x0, n := wx.start+wx.lo*g.dw, wx.hi-wx.lo
		best := float32(math.Inf(-1))
		bi := (wy.start+wy.lo*g.dh)*g.w + x0
		for ki := wy.lo; ki < wy.hi; ki++ {
			base := (wy.start+ki*g.dh)*g.w + x0
			if g.dw != 1 {
				for j := 0; j < n; j++ {
					if v := plane[base+j*g.dw]; v > best || v != v {
						best, bi = v, base+j*g.dw
					}
				}
				continue
			}
			row := plane[base : base+n]
			switch len(row) {
			case 3: // the common 3-wide window, unrolled
				if v := row[0]; v > best || v != v {
					best, bi = v, base
				}
				if v := row[1]; v > best || v != v {
					best, bi = v, base+1
				}
				if v := row[2]; v > best || v != v {
					best, bi = v, base+2
				}
			case 2:
				if v := row[0]; v > best || v != v {
					best, bi = v, base
				}
				if v := row[1]; v > best || v != v {
					best, bi = v, base+1
				}
			default:
				for j, v := range row {
					if v > best || v != v {
						best, bi = v, base+j
					}
				}
			}
		}
		idx[ox] = bi
	}
}

func (g *poolGeom) maxForward(x, y []float32) {
	hw, ohw := g.h*g.w, g.oh*g.ow
	parallel(g.planes, func(_, lo, hi int) {
		idx := make([]int, g.ow)
		for p := lo; p < hi; p++ {
			plane, out := x[p*hw:(p+1)*hw], y[p*ohw:(p+1)*ohw]
			for oy, wy := range g.wy {
				g.argmaxRow(plane, wy, idx)
				row := out[oy*g.ow : (oy+1)*g.ow]
				for ox, i := range idx {
					row[ox] = plane[i]
				}
			}
		}
	})
}

func (g *poolGeom) maxBackward(x, dy, dx []float32) {
	hw, ohw := g.h*g.w, g.oh*g.ow
	parallel(g.planes, func(_, lo, hi int) {
		clear(dx[lo*hw : hi*hw])
		idx := make([]int, g.ow)
		for p := lo; p < hi; p++ {
			plane, d, gin := x[p*hw:(p+1)*hw], dy[p*ohw:(p+1)*ohw], dx[p*hw:(p+1)*hw]
			for oy, wy := range g.wy {
				g.argmaxRow(plane, wy, idx)
				row := d[oy*g.ow : (oy+1)*g.ow]
				for ox, i := range idx {
					gin[i] += row[ox]
				}
			}
		}
	})
}

func (g *poolGeom) divisor(wy, wx axisWin, countPad bool) float32 {
	if countPad {
		return float32(wy.padCnt * wx.padCnt)
	}
	return float32((wy.hi - wy.lo) * (wx.hi - wx.lo))
}

func (g *poolGeom) avgForward(x, y []float32, countPad bool) {
	hw, ohw := g.h*g.w, g.oh*g.ow
	parallel(g.planes, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			plane, out := x[p*hw:(p+1)*hw], y[p*ohw:(p+1)*ohw]
			for oy, wy := range g.wy {
				for ox, wx := range g.wx {
					var s float32
					for ki := wy.lo; ki < wy.hi; ki++ {
						row := (wy.start + ki*g.dh) * g.w
						for kj := wx.lo; kj < wx.hi; kj++ {
							s += plane[row+wx.start+kj*g.dw]
						}
					}
					out[oy*g.ow+ox] = s / g.divisor(wy, wx, countPad)
				}
			}
		}
	})
}

func (g *poolGeom) avgBackward(dy, dx []float32, countPad bool) {
	hw, ohw := g.h*g.w, g.oh*g.ow
	parallel(g.planes, func(_, lo, hi int) {
		clear(dx[lo*hw : hi*hw])
		for p := lo; p < hi; p++ {
			d, gin := dy[p*ohw:(p+1)*ohw], dx[p*hw:(p+1)*hw]
			for oy, wy := range g.wy {
				for ox, wx := range g.wx {
					v := d[oy*g.ow+ox] / g.divisor(wy, wx, countPad)
					for ki := wy.lo; ki < wy.hi; ki++ {
						row := (wy.start + ki*g.dh) * g.w
						for kj := wx.lo; kj < wx.hi; kj++ {
							gin[row+wx.start+kj*g.dw] += v
						}
					}
				}
			}
		}
	})
}

// ---------------------------------------------------------------------------
// poolOp: MaxPool and AveragePool.

type poolOp struct {
	opkit.Plain
	max      bool
	a        attrs
	ceil     bool
	countPad bool
}

func (op *poolOp) String() string {
	return fmt.Sprintf("spatial.%s{%s ceil=%t countPad=%t}", op.name(), op.a, op.ceil, op.countPad)
}

func (op *poolOp) Arity() int    { return 1 }
func (op *poolOp) Type() hm.Type { return opkit.FnType(4, 4) }
func (op *poolOp) needCell() bool {
	return op.max || !op.countPad
}

func (op *poolOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	if err := opkit.CheckArity(op.name(), len(ds), 1); err != nil {
		return nil, err
	}
	xs, err := shapeOf(op.name(), "input x", ds, 0, 4)
	if err != nil {
		return nil, err
	}
	oh, ow, err := poolOutSize(op.name(), op.a, op.ceil, op.needCell(), xs)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{xs[0], xs[1], oh, ow}, nil
}

func (op *poolOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// UsePreallocDo writes into prealloc when it has the output's shape.
func (op *poolOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := opkit.CheckArity(op.name(), len(in), 1); err != nil {
		return nil, err
	}
	x, xs, err := f32(op.name(), "input x", in[0], 4)
	if err != nil {
		return nil, err
	}
	oh, ow, err := poolOutSize(op.name(), op.a, op.ceil, op.needCell(), xs)
	if err != nil {
		return nil, err
	}
	g := newPoolGeom(op.a, xs, oh, ow)
	out, y := output(prealloc, [][]float32{x}, xs[0], xs[1], oh, ow)
	if op.max {
		g.maxForward(x, y)
	} else {
		g.avgForward(x, y, op.countPad)
	}
	return out, nil
}

func (op *poolOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *poolOp) Hashcode() uint32      { return opkit.Hashcode(op) }
func (op *poolOp) DiffWRT(n int) []bool  { return diffWRT(n, true) }
func (op *poolOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if err := opkit.CheckArity(op.name(), len(in), 1); err != nil {
		return nil, err
	}
	var dx *gorgonia.Node
	var err error
	if op.max {
		dx, err = apply(&poolGradOp{p: *op}, in[0], grad)
	} else {
		xs := in[0].Shape()
		dx, err = apply(&poolGradOp{p: *op, h: xs[2], w: xs[3]}, grad)
	}
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// poolGradOp is the input gradient of a poolOp: (x, dy) → dx for MaxPool,
// which finds the argmax again; (dy) → dx for AveragePool, with the input's
// spatial size h × w kept in the op.
type poolGradOp struct {
	opkit.Plain
	p    poolOp
	h, w int
}

func (op *poolGradOp) String() string {
	return fmt.Sprintf("spatial.%sGrad{%s ceil=%t countPad=%t in=%dx%d}", op.p.name(), op.p.a, op.p.ceil, op.p.countPad, op.h, op.w)
}

func (op *poolGradOp) name() string { return op.p.name() + "Grad" }

func (op *poolGradOp) Arity() int {
	if op.p.max {
		return 2
	}
	return 1
}

func (op *poolGradOp) Type() hm.Type {
	if op.p.max {
		return opkit.FnType(4, 4, 4)
	}
	return opkit.FnType(4, 4)
}

// shapes returns the input shape and checks the gradient's.
func (op *poolGradOp) shapes(ss []tensor.Shape) (xs tensor.Shape, oh, ow int, err error) {
	dys := ss[len(ss)-1]
	if op.p.max {
		xs = ss[0]
	} else {
		xs = tensor.Shape{dys[0], dys[1], op.h, op.w}
	}
	if oh, ow, err = poolOutSize(op.name(), op.p.a, op.p.ceil, op.p.needCell(), xs); err != nil {
		return
	}
	if !dys.Eq(tensor.Shape{xs[0], xs[1], oh, ow}) {
		err = fmt.Errorf("%s: gradient shape %v, expected %v", op.name(), dys, tensor.Shape{xs[0], xs[1], oh, ow})
	}
	return
}

func (op *poolGradOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	ss, err := shapesOf(op.name(), "input", ds, op.Arity(), 4)
	if err != nil {
		return nil, err
	}
	xs, _, _, err := op.shapes(ss)
	if err != nil {
		return nil, err
	}
	return xs.Clone(), nil
}

func (op *poolGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// UsePreallocDo writes into prealloc when it has the output's shape.
func (op *poolGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	data, ss, err := f32All(op.name(), "input", in, op.Arity(), 4)
	if err != nil {
		return nil, err
	}
	xs, oh, ow, err := op.shapes(ss)
	if err != nil {
		return nil, err
	}
	g := newPoolGeom(op.p.a, xs, oh, ow)
	out, dx := output(prealloc, data, xs...)
	if op.p.max {
		g.maxBackward(data[0], data[1], dx)
	} else {
		g.avgBackward(data[0], dx, op.p.countPad)
	}
	return out, nil
}

func (op *poolGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *poolGradOp) Hashcode() uint32      { return opkit.Hashcode(op) }

// ---------------------------------------------------------------------------
// Global pooling.

type globalPoolOp struct {
	opkit.Plain
	max bool
}

func (op globalPoolOp) name() string {
	if op.max {
		return "GlobalMaxPool"
	}
	return "GlobalAveragePool"
}

func (op globalPoolOp) String() string { return "spatial." + op.name() + "{}" }
func (op globalPoolOp) Arity() int     { return 1 }
func (op globalPoolOp) Type() hm.Type  { return opkit.FnType(4, 4) }
func (op globalPoolOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	if err := opkit.CheckArity(op.name(), len(ds), 1); err != nil {
		return nil, err
	}
	xs, err := shapeOf(op.name(), "input x", ds, 0, 4)
	if err != nil {
		return nil, err
	}
	if xs[2] < 1 || xs[3] < 1 {
		return nil, fmt.Errorf("%s: input %v has an empty plane", op.name(), xs)
	}
	return tensor.Shape{xs[0], xs[1], 1, 1}, nil
}

func (op globalPoolOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// UsePreallocDo writes into prealloc when it has the output's shape.
func (op globalPoolOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := opkit.CheckArity(op.name(), len(in), 1); err != nil {
		return nil, err
	}
	x, xs, err := f32(op.name(), "input x", in[0], 4)
	if err != nil {
		return nil, err
	}
	if _, err := op.InferShape(xs); err != nil {
		return nil, err
	}
	out, y := output(prealloc, [][]float32{x}, xs[0], xs[1], 1, 1)
	hw := xs[2] * xs[3]
	parallel(len(y), func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			plane := x[p*hw : (p+1)*hw]
			if op.max {
				y[p] = plane[firstMax(plane)]
				continue
			}
			var s float64
			for _, v := range plane {
				s += float64(v)
			}
			y[p] = float32(s / float64(hw))
		}
	})
	return out, nil
}

// firstMax is the index of the first maximum (the last NaN if any).
func firstMax(plane []float32) int {
	idx, best := 0, float32(math.Inf(-1))
	for i, v := range plane {
		if v > best || v != v {
			idx, best = i, v
		}
	}
	return idx
}

func (op globalPoolOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op globalPoolOp) Hashcode() uint32      { return opkit.Hashcode(op) }
func (op globalPoolOp) DiffWRT(n int) []bool  { return diffWRT(n, true) }
func (op globalPoolOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if err := opkit.CheckArity(op.name(), len(in), 1); err != nil {
		return nil, err
	}
	xs := in[0].Shape()
	var dx *gorgonia.Node
	var err error
	if op.max {
		dx, err = apply(globalPoolGradOp{max: true}, in[0], grad)
	} else {
		dx, err = apply(globalPoolGradOp{h: xs[2], w: xs[3]}, grad)
	}
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// globalPoolGradOp: (x, dy) → dx for GlobalMaxPool; (dy) → dx for
// GlobalAveragePool, the input's h × w kept in the op.
type globalPoolGradOp struct {
	opkit.Plain
	max  bool
	h, w int
}

func (op globalPoolGradOp) name() string {
	return globalPoolOp{max: op.max}.name() + "Grad"
}

func (op globalPoolGradOp) String() string {
	return fmt.Sprintf("spatial.%s{in=%dx%d}", op.name(), op.h, op.w)
}

func (op globalPoolGradOp) Arity() int {
	if op.max {
		return 2
	}
	return 1
}

func (op globalPoolGradOp) Type() hm.Type {
	if op.max {
		return opkit.FnType(4, 4, 4)
	}
	return opkit.FnType(4, 4)
}

func (op globalPoolGradOp) shapes(ss []tensor.Shape) (tensor.Shape, error) {
	dys := ss[len(ss)-1]
	xs := tensor.Shape{dys[0], dys[1], op.h, op.w}
	if op.max {
		xs = ss[0]
	}
	if !dys.Eq(tensor.Shape{xs[0], xs[1], 1, 1}) || xs[2] < 1 || xs[3] < 1 {
		return nil, fmt.Errorf("%s: gradient shape %v does not match input %v", op.name(), dys, xs)
	}
	return xs, nil
}

func (op globalPoolGradOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	ss, err := shapesOf(op.name(), "input", ds, op.Arity(), 4)
	if err != nil {
		return nil, err
	}
	xs, err := op.shapes(ss)
	if err != nil {
		return nil, err
	}
	return xs.Clone(), nil
}

func (op globalPoolGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// UsePreallocDo writes into prealloc when it has the output's shape.
func (op globalPoolGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	data, ss, err := f32All(op.name(), "input", in, op.Arity(), 4)
	if err != nil {
		return nil, err
	}
	xs, err := op.shapes(ss)
	if err != nil {
		return nil, err
	}
	out, dx := output(prealloc, data, xs...)
	dy := data[len(data)-1]
	hw := xs[2] * xs[3]
	parallel(len(dy), func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			gin := dx[p*hw : (p+1)*hw]
			if op.max {
				clear(gin)
				gin[firstMax(data[0][p*hw:(p+1)*hw])] = dy[p]
				continue
			}
			v := dy[p] / float32(hw)
			for i := range gin {
				gin[i] = v
			}
		}
	})
	return out, nil
}

func (op globalPoolGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op globalPoolGradOp) Hashcode() uint32      { return opkit.Hashcode(op) }
