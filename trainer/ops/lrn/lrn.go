package lrn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// Params are LRN's attributes (ONNX defaults: alpha 1e-4, beta 0.75, bias 1).
type Params struct {
	Size              int
	Alpha, Beta, Bias float32
}

type lrnOp struct {
	opkit.Plain
	p     Params
	shape tensor.Shape
	grad  bool // the gradient op: inputs x, dy
}

// LRN normalises x (N×C×H×W, or any rank ≥ 2 with channels on axis 1) across channels.
func LRN(x *gorgonia.Node, p Params) (*gorgonia.Node, error) {
	if p.Size < 1 {
		return nil, fmt.Errorf("LRN: size %d, want ≥ 1", p.Size)
	}
	if x.Dims() < 2 {
		return nil, fmt.Errorf("LRN: input of shape %v, want rank ≥ 2 with channels on axis 1", x.Shape())
	}
	return gorgonia.ApplyOp(&lrnOp{p: p, shape: x.Shape().Clone()}, x)
}

func (op *lrnOp) Arity() int {
	if op.grad {
		return 2
	}
	return 1
}
func (op *lrnOp) Type() hm.Type {
	r := len(op.shape)
	if op.grad {
		return opkit.FnType(r, r, r)
	}
	return opkit.FnType(r, r)
}
func (op *lrnOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (op *lrnOp) String() string {
	if op.grad {
		return fmt.Sprintf("LRNGrad%+v", op.p)
	}
	return fmt.Sprintf("LRN%+v", op.p)
}
func (op *lrnOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.lrn|%v|%+v|%v", op.grad, op.p, op.shape)
}
func (op *lrnOp) Hashcode() uint32 { return opkit.Hashcode(op) }

// window returns the channel range [lo, hi] that channel c sums over.
func (op *lrnOp) window(c, channels int) (int, int) {
	lo := c - (op.p.Size-1)/2
	hi := c + (op.p.Size-1+1)/2 // ceil((size-1)/2)
	return max(lo, 0), min(hi, channels-1)
}

// denominators returns d = bias + alpha/size · Σ x² for every element.
func (op *lrnOp) denominators(x []float32) []float64 {
	n, c := op.shape[0], op.shape[1]
	inner := len(x) / (n * c)
	d := make([]float64, len(x))
	scale := float64(op.p.Alpha) / float64(op.p.Size)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			lo, hi := op.window(ch, c)
			out := d[(b*c+ch)*inner : (b*c+ch+1)*inner]
			for k := lo; k <= hi; k++ {
				src := x[(b*c+k)*inner : (b*c+k+1)*inner]
				for i, v := range src {
					out[i] += float64(v) * float64(v)
				}
			}
			for i := range out {
				out[i] = float64(op.p.Bias) + scale*out[i]
			}
		}
	}
	return d
}

func (op *lrnOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	x, ok := vals[0].Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("LRN: want float32 input, got %T", vals[0].Data())
	}
	d := op.denominators(x)
	beta := float64(op.p.Beta)
	out := make([]float32, len(x))
	if !op.grad {
		for i, v := range x {
			out[i] = float32(float64(v) / math.Pow(d[i], beta))
		}
		return tensor.New(tensor.WithShape(op.shape...), tensor.WithBacking(out)), nil
	}
	dy, ok := vals[1].Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("LRN gradient: want float32 dy, got %T", vals[1].Data())
	}
	// dx_i = dy_i·d_i^−β − 2αβ/size · x_i · Σ_{j: i ∈ win(j)} dy_j·x_j·d_j^−β−1
	n, c := op.shape[0], op.shape[1]
	inner := len(x) / (n * c)
	t := make([]float64, len(x))
	for i := range x {
		t[i] = float64(dy[i]) * float64(x[i]) * math.Pow(d[i], -beta-1)
	}
	coef := 2 * float64(op.p.Alpha) * beta / float64(op.p.Size)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			base := (b*c + ch) * inner
			for i := 0; i < inner; i++ {
				var s float64
				for j := 0; j < c; j++ {
					lo, hi := op.window(j, c)
					if ch >= lo && ch <= hi {
						s += t[(b*c+j)*inner+i]
					}
				}
				k := base + i
				out[k] = float32(float64(dy[k])*math.Pow(d[k], -beta) - coef*float64(x[k])*s)
			}
		}
	}
	return tensor.New(tensor.WithShape(op.shape...), tensor.WithBacking(out)), nil
}

func (op *lrnOp) DiffWRT(int) []bool { return []bool{true} }
func (op *lrnOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, fmt.Errorf("LRN: second derivatives are not supported")
	}
	g, err := gorgonia.ApplyOp(&lrnOp{p: op.p, shape: op.shape, grad: true}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}
