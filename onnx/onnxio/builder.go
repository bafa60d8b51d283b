package onnxio

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// GraphBuilder assembles an ONNX graph and model programmatically. Add
// inputs, initializers, nodes (in topological order) and outputs, then call
// Model, which checks the graph and reports the first problem found.
type GraphBuilder struct {
	graph     *onnxpb.GraphProto
	defined   map[string]string // value name -> what defines it
	nodeNames map[string]bool
	opCount   map[string]int
	errs      []error
}

// NewGraphBuilder returns a builder for a graph called name.
func NewGraphBuilder(name string) *GraphBuilder {
	return &GraphBuilder{
		graph:     &onnxpb.GraphProto{Name: optString(name)},
		defined:   map[string]string{},
		nodeNames: map[string]bool{},
		opCount:   map[string]int{},
	}
}

func (b *GraphBuilder) fail(format string, a ...any) {
	b.errs = append(b.errs, fmt.Errorf(format, a...))
}

func (b *GraphBuilder) define(name, by string) {
	if name == "" {
		b.fail("%s: empty value name", by)
		return
	}
	if prev, ok := b.defined[name]; ok {
		b.fail("value %q is defined twice: by %s and by %s", name, prev, by)
		return
	}
	b.defined[name] = by
}

// AddInput declares a graph input of the given element type. Each dim is an
// int or int64 (a fixed size, or -1 for an unnamed dynamic dimension) or a
// string (a symbolic dimension such as "N"). No dims declares a scalar.
func (b *GraphBuilder) AddInput(name string, elemType DType, dims ...any) {
	b.define(name, "input "+name)
	b.graph.Input = append(b.graph.Input, b.valueInfo("input", name, elemType, dims))
}

// AddOutput declares a graph output of the given element type, which a node
// must produce; dims are as for AddInput.
func (b *GraphBuilder) AddOutput(name string, elemType DType, dims ...any) {
	b.graph.Output = append(b.graph.Output, b.valueInfo("output", name, elemType, dims))
}

func (b *GraphBuilder) valueInfo(kind, name string, elemType DType, dims []any) *onnxpb.ValueInfoProto {
	if _, ok := onnxpb.TensorProto_DataType_name[int32(elemType)]; !ok || elemType == DTypeUndefined {
		b.fail("%s %q: element type %s is not an ONNX tensor type", kind, name, elemType)
	}
	shape := &onnxpb.TensorShapeProto{Dim: make([]*onnxpb.TensorShapeProto_Dimension, len(dims))}
	for i, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch v := d.(type) {
		case int:
			setDimValue(b, dim, kind, name, i, int64(v))
		case int64:
			setDimValue(b, dim, kind, name, i, v)
		case string:
			if v == "" {
				b.fail("%s %q: dim %d is an empty symbol", kind, name, i)
			}
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: v}
		default:
			b.fail("%s %q: dim %d is a %T, want an int, an int64 or a string", kind, name, i, d)
		}
		shape.Dim[i] = dim
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: int32Ptr(int32(elemType)),
			Shape:    shape,
		}}},
	}
}

func setDimValue(b *GraphBuilder, dim *onnxpb.TensorShapeProto_Dimension, kind, name string, i int, v int64) {
	switch {
	case v == -1: // dynamic: neither value nor param
	case v >= 0:
		dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}
	default:
		b.fail("%s %q: dim %d is %d, want >= 0, -1 (dynamic) or a symbol", kind, name, i, v)
	}
}

// AddInitializer adds a named constant tensor (a weight) to the graph.
func (b *GraphBuilder) AddInitializer(t *onnxpb.TensorProto) {
	if t == nil {
		b.fail("nil initializer")
		return
	}
	b.define(t.GetName(), "initializer "+t.GetName())
	b.graph.Initializer = append(b.graph.Initializer, t)
}

