package importer

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/activation"
	"github.com/pgaug/pgaug/trainer/ops/concat"
	"github.com/pgaug/pgaug/trainer/ops/elementwise"
)

// graphOp builds a node whose inputs include graph values.
type graphOp func(b *builder, n *nodeCtx, in []value) ([]value, error)

var graphOps map[string]graphOp

func init() {
	graphOps = map[string]graphOp{
		"Identity":  func(b *builder, n *nodeCtx, in []value) ([]value, error) { return []value{in[0]}, nil },
		"Dropout":   buildDropout,
		"Add":       buildBinary(elementwise.KindAdd),
		"Sub":       buildBinary(elementwise.KindSub),
		"Mul":       buildBinary(elementwise.KindMul),
		"Div":       buildBinary(elementwise.KindDiv),
		"Sum":       buildSum(false),
		"Mean":      buildSum(true),
		"Relu":      buildUnary(activation.Relu),
		"Sigmoid":   buildUnary(activation.Sigmoid),
		"Tanh":      buildUnary(activation.Tanh),
		"Exp":       buildUnary(gorgonia.Exp),
		"Log":       buildUnary(gorgonia.Log),
		"Sqrt":      buildUnary(gorgonia.Sqrt),
		"Neg":       buildUnary(gorgonia.Neg),
		"Gemm":      buildGemm,
		"MatMul":    buildMatMul,
		"Flatten":   buildFlatten,
		"Reshape":   buildReshape,
		"Squeeze":   buildSqueeze,
		"Unsqueeze": buildUnsqueeze,
		"Transpose": buildTranspose,
		"Concat":    buildConcat,
	}
}

func nodeValue(n *gorgonia.Node, err error) ([]value, error) {
	if err != nil {
		return nil, err
	}
	return []value{{node: n}}, nil
}

func buildUnary(f func(*gorgonia.Node) (*gorgonia.Node, error)) graphOp {
	return func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		x, err := b.node(in[0], n.inputs[0])
		if err != nil {
			return nil, err
		}
		return nodeValue(f(x))
	}
}

func buildBinary(kind elementwise.Kind) graphOp {
	return func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		if n.opset < 7 && n.has("broadcast") {
			return nil, n.unsupported("legacy broadcast attribute", "opset 7 or later")
		}
		x, err := b.nodes(n, in)
		if err != nil {
			return nil, err
		}
		return nodeValue(elementwise.Apply(kind, x[0], x[1]))
	}
}

func buildSum(mean bool) graphOp {
	return func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		x, err := b.nodes(n, in)
		if err != nil {
			return nil, err
		}
		acc := x[0]
		for _, y := range x[1:] {
			if acc, err = elementwise.Add(acc, y); err != nil {
				return nil, err
			}
		}
		if mean && len(x) > 1 {
			acc, err = elementwise.Mul(acc, b.scalar(1/float32(len(x))))
		}
		return nodeValue(acc, err)
	}
}

func buildDropout(b *builder, n *nodeCtx, in []value) ([]value, error) {
	// Exported inference graphs carry Dropout as a no-op; training-mode dropout
	// (training_mode input true) is not applied by imported graphs.
	if len(in) > 2 && in[2].host != nil && len(in[2].host.ints()) > 0 && in[2].host.ints()[0] != 0 {
		return nil, n.unsupported("training_mode=true", "inference-mode Dropout (identity)")
	}
	out := []value{in[0]}
	if len(n.outputs) > 1 && n.outputs[1] != "" {
		shape := in[0].shape()
		size := 1
		for _, d := range shape {
			size *= d
		}
		mask := make([]int64, size)
		for i := range mask {
			mask[i] = 1
		}
		out = append(out, value{host: newIntHost(shape, mask)})
	}
	return out, nil
}

func buildGemm(b *builder, n *nodeCtx, in []value) ([]value, error) {
	x, err := b.nodes(n, in)
	if err != nil {
		return nil, err
	}
	a, bm := x[0], x[1]
	if a.Dims() != 2 || bm.Dims() != 2 {
		return nil, fmt.Errorf("Gemm needs 2-D A and B, got %v and %v", a.Shape(), bm.Shape())
	}
	if n.attrInt("transA", 0) == 1 {
		if a, err = gorgonia.Transpose(a, 1, 0); err != nil {
			return nil, err
		}
	}
	if n.attrInt("transB", 0) == 1 {
		if bm, err = gorgonia.Transpose(bm, 1, 0); err != nil {
			return nil, err
		}
	}
	y, err := gorgonia.Mul(a, bm)
	if err != nil {
		return nil, fmt.Errorf("A·B with shapes %v, %v: %w", a.Shape(), bm.Shape(), err)
	}
	if alpha := n.attrFloat("alpha", 1); alpha != 1 {
		if y, err = elementwise.Mul(y, b.scalar(alpha)); err != nil {
			return nil, err
		}
	}
	if len(x) > 2 && x[2] != nil {
		c := x[2]
		if beta := n.attrFloat("beta", 1); beta != 1 {
			if c, err = elementwise.Mul(c, b.scalar(beta)); err != nil {
				return nil, err
			}
		}
		if y, err = elementwise.Add(y, c); err != nil {
			return nil, err
		}
	}
	return nodeValue(y, nil)
}

