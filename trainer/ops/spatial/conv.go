package spatial

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// Conv2D is ONNX Conv over NCHW float32 x (N × C × H × W) with weight w
// (O × C/group × kH × kW); the result is N × O × oH × oW. The bias is left
// to the caller, or use Conv2DBias. The op is differentiable with respect to
// x (unless p.NoInputGrad) and w.
func Conv2D(x, w *gorgonia.Node, p ConvParams) (*gorgonia.Node, error) {
	return conv2D(x, w, nil, p)
}

// Conv2DBias is Conv2D plus a per-output-channel bias b (length O), as ONNX
// Conv's optional third input; it is differentiable with respect to b too.
func Conv2DBias(x, w, b *gorgonia.Node, p ConvParams) (*gorgonia.Node, error) {
	if b == nil {
		return nil, fmt.Errorf("Conv: the bias node is nil (use Conv2D for no bias)")
	}
	return conv2D(x, w, b, p)
}

func conv2D(x, w, b *gorgonia.Node, p ConvParams) (*gorgonia.Node, error) {
	const name = "Conv"
	xs, err := nodeShape(name, "input x", x, 4)
	if err != nil {
		return nil, err
	}
	ws, err := nodeShape(name, "weight w", w, 4)
	if err != nil {
		return nil, err
	}
	a, err := resolveConv(name, p, [2]int{xs[2], xs[3]}, [2]int{ws[2], ws[3]})
	if err != nil {
		return nil, err
	}
	op := &convOp{a: a, bias: b != nil, noDX: p.NoInputGrad}
	in := []*gorgonia.Node{x, w}
	if b != nil {
		if _, err := nodeShape(name, "bias b", b, 1); err != nil {
			return nil, err
		}
		in = append(in, b)
	}
	return apply(op, in...)
}

// ConvTranspose2D is ONNX ConvTranspose over NCHW float32 x (N × C × H × W)
// with weight w (C × M/group × kH × kW); the result is N × M × oH × oW with
// the size that ConvTransposeGeometry gives. It is differentiable with respect
// to x (unless p.NoInputGrad) and w.
func ConvTranspose2D(x, w *gorgonia.Node, p ConvTransposeParams) (*gorgonia.Node, error) {
	return convTranspose2D(x, w, nil, p)
}

// ConvTranspose2DBias is ConvTranspose2D plus a per-output-channel bias b
// (length M).
func ConvTranspose2DBias(x, w, b *gorgonia.Node, p ConvTransposeParams) (*gorgonia.Node, error) {
	if b == nil {
		return nil, fmt.Errorf("ConvTranspose: the bias node is nil (use ConvTranspose2D for no bias)")
	}
	return convTranspose2D(x, w, b, p)
}

func convTranspose2D(x, w, b *gorgonia.Node, p ConvTransposeParams) (*gorgonia.Node, error) {
	const name = "ConvTranspose"
	xs, err := nodeShape(name, "input x", x, 4)
	if err != nil {
		return nil, err
	}
	ws, err := nodeShape(name, "weight w", w, 4)
	if err != nil {
		return nil, err
	}
	kernel := [2]int{ws[2], ws[3]}
	if p.KernelShape != [2]int{} && p.KernelShape != kernel {
		return nil, fmt.Errorf("%s: kernel_shape %v does not match the weight's %v", name, p.KernelShape, kernel)
	}
	pads, outPad, _, err := ConvTransposeGeometry(p, [2]int{xs[2], xs[3]}, kernel)
	if err != nil {
		return nil, err
	}
	g := p.Group
	if g == 0 {
		g = 1
	}
	if g < 0 {
		return nil, fmt.Errorf("%s: group %d must be positive", name, g)
	}
	st, dl := defaultOne(p.Strides), defaultOne(p.Dilations)
	a := attrs{kh: kernel[0], kw: kernel[1], sh: st[0], sw: st[1], dh: dl[0], dw: dl[1],
		pt: pads[0], pl: pads[1], pb: pads[2], pr: pads[3], group: g}
	op := &convTransposeOp{a: a, outPad: outPad, bias: b != nil, noDX: p.NoInputGrad}
	in := []*gorgonia.Node{x, w}
	if b != nil {
		if _, err := nodeShape(name, "bias b", b, 1); err != nil {
			return nil, err
		}
		in = append(in, b)
	}
	return apply(op, in...)
}

