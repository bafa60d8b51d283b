package importer

import (
	"errors"
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/executor"
)

// value is an ONNX value during a build: a graph node, or a constant known
// on the host (shapes, axes, scales, folded sub-graphs).
type value struct {
	node *gorgonia.Node
	host *hostTensor
}

func (v value) shape() []int {
	if v.host != nil {
		return v.host.shape
	}
	s := v.node.Shape()
	if s.IsScalar() {
		return nil
	}
	return []int(s.Clone())
}

// Graph is a gorgonia graph built from a Model for concrete input shapes.
type Graph struct {
	Model *Model
	G     *gorgonia.ExprGraph
	// Inputs follow Model.Inputs, less the inputs bound as constants;
	// InputNames names them. Outputs follow Model.Outputs.
	Inputs     []*gorgonia.Node
	InputNames []string
	Outputs    []*gorgonia.Node
	// ParamNodes maps a parameter name to its node (only parameters the graph uses).
	ParamNodes map[string]*gorgonia.Node
	values     map[string]value

	prog *executor.Program // Forward's plan
}

// Value returns the node computing the ONNX value called name (for example a
// layer's output, to extract features or to take Grad-CAM maps from).
func (g *Graph) Value(name string) (*gorgonia.Node, error) {
	v, ok := g.values[name]
	if !ok {
		return nil, fmt.Errorf("%s has no value %q", g.Model.Source, name)
	}
	if v.node == nil {
		return nil, fmt.Errorf("value %q of %s is a constant folded at import, not a graph node", name, g.Model.Source)
	}
	return v.node, nil
}

// ValueNames lists the ONNX values computed by graph nodes, in build order.
func (g *Graph) ValueNames() []string {
	var out []string
	for _, n := range g.Model.nodes {
		for _, o := range n.outputs {
			if v, ok := g.values[o]; ok && v.node != nil {
				out = append(out, o)
			}
		}
	}
	return out
}

// Learnables returns the nodes of the trainable parameters the graph uses, in
// Model.Params order.
func (g *Graph) Learnables() gorgonia.Nodes {
	var out gorgonia.Nodes
	for _, p := range g.Model.Params {
		if n, ok := g.ParamNodes[p.Name]; ok && p.Trainable {
			out = append(out, n)
		}
	}
	return out
}

// Build builds a graph for the given input shapes (by input name; inputs
// whose shape is fully static in the model may be left out).
func (m *Model) Build(shapes map[string][]int) (*Graph, error) {
	return m.BuildWith(BuildOptions{Shapes: shapes})
}

// BuildOptions say how to build a graph.
type BuildOptions struct {
	// Graph to build into (nil: a new one). Several models may share one
	// graph, e.g. a policy and a classifier; node names are prefixed with the
	// model's Source and a sequence number to stay unique.
	Graph *gorgonia.ExprGraph
	// Shapes of the inputs, by name (inputs with static shapes may be left out).
	Shapes map[string][]int
	// Constants gives values to inputs that must be known at build time (see
	// Model.ConstantInputs); they are not graph inputs of the built graph.
	Constants map[string]*onnxio.Tensor
}

// BuildWith builds a graph as opts say.
func (m *Model) BuildWith(opts BuildOptions) (*Graph, error) {
	eg := opts.Graph
	if eg == nil {
		eg = gorgonia.NewGraph()
	}
	shapes := opts.Shapes
	g := &Graph{Model: m, G: eg, ParamNodes: map[string]*gorgonia.Node{}, values: map[string]value{}}
	b := &builder{m: m, g: g, prefix: fmt.Sprintf("%s#%d/", m.Source, m.seq.Add(1))}
	for _, spec := range m.Inputs {
		if c, ok := opts.Constants[spec.Name]; ok {
			h, err := hostFromTensor(c)
			if err != nil {
				return nil, fmt.Errorf("%s: constant input %q: %w", m.Source, spec.Name, err)
			}
			g.values[spec.Name] = value{host: h}
			continue
		}
		shape, err := resolveInputShape(spec, shapes[spec.Name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Source, err)
		}
		if !isFloatType(int32(spec.ElemType)) {
			return nil, fmt.Errorf("%s: input %q has element type %v; graph inputs must be floating point", m.Source, spec.Name, spec.ElemType)
		}
		n := gorgonia.NewTensor(eg, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(b.prefix+"input:"+spec.Name))
		g.Inputs = append(g.Inputs, n)
		g.InputNames = append(g.InputNames, spec.Name)
		g.values[spec.Name] = value{node: n}
	}
	for name := range shapes {
		if v, ok := g.values[name]; !ok || v.node == nil {
			return nil, fmt.Errorf("%s has no input %q (inputs: %v)", m.Source, name, m.inputNames())
		}
	}
	for name, h := range m.consts {
		g.values[name] = value{host: h}
	}
	for _, n := range m.nodes {
		if err := b.buildNode(n); err != nil {
			return nil, err
		}
	}
	for _, spec := range m.Outputs {
		v, ok := g.values[spec.Name]
		if !ok {
			return nil, fmt.Errorf("%s: graph output %q is not computed", m.Source, spec.Name)
		}
		n, err := b.node(v, spec.Name)
		if err != nil {
			return nil, err
		}
		g.Outputs = append(g.Outputs, n)
	}
	return g, nil
}