// AddNode appends a node of the default ONNX domain and returns it (set its
// Domain for other domains). An empty input name marks an omitted optional
// input. The node is named "<opType>_<k>" unless the caller sets a name
// afterwards; names are unique within the builder.
func (b *GraphBuilder) AddNode(opType string, inputs, outputs []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	name := b.nodeName(opType)
	for _, in := range inputs {
		if _, ok := b.defined[in]; in != "" && !ok {
			b.fail("node %q (%s): input %q is not a graph input, an initializer or an earlier node's output", name, opType, in)
		}
	}
	for _, out := range outputs {
		b.define(out, fmt.Sprintf("node %q (%s)", name, opType))
	}
	seen := map[string]bool{}
	for _, a := range attrs {
		if a == nil || a.GetName() == "" {
			b.fail("node %q (%s): attribute without a name", name, opType)
			continue
		}
		if seen[a.GetName()] {
			b.fail("node %q (%s): attribute %q given twice", name, opType, a.GetName())
		}
		seen[a.GetName()] = true
	}
	n := &onnxpb.NodeProto{
		Name:      proto.String(name),
		OpType:    proto.String(opType),
		Input:     append([]string(nil), inputs...),
		Output:    append([]string(nil), outputs...),
		Attribute: attrs,
	}
	b.graph.Node = append(b.graph.Node, n)
	return n
}

func (b *GraphBuilder) nodeName(opType string) string {
	for {
		b.opCount[opType]++
		name := fmt.Sprintf("%s_%d", opType, b.opCount[opType])
		if !b.nodeNames[name] {
			b.nodeNames[name] = true
			return name
		}
	}
}

// IRVersionForOpset returns the IR version Model writes for a default-domain
// opset: 8 up to opset 18 (ONNX Runtime 1.20 and later read it), and the IR
// version that introduced the opset after that (9 for opsets 19 and 20, 10
// for 21 and 22). Opsets outside 7 to 22 give an error.
func IRVersionForOpset(opset int64) (int64, error) {
	switch {
	case opset >= 7 && opset <= 18:
		return 8, nil
	case opset == 19 || opset == 20:
		return 9, nil
	case opset == 21 || opset == 22:
		return 10, nil
	}
	return 0, fmt.Errorf("opset %d is not supported (want 7 to 22; newer opsets need an IR version newer than %d)", opset, SchemaIRVersion)
}

// Model checks the graph and returns it as a model importing the default
// ONNX domain at opset, with the IR version IRVersionForOpset gives, the
// producer name and metadata (written sorted by key). It reports the first
// problem the builder met, or an output that no node, input or initializer
// defines, or a node name given twice.
func (b *GraphBuilder) Model(opset int64, producer string, metadata map[string]string) (*onnxpb.ModelProto, error) {
	ir, err := IRVersionForOpset(opset)
	if err != nil {
		return nil, fmt.Errorf("graph %q: %w", b.graph.GetName(), err)
	}
	errs := append([]error(nil), b.errs...)
	for _, out := range b.graph.GetOutput() {
		if _, ok := b.defined[out.GetName()]; !ok {
			errs = append(errs, fmt.Errorf("output %q is not produced by any node, input or initializer", out.GetName()))
		}
	}
	names := map[string]bool{}
	for _, n := range b.graph.GetNode() {
		if names[n.GetName()] {
			errs = append(errs, fmt.Errorf("node name %q is used twice", n.GetName()))
		}
		names[n.GetName()] = true
	}
	if len(b.graph.GetOutput()) == 0 {
		errs = append(errs, errors.New("graph has no outputs"))
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("graph %q: %s", b.graph.GetName(), strings.Join(msgs, "; "))
	}
	m := &onnxpb.ModelProto{
		IrVersion:    int64Ptr(ir),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: int64Ptr(opset)}},
		ProducerName: optString(producer),
		// The model shares the builder's tensors and nodes but not its lists,
		// so later Add calls do not change it.
		Graph: &onnxpb.GraphProto{
			Name:        b.graph.Name,
			Input:       append([]*onnxpb.ValueInfoProto(nil), b.graph.Input...),
			Output:      append([]*onnxpb.ValueInfoProto(nil), b.graph.Output...),
			Initializer: append([]*onnxpb.TensorProto(nil), b.graph.Initializer...),
			Node:        append([]*onnxpb.NodeProto(nil), b.graph.Node...),
		},
	}
	keys := make([]string, 0, len(metadata))
	for k := range metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(metadata[k])})
	}
	return m, nil
}

// AttrInt returns an INT attribute.
func AttrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: int64Ptr(v)}
}

// AttrInts returns an INTS attribute.
func AttrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: append([]int64{}, v...)}
}

// AttrFloat returns a FLOAT attribute.
func AttrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// AttrFloats returns a FLOATS attribute.
func AttrFloats(name string, v ...float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: append([]float32{}, v...)}
}

// AttrString returns a STRING attribute.
func AttrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// AttrTensor returns a TENSOR attribute (the value of a Constant node, for
// example).
func AttrTensor(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}