// apply is gorgonia.ApplyOp with the op's own error first: gorgonia wraps
// InferShape errors in long messages.
func apply(op gorgonia.Op, in ...*gorgonia.Node) (*gorgonia.Node, error) {
	shapes := make([]gorgonia.DimSizer, len(in))
	for i, n := range in {
		if n == nil {
			return nil, fmt.Errorf("%v: input %d is nil", op, i)
		}
		shapes[i] = n.Shape()
	}
	if _, err := op.InferShape(shapes...); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, in...)
}

// convArity is the number of inputs of a (transposed) convolution: x, w and,
// with bias, b.
func convArity(bias bool) int {
	if bias {
		return 3
	}
	return 2
}

// convShapes checks the shapes given to the InferShape of a convolution or
// transposed convolution (name): x and w of rank 4 and, with bias, b of rank
// 1 (bs is nil without).
func convShapes(name string, bias bool, ds []gorgonia.DimSizer) (xs, ws, bs tensor.Shape, err error) {
	if err = opkit.CheckArity(name, len(ds), convArity(bias)); err != nil {
		return nil, nil, nil, err
	}
	if xs, err = shapeOf(name, "input x", ds, 0, 4); err != nil {
		return nil, nil, nil, err
	}
	if ws, err = shapeOf(name, "weight w", ds, 1, 4); err != nil {
		return nil, nil, nil, err
	}
	if bias {
		if bs, err = shapeOf(name, "bias b", ds, 2, 1); err != nil {
			return nil, nil, nil, err
		}
	}
	return xs, ws, bs, nil
}

// convInputs reads the values given to the Do of a convolution or transposed
// convolution (name), as convShapes checks their shapes.
func convInputs(name string, bias bool, in []gorgonia.Value) (x, w, b []float32, xs, ws, bs tensor.Shape, err error) {
	if err = opkit.CheckArity(name, len(in), convArity(bias)); err != nil {
		return
	}
	if x, xs, err = f32(name, "input x", in[0], 4); err != nil {
		return
	}
	if w, ws, err = f32(name, "weight w", in[1], 4); err != nil {
		return
	}
	if bias {
		b, bs, err = f32(name, "bias b", in[2], 1)
	}
	return
}

// ---------------------------------------------------------------------------
// convOp: small = W ⋆ big. Conv's forward pass; also ConvTranspose's input
// gradient, where crop drops the rows/columns of the natural output that the
// transposed convolution's input does not have.

type convOp struct {
	opkit.Plain
	a    attrs
	bias bool
	crop [2]int
	noDX bool
}

func (op *convOp) String() string {
	return fmt.Sprintf("spatial.Conv{%s bias=%t crop=%v noDX=%t}", op.a, op.bias, op.crop, op.noDX)
}

