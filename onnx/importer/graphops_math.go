package importer

import (
	"fmt"

	"gorgonia.org/gorgonia"

	"github.com/pgaug/pgaug/trainer/ops/elementwise"
)

// Pow (opsets 7, 12, 13, 15), Min and Max (8, 12, 13; variadic), Abs (6,
// 13), Erf (9, 13) and Reciprocal (6, 13) on graph values. Later opsets only
// add element types; graph values are float32 whatever the model's type, and
// an integer constant operand is converted to float32 (Pow's exponent may be
// an integer from opset 12).
func init() {
	graphOps["Pow"] = buildPow
	graphOps["Max"] = buildExtremum(elementwise.Max)
	graphOps["Min"] = buildExtremum(elementwise.Min)
	graphOps["Abs"] = buildUnary(elementwise.Abs)
	graphOps["Erf"] = buildUnary(elementwise.Erf)
	// gorgonia's Inverse (1/x, gradient −dy/x²) is checked in builtin_grad_test.go.
	graphOps["Reciprocal"] = buildUnary(gorgonia.Inverse)
}

func buildPow(b *builder, n *nodeCtx, in []value) ([]value, error) {
	if len(in) != 2 || n.inputs[0] == "" || n.inputs[1] == "" {
		return nil, fmt.Errorf("want 2 inputs (base X, exponent Y), got %d", len(in))
	}
	if in[0].host != nil && !in[0].host.isFloat {
		// The result has the base's type: an integer tensor computed from
		// graph values, which graph values (float32) cannot be.
		return nil, n.unsupported(fmt.Sprintf("with an integer base %q and an exponent %q computed in the graph", n.inputs[0], n.inputs[1]),
			"a floating-point base, or an integer base with a constant exponent (folded at import)")
	}
	x, err := b.nodes(n, in)
	if err != nil {
		return nil, err
	}
	return nodeValue(elementwise.Pow(x[0], x[1]))
}

func buildExtremum(f func(...*gorgonia.Node) (*gorgonia.Node, error)) graphOp {
	return func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		if len(in) == 0 {
			return nil, fmt.Errorf("%s needs at least one input", n.op)
		}
		for i, name := range n.inputs {
			if name == "" {
				return nil, fmt.Errorf("%s input %d is empty", n.op, i)
			}
		}
		x, err := b.nodes(n, in)
		if err != nil {
			return nil, err
		}
		return nodeValue(f(x...))
	}
}
