package importer

import (
	"fmt"

	"gorgonia.org/gorgonia"

	"github.com/pgaug/pgaug/trainer/ops/reduce"
)

func init() {
	graphOps["ReduceMean"] = buildReduce(reduce.ReduceMean, 18)
	graphOps["ReduceSum"] = buildReduce(reduce.ReduceSum, 13)
	graphOps["Softmax"] = buildSoftmax(reduce.Softmax, reduce.SoftmaxOpset11)
	graphOps["LogSoftmax"] = buildSoftmax(reduce.LogSoftmax, reduce.LogSoftmaxOpset11)
}

// buildReduce handles ReduceMean/ReduceSum: axes are an attribute before
// axesInputSince and the optional input 1 from then on.
func buildReduce(f func(*gorgonia.Node, []int, bool) (*gorgonia.Node, error), axesInputSince int64) graphOp {
	return func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		x, err := b.node(in[0], n.inputs[0])
		if err != nil {
			return nil, err
		}
		var axes []int64
		if n.opset < axesInputSince {
			axes, _ = n.attrInts("axes")
		} else if name := n.input(1); name != "" {
			if in[1].host == nil {
				return nil, n.unsupported(fmt.Sprintf("with axes %q computed at run time", name), "constant axes")
			}
			axes = in[1].host.ints()
		}
		rank := x.Dims()
		var ax []int
		if len(axes) == 0 {
			if n.attrInt("noop_with_empty_axes", 0) == 1 {
				return []value{{node: x}}, nil
			}
			for i := 0; i < rank; i++ {
				ax = append(ax, i)
			}
		}
		for _, a := range axes {
			v, err := normAxis(a, rank)
			if err != nil {
				return nil, err
			}
			ax = append(ax, v)
		}
		return nodeValue(f(x, ax, n.attrInt("keepdims", 1) == 1))
	}
}

// buildSoftmax handles Softmax/LogSoftmax: before opset 13 the input is
// coerced to 2-D at axis (default 1); from 13 on the operation is along one
// axis (default −1).
func buildSoftmax(along, coerced func(*gorgonia.Node, int) (*gorgonia.Node, error)) graphOp {
	return func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		x, err := b.node(in[0], n.inputs[0])
		if err != nil {
			return nil, err
		}
		if n.opset < 13 {
			axis, err := normAxis(n.attrInt("axis", 1), x.Dims())
			if err != nil {
				return nil, err
			}
			return nodeValue(coerced(x, axis))
		}
		axis, err := normAxis(n.attrInt("axis", -1), x.Dims())
		if err != nil {
			return nil, err
		}
		return nodeValue(along(x, axis))
	}
}
