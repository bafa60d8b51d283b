package importer

import (
	"gorgonia.org/gorgonia"

	"github.com/pgaug/pgaug/trainer/ops/spatial"
)

func init() {
	graphOps["MaxPool"] = buildPool(spatial.MaxPool2D, false)
	graphOps["AveragePool"] = buildPool(spatial.AveragePool2D, true)
	graphOps["GlobalAveragePool"] = func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		return unary4D(b, n, in, spatial.GlobalAveragePool2D)
	}
	graphOps["GlobalMaxPool"] = func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		return unary4D(b, n, in, spatial.GlobalMaxPool2D)
	}
}

func unary4D(b *builder, n *nodeCtx, in []value, f func(*gorgonia.Node) (*gorgonia.Node, error)) ([]value, error) {
	x, err := b.node(in[0], n.inputs[0])
	if err != nil {
		return nil, err
	}
	if err := require4D(n, x); err != nil {
		return nil, err
	}
	return nodeValue(f(x))
}

func buildPool(f func(*gorgonia.Node, spatial.PoolParams) (*gorgonia.Node, error), average bool) graphOp {
	return func(b *builder, n *nodeCtx, in []value) ([]value, error) {
		x, err := b.node(in[0], n.inputs[0])
		if err != nil {
			return nil, err
		}
		if err := require4D(n, x); err != nil {
			return nil, err
		}
		if len(n.outputs) > 1 && n.outputs[1] != "" {
			return nil, n.unsupported("with the Indices output", "MaxPool's first output only")
		}
		if n.attrInt("storage_order", 0) != 0 {
			return nil, n.unsupported("with storage_order=1", "storage_order=0")
		}
		var p spatial.PoolParams
		if p.KernelShape, err = ints2(n, "kernel_shape"); err != nil {
			return nil, err
		}
		if p.Strides, err = ints2(n, "strides"); err != nil {
			return nil, err
		}
		if p.Dilations, err = ints2(n, "dilations"); err != nil {
			return nil, err
		}
		if p.Pads, err = pads4(n); err != nil {
			return nil, err
		}
		p.AutoPad = spatial.AutoPad(n.attrString("auto_pad", "NOTSET"))
		p.CeilMode = n.attrInt("ceil_mode", 0) == 1
		if average {
			p.CountIncludePad = n.attrInt("count_include_pad", 0) == 1
		}
		return nodeValue(f(x, p))
	}
}
