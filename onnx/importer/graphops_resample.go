package importer

import (
	"fmt"
	"math"

	"github.com/pgaug/pgaug/trainer/ops/resample"
)

func init() {
	graphOps["Resize"] = buildResize
	graphOps["Upsample"] = buildResize
	graphOps["Pad"] = buildPad
}

func buildResize(b *builder, n *nodeCtx, in []value) ([]value, error) {
	x, err := b.node(in[0], n.inputs[0])
	if err != nil {
		return nil, err
	}
	if err := require4D(n, x); err != nil {
		return nil, err
	}
	var p resample.ResizeParams
	mode := n.attrString("mode", "nearest")
	if p.Mode, err = resample.ParseMode(mode); err != nil {
		return nil, n.unsupported("mode="+mode, "nearest, linear")
	}
	legacy := n.op == "Upsample" || n.opset < 11
	if legacy {
		// Upsample and Resize-10: asymmetric coordinates, nearest rounds down.
		p.Coordinate, p.Nearest = resample.Asymmetric, resample.Floor
	} else {
		cm := n.attrString("coordinate_transformation_mode", "half_pixel")
		if p.Coordinate, err = resample.ParseCoordinateMode(cm); err != nil {
			return nil, n.unsupported("coordinate_transformation_mode="+cm, "half_pixel, pytorch_half_pixel, align_corners, asymmetric")
		}
		nm := n.attrString("nearest_mode", "round_prefer_floor")
		if p.Nearest, err = resample.ParseNearestMode(nm); err != nil {
			return nil, n.unsupported("nearest_mode="+nm, "round_prefer_floor, round_prefer_ceil, floor, ceil")
		}
		if n.attrInt("antialias", 0) != 0 {
			return nil, n.unsupported("antialias=1", "antialias=0")
		}
		if pol := n.attrString("keep_aspect_ratio_policy", "stretch"); pol != "stretch" {
			return nil, n.unsupported("keep_aspect_ratio_policy="+pol, "stretch")
		}
		if n.attrInt("exclude_outside", 0) != 0 {
			return nil, n.unsupported("exclude_outside=1", "exclude_outside=0")
		}
	}
	// Where the scales and sizes are.
	scalesAt, sizesAt := 2, 3
	if legacy {
		scalesAt, sizesAt = 1, -1
	}
	var scales []float32
	var sizes []int64
	if n.op == "Upsample" && n.opset < 9 {
		a, ok := n.attrs["scales"]
		if !ok {
			return nil, fmt.Errorf("Upsample needs a scales attribute")
		}
		scales = a.GetFloats()
	} else {
		if name := n.input(scalesAt); name != "" {
			if in[scalesAt].host == nil {
				return nil, n.unsupported(fmt.Sprintf("with scales %q computed at run time", name), "constant scales or sizes")
			}
			scales = in[scalesAt].host.floats()
		}
		if sizesAt > 0 {
			if name := n.input(sizesAt); name != "" {
				if in[sizesAt].host == nil {
					return nil, n.unsupported(fmt.Sprintf("with sizes %q computed at run time", name), "constant scales or sizes")
				}
				sizes = in[sizesAt].host.ints()
			}
		}
	}
	rank := 4
	if axes, ok := n.attrInts("axes"); ok {
		fullScales := []float32{1, 1, 1, 1}
		shape := x.Shape()
		fullSizes := []int64{int64(shape[0]), int64(shape[1]), int64(shape[2]), int64(shape[3])}
		for i, a := range axes {
			ax, err := normAxis(a, rank)
			if err != nil {
				return nil, err
			}
			if len(scales) > 0 {
				fullScales[ax] = scales[i]
			}
			if len(sizes) > 0 {
				fullSizes[ax] = sizes[i]
			}
		}
		if len(scales) > 0 {
			scales = fullScales
		}
		if len(sizes) > 0 {
			sizes = fullSizes
		}
	}
	if len(sizes) > 0 {
		p.Sizes = make([]int, len(sizes))
		for i, s := range sizes {
			p.Sizes[i] = int(s)
		}
	} else {
		p.Scales = scales
	}
	return nodeValue(resample.Resize(x, p))
}

func buildPad(b *builder, n *nodeCtx, in []value) ([]value, error) {
	x, err := b.node(in[0], n.inputs[0])
	if err != nil {
		return nil, err
	}
	var p resample.PadParams
	mode := n.attrString("mode", "constant")
	if p.Mode, err = resample.ParsePadMode(mode); err != nil {
		return nil, n.unsupported("mode="+mode, "constant, reflect, edge, wrap")
	}
	var pads []int64
	if n.opset < 11 {
		pads, _ = n.attrInts("pads")
		p.Value = n.attrFloat("value", 0)
	} else {
		if in[1].host == nil {
			return nil, n.unsupported(fmt.Sprintf("with pads %q computed at run time", n.inputs[1]), "constant pads")
		}
		pads = in[1].host.ints()
		if name := n.input(2); name != "" {
			if in[2].host == nil {
				return nil, n.unsupported("with a constant_value computed at run time", "a constant constant_value")
			}
			p.Value = in[2].host.floats()[0]
		}
		if name := n.input(3); name != "" {
			if in[3].host == nil {
				return nil, n.unsupported("with axes computed at run time", "constant axes")
			}
			rank := x.Dims()
			full := make([]int64, 2*rank)
			axes := in[3].host.ints()
			for i, a := range axes {
				ax, err := normAxis(a, rank)
				if err != nil {
					return nil, err
				}
				full[ax], full[ax+rank] = pads[i], pads[i+len(axes)]
			}
			pads = full
		}
	}
	if math.IsNaN(float64(p.Value)) {
		return nil, fmt.Errorf("Pad constant_value is NaN")
	}
	p.Pads = make([]int, len(pads))
	for i, v := range pads {
		p.Pads[i] = int(v)
	}
	return nodeValue(resample.Pad(x, p))
}
