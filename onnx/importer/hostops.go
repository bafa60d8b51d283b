package importer

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/trainer/ops/elementwise"
)

// hostOp evaluates a node whose inputs are all constants (nil for absent
// optional inputs). Shape sub-graphs, Constant nodes and weights computed by
// constant sub-graphs are folded with these.
type hostOp func(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error)

var hostOps map[string]hostOp

func init() {
	hostOps = map[string]hostOp{
		"Constant":        hostConstant,
		"ConstantOfShape": hostConstantOfShape,
		"Shape":           hostShape,
		"Size": func(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
			return one(newIntHost(nil, []int64{int64(in[0].numel())})), nil
		},
		"Identity":   func(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) { return one(in[0]), nil },
		"Cast":       hostCast,
		"Gather":     hostGather,
		"Unsqueeze":  hostUnsqueeze,
		"Squeeze":    hostSqueeze,
		"Concat":     hostConcat,
		"Reshape":    hostReshape,
		"Flatten":    hostFlatten,
		"Slice":      hostSlice,
		"Range":      hostRange,
		"Add":        hostBinary(func(a, b float64) float64 { return a + b }),
		"Sub":        hostBinary(func(a, b float64) float64 { return a - b }),
		"Mul":        hostBinary(func(a, b float64) float64 { return a * b }),
		"Div":        hostDiv,
		"Equal":      hostCompare(func(a, b float64) bool { return a == b }),
		"Less":       hostCompare(func(a, b float64) bool { return a < b }),
		"Greater":    hostCompare(func(a, b float64) bool { return a > b }),
		"Where":      hostWhere,
		"Neg":        hostUnary(func(a float64) float64 { return -a }),
		"Floor":      hostUnary(math.Floor),
		"Ceil":       hostUnary(math.Ceil),
		"Sqrt":       hostUnary(math.Sqrt),
		"ReduceProd": hostReduceProd,
		"Transpose":  hostTranspose,
		"Expand":     hostExpand,
	}
}

func one(t *hostTensor) []*hostTensor { return []*hostTensor{t} }

func hostConstant(n *nodeCtx, _ []*hostTensor) ([]*hostTensor, error) {
	for name, a := range n.attrs {
		switch name {
		case "value":
			h, err := hostFromProto(a.GetT())
			if err != nil {
				return nil, fmt.Errorf("value: %w", err)
			}
			return one(h), nil
		case "value_float":
			return one(newFloatHost(nil, []float32{a.GetF()})), nil
		case "value_floats":
			return one(newFloatHost([]int{len(a.GetFloats())}, append([]float32(nil), a.GetFloats()...))), nil
		case "value_int":
			return one(newIntHost(nil, []int64{a.GetI()})), nil
		case "value_ints":
			return one(newIntHost([]int{len(a.GetInts())}, append([]int64(nil), a.GetInts()...))), nil
		case "sparse_value", "value_string", "value_strings":
			return nil, n.unsupported("attribute "+name, "value, value_float(s), value_int(s)")
		}
	}
	return nil, fmt.Errorf("Constant node has no value attribute")
}

func hostConstantOfShape(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	shape := dimsToInts(in[0].ints())
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in shape %v", shape)
		}
	}
	size := 1
	for _, d := range shape {
		size *= d
	}
	fill := newFloatHost(nil, []float32{0})
	if a, ok := n.attrs["value"]; ok {
		h, err := hostFromProto(a.GetT())
		if err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		fill = h
	}
	if fill.isFloat {
		d := make([]float32, size)
		v := fill.f[0]
		for i := range d {
			d[i] = v
		}
		return one(newFloatHost(shape, d)), nil
	}
	d := make([]int64, size)
	for i := range d {
		d[i] = fill.i[0]
	}
	return one(newIntHost(shape, d)), nil
}

func hostShape(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	return one(shapeTensor(n, in[0].shape)), nil
}

// shapeTensor applies Shape's start/end attributes (opset 15).
func shapeTensor(n *nodeCtx, shape []int) *hostTensor {
	r := int64(len(shape))
	start, end := n.attrInt("start", 0), n.attrInt("end", r)
	clamp := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return max(0, min(v, r))
	}
	start, end = clamp(start), clamp(end)
	var out []int64
	for i := start; i < end; i++ {
		out = append(out, int64(shape[i]))
	}
	return newIntHost([]int{len(out)}, out)
}

