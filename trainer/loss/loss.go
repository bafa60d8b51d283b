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

// OneHot returns a B×K float32 target matrix for integer labels.
func OneHot(labels []int, classes int) (*tensor.Dense, error) {
	d := make([]float32, len(labels)*classes)
	for i, y := range labels {
		if y < 0 || y >= classes {
			return nil, fmt.Errorf("label %d of sample %d is outside [0, %d)", y, i, classes)
		}
		d[i*classes+y] = 1
	}
	return tensor.New(tensor.WithShape(len(labels), classes), tensor.WithBacking(d)), nil
}

// ---------------------------------------------------------------------------------
// softmax cross-entropy

type ceOp struct {
	b, k int
	grad bool // gradient op: inputs logits, targets, upstream scalar
}

// SoftmaxCrossEntropy returns mean_b(−Σ_k t[b,k]·log softmax(z)[b,k]) for
// logits z (B×K) and targets t (B×K rows of probabilities: one-hot for hard
// labels, mixtures for CutMix). The gradient flows into z only.
func SoftmaxCrossEntropy(logits, targets *gorgonia.Node) (*gorgonia.Node, error) {
	if logits.Dims() != 2 || !logits.Shape().Eq(targets.Shape()) {
		return nil, fmt.Errorf("softmax cross-entropy: logits %v and targets %v must both be B×K", logits.Shape(), targets.Shape())
	}
	s := logits.Shape()
	return gorgonia.ApplyOp(&ceOp{b: s[0], k: s[1]}, logits, targets)
}

func (op *ceOp) Arity() int {
	if op.grad {
		return 3
	}
	return 2
}
func (op *ceOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m := gorgonia.TensorType{Dims: 2, Of: a}
	if op.grad {
		return hm.NewFnType(m, m, a, m)
	}
	return hm.NewFnType(m, m, a)
}
func (op *ceOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.grad {
		return tensor.Shape{op.b, op.k}, nil
	}
	return tensor.ScalarShape(), nil
}
func (op *ceOp) ReturnsPtr() bool     { return false }
func (op *ceOp) CallsExtern() bool    { return false }
func (op *ceOp) OverwritesInput() int { return -1 }
func (op *ceOp) String() string {
	if op.grad {
		return "SoftmaxCrossEntropyGrad"
	}
	return "SoftmaxCrossEntropy"
}
func (op *ceOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "pgaug.loss.ce|%v|%d|%d", op.grad, op.b, op.k) }
func (op *ceOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// logSoftmaxRow writes log softmax(z) into out (float64 for accuracy).
func logSoftmaxRow(z []float32, out []float64) {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(s)
	for i, v := range z {
		out[i] = float64(v) - lse
	}
}

func (op *ceOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	z, ok1 := vals[0].Data().([]float32)
	t, ok2 := vals[1].Data().([]float32)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("softmax cross-entropy: want float32 logits and targets")
	}
	ls := make([]float64, op.k)
	if !op.grad {
		var total float64
		for b := 0; b < op.b; b++ {
			logSoftmaxRow(z[b*op.k:(b+1)*op.k], ls)
			for k := 0; k < op.k; k++ {
				if tk := t[b*op.k+k]; tk != 0 {
					total -= float64(tk) * ls[k]
				}
			}
		}
		return gorgonia.NewF32(float32(total / float64(op.b))), nil
	}
	up, ok := vals[2].Data().(float32)
	if !ok {
		return nil, fmt.Errorf("softmax cross-entropy gradient: want a float32 scalar upstream gradient, got %T", vals[2].Data())
	}
	out := make([]float32, op.b*op.k)
	scale := float64(up) / float64(op.b)
	for b := 0; b < op.b; b++ {
		row := t[b*op.k : (b+1)*op.k]
		var tsum float64
		for _, v := range row {
			tsum += float64(v)
		}
		logSoftmaxRow(z[b*op.k:(b+1)*op.k], ls)
		for k := 0; k < op.k; k++ {
			out[b*op.k+k] = float32(scale * (math.Exp(ls[k])*tsum - float64(row[k])))
		}
	}
	return tensor.New(tensor.WithShape(op.b, op.k), tensor.WithBacking(out)), nil
}