// geom checks the input shapes and returns the geometry.
func (op *convOp) geom(xs, ws tensor.Shape, bs tensor.Shape) (geom, error) {
	const name = "Conv"
	a := op.a
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	if c%a.group != 0 {
		return geom{}, fmt.Errorf("%s: x has %d channels, not a multiple of group %d", name, c, a.group)
	}
	o := ws[0]
	if o%a.group != 0 || o == 0 {
		return geom{}, fmt.Errorf("%s: weight %v has %d output channels, expected a positive multiple of group %d", name, ws, o, a.group)
	}
	if ws[1] != c/a.group || ws[2] != a.kh || ws[3] != a.kw {
		return geom{}, fmt.Errorf("%s: weight shape %v, expected (O, %d, %d, %d) for x %v with group %d",
			name, ws, c/a.group, a.kh, a.kw, xs, a.group)
	}
	if bs != nil && (len(bs) != 1 || bs[0] != o) {
		return geom{}, fmt.Errorf("%s: bias shape %v, expected (%d)", name, bs, o)
	}
	oh := convOut(h, a.pt, a.pb, a.effH(), a.sh) - op.crop[0]
	ow := convOut(w, a.pl, a.pr, a.effW(), a.sw) - op.crop[1]
	if oh < 1 || ow < 1 {
		return geom{}, fmt.Errorf("%s: window %s does not fit input %v (output %dx%d)", name, a, xs, oh, ow)
	}
	return geom{attrs: a, n: n, c: c, h: h, w: w, o: o, oh: oh, ow: ow}, nil
}

func (op *convOp) Arity() int { return convArity(op.bias) }

func (op *convOp) Type() hm.Type {
	if op.bias {
		return opkit.FnType(4, 4, 1, 4)
	}
	return opkit.FnType(4, 4, 4)
}

func (op *convOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	xs, ws, bs, err := convShapes("Conv", op.bias, ds)
	if err != nil {
		return nil, err
	}
	g, err := op.geom(xs, ws, bs)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.n, g.o, g.oh, g.ow}, nil
}

func (op *convOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// UsePreallocDo writes into prealloc when it has the output's shape.
func (op *convOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, w, b, xs, ws, bs, err := convInputs("Conv", op.bias, in)
	if err != nil {
		return nil, err
	}
	g, err := op.geom(xs, ws, bs)
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, [][]float32{x, w, b}, g.n, g.o, g.oh, g.ow)
	convForward(&g, x, w, b, y)
	return out, nil
}

func (op *convOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *convOp) Hashcode() uint32      { return opkit.Hashcode(op) }
func (op *convOp) DiffWRT(n int) []bool  { return diffWRT(n, !op.noDX) }
func (op *convOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if err := opkit.CheckArity("Conv", len(in), op.Arity()); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	xs, ys := x.Shape(), out.Shape()
	ret := make(gorgonia.Nodes, len(in))
	var err error
	if !op.noDX {
		a := op.a
		// The transposed convolution of dy must give back x's size: the
		// rows/columns past the last window get output padding.
		outPad := [2]int{
			xs[2] - ((ys[2]-1)*a.sh + a.effH() - a.pt - a.pb),
			xs[3] - ((ys[3]-1)*a.sw + a.effW() - a.pl - a.pr),
		}
		if ret[0], err = apply(&convTransposeOp{a: a, outPad: outPad}, grad, w); err != nil {
			return nil, err
		}
	}
	if ret[1], err = apply(&convWeightGradOp{a: op.a}, x, grad); err != nil {
		return nil, err
	}
	if op.bias {
		if ret[2], err = apply(biasGradOp{}, grad); err != nil {
			return nil, err
		}
	}
	return ret, nil
}

func diffWRT(n int, dx bool) []bool {
	r := make([]bool, n)
	for i := range r {
		r[i] = true
	}
	if n > 0 {
		r[0] = dx
	}
	return r
}

// ---------------------------------------------------------------------------
// convTransposeOp: big = col2im(Wᵀ · small). ConvTranspose's forward pass;
// also Conv's input gradient.

type convTransposeOp struct {
	opkit.Plain
	a      attrs
	outPad [2]int
	bias   bool
	noDX   bool
}

func (op *convTransposeOp) String() string {
	return fmt.Sprintf("spatial.ConvTranspose{%s outPad=%v bias=%t noDX=%t}", op.a, op.outPad, op.bias, op.noDX)
}

