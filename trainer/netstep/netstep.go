package netstep

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/trainer/executor"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/ops/batchnorm"
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

// LossFunc builds a custom scalar loss on the network's first output out.
// It returns the loss and the extra input nodes (targets, weights, samples)
// that ForwardBackward's inputs fill, in order, at every step.
type LossFunc func(g *gorgonia.ExprGraph, out *gorgonia.Node) (loss *gorgonia.Node, inputs []*gorgonia.Node, err error)

// Net is an imported model prepared for training steps and evaluation.
type Net struct {
	Model *importer.Model
	Loss  LossKind
	// Custom, when set, replaces Loss (see NewWithLoss).
	Custom LossFunc
	// Recount makes ForwardBackward and Step normalise with the batch
	// statistics without updating BatchNorm's running statistics, for a
	// network whose ForwardTraining pass over the same batch already
	// counted them: a policy that samples with one pass and takes its
	// gradient step with a second (in PyTorch, one pass).
	Recount bool

	train map[string]*trainGraph
	eval  map[string]*importer.Graph
}

// New wraps m. The model's mode (training or inference) is switched by the
// methods below as needed.
func New(m *importer.Model, kind LossKind) *Net {
	return &Net{Model: m, Loss: kind, train: map[string]*trainGraph{}, eval: map[string]*importer.Graph{}}
}

type trainGraph struct {
	g     *importer.Graph
	input *gorgonia.Node
	extra []*gorgonia.Node // the loss's inputs (targets, weights)
	loss  *gorgonia.Node
	out   *gorgonia.Node
	learn gorgonia.Nodes
	grads gorgonia.Nodes // the gradient node of each of learn
	names []string
	prog  *executor.Program
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
	f := n.Custom
	if f == nil {
		f = builtinLoss(n.Loss)
	}
	tg.loss, tg.extra, err = f(g.G, tg.out)
	if err != nil {
		return nil, fmt.Errorf("%s: building the loss on output %v: %w", n.Model.Source, outShape, err)
	}
	if tg.loss == nil || !tg.loss.IsScalar() {
		return nil, fmt.Errorf("%s: the loss on output %v is not a scalar", n.Model.Source, outShape)
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
	if tg.grads, err = gorgonia.Grad(tg.loss, tg.learn...); err != nil {
		return nil, fmt.Errorf("%s: building the backward pass: %w", n.Model.Source, err)
	}
	if tg.prog, err = executor.Compile(nil, append(gorgonia.Nodes{tg.loss, tg.out}, tg.grads...)...); err != nil {
		return nil, fmt.Errorf("%s: planning the training pass: %w", n.Model.Source, err)
	}
	n.train[key] = tg
	return tg, nil
}

// Result is what a forward(+backward) pass gives back.
type Result struct {
	Loss   float32
	Output *tensor.Dense // a copy of the network's output
}

// builtinLoss returns the loss of a LossKind, with the target (shaped like
// the output) as its one input.
func builtinLoss(kind LossKind) LossFunc {
	return func(g *gorgonia.ExprGraph, out *gorgonia.Node) (*gorgonia.Node, []*gorgonia.Node, error) {
		s := out.Shape()
		target := gorgonia.NewTensor(g, tensor.Float32, s.Dims(), gorgonia.WithShape(s...), gorgonia.WithName(fmt.Sprintf("netstep.target%v", s)))
		var l *gorgonia.Node
		var err error
		switch kind {
		case CrossEntropy:
			l, err = loss.SoftmaxCrossEntropy(out, target)
		case BinaryCrossEntropy:
			l, err = loss.BinaryCrossEntropy(out, target)
		default:
			err = fmt.Errorf("unknown loss kind %d", kind)
		}
		return l, []*gorgonia.Node{target}, err
	}
}

// ForwardBackward runs the model in training mode on x with the given loss
// inputs (for the built-in losses: the targets, shaped like the output),
// leaving the parameter gradients ready for Params. Gradients are zeroed
// first.
func (n *Net) ForwardBackward(x *tensor.Dense, inputs ...*tensor.Dense) (Result, error) {
	tg, err := n.trainGraphFor(x.Shape())
	if err != nil {
		return Result{}, err
	}
	if len(inputs) != len(tg.extra) {
		return Result{}, fmt.Errorf("%s: the loss takes %d inputs, got %d", n.Model.Source, len(tg.extra), len(inputs))
	}
	for i, in := range inputs {
		if _, ok := scalarOf(in); ok && tg.extra[i].IsScalar() {
			continue
		}
		if !in.Shape().Eq(tg.extra[i].Shape()) {
			return Result{}, fmt.Errorf("%s: loss input %d (%s) has shape %v, want %v", n.Model.Source, i, tg.extra[i].Name(), in.Shape(), tg.extra[i].Shape())
		}
	}
	mode := batchnorm.Train
	if n.Recount {
		mode = batchnorm.Recount
	}
	n.Model.SetMode(mode)
	if err := gorgonia.Let(tg.input, x); err != nil {
		return Result{}, err
	}
	for i, in := range inputs {
		var v gorgonia.Value = in
		if f, ok := scalarOf(in); ok && tg.extra[i].IsScalar() { // a scalar node takes a scalar value
			v = gorgonia.NewF32(f)
		}
		if err := gorgonia.Let(tg.extra[i], v); err != nil {
			return Result{}, err
		}
	}
	if err := tg.prog.Run(); err != nil {
		return Result{}, fmt.Errorf("%s: training pass: %w", n.Model.Source, err)
	}
	lv, err := tg.prog.Value(tg.loss)
	if err != nil {
		return Result{}, err
	}
	l, ok := scalarOf(lv)
	if !ok {
		return Result{}, fmt.Errorf("%s: the loss is a %T, want a float32 scalar", n.Model.Source, lv.Data())
	}
	if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
		return Result{Loss: l}, fmt.Errorf("%s: the loss is %v", n.Model.Source, l)
	}
	ov, err := tg.prog.Value(tg.out)
	if err != nil {
		return Result{}, err
	}
	out, err := copyDense(ov)
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
		gv, err := tg.prog.Value(tg.grads[i])
		if err != nil {
			return nil, fmt.Errorf("gradient of %q: %w", tg.names[i], err)
		}
		out[i] = optim.Param{Name: tg.names[i], Value: node.Value().Data().([]float32), Grad: gv.Data().([]float32)}
	}
	return out, nil
}