func (op *ceOp) DiffWRT(int) []bool { return []bool{true, false} }
func (op *ceOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, fmt.Errorf("softmax cross-entropy: second derivatives are not supported")
	}
	g, err := gorgonia.ApplyOp(&ceOp{b: op.b, k: op.k, grad: true}, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g, nil}, nil
}

// ---------------------------------------------------------------------------------
// binary cross-entropy

// Epsilon clamps probabilities in BCE as PyTorch clamps the log at −100.
const Epsilon = 1e-7

type bceOp struct {
	shape tensor.Shape
	grad  bool
}

// BinaryCrossEntropy returns mean(−t·log p − (1−t)·log(1−p)) over every
// element, for probabilities p and targets t of the same shape (p clamped to
// [ε, 1−ε]). The gradient flows into p only.
func BinaryCrossEntropy(p, t *gorgonia.Node) (*gorgonia.Node, error) {
	if !p.Shape().Eq(t.Shape()) {
		return nil, fmt.Errorf("binary cross-entropy: probabilities %v and targets %v differ in shape", p.Shape(), t.Shape())
	}
	return gorgonia.ApplyOp(&bceOp{shape: p.Shape().Clone()}, p, t)
}

func (op *bceOp) Arity() int {
	if op.grad {
		return 3
	}
	return 2
}
func (op *bceOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m := gorgonia.TensorType{Dims: op.shape.Dims(), Of: a}
	if op.grad {
		return hm.NewFnType(m, m, a, m)
	}
	return hm.NewFnType(m, m, a)
}
func (op *bceOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.grad {
		return op.shape.Clone(), nil
	}
	return tensor.ScalarShape(), nil
}
func (op *bceOp) ReturnsPtr() bool     { return false }
func (op *bceOp) CallsExtern() bool    { return false }
func (op *bceOp) OverwritesInput() int { return -1 }
func (op *bceOp) String() string {
	if op.grad {
		return "BinaryCrossEntropyGrad"
	}
	return "BinaryCrossEntropy"
}
func (op *bceOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "pgaug.loss.bce|%v|%v", op.grad, op.shape) }
func (op *bceOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func clampProb(p float32) float64 {
	return math.Min(math.Max(float64(p), Epsilon), 1-Epsilon)
}

func (op *bceOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	p, ok1 := vals[0].Data().([]float32)
	t, ok2 := vals[1].Data().([]float32)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("binary cross-entropy: want float32 probabilities and targets")
	}
	n := float64(len(p))
	if !op.grad {
		var s float64
		for i, v := range p {
			q := clampProb(v)
			s -= float64(t[i])*math.Log(q) + (1-float64(t[i]))*math.Log(1-q)
		}
		return gorgonia.NewF32(float32(s / n)), nil
	}
	up, ok := vals[2].Data().(float32)
	if !ok {
		return nil, fmt.Errorf("binary cross-entropy gradient: want a float32 scalar upstream gradient")
	}
	out := make([]float32, len(p))
	for i, v := range p {
		if float64(v) < Epsilon || float64(v) > 1-Epsilon {
			continue // clamped: no gradient, as with PyTorch's clamp of the log
		}
		q := float64(v)
		out[i] = float32(float64(up) / n * (q - float64(t[i])) / (q * (1 - q)))
	}
	return tensor.New(tensor.WithShape(op.shape...), tensor.WithBacking(out)), nil
}

func (op *bceOp) DiffWRT(int) []bool { return []bool{true, false} }
func (op *bceOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, fmt.Errorf("binary cross-entropy: second derivatives are not supported")
	}
	g, err := gorgonia.ApplyOp(&bceOp{shape: op.shape, grad: true}, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g, nil}, nil
}
