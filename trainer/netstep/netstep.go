package netstep

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/optim"
)

// LossKind chooses the loss built on the network's first output.
type LossKind int

// The losses.
const (
	// CrossEntropy: softmax cross-entropy of B×K logits against B×K target
	// distributions (one-hot or soft).
	CrossEntropy LossKind = iota
	// BinaryCrossEntropy: the output is a probability map (e.g. a sigmoid
	// segmentation policy) compared with a target map of the same shape.
	BinaryCrossEntropy
)

// Net is an imported model prepared for training steps and evaluation.
type Net struct {
	Model *importer.Model
	Loss  LossKind

	train map[string]*trainGraph
	eval  map[string]*importer.Graph
}

// New wraps m. The model's mode (training or inference) is switched by the
// methods below as needed.
func New(m *importer.Model, kind LossKind) *Net {
	return &Net{Model: m, Loss: kind, train: map[string]*trainGraph{}, eval: map[string]*importer.Graph{}}
}

type trainGraph struct {
	g         *importer.Graph
	input     *gorgonia.Node
	target    *gorgonia.Node
	loss      *gorgonia.Node
	out       *gorgonia.Node
	learn     gorgonia.Nodes
	names     []string
	vm        gorgonia.VM
	lossVal   gorgonia.Value
	outVal    gorgonia.Value
	gradNodes map[string]*gorgonia.Node
}

func shapeKey(s []int) string { return fmt.Sprint(s) }

func (n *Net) inputName() (string, error) {
	if len(n.Model.Inputs) != 1 {
		return "", fmt.Errorf("%s has %d inputs; a trainable network needs exactly one", n.Model.Source, len(n.Model.Inputs))
	}
	return n.Model.Inputs[0].Name, nil
}

func (n *Net) trainGraphFor(shape []int) (*trainGraph, error) {
	key := shapeKey(shape)
	if tg, ok := n.train[key]; ok {
		return tg, nil
	}
	name, err := n.inputName()
	if err != nil {
		return nil, err
	}
	g, err := n.Model.Build(map[string][]int{name: shape})
	if err != nil {
		return nil, err
	}
	tg := &trainGraph{g: g, input: g.Inputs[0], out: g.Outputs[0]}
	outShape := tg.out.Shape()
	tg.target = gorgonia.NewTensor(g.G, tensor.Float32, outShape.Dims(), gorgonia.WithShape(outShape...), gorgonia.WithName(fmt.Sprintf("netstep.target%v", outShape)))
	switch n.Loss {
	case CrossEntropy:
		tg.loss, err = loss.SoftmaxCrossEntropy(tg.out, tg.target)
	case BinaryCrossEntropy:
		tg.loss, err = loss.BinaryCrossEntropy(tg.out, tg.target)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: building the loss on output %v: %w", n.Model.Source, outShape, err)
	}
	for _, p := range n.Model.Params {
		if node, ok := g.ParamNodes[p.Name]; ok && p.Trainable {
			tg.learn = append(tg.learn, node)
			tg.names = append(tg.names, p.Name)
		}
	}
	if len(tg.learn) == 0 {
		return nil, fmt.Errorf("%s has no trainable parameters (all frozen?)", n.Model.Source)
	}
	if _, err := gorgonia.Grad(tg.loss, tg.learn...); err != nil {
		return nil, fmt.Errorf("%s: building the backward pass: %w", n.Model.Source, err)
	}
	gorgonia.Read(tg.loss, &tg.lossVal)
	gorgonia.Read(tg.out, &tg.outVal)
	tg.vm = gorgonia.NewTapeMachine(g.G, gorgonia.BindDualValues(tg.learn...))
	n.train[key] = tg
	return tg, nil
}

// Result is what a forward(+backward) pass gives back.
type Result struct {
	Loss   float32
	Output *tensor.Dense // a copy of the network's output
}

