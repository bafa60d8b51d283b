package exporter

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// upgradeTo13 rewrites, in place, the nodes of a graph of default-domain
// opset `from` (< 13) whose signature changed by opset 13, and sets the
// model's opset import to 13. It handles the operators the importer
// supports; any other node whose operator changed is an error.
func upgradeTo13(m *onnxpb.ModelProto, from int64) error {
	g := m.GetGraph()
	var out []*onnxpb.NodeProto
	seq := 0
	fresh := func(base string) string {
		seq++
		return fmt.Sprintf("%s__pgaug_up%d", base, seq)
	}
	addInts := func(base string, v []int64) string {
		name := fresh(base)
		g.Initializer = append(g.Initializer, onnxio.Int64Tensor(name, []int64{int64(len(v))}, v))
		return name
	}
	addFloat := func(base string, v float32) string {
		name := fresh(base)
		g.Initializer = append(g.Initializer, onnxio.Float32Tensor(name, nil, []float32{v}))
		return name
	}
	for _, n := range g.GetNode() {
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			out = append(out, n)
			continue
		}
		attrs := map[string]*onnxpb.AttributeProto{}
		for _, a := range n.GetAttribute() {
			attrs[a.GetName()] = a
		}
		drop := func(names ...string) {
			var kept []*onnxpb.AttributeProto
			for _, a := range n.Attribute {
				keep := true
				for _, nm := range names {
					keep = keep && a.GetName() != nm
				}
				if keep {
					kept = append(kept, a)
				}
			}
			n.Attribute = kept
		}
		switch n.GetOpType() {
		case "Squeeze", "Unsqueeze", "ReduceSum":
			if a, ok := attrs["axes"]; ok {
				n.Input = append(n.Input[:1], addInts(n.GetOutput()[0]+"_axes", a.GetInts()))
				drop("axes")
			}
		case "Softmax", "LogSoftmax":
			// Before 13 the input is coerced to 2-D at axis (default 1); from
			// 13 the operation is along one axis. Flatten at axis, apply along
			// the last axis, restore the shape.
			axis := int64(1)
			if a, ok := attrs["axis"]; ok {
				axis = a.GetI()
			}
			x, y := n.GetInput()[0], n.GetOutput()[0]
			flat, soft, shape := fresh(y+"_flat"), fresh(y+"_2d"), fresh(y+"_shape")
			out = append(out,
				&onnxpb.NodeProto{OpType: proto.String("Flatten"), Name: proto.String(fresh(n.GetName())), Input: []string{x}, Output: []string{flat},
					Attribute: []*onnxpb.AttributeProto{onnxio.AttrInt("axis", axis)}},
				&onnxpb.NodeProto{OpType: proto.String(n.GetOpType()), Name: proto.String(n.GetName()), Input: []string{flat}, Output: []string{soft},
					Attribute: []*onnxpb.AttributeProto{onnxio.AttrInt("axis", -1)}},
				&onnxpb.NodeProto{OpType: proto.String("Shape"), Name: proto.String(fresh(n.GetName())), Input: []string{x}, Output: []string{shape}},
				&onnxpb.NodeProto{OpType: proto.String("Reshape"), Name: proto.String(fresh(n.GetName())), Input: []string{soft, shape}, Output: []string{y}},
			)
			continue
		case "Clip":
			if from < 11 {
				var ins []string
				ins = append(ins, n.GetInput()[0])
				if a, ok := attrs["min"]; ok {
					ins = append(ins, addFloat(n.GetOutput()[0]+"_min", a.GetF()))
				} else {
					ins = append(ins, "")
				}
				if a, ok := attrs["max"]; ok {
					ins = append(ins, addFloat(n.GetOutput()[0]+"_max", a.GetF()))
				}
				n.Input = ins
				drop("min", "max")
			}
		case "Pad":
			if from < 11 {
				pads := attrs["pads"].GetInts()
				ins := []string{n.GetInput()[0], addInts(n.GetOutput()[0]+"_pads", pads)}
				if a, ok := attrs["value"]; ok {
					ins = append(ins, addFloat(n.GetOutput()[0]+"_value", a.GetF()))
				}
				n.Input = ins
				drop("pads", "value")
			}
		case "Upsample", "Resize":
			if n.GetOpType() == "Upsample" || from < 11 {
				var scales string
				if a, ok := attrs["scales"]; ok {
					scales = fresh(n.GetOutput()[0] + "_scales")
					g.Initializer = append(g.Initializer, onnxio.Float32Tensor(scales, []int64{int64(len(a.GetFloats()))}, a.GetFloats()))
				} else {
					scales = n.GetInput()[1]
				}
				mode := "nearest"
				if a, ok := attrs["mode"]; ok {
					mode = string(a.GetS())
				}
				n.OpType = proto.String("Resize")
				n.Input = []string{n.GetInput()[0], "", scales}
				n.Attribute = []*onnxpb.AttributeProto{
					onnxio.AttrString("mode", mode),
					onnxio.AttrString("coordinate_transformation_mode", "asymmetric"),
					onnxio.AttrString("nearest_mode", "floor"),
				}
			}
		case "Dropout":
			// Inference graphs: Dropout is the identity.
			n.OpType = proto.String("Identity")
			n.Input = n.Input[:1]
			n.Output = n.Output[:1]
			n.Attribute = nil
		case "BatchNormalization":
			drop("spatial", "is_test", "consumed_inputs")
		case "Slice":
			if from < 10 {
				ins := []string{n.GetInput()[0], addInts(n.GetOutput()[0]+"_starts", attrs["starts"].GetInts()), addInts(n.GetOutput()[0]+"_ends", attrs["ends"].GetInts())}
				if a, ok := attrs["axes"]; ok {
					ins = append(ins, addInts(n.GetOutput()[0]+"_axes", a.GetInts()))
				}
				n.Input = ins
				drop("starts", "ends", "axes")
			}
		case "Split", "TopK", "Scatter", "Expand", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2":
			return fmt.Errorf("node %q: exporting %s from opset %d to 13 is not supported", n.GetName(), n.GetOpType(), from)
		}
		out = append(out, n)
	}
	g.Node = out
	for _, os := range m.GetOpsetImport() {
		if d := os.GetDomain(); d == "" || d == "ai.onnx" {
			os.Version = proto.Int64(MinExportOpset)
		}
	}
	if m.GetIrVersion() < 7 {
		m.IrVersion = proto.Int64(7) // IR 7 goes with opset 13
	}
	// IR ≥ 4 no longer needs initializers listed among the inputs; keep them
	// (still valid) so input lists stay as the source had them.
	return nil
}
