package importer

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"

	"github.com/pgaug/pgaug/trainer/ops/activation"
	"github.com/pgaug/pgaug/trainer/ops/lrn"
)

func init() {
	graphOps["LeakyRelu"] = func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		alpha := n.attrFloat("alpha", activation.DefaultLeakyReluAlpha)
		return unaryWith(b, n, in, func(x *gorgonia.Node) (*gorgonia.Node, error) { return activation.LeakyRelu(x, alpha) })
	}
	graphOps["HardSigmoid"] = func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		alpha := n.attrFloat("alpha", activation.DefaultHardSigmoidAlpha)
		beta := n.attrFloat("beta", activation.DefaultHardSigmoidBeta)
		return unaryWith(b, n, in, func(x *gorgonia.Node) (*gorgonia.Node, error) { return activation.HardSigmoid(x, alpha, beta) })
	}
	graphOps["HardSwish"] = buildUnary(activation.HardSwish)
	graphOps["Clip"] = buildClip
	graphOps["LRN"] = func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		size := n.attrInt("size", 0)
		if size < 1 {
			return nil, fmt.Errorf("LRN needs a positive size attribute")
		}
		p := lrn.Params{Size: int(size), Alpha: n.attrFloat("alpha", 1e-4), Beta: n.attrFloat("beta", 0.75), Bias: n.attrFloat("bias", 1)}
		return unaryWith(b, n, in, func(x *gorgonia.Node) (*gorgonia.Node, error) { return lrn.LRN(x, p) })
	}
}

func unaryWith(b *builder, n *nodeCtx, in []value, f func(*gorgonia.Node) (*gorgonia.Node, error)) ([]value, error) {
	x, err := b.node(in[0], n.inputs[0])
	if err != nil {
		return nil, err
	}
	return nodeValue(f(x))
}

func buildClip(b *builder, n *nodeCtx, in []value) ([]value, error) {
	lo, hi := float32(-math.MaxFloat32), float32(math.MaxFloat32)
	if n.opset < 11 {
		lo, hi = n.attrFloat("min", lo), n.attrFloat("max", hi)
	} else {
		for i, dst := range []*float32{&lo, &hi} {
			name := n.input(i + 1)
			if name == "" {
				continue
			}
			v := in[i+1]
			if v.host == nil || v.host.numel() != 1 {
				return nil, n.unsupported(fmt.Sprintf("with bound %q computed at run time", name), "constant scalar bounds")
			}
			*dst = v.host.floats()[0]
		}
	}
	return unaryWith(b, n, in, func(x *gorgonia.Node) (*gorgonia.Node, error) { return activation.Clip(x, lo, hi) })
}