func hostCast(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	to := onnxpb.TensorProto_DataType(n.attrInt("to", 1))
	t := in[0]
	switch {
	case isFloatType(int32(to)):
		return one(newFloatHost(t.shape, append([]float32(nil), t.floats()...))), nil
	case to == onnxpb.TensorProto_BOOL:
		v := t.floats()
		out := make([]int64, len(v))
		for i, x := range v {
			if x != 0 {
				out[i] = 1
			}
		}
		return one(newIntHost(t.shape, out)), nil
	case to == onnxpb.TensorProto_STRING:
		return nil, n.unsupported("cast to STRING", "numeric types")
	}
	return one(newIntHost(t.shape, append([]int64(nil), t.ints()...))), nil
}

func normAxis(axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(max(rank, 1)) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

func hostGather(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	data, idx := in[0], in[1]
	axis, err := normAxis(n.attrInt("axis", 0), len(data.shape))
	if err != nil {
		return nil, err
	}
	outer, inner := 1, 1
	for i := 0; i < axis; i++ {
		outer *= data.shape[i]
	}
	for i := axis + 1; i < len(data.shape); i++ {
		inner *= data.shape[i]
	}
	dim := data.shape[axis]
	ids := idx.ints()
	outShape := append(append(append([]int{}, data.shape[:axis]...), idx.shape...), data.shape[axis+1:]...)
	out := &hostTensor{isFloat: data.isFloat, shape: outShape}
	for o := 0; o < outer; o++ {
		for _, id := range ids {
			if id < 0 {
				id += int64(dim)
			}
			if id < 0 || id >= int64(dim) {
				return nil, fmt.Errorf("index %d out of range for axis of size %d", id, dim)
			}
			base := (o*dim + int(id)) * inner
			if data.isFloat {
				out.f = append(out.f, data.f[base:base+inner]...)
			} else {
				out.i = append(out.i, data.i[base:base+inner]...)
			}
		}
	}
	return one(out), nil
}

func reshaped(t *hostTensor, shape []int) *hostTensor {
	return &hostTensor{isFloat: t.isFloat, shape: shape, f: t.f, i: t.i}
}

// axesOf returns the axes of Squeeze/Unsqueeze/Reduce*: an attribute before
// opset 13 (18 for reductions), an input from then on.
func axesOf(n *nodeCtx, in []*hostTensor, inputIndex int) ([]int64, bool) {
	if a, ok := n.attrInts("axes"); ok {
		return a, true
	}
	if inputIndex < len(in) && in[inputIndex] != nil {
		return in[inputIndex].ints(), true
	}
	return nil, false
}

func unsqueezeShape(shape []int, axes []int64) ([]int, error) {
	r := len(shape) + len(axes)
	mark := make([]bool, r)
	for _, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if mark[ax] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		mark[ax] = true
	}
	out := make([]int, 0, r)
	k := 0
	for i := 0; i < r; i++ {
		if mark[i] {
			out = append(out, 1)
		} else {
			out = append(out, shape[k])
			k++
		}
	}
	return out, nil
}

func squeezeShape(shape []int, axes []int64, given bool) ([]int, error) {
	drop := make([]bool, len(shape))
	if !given {
		for i, d := range shape {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		ax, err := normAxis(a, len(shape))
		if err != nil {
			return nil, err
		}
		if shape[ax] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of size %d", a, shape[ax])
		}
		drop[ax] = true
	}
	var out []int
	for i, d := range shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return out, nil
}

func hostUnsqueeze(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	axes, ok := axesOf(n, in, 1)
	if !ok {
		return nil, fmt.Errorf("Unsqueeze needs axes")
	}
	s, err := unsqueezeShape(in[0].shape, axes)
	if err != nil {
		return nil, err
	}
	return one(reshaped(in[0], s)), nil
}

func hostSqueeze(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	axes, given := axesOf(n, in, 1)
	s, err := squeezeShape(in[0].shape, axes, given)
	if err != nil {
		return nil, err
	}
	return one(reshaped(in[0], s)), nil
}

