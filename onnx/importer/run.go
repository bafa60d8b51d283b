package importer

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/executor"
)

// Forward runs the graph once on the given inputs (in Graph.InputNames
// order, float32) and returns copies of the outputs. It keeps one
// executor.Program per graph; it is meant for inference and verification
// (training loops plan their own program over the loss).
func (g *Graph) Forward(inputs ...*tensor.Dense) ([]*tensor.Dense, error) {
	if len(inputs) != len(g.Inputs) {
		return nil, fmt.Errorf("%s: %d inputs given, the model has %d", g.Model.Source, len(inputs), len(g.Inputs))
	}
	if g.prog == nil {
		p, err := executor.Compile(nil, g.Outputs...)
		if err != nil {
			return nil, fmt.Errorf("%s: planning the forward pass: %w", g.Model.Source, err)
		}
		g.prog = p
	}
	for i, in := range inputs {
		if !in.Shape().Eq(g.Inputs[i].Shape()) && !(in.Shape().IsScalar() && g.Inputs[i].Shape().IsScalar()) {
			return nil, fmt.Errorf("%s: input %q has shape %v, the graph was built for %v", g.Model.Source, g.InputNames[i], in.Shape(), g.Inputs[i].Shape())
		}
		if err := gorgonia.Let(g.Inputs[i], in); err != nil {
			return nil, fmt.Errorf("setting input %q: %w", g.InputNames[i], err)
		}
	}
	if err := g.prog.Run(); err != nil {
		return nil, fmt.Errorf("%s: forward pass: %w", g.Model.Source, err)
	}
	out := make([]*tensor.Dense, len(g.Outputs))
	for i, o := range g.Outputs {
		v, err := g.prog.Value(o)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", g.Model.Outputs[i].Name, err)
		}
		d, err := denseCopy(v)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", g.Model.Outputs[i].Name, err)
		}
		out[i] = d
	}
	return out, nil
}

// Close releases the graph's buffers.
func (g *Graph) Close() {
	if g.prog != nil {
		g.prog.Close()
		g.prog = nil
	}
}

func denseCopy(v gorgonia.Value) (*tensor.Dense, error) {
	if v == nil {
		return nil, fmt.Errorf("not computed")
	}
	if s := v.Shape(); !s.IsScalar() && s.TotalSize() == 0 {
		return nil, fmt.Errorf("empty tensor of shape %v", s)
	}
	switch d := v.Data().(type) {
	case []float32:
		return tensor.New(tensor.WithShape(v.Shape().Clone()...), tensor.WithBacking(append([]float32(nil), d...))), nil
	case float32:
		return tensor.New(tensor.FromScalar(d)), nil
	case nil:
		return nil, fmt.Errorf("not computed")
	}
	return nil, fmt.Errorf("unexpected %T", v.Data())
}