func (m *Model) inputNames() []string {
	var out []string
	for _, s := range m.Inputs {
		out = append(out, s.Name)
	}
	return out
}

func resolveInputShape(spec IOSpec, given []int) ([]int, error) {
	if given == nil {
		shape := make([]int, len(spec.Dims))
		for i, d := range spec.Dims {
			if d < 0 {
				return nil, fmt.Errorf("input %q has a dynamic dimension %d (%q): give its shape", spec.Name, i, spec.DimNames[i])
			}
			shape[i] = int(d)
		}
		return shape, nil
	}
	if len(spec.Dims) > 0 && len(given) != len(spec.Dims) {
		return nil, fmt.Errorf("input %q has rank %d, shape %v given", spec.Name, len(spec.Dims), given)
	}
	for i, d := range spec.Dims {
		if d > 0 && int64(given[i]) != d {
			return nil, fmt.Errorf("input %q: dimension %d is %d in the model, %d given", spec.Name, i, d, given[i])
		}
	}
	return append([]int{}, given...), nil
}

type builder struct {
	m      *Model
	g      *Graph
	prefix string
	seq    int
}

func (b *builder) buildNode(n *nodeCtx) error {
	in := make([]value, len(n.inputs))
	allHost := true
	for i, name := range n.inputs {
		if name == "" {
			continue
		}
		if p := b.m.paramByID[name]; p != nil {
			node, err := b.paramNode(p)
			if err != nil {
				return err
			}
			in[i] = value{node: node}
			allHost = false
			continue
		}
		v, ok := b.g.values[name]
		if !ok {
			return nodeError(n, fmt.Errorf("input %q is not available", name))
		}
		in[i] = v
		if v.host == nil {
			allHost = false
		}
	}
	if n.op == "Shape" {
		b.g.values[n.outputs[0]] = value{host: shapeTensor(n, in[0].shape())}
		return nil
	}
	if host, ok := hostOps[n.op]; ok && allHost {
		hin := make([]*hostTensor, len(in))
		for i, v := range in {
			hin[i] = v.host
		}
		outs, err := host(n, hin)
		if err != nil {
			return nodeError(n, err)
		}
		for i, o := range outs {
			if i < len(n.outputs) && n.outputs[i] != "" {
				b.g.values[n.outputs[i]] = value{host: o}
			}
		}
		return nil
	}
	op, ok := graphOps[n.op]
	if !ok {
		return n.unsupported("on graph values (it is folded only when its inputs are constants)", "the differentiable operators: "+graphOpList())
	}
	outs, err := op(b, n, in)
	if err != nil {
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			return err
		}
		return nodeError(n, err)
	}
	for i, o := range outs {
		if o.node != nil && !o.node.Shape().IsScalar() && o.node.Shape().TotalSize() == 0 {
			return n.unsupported(fmt.Sprintf("producing an empty tensor of shape %v", o.node.Shape()), "tensors with at least one element")
		}
		if i < len(n.outputs) && n.outputs[i] != "" {
			b.g.values[n.outputs[i]] = o
		}
	}
	return nil
}

func (b *builder) paramNode(p *Param) (*gorgonia.Node, error) {
	if n, ok := b.g.ParamNodes[p.Name]; ok {
		return n, nil
	}
	shape := p.Value.Shape()
	n := gorgonia.NewTensor(b.g.G, tensor.Float32, shape.Dims(), gorgonia.WithShape(shape...),
		gorgonia.WithName(b.prefix+"param:"+p.Name), gorgonia.WithValue(p.Value))
	b.g.ParamNodes[p.Name] = n
	return n, nil
}

// node returns v as a graph node, materialising host constants (as float32).
func (b *builder) node(v value, what string) (*gorgonia.Node, error) {
	if v.node != nil {
		return v.node, nil
	}
	if v.host == nil {
		return nil, fmt.Errorf("value %q is missing", what)
	}
	b.seq++
	name := fmt.Sprintf("%sconst:%s#%d", b.prefix, what, b.seq)
	data := append([]float32(nil), v.host.floats()...)
	if len(v.host.shape) == 0 {
		return gorgonia.NewScalar(b.g.G, tensor.Float32, gorgonia.WithName(name), gorgonia.WithValue(data[0])), nil
	}
	t := tensor.New(tensor.WithShape(v.host.shape...), tensor.WithBacking(data))
	return gorgonia.NewTensor(b.g.G, tensor.Float32, len(v.host.shape), gorgonia.WithShape(v.host.shape...), gorgonia.WithName(name), gorgonia.WithValue(t)), nil
}

// nodes returns every present input as a node.
func (b *builder) nodes(n *nodeCtx, in []value) ([]*gorgonia.Node, error) {
	out := make([]*gorgonia.Node, len(in))
	for i, v := range in {
		if n.inputs[i] == "" {
			continue
		}
		node, err := b.node(v, n.inputs[i])
		if err != nil {
			return nil, err
		}
		out[i] = node
	}
	return out, nil
}

// scalar returns a float32 scalar constant node.
func (b *builder) scalar(v float32) *gorgonia.Node {
	b.seq++
	return gorgonia.NewScalar(b.g.G, tensor.Float32, gorgonia.WithName(fmt.Sprintf("%sscalar#%d", b.prefix, b.seq)), gorgonia.WithValue(v))
}
