package loss

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// WeightedBinaryCrossEntropy returns mean(−w1·log p − w0·log(1−p)) over
// every element, for probabilities p and per-element weights w1, w0 of the
// same shape (p clamped to [ε, 1−ε], as BinaryCrossEntropy). With w1 = t and
// w0 = 1 − t it is BinaryCrossEntropy(p, t).
//
// Policy-gradient losses are weighted sums of BCE terms with the same
// probabilities, e.g. APGA's (R−b)·BCE(P, A) + λ·BCE(P, 0), which is this loss
// with w1 = (R−b)·A and w0 = (R−b)·(1−A) + λ. The weights may be negative (a
// negative advantage). The gradient flows into p only.
func WeightedBinaryCrossEntropy(p, w1, w0 *gorgonia.Node) (*gorgonia.Node, error) {
	if !p.Shape().Eq(w1.Shape()) || !p.Shape().Eq(w0.Shape()) {
		return nil, fmt.Errorf("weighted binary cross-entropy: probabilities %v and weights %v, %v differ in shape", p.Shape(), w1.Shape(), w0.Shape())
	}
	return gorgonia.ApplyOp(&wbceOp{shape: p.Shape().Clone()}, p, w1, w0)
}

type wbceOp struct {
	shape tensor.Shape
	grad  bool
}

func (op *wbceOp) Arity() int {
	if op.grad {
		return 4
	}
	return 3
}
func (op *wbceOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m := gorgonia.TensorType{Dims: op.shape.Dims(), Of: a}
	if op.grad {
		return hm.NewFnType(m, m, m, a, m)
	}
	return hm.NewFnType(m, m, m, a)
}
func (op *wbceOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.grad {
		return op.shape.Clone(), nil
	}
	return tensor.ScalarShape(), nil
}
func (op *wbceOp) ReturnsPtr() bool     { return false }
func (op *wbceOp) CallsExtern() bool    { return false }
func (op *wbceOp) OverwritesInput() int { return -1 }
func (op *wbceOp) String() string {
	if op.grad {
		return "WeightedBinaryCrossEntropyGrad"
	}
	return "WeightedBinaryCrossEntropy"
}
func (op *wbceOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "pgaug.loss.wbce|%v|%v", op.grad, op.shape) }
func (op *wbceOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *wbceOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	p, ok1 := vals[0].Data().([]float32)
	w1, ok2 := vals[1].Data().([]float32)
	w0, ok3 := vals[2].Data().([]float32)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("weighted binary cross-entropy: want float32 probabilities and weights")
	}
	n := float64(len(p))
	if !op.grad {
		var s float64
		for i, v := range p {
			q := clampProb(v)
			s -= float64(w1[i])*math.Log(q) + float64(w0[i])*math.Log(1-q)
		}
		return gorgonia.NewF32(float32(s / n)), nil
	}
	up, ok := vals[3].Data().(float32)
	if !ok {
		return nil, fmt.Errorf("weighted binary cross-entropy gradient: want a float32 scalar upstream gradient")
	}
	out := make([]float32, len(p))
	for i, v := range p {
		if float64(v) < Epsilon || float64(v) > 1-Epsilon {
			continue // clamped: no gradient
		}
		q := float64(v)
		out[i] = float32(float64(up) / n * (-float64(w1[i])/q + float64(w0[i])/(1-q)))
	}
	return tensor.New(tensor.WithShape(op.shape...), tensor.WithBacking(out)), nil
}

func (op *wbceOp) DiffWRT(int) []bool { return []bool{true, false, false} }
func (op *wbceOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, fmt.Errorf("weighted binary cross-entropy: second derivatives are not supported")
	}
	g, err := gorgonia.ApplyOp(&wbceOp{shape: op.shape, grad: true}, inputs[0], inputs[1], inputs[2], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g, nil, nil}, nil
}