func buildMatMul(b *builder, n *nodeCtx, in []value) ([]value, error) {
	x, err := b.nodes(n, in)
	if err != nil {
		return nil, err
	}
	a, c := x[0], x[1]
	as, cs := in[0].shape(), in[1].shape()
	switch {
	case len(as) == 2 && len(cs) == 2:
		return nodeValue(gorgonia.Mul(a, c))
	case len(as) >= 2 && len(cs) == 2:
		// (..., K) · (K, N): fold the leading axes into rows.
		rows := 1
		for _, d := range as[:len(as)-1] {
			rows *= d
		}
		a2, err := gorgonia.Reshape(a, tensor.Shape{rows, as[len(as)-1]})
		if err != nil {
			return nil, err
		}
		y, err := gorgonia.Mul(a2, c)
		if err != nil {
			return nil, err
		}
		out := append(append([]int{}, as[:len(as)-1]...), cs[1])
		return nodeValue(gorgonia.Reshape(y, tensor.Shape(out)))
	case len(as) == 1 && len(cs) == 2:
		a2, err := gorgonia.Reshape(a, tensor.Shape{1, as[0]})
		if err != nil {
			return nil, err
		}
		y, err := gorgonia.Mul(a2, c)
		if err != nil {
			return nil, err
		}
		return nodeValue(gorgonia.Reshape(y, tensor.Shape{cs[1]}))
	}
	return nil, n.unsupported(fmt.Sprintf("with operand shapes %v and %v", as, cs), "2-D·2-D, N-D·2-D, 1-D·2-D")
}

func reshapeTo(b *builder, n *nodeCtx, in value, shape []int) ([]value, error) {
	x, err := b.node(in, n.inputs[0])
	if err != nil {
		return nil, err
	}
	if len(shape) == 0 {
		return nil, n.unsupported("reshape to a scalar", "results of rank 1 or more")
	}
	if tensor.Shape(shape).Eq(x.Shape()) {
		return []value{{node: x}}, nil
	}
	return nodeValue(gorgonia.Reshape(x, tensor.Shape(shape)))
}

func buildFlatten(b *builder, n *nodeCtx, in []value) ([]value, error) {
	s, err := flattenShape(in[0].shape(), n.attrInt("axis", 1))
	if err != nil {
		return nil, err
	}
	return reshapeTo(b, n, in[0], s)
}

func buildReshape(b *builder, n *nodeCtx, in []value) ([]value, error) {
	var target []int64
	switch {
	case len(in) > 1 && in[1].host != nil:
		target = in[1].host.ints()
	case len(in) > 1:
		return nil, fmt.Errorf("the target shape %q is computed from data, not constant", n.inputs[1])
	default:
		target, _ = n.attrInts("shape")
	}
	s, err := reshapeTarget(in[0].shape(), target, n.attrInt("allowzero", 0) == 1)
	if err != nil {
		return nil, err
	}
	return reshapeTo(b, n, in[0], s)
}

func hostAxes(n *nodeCtx, in []value, idx int) ([]int64, bool, error) {
	if a, ok := n.attrInts("axes"); ok {
		return a, true, nil
	}
	if idx < len(in) && n.inputs[idx] != "" {
		if in[idx].host == nil {
			return nil, false, fmt.Errorf("axes %q must be constant", n.inputs[idx])
		}
		return in[idx].host.ints(), true, nil
	}
	return nil, false, nil
}

func buildSqueeze(b *builder, n *nodeCtx, in []value) ([]value, error) {
	axes, given, err := hostAxes(n, in, 1)
	if err != nil {
		return nil, err
	}
	s, err := squeezeShape(in[0].shape(), axes, given)
	if err != nil {
		return nil, err
	}
	return reshapeTo(b, n, in[0], s)
}

func buildUnsqueeze(b *builder, n *nodeCtx, in []value) ([]value, error) {
	axes, given, err := hostAxes(n, in, 1)
	if err != nil {
		return nil, err
	}
	if !given {
		return nil, fmt.Errorf("Unsqueeze needs axes")
	}
	s, err := unsqueezeShape(in[0].shape(), axes)
	if err != nil {
		return nil, err
	}
	return reshapeTo(b, n, in[0], s)
}

func buildTranspose(b *builder, n *nodeCtx, in []value) ([]value, error) {
	x, err := b.node(in[0], n.inputs[0])
	if err != nil {
		return nil, err
	}
	perm, err := transposePerm(n, x.Dims())
	if err != nil {
		return nil, err
	}
	identity := true
	for i, p := range perm {
		identity = identity && i == p
	}
	if identity {
		return []value{{node: x}}, nil
	}
	return nodeValue(gorgonia.Transpose(x, perm...))
}

func buildConcat(b *builder, n *nodeCtx, in []value) ([]value, error) {
	x, err := b.nodes(n, in)
	if err != nil {
		return nil, err
	}
	axis, err := normAxis(n.attrInt("axis", 0), x[0].Dims())
	if err != nil {
		return nil, err
	}
	if len(x) == 1 {
		return []value{{node: x[0]}}, nil
	}
	for _, xi := range x {
		if xi.Dtype() != tensor.Float32 {
			return nodeValue(gorgonia.Concat(axis, x...))
		}
	}
	// block copies in both directions (gorgonia's copies through iterators)
	return nodeValue(concat.Concat(axis, x...))
}
