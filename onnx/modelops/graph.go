package modelops

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// graphIndex indexes a graph's values: which node produces each, which
// nodes consume it, and the constant tensors (initializers and Constant
// nodes).
type graphIndex struct {
	g         *onnxpb.GraphProto
	producer  map[string]*onnxpb.NodeProto
	consumers map[string][]*onnxpb.NodeProto
	inits     map[string]*onnxpb.TensorProto
	outputs   map[string]bool
}

func indexGraph(m *onnxpb.ModelProto) (*graphIndex, error) {
	if m == nil || m.GetGraph() == nil {
		return nil, fmt.Errorf("the model has no graph")
	}
	g := m.GetGraph()
	ix := &graphIndex{
		g:         g,
		producer:  map[string]*onnxpb.NodeProto{},
		consumers: map[string][]*onnxpb.NodeProto{},
		inits:     map[string]*onnxpb.TensorProto{},
		outputs:   map[string]bool{},
	}
	for _, t := range g.GetInitializer() {
		ix.inits[t.GetName()] = t
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			if o != "" {
				ix.producer[o] = n
			}
		}
		for _, in := range n.GetInput() {
			if in != "" {
				ix.consumers[in] = append(ix.consumers[in], n)
			}
		}
	}
	for _, o := range g.GetOutput() {
		ix.outputs[o.GetName()] = true
	}
	return ix, nil
}

// dataInputs returns the graph inputs that are not initializers (IR < 4
// lists initializers among the inputs).
func (ix *graphIndex) dataInputs() []*onnxpb.ValueInfoProto {
	var out []*onnxpb.ValueInfoProto
	for _, in := range ix.g.GetInput() {
		if _, isInit := ix.inits[in.GetName()]; !isInit {
			out = append(out, in)
		}
	}
	return out
}

func nodeLabel(n *onnxpb.NodeProto) string {
	name := n.GetName()
	if name == "" && len(n.GetOutput()) > 0 {
		name = "producing " + n.GetOutput()[0]
	}
	return fmt.Sprintf("node %q (%s)", name, n.GetOpType())
}

// constTensor is a constant float tensor of the graph: an initializer or the
// value of a Constant node.
type constTensor struct {
	name string
	init *onnxpb.TensorProto // the initializer, or
	node *onnxpb.NodeProto   // the Constant node
	dims []int64
	data []float32
}

// constant returns the constant tensor called name, for the use described
// by role ("weight of node ..."), or an error saying what it is instead.
func (ix *graphIndex) constant(name, role string) (*constTensor, error) {
	if t, ok := ix.inits[name]; ok {
		data, dims, err := onnxio.TensorToFloat32(t)
		if err != nil {
			return nil, fmt.Errorf("%s: initializer %q: %w", role, name, err)
		}
		return &constTensor{name: name, init: t, dims: dims, data: data}, nil
	}
	if n, ok := ix.producer[name]; ok {
		if n.GetOpType() != "Constant" {
			return nil, fmt.Errorf("%s: %q is computed by %s, want an initializer or a Constant node", role, name, nodeLabel(n))
		}
		t, err := onnxio.ConstantValue(n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", role, err)
		}
		data, dims, err := onnxio.TensorToFloat32(t)
		if err != nil {
			return nil, fmt.Errorf("%s: Constant %q: %w", role, name, err)
		}
		return &constTensor{name: name, node: n, dims: dims, data: data}, nil
	}
	return nil, fmt.Errorf("%s: %q is a graph input, want an initializer or a Constant node", role, name)
}

// exclusive checks that only user reads the tensor, so that replacing it
// changes nothing else.
func (ix *graphIndex) exclusive(c *constTensor, user *onnxpb.NodeProto) error {
	var others []string
	for _, n := range ix.consumers[c.name] {
		if n != user {
			others = append(others, nodeLabel(n))
		}
	}
	if ix.outputs[c.name] {
		others = append(others, "the graph output")
	}
	if len(others) > 0 {
		return fmt.Errorf("tensor %q is also read by %v; it must belong to %s alone to be replaced", c.name, others, nodeLabel(user))
	}
	return nil
}

// set replaces the tensor's value (float32), where it is stored, and the
// shape of any value_info or graph input that describes it.
func (ix *graphIndex) set(c *constTensor, dims []int64, data []float32) {
	t := onnxio.Float32Tensor(c.name, dims, data)
	switch {
	case c.init != nil:
		for i, old := range ix.g.Initializer {
			if old == c.init {
				ix.g.Initializer[i] = t
			}
		}
		ix.inits[c.name] = t
		c.init = t
	case c.node != nil:
		t.Name = nil
		c.node.Attribute = []*onnxpb.AttributeProto{onnxio.AttrTensor("value", t)}
	}
	c.dims, c.data = dims, data
	for _, vi := range append(append([]*onnxpb.ValueInfoProto{}, ix.g.GetInput()...), ix.g.GetValueInfo()...) {
		if vi.GetName() == c.name {
			setShape(vi, dims)
		}
	}
}

// addInitializer adds a float32 initializer.
func (ix *graphIndex) addInitializer(name string, dims []int64, data []float32) {
	t := onnxio.Float32Tensor(name, dims, data)
	ix.g.Initializer = append(ix.g.Initializer, t)
	ix.inits[name] = t
}

// setShape gives a value_info a fixed tensor shape.
func setShape(vi *onnxpb.ValueInfoProto, dims []int64) {
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return
	}
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	tt.Shape = shape
}

// setDim fixes dimension i of a value_info's shape to v, when the shape is
// known to have that many dimensions. It returns the previous fixed value
// (0 when it was symbolic or unknown).
func setDim(vi *onnxpb.ValueInfoProto, i int, v int64) int64 {
	shape := vi.GetType().GetTensorType().GetShape()
	if shape == nil || i < 0 || i >= len(shape.GetDim()) {
		return 0
	}
	d := shape.Dim[i]
	old := d.GetDimValue()
	d.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}
	d.Denotation = nil
	return old
}

// dropValueInfo removes value_info entries for the named values (their
// shapes changed; shape inference recomputes them).
func (ix *graphIndex) dropValueInfo(names map[string]bool) {
	kept := ix.g.ValueInfo[:0]
	for _, vi := range ix.g.ValueInfo {
		if !names[vi.GetName()] {
			kept = append(kept, vi)
		}
	}
	ix.g.ValueInfo = kept
}

func numel(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// streamID and linearInit mirror package zoo's initialisation: a tensor's
// values come from the stream of (seed, its name).
func streamID(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// uniform returns n values of U(−bound, bound) from the stream of (seed, name).
func uniform(name string, n int, bound float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, streamID(name)))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32((2*rng.Float64() - 1) * bound)
	}
	return out
}

// linearBound is PyTorch's default Linear bound for weight and bias,
// 1/√in_features.
func linearBound(inFeatures int64) float64 { return 1 / math.Sqrt(float64(inFeatures)) }

func attrInt(n *onnxpb.NodeProto, name string, def int64) int64 {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetI()
		}
	}
	return def
}

func removeAttrs(n *onnxpb.NodeProto, names ...string) {
	drop := map[string]bool{}
	for _, s := range names {
		drop[s] = true
	}
	kept := n.Attribute[:0]
	for _, a := range n.Attribute {
		if !drop[a.GetName()] {
			kept = append(kept, a)
		}
	}
	n.Attribute = kept
}

func cloneModel(m *onnxpb.ModelProto) *onnxpb.ModelProto {
	return proto.Clone(m).(*onnxpb.ModelProto)
}