func (op *convTransposeOp) geom(xs, ws, bs tensor.Shape) (geom, error) {
	const name = "ConvTranspose"
	a := op.a
	n, ci, h, w := xs[0], xs[1], xs[2], xs[3]
	if ci%a.group != 0 {
		return geom{}, fmt.Errorf("%s: x has %d channels, not a multiple of group %d", name, ci, a.group)
	}
	if ws[0] != ci || ws[1] < 1 || ws[2] != a.kh || ws[3] != a.kw {
		return geom{}, fmt.Errorf("%s: weight shape %v, expected (%d, M/group, %d, %d) for x %v",
			name, ws, ci, a.kh, a.kw, xs)
	}
	co := ws[1] * a.group
	if bs != nil && (len(bs) != 1 || bs[0] != co) {
		return geom{}, fmt.Errorf("%s: bias shape %v, expected (%d)", name, bs, co)
	}
	bh := (h-1)*a.sh + a.effH() - a.pt - a.pb + op.outPad[0]
	bw := (w-1)*a.sw + a.effW() - a.pl - a.pr + op.outPad[1]
	if bh < 1 || bw < 1 || h < 1 || w < 1 {
		return geom{}, fmt.Errorf("%s: window %s gives an empty output (%dx%d) for x %v", name, a, bh, bw, xs)
	}
	return geom{attrs: a, n: n, c: co, h: bh, w: bw, o: ci, oh: h, ow: w}, nil
}

func (op *convTransposeOp) Arity() int { return convArity(op.bias) }

func (op *convTransposeOp) Type() hm.Type {
	if op.bias {
		return opkit.FnType(4, 4, 1, 4)
	}
	return opkit.FnType(4, 4, 4)
}

func (op *convTransposeOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	xs, ws, bs, err := convShapes("ConvTranspose", op.bias, ds)
	if err != nil {
		return nil, err
	}
	g, err := op.geom(xs, ws, bs)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.n, g.c, g.h, g.w}, nil
}

func (op *convTransposeOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// UsePreallocDo writes into prealloc when it has the output's shape.
func (op *convTransposeOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, w, b, xs, ws, bs, err := convInputs("ConvTranspose", op.bias, in)
	if err != nil {
		return nil, err
	}
	g, err := op.geom(xs, ws, bs)
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, [][]float32{x, w, b}, g.n, g.c, g.h, g.w)
	convBackwardData(&g, x, w, b, y)
	return out, nil
}

func (op *convTransposeOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *convTransposeOp) Hashcode() uint32      { return opkit.Hashcode(op) }
func (op *convTransposeOp) DiffWRT(n int) []bool  { return diffWRT(n, !op.noDX) }
func (op *convTransposeOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if err := opkit.CheckArity("ConvTranspose", len(in), op.Arity()); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	ys := out.Shape()
	a := op.a
	ret := make(gorgonia.Nodes, len(in))
	var err error
	if !op.noDX {
		// A convolution of dy has floor(outPad/stride) more rows than x.
		crop := [2]int{
			convOut(ys[2], a.pt, a.pb, a.effH(), a.sh) - x.Shape()[2],
			convOut(ys[3], a.pl, a.pr, a.effW(), a.sw) - x.Shape()[3],
		}
		if ret[0], err = apply(&convOp{a: a, crop: crop}, grad, w); err != nil {
			return nil, err
		}
	}
	if ret[1], err = apply(&convWeightGradOp{a: a}, grad, x); err != nil {
		return nil, err
	}
	if op.bias {
		if ret[2], err = apply(biasGradOp{}, grad); err != nil {
			return nil, err
		}
	}
	return ret, nil
}

// ---------------------------------------------------------------------------
// convWeightGradOp: dW = Σ small · im2col(big)ᵀ, inputs (big, small). The
// weight gradient of Conv (x, dy) and of ConvTranspose (dy, x).

type convWeightGradOp struct {
	opkit.Plain
	a attrs
}

func (op *convWeightGradOp) String() string { return fmt.Sprintf("spatial.ConvWeightGrad{%s}", op.a) }