func hostConcat(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("Concat needs inputs")
	}
	rank := len(in[0].shape)
	axis, err := normAxis(n.attrInt("axis", 0), rank)
	if err != nil {
		return nil, err
	}
	isFloat := false
	for _, t := range in {
		isFloat = isFloat || t.isFloat
	}
	outShape := append([]int{}, in[0].shape...)
	outShape[axis] = 0
	for _, t := range in {
		if len(t.shape) != rank {
			return nil, fmt.Errorf("inputs of rank %d and %d", rank, len(t.shape))
		}
		outShape[axis] += t.shape[axis]
	}
	outer := 1
	for i := 0; i < axis; i++ {
		outer *= outShape[i]
	}
	out := &hostTensor{isFloat: isFloat, shape: outShape}
	for o := 0; o < outer; o++ {
		for _, t := range in {
			chunk := t.numel() / max(outer, 1)
			if isFloat {
				out.f = append(out.f, t.floats()[o*chunk:(o+1)*chunk]...)
			} else {
				out.i = append(out.i, t.i[o*chunk:(o+1)*chunk]...)
			}
		}
	}
	return one(out), nil
}

// reshapeTarget resolves ONNX Reshape's target (0 copies, -1 infers).
func reshapeTarget(in []int, target []int64, allowZero bool) ([]int, error) {
	out := make([]int, len(target))
	infer := -1
	known := 1
	for i, t := range target {
		switch {
		case t == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("target %v copies axis %d of a rank-%d input", target, i, len(in))
			}
			out[i] = in[i]
		case t == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("target %v has two -1", target)
			}
			infer = i
			continue
		case t < -1:
			return nil, fmt.Errorf("target %v has a negative dimension", target)
		default:
			out[i] = int(t)
		}
		known *= out[i]
	}
	total := 1
	for _, d := range in {
		total *= d
	}
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, target)
		}
		out[infer] = total / known
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, target)
	}
	return out, nil
}

func hostReshape(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	var target []int64
	if len(in) > 1 && in[1] != nil {
		target = in[1].ints()
	} else if s, ok := n.attrInts("shape"); ok {
		target = s
	}
	s, err := reshapeTarget(in[0].shape, target, n.attrInt("allowzero", 0) == 1)
	if err != nil {
		return nil, err
	}
	return one(reshaped(in[0], s)), nil
}

func flattenShape(shape []int, axis int64) ([]int, error) {
	ax := int(axis)
	if ax < 0 {
		ax += len(shape)
	}
	if ax < 0 || ax > len(shape) {
		return nil, fmt.Errorf("axis %d out of range for rank %d", axis, len(shape))
	}
	a, b := 1, 1
	for i, d := range shape {
		if i < ax {
			a *= d
		} else {
			b *= d
		}
	}
	return []int{a, b}, nil
}

func hostFlatten(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	s, err := flattenShape(in[0].shape, n.attrInt("axis", 1))
	if err != nil {
		return nil, err
	}
	return one(reshaped(in[0], s)), nil
}

// sliceSpec resolves Slice's starts/ends/axes/steps for a shape.
type sliceSpec struct{ start, step, count []int }

func resolveSlice(shape []int, starts, ends, axes, steps []int64) (sliceSpec, error) {
	r := len(shape)
	sp := sliceSpec{start: make([]int, r), step: make([]int, r), count: append([]int{}, shape...)}
	for i := range sp.step {
		sp.step[i] = 1
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if len(starts) != len(ends) || len(axes) != len(starts) || (steps != nil && len(steps) != len(starts)) {
		return sp, fmt.Errorf("starts %v, ends %v, axes %v, steps %v differ in length", starts, ends, axes, steps)
	}
	for k, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return sp, err
		}
		d := int64(shape[ax])
		step := int64(1)
		if steps != nil {
			step = steps[k]
		}
		if step == 0 {
			return sp, fmt.Errorf("step 0")
		}
		s, e := starts[k], ends[k]
		if s < 0 {
			s += d
		}
		if e < 0 {
			e += d
		}
		var cnt int64
		if step > 0 {
			s, e = max(0, min(s, d)), max(0, min(e, d))
			if e > s {
				cnt = (e - s + step - 1) / step
			}
		} else {
			s, e = max(-1, min(s, d-1)), max(-1, min(e, d-1))
			if s > e {
				cnt = (s - e - step - 1) / -step
			}
		}
		sp.start[ax], sp.step[ax], sp.count[ax] = int(s), int(step), int(cnt)
	}
	return sp, nil
}

