package transfer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// shapeOps produce shapes, indices or constants, never feature maps.
var shapeOps = map[string]bool{
	"Constant": true, "ConstantOfShape": true, "Shape": true, "Size": true, "Range": true,
	"NonZero": true, "ArgMax": true, "ArgMin": true, "TopK": true,
}

// Layers returns the values of m's graph that can serve as feature layers,
// in node order: the outputs of its top-level nodes, without those of
// shape and constant operators and those declared with a non-float type.
func Layers(m *onnxpb.ModelProto) []string {
	g := m.GetGraph()
	types := declaredTypes(g)
	var out []string
	for _, n := range g.GetNode() {
		if shapeOps[n.GetOpType()] && n.GetDomain() == "" {
			continue
		}
		for _, o := range n.GetOutput() {
			if o == "" {
				continue
			}
			if t, ok := types[o]; ok && t != onnxio.DTypeFloat32 {
				continue
			}
			out = append(out, o)
		}
	}
	return out
}

// declaredTypes maps the values with a declared tensor type to it.
func declaredTypes(g *onnxpb.GraphProto) map[string]onnxio.DType {
	types := map[string]onnxio.DType{}
	for _, list := range [][]*onnxpb.ValueInfoProto{g.GetValueInfo(), g.GetOutput()} {
		for _, vi := range list {
			if tt := vi.GetType().GetTensorType(); tt != nil && tt.ElemType != nil {
				types[vi.GetName()] = onnxio.DType(tt.GetElemType())
			}
		}
	}
	return types
}

// DefaultLayer returns the penultimate features of m: the first input of
// the last Gemm or MatMul node.
func DefaultLayer(m *onnxpb.ModelProto) (string, error) {
	nodes := m.GetGraph().GetNode()
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if (n.GetOpType() == "Gemm" || n.GetOpType() == "MatMul") && n.GetDomain() == "" && len(n.GetInput()) > 0 {
			return n.GetInput()[0], nil
		}
	}
	return "", fmt.Errorf("the model has no Gemm or MatMul node whose input would be the penultimate features; name a layer (%s)",
		describeCandidates(Layers(m)))
}

// describeCandidates lists layer names for an error message, eliding the
// middle of a long list.
func describeCandidates(names []string) string {
	if len(names) == 0 {
		return "the model has no candidate layers"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	const head, tail = 10, 40
	if len(q) <= head+tail {
		return fmt.Sprintf("candidate layers: %s", strings.Join(q, ", "))
	}
	return fmt.Sprintf("%d candidate layers: %s, … (%d more) …, %s; `pgaug eval transfer --list-layers` prints them all",
		len(q), strings.Join(q[:head], ", "), len(q)-head-tail, strings.Join(q[len(q)-tail:], ", "))
}

// CutAt returns a copy of m whose only graph output is the value layer
// (declared float with its known shape, or with no shape for ONNX Runtime to
// infer). An unknown layer is an error that lists the candidates.
func CutAt(m *onnxpb.ModelProto, layer string) (*onnxpb.ModelProto, error) {
	if m.GetGraph() == nil {
		return nil, errors.New("the model has no graph")
	}
	if layer == "" {
		return nil, errors.New("empty layer name")
	}
	candidates := Layers(m)
	found := false
	for _, c := range candidates {
		if c == layer {
			found = true
			break
		}
	}
	if !found {
		for _, in := range m.GetGraph().GetInput() {
			if in.GetName() == layer {
				return nil, fmt.Errorf("layer %q is a graph input, not a feature layer (%s)", layer, describeCandidates(candidates))
			}
		}
		if t, ok := declaredTypes(m.GetGraph())[layer]; ok && t != onnxio.DTypeFloat32 {
			return nil, fmt.Errorf("layer %q holds %s values; features must be float32 (%s)", layer, t, describeCandidates(candidates))
		}
		return nil, fmt.Errorf("the model has no layer %q (%s)", layer, describeCandidates(candidates))
	}
	out := proto.Clone(m).(*onnxpb.ModelProto)
	g := out.GetGraph()
	var vi *onnxpb.ValueInfoProto
	for _, list := range [][]*onnxpb.ValueInfoProto{g.GetOutput(), g.GetValueInfo()} {
		for _, v := range list {
			if v.GetName() == layer && v.GetType().GetTensorType() != nil {
				vi = proto.Clone(v).(*onnxpb.ValueInfoProto)
				break
			}
		}
		if vi != nil {
			break
		}
	}
	if vi == nil {
		vi = &onnxpb.ValueInfoProto{
			Name: proto.String(layer),
			Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
				ElemType: proto.Int32(int32(onnxio.DTypeFloat32)),
			}}},
		}
	}
	g.Output = []*onnxpb.ValueInfoProto{vi}
	return out, nil
}