func (op *convWeightGradOp) geom(bs, ss tensor.Shape) (geom, error) {
	const name = "ConvWeightGrad"
	a := op.a
	if bs[0] != ss[0] {
		return geom{}, fmt.Errorf("%s: batch sizes differ: %v and %v", name, bs, ss)
	}
	if bs[1]%a.group != 0 || ss[1]%a.group != 0 {
		return geom{}, fmt.Errorf("%s: channels %d and %d must be multiples of group %d", name, bs[1], ss[1], a.group)
	}
	nh := convOut(bs[2], a.pt, a.pb, a.effH(), a.sh)
	nw := convOut(bs[3], a.pl, a.pr, a.effW(), a.sw)
	if ss[2] < 1 || ss[3] < 1 || ss[2] > nh || ss[3] > nw {
		return geom{}, fmt.Errorf("%s: gradient %v does not match the window %s over %v (at most %dx%d)", name, ss, a, bs, nh, nw)
	}
	return geom{attrs: a, n: bs[0], c: bs[1], h: bs[2], w: bs[3], o: ss[1], oh: ss[2], ow: ss[3]}, nil
}

func (op *convWeightGradOp) Arity() int    { return 2 }
func (op *convWeightGradOp) Type() hm.Type { return opkit.FnType(4, 4, 4) }
func (op *convWeightGradOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	const name = "ConvWeightGrad"
	if err := opkit.CheckArity(name, len(ds), 2); err != nil {
		return nil, err
	}
	bs, err := shapeOf(name, "image", ds, 0, 4)
	if err != nil {
		return nil, err
	}
	ss, err := shapeOf(name, "gradient", ds, 1, 4)
	if err != nil {
		return nil, err
	}
	g, err := op.geom(bs, ss)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.o, g.cg(), g.kh, g.kw}, nil
}

func (op *convWeightGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// UsePreallocDo writes into prealloc when it has the output's shape.
func (op *convWeightGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	const name = "ConvWeightGrad"
	if err := opkit.CheckArity(name, len(in), 2); err != nil {
		return nil, err
	}
	big, bs, err := f32(name, "image", in[0], 4)
	if err != nil {
		return nil, err
	}
	small, ss, err := f32(name, "gradient", in[1], 4)
	if err != nil {
		return nil, err
	}
	g, err := op.geom(bs, ss)
	if err != nil {
		return nil, err
	}
	out, dw := output(prealloc, [][]float32{big, small}, g.o, g.cg(), g.kh, g.kw)
	convBackwardWeight(&g, big, small, dw)
	return out, nil
}

func (op *convWeightGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *convWeightGradOp) Hashcode() uint32      { return opkit.Hashcode(op) }

// ---------------------------------------------------------------------------
// biasGradOp: db[c] = Σ_{n,h,w} dy[n,c,h,w].

type biasGradOp struct{ opkit.Plain }

func (op biasGradOp) String() string { return "spatial.BiasGrad{}" }
func (op biasGradOp) Arity() int     { return 1 }
func (op biasGradOp) Type() hm.Type  { return opkit.FnType(4, 1) }
func (op biasGradOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	if err := opkit.CheckArity("BiasGrad", len(ds), 1); err != nil {
		return nil, err
	}
	s, err := shapeOf("BiasGrad", "gradient", ds, 0, 4)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{s[1]}, nil
}
func (op biasGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// UsePreallocDo writes into prealloc when it has the output's shape.
func (op biasGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := opkit.CheckArity("BiasGrad", len(in), 1); err != nil {
		return nil, err
	}
	dy, s, err := f32("BiasGrad", "gradient", in[0], 4)
	if err != nil {
		return nil, err
	}
	out, db := output(prealloc, [][]float32{dy}, s[1])
	channelSums(dy, s[0], s[1], s[2]*s[3], db)
	return out, nil
}
func (op biasGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op biasGradOp) Hashcode() uint32      { return opkit.Hashcode(op) }