func hostSlice(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	var starts, ends, axes, steps []int64
	if n.opset < 10 {
		starts, _ = n.attrInts("starts")
		ends, _ = n.attrInts("ends")
		axes, _ = n.attrInts("axes")
	} else {
		starts, ends = in[1].ints(), in[2].ints()
		if len(in) > 3 && in[3] != nil {
			axes = in[3].ints()
		}
		if len(in) > 4 && in[4] != nil {
			steps = in[4].ints()
		}
	}
	t := in[0]
	sp, err := resolveSlice(t.shape, starts, ends, axes, steps)
	if err != nil {
		return nil, err
	}
	out := &hostTensor{isFloat: t.isFloat, shape: sp.count}
	strides := make([]int, len(t.shape))
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= t.shape[i]
	}
	total := 1
	for _, c := range sp.count {
		total *= c
	}
	idx := make([]int, len(t.shape))
	for k := 0; k < total; k++ {
		rem := k
		off := 0
		for ax := len(t.shape) - 1; ax >= 0; ax-- {
			idx[ax] = rem % sp.count[ax]
			rem /= sp.count[ax]
			off += (sp.start[ax] + idx[ax]*sp.step[ax]) * strides[ax]
		}
		if t.isFloat {
			out.f = append(out.f, t.f[off])
		} else {
			out.i = append(out.i, t.i[off])
		}
	}
	return one(out), nil
}

func hostRange(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	start, limit, delta := in[0].floats()[0], in[1].floats()[0], in[2].floats()[0]
	if delta == 0 {
		return nil, fmt.Errorf("delta 0")
	}
	cnt := int(math.Max(math.Ceil(float64((limit-start)/delta)), 0))
	if in[0].isFloat {
		d := make([]float32, cnt)
		for i := range d {
			d[i] = start + float32(i)*delta
		}
		return one(newFloatHost([]int{cnt}, d)), nil
	}
	d := make([]int64, cnt)
	for i := range d {
		d[i] = in[0].i[0] + int64(i)*in[2].i[0]
	}
	return one(newIntHost([]int{cnt}, d)), nil
}

// broadcastHost applies f elementwise with NumPy broadcasting.
func broadcastHost(a, b *hostTensor, f func(x, y float64) float64, isFloat bool) (*hostTensor, error) {
	as, bs := tensor.Shape(a.shape), tensor.Shape(b.shape)
	out, err := elementwise.BroadcastShape(as, bs)
	if err != nil {
		return nil, err
	}
	total := 1
	for _, d := range out {
		total *= d
	}
	av, bv := toF64(a), toF64(b)
	res := &hostTensor{isFloat: isFloat, shape: []int(out)}
	idx := make([]int, len(out))
	pick := func(s []int, v []float64) float64 {
		off, stride := 0, 1
		for k := len(s) - 1; k >= 0; k-- {
			i := idx[len(out)-len(s)+k]
			if s[k] == 1 {
				i = 0
			}
			off += i * stride
			stride *= s[k]
		}
		return v[off]
	}
	for flat := 0; flat < total; flat++ {
		rem := flat
		for ax := len(out) - 1; ax >= 0; ax-- {
			idx[ax] = rem % out[ax]
			rem /= out[ax]
		}
		r := f(pick(a.shape, av), pick(b.shape, bv))
		if isFloat {
			res.f = append(res.f, float32(r))
		} else {
			res.i = append(res.i, int64(r))
		}
	}
	return res, nil
}

func toF64(t *hostTensor) []float64 {
	out := make([]float64, t.numel())
	if t.isFloat {
		for i, v := range t.f {
			out[i] = float64(v)
		}
	} else {
		for i, v := range t.i {
			out[i] = float64(v)
		}
	}
	return out
}

func hostBinary(f func(a, b float64) float64) hostOp {
	return func(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
		r, err := broadcastHost(in[0], in[1], f, in[0].isFloat || in[1].isFloat)
		if err != nil {
			return nil, err
		}
		return one(r), nil
	}
}

func hostDiv(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	isFloat := in[0].isFloat || in[1].isFloat
	f := func(a, b float64) float64 { return a / b }
	if !isFloat {
		f = func(a, b float64) float64 {
			if b == 0 {
				return 0
			}
			return float64(int64(a) / int64(b)) // integer division truncates
		}
	}
	r, err := broadcastHost(in[0], in[1], f, isFloat)
	if err != nil {
		return nil, err
	}
	return one(r), nil
}

func hostCompare(f func(a, b float64) bool) hostOp {
	return func(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
		r, err := broadcastHost(in[0], in[1], func(a, b float64) float64 {
			if f(a, b) {
				return 1
			}
			return 0
		}, false)
		if err != nil {
			return nil, err
		}
		return one(r), nil
	}
}