// ForwardBackward runs the model in training mode on x with the given
// targets (same shape as the output), leaving the parameter gradients ready
// for Params. Gradients are zeroed first.
func (n *Net) ForwardBackward(x, target *tensor.Dense) (Result, error) {
	tg, err := n.trainGraphFor(x.Shape())
	if err != nil {
		return Result{}, err
	}
	if !target.Shape().Eq(tg.target.Shape()) {
		return Result{}, fmt.Errorf("%s: targets have shape %v, the output is %v", n.Model.Source, target.Shape(), tg.target.Shape())
	}
	n.Model.SetTraining(true)
	if err := zeroGrads(tg.learn); err != nil {
		return Result{}, err
	}
	if err := gorgonia.Let(tg.input, x); err != nil {
		return Result{}, err
	}
	if err := gorgonia.Let(tg.target, target); err != nil {
		return Result{}, err
	}
	tg.vm.Reset()
	if err := tg.vm.RunAll(); err != nil {
		return Result{}, fmt.Errorf("%s: training pass: %w", n.Model.Source, err)
	}
	l := tg.lossVal.Data().(float32)
	if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
		return Result{Loss: l}, fmt.Errorf("%s: the loss is %v", n.Model.Source, l)
	}
	out, err := copyDense(tg.outVal)
	return Result{Loss: l, Output: out}, err
}

// Params returns the trainable parameters with their gradients from the last
// ForwardBackward on a batch of shape like x's.
func (n *Net) Params(shape []int) ([]optim.Param, error) {
	tg, ok := n.train[shapeKey(shape)]
	if !ok {
		return nil, fmt.Errorf("no training pass was run for shape %v", shape)
	}
	out := make([]optim.Param, len(tg.learn))
	for i, node := range tg.learn {
		gv, err := node.Grad()
		if err != nil {
			return nil, fmt.Errorf("gradient of %q: %w", tg.names[i], err)
		}
		out[i] = optim.Param{Name: tg.names[i], Value: node.Value().Data().([]float32), Grad: gv.Data().([]float32)}
	}
	return out, nil
}

// Step is ForwardBackward followed by one optimizer step with learning rate lr.
func (n *Net) Step(x, target *tensor.Dense, opt optim.Optimizer, lr float64) (Result, error) {
	r, err := n.ForwardBackward(x, target)
	if err != nil {
		return r, err
	}
	ps, err := n.Params(x.Shape())
	if err != nil {
		return r, err
	}
	if err := checkFinite(ps); err != nil {
		return r, fmt.Errorf("%s: %w", n.Model.Source, err)
	}
	return r, opt.Step(ps, lr)
}

func checkFinite(ps []optim.Param) error {
	for _, p := range ps {
		for _, g := range p.Grad {
			if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
				return fmt.Errorf("the gradient of %q is not finite", p.Name)
			}
		}
	}
	return nil
}

// Forward runs the model in inference mode (running BN statistics) and
// returns a copy of its first output.
func (n *Net) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	key := shapeKey(x.Shape())
	g, ok := n.eval[key]
	if !ok {
		name, err := n.inputName()
		if err != nil {
			return nil, err
		}
		if g, err = n.Model.Build(map[string][]int{name: x.Shape()}); err != nil {
			return nil, err
		}
		n.eval[key] = g
	}
	n.Model.SetTraining(false)
	outs, err := g.Forward(x)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// Close releases the machines.
func (n *Net) Close() {
	for _, tg := range n.train {
		tg.vm.Close()
	}
	for _, g := range n.eval {
		g.Close()
	}
}

func zeroGrads(nodes gorgonia.Nodes) error {
	for _, node := range nodes {
		gv, err := node.Grad()
		if err != nil || gv == nil {
			continue // not computed yet: nothing accumulated
		}
		if d, ok := gv.Data().([]float32); ok {
			clear(d)
		}
	}
	return nil
}

func copyDense(v gorgonia.Value) (*tensor.Dense, error) {
	d, ok := v.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("output is %T, want []float32", v.Data())
	}
	return tensor.New(tensor.WithShape(v.Shape().Clone()...), tensor.WithBacking(append([]float32(nil), d...))), nil
}
