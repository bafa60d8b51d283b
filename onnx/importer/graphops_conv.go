package importer

import (
	"fmt"

	"gorgonia.org/gorgonia"

	"github.com/pgaug/pgaug/trainer/ops/spatial"
)

func init() {
	graphOps["Conv"] = buildConv
	graphOps["ConvTranspose"] = buildConvTranspose
}

// ints2 reads a 2-element attribute (kernel_shape, strides, dilations,
// output_padding, output_shape); absent gives zeros (the op's default).
func ints2(n *nodeCtx, name string) ([2]int, error) {
	v, ok := n.attrInts(name)
	if !ok {
		return [2]int{}, nil
	}
	if len(v) != 2 {
		return [2]int{}, n.unsupported(fmt.Sprintf("with %s %v (not 2-D)", name, v), "2-D (N×C×H×W) inputs")
	}
	return [2]int{int(v[0]), int(v[1])}, nil
}

// pads4 reads ONNX pads [x1_begin, x2_begin, x1_end, x2_end].
func pads4(n *nodeCtx) ([4]int, error) {
	v, ok := n.attrInts("pads")
	if !ok {
		return [4]int{}, nil
	}
	if len(v) != 4 {
		return [4]int{}, n.unsupported(fmt.Sprintf("with pads %v (not 2-D)", v), "2-D (N×C×H×W) inputs")
	}
	return [4]int{int(v[0]), int(v[1]), int(v[2]), int(v[3])}, nil
}

func require4D(n *nodeCtx, x *gorgonia.Node) error {
	if x.Dims() != 4 {
		return n.unsupported(fmt.Sprintf("on a rank-%d input %v", x.Dims(), x.Shape()), "2-D (N×C×H×W) inputs")
	}
	return nil
}

// isGraphInput reports whether value name is one of the model's inputs (the
// data: its gradient is not needed unless asked for).
func (b *builder) isGraphInput(name string) bool {
	for _, in := range b.m.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

func buildConv(b *builder, n *nodeCtx, in []value) ([]value, error) {
	x, err := b.nodes(n, in)
	if err != nil {
		return nil, err
	}
	if err := require4D(n, x[0]); err != nil {
		return nil, err
	}
	var p spatial.ConvParams
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
	p.Group = int(n.attrInt("group", 1))
	p.NoInputGrad = b.isGraphInput(n.inputs[0]) && !b.m.InputGradients
	if len(x) > 2 && x[2] != nil {
		return nodeValue(spatial.Conv2DBias(x[0], x[1], x[2], p))
	}
	return nodeValue(spatial.Conv2D(x[0], x[1], p))
}

func buildConvTranspose(b *builder, n *nodeCtx, in []value) ([]value, error) {
	x, err := b.nodes(n, in)
	if err != nil {
		return nil, err
	}
	if err := require4D(n, x[0]); err != nil {
		return nil, err
	}
	var p spatial.ConvTransposeParams
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
	if p.OutputPadding, err = ints2(n, "output_padding"); err != nil {
		return nil, err
	}
	if os, ok := n.attrInts("output_shape"); ok {
		// output_shape may list the spatial dims only, or all of them.
		if len(os) > 2 {
			os = os[len(os)-2:]
		}
		if len(os) != 2 {
			return nil, n.unsupported(fmt.Sprintf("with output_shape %v", os), "2-D output shapes")
		}
		p.OutputShape = [2]int{int(os[0]), int(os[1])}
	}
	p.AutoPad = spatial.AutoPad(n.attrString("auto_pad", "NOTSET"))
	p.Group = int(n.attrInt("group", 1))
	p.NoInputGrad = b.isGraphInput(n.inputs[0]) && !b.m.InputGradients
	if len(x) > 2 && x[2] != nil {
		return nodeValue(spatial.ConvTranspose2DBias(x[0], x[1], x[2], p))
	}
	return nodeValue(spatial.ConvTranspose2D(x[0], x[1], p))
}