func hostWhere(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	// where(c, x, y) = c·x + (1−c)·y, computed exactly by selection.
	cx, err := broadcastHost(in[0], in[1], func(c, x float64) float64 { return c }, false)
	if err != nil {
		return nil, err
	}
	isFloat := in[1].isFloat || in[2].isFloat
	xs, err := broadcastHost(in[0], in[1], func(c, x float64) float64 { return x }, isFloat)
	if err != nil {
		return nil, err
	}
	cond := toF64(cx)
	xv := toF64(xs)
	sel, err := broadcastHost(xs, in[2], func(x, y float64) float64 { return y }, isFloat)
	if err != nil {
		return nil, err
	}
	if len(sel.shape) != len(xs.shape) || sel.numel() != xs.numel() {
		return nil, fmt.Errorf("Where: shapes %v, %v, %v need a broadcast the host folder does not do", in[0].shape, in[1].shape, in[2].shape)
	}
	yv := toF64(sel)
	res := &hostTensor{isFloat: isFloat, shape: xs.shape}
	for i := range yv {
		v := yv[i]
		if cond[i] != 0 {
			v = xv[i]
		}
		if isFloat {
			res.f = append(res.f, float32(v))
		} else {
			res.i = append(res.i, int64(v))
		}
	}
	return one(res), nil
}

func hostUnary(f func(float64) float64) hostOp {
	return func(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
		t := in[0]
		out := &hostTensor{isFloat: t.isFloat, shape: t.shape}
		for _, v := range toF64(t) {
			if t.isFloat {
				out.f = append(out.f, float32(f(v)))
			} else {
				out.i = append(out.i, int64(f(v)))
			}
		}
		return one(out), nil
	}
}

func hostReduceProd(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	axes, given := axesOf(n, in, 1)
	if given && len(axes) > 0 {
		return nil, n.unsupported("ReduceProd over chosen axes of a constant", "ReduceProd over all axes")
	}
	p := 1.0
	for _, v := range toF64(in[0]) {
		p *= v
	}
	var shape []int
	if n.attrInt("keepdims", 1) == 1 {
		shape = make([]int, len(in[0].shape))
		for i := range shape {
			shape[i] = 1
		}
	}
	if in[0].isFloat {
		return one(newFloatHost(shape, []float32{float32(p)})), nil
	}
	return one(newIntHost(shape, []int64{int64(p)})), nil
}

func transposePerm(n *nodeCtx, rank int) ([]int, error) {
	p, ok := n.attrInts("perm")
	perm := make([]int, rank)
	if !ok {
		for i := range perm {
			perm[i] = rank - 1 - i
		}
		return perm, nil
	}
	if len(p) != rank {
		return nil, fmt.Errorf("perm %v for rank %d", p, rank)
	}
	seen := make([]bool, rank)
	for i, v := range p {
		if v < 0 || int(v) >= rank || seen[v] {
			return nil, fmt.Errorf("perm %v is not a permutation of 0..%d", p, rank-1)
		}
		seen[v] = true
		perm[i] = int(v)
	}
	return perm, nil
}

func hostTranspose(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	t := in[0]
	perm, err := transposePerm(n, len(t.shape))
	if err != nil {
		return nil, err
	}
	outShape := make([]int, len(perm))
	for i, p := range perm {
		outShape[i] = t.shape[p]
	}
	strides := make([]int, len(t.shape))
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= t.shape[i]
	}
	out := &hostTensor{isFloat: t.isFloat, shape: outShape}
	total := t.numel()
	idx := make([]int, len(outShape))
	for k := 0; k < total; k++ {
		rem := k
		off := 0
		for ax := len(outShape) - 1; ax >= 0; ax-- {
			idx[ax] = rem % outShape[ax]
			rem /= outShape[ax]
			off += idx[ax] * strides[perm[ax]]
		}
		if t.isFloat {
			out.f = append(out.f, t.f[off])
		} else {
			out.i = append(out.i, t.i[off])
		}
	}
	return one(out), nil
}

func hostExpand(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	target := dimsToInts(in[1].ints())
	ones := &hostTensor{isFloat: false, shape: target, i: make([]int64, func() int {
		c := 1
		for _, d := range target {
			c *= d
		}
		return c
	}())}
	r, err := broadcastHost(in[0], ones, func(x, _ float64) float64 { return x }, in[0].isFloat)
	if err != nil {
		return nil, err
	}
	return one(r), nil
}