// Step is ForwardBackward followed by one optimizer step with learning rate lr.
func (n *Net) Step(x *tensor.Dense, opt optim.Optimizer, lr float64, inputs ...*tensor.Dense) (Result, error) {
	r, err := n.ForwardBackward(x, inputs...)
	if err != nil {
		return r, err
	}
	ps, err := n.Params(x.Shape())
	if err != nil {
		return r, err
	}
	if err := CheckFinite(ps); err != nil {
		return r, fmt.Errorf("%s: %w", n.Model.Source, err)
	}
	return r, opt.Step(ps, lr)
}

// CheckFinite returns an error naming the first parameter whose gradient
// holds a NaN or an infinity.
func CheckFinite(ps []optim.Param) error {
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
	return n.forward(x, batchnorm.Eval)
}

// ForwardTraining runs the model forward in training mode (BatchNorm uses
// and updates the batch statistics, as a PyTorch module in train() mode
// does) without computing gradients, and returns a copy of its first output.
func (n *Net) ForwardTraining(x *tensor.Dense) (*tensor.Dense, error) {
	return n.forward(x, batchnorm.Train)
}

// ForwardBatchStats runs the model forward in training mode but leaves
// BatchNorm's running statistics alone (batchnorm.Recount): what a
// training-mode network computes on x, with no state changed. It returns a
// copy of the first output.
func (n *Net) ForwardBatchStats(x *tensor.Dense) (*tensor.Dense, error) {
	return n.forward(x, batchnorm.Recount)
}

// forward runs the forward graph for x's shape in the given mode.
func (n *Net) forward(x *tensor.Dense, mode batchnorm.Mode) (*tensor.Dense, error) {
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
	n.Model.SetMode(mode)
	outs, err := g.Forward(x)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// NewWithLoss wraps m with a custom loss (e.g. a policy-gradient objective):
// ForwardBackward then takes the values of the loss's extra inputs in the
// order f returned them.
func NewWithLoss(m *importer.Model, f LossFunc) *Net {
	n := New(m, CrossEntropy)
	n.Custom = f
	return n
}

// Close releases the graphs' buffers.
func (n *Net) Close() {
	for _, tg := range n.train {
		tg.prog.Close()
	}
	for _, g := range n.eval {
		g.Close()
	}
}

// scalarOf returns the value of a float32 scalar or one-element tensor.
func scalarOf(v gorgonia.Value) (float32, bool) {
	switch d := v.Data().(type) {
	case float32:
		return d, true
	case []float32:
		if len(d) == 1 {
			return d[0], true
		}
	}
	return 0, false
}

func copyDense(v gorgonia.Value) (*tensor.Dense, error) {
	d, ok := v.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("output is %T, want []float32", v.Data())
	}
	return tensor.New(tensor.WithShape(v.Shape().Clone()...), tensor.WithBacking(append([]float32(nil), d...))), nil
}
