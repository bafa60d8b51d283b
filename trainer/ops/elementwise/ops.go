package elementwise

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// Kind is a binary arithmetic operation.
type Kind int

// The binary operations.
const (
	KindAdd Kind = iota
	KindSub
	KindMul
	KindDiv
)

func (k Kind) String() string { return [...]string{"Add", "Sub", "Mul", "Div"}[k] }

func float32Data(v gorgonia.Value, what string) ([]float32, error) {
	switch d := v.Data().(type) {
	case []float32:
		return d, nil
	case float32:
		return []float32{d}, nil
	}
	return nil, fmt.Errorf("%s: want float32 data, got %T", what, v.Data())
}

func newValue(shape tensor.Shape, data []float32) gorgonia.Value {
	if len(shape) == 0 {
		return gorgonia.NewF32(data[0])
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// ---------------------------------------------------------------------------------
// binary

type binaryOp struct {
	opkit.Plain
	kind      Kind
	a, b, out tensor.Shape
	sa, sb    []int
}

// Add returns a + b with NumPy broadcasting.
func Add(a, b *gorgonia.Node) (*gorgonia.Node, error) { return apply(KindAdd, a, b) }

// Sub returns a − b with NumPy broadcasting.
func Sub(a, b *gorgonia.Node) (*gorgonia.Node, error) { return apply(KindSub, a, b) }

// Mul returns a ⊙ b with NumPy broadcasting.
func Mul(a, b *gorgonia.Node) (*gorgonia.Node, error) { return apply(KindMul, a, b) }

// Div returns a ⊘ b with NumPy broadcasting.
func Div(a, b *gorgonia.Node) (*gorgonia.Node, error) { return apply(KindDiv, a, b) }

// Apply returns a (kind) b with NumPy broadcasting.
func Apply(kind Kind, a, b *gorgonia.Node) (*gorgonia.Node, error) { return apply(kind, a, b) }

func apply(kind Kind, a, b *gorgonia.Node) (*gorgonia.Node, error) {
	as, bs := opkit.ShapeOf(a), opkit.ShapeOf(b)
	out, err := BroadcastShape(as, bs)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", kind, err)
	}
	op := &binaryOp{kind: kind, a: as, b: bs, out: out, sa: broadcastStrides(as, out), sb: broadcastStrides(bs, out)}
	n, err := gorgonia.ApplyOp(op, a, b)
	if err != nil {
		return nil, fmt.Errorf("%v of %v and %v: %w", kind, as, bs, err)
	}
	return n, nil
}

func (op *binaryOp) Arity() int { return 2 }
func (op *binaryOp) Type() hm.Type {
	// Operands may have different ranks; the type system only needs the output rank.
	return opkit.FnType(len(op.a), len(op.b), len(op.out))
}

func (op *binaryOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(op.out) == 0 {
		return tensor.ScalarShape(), nil
	}
	return op.out.Clone(), nil
}
func (op *binaryOp) String() string { return fmt.Sprintf("%v%v%v→%v", op.kind, op.a, op.b, op.out) }
func (op *binaryOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.elementwise.%v|%v|%v", op.kind, op.a, op.b)
}
func (op *binaryOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *binaryOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs, got %d", op.kind, len(vals))
	}
	a, err := float32Data(vals[0], op.kind.String())
	if err != nil {
		return nil, err
	}
	b, err := float32Data(vals[1], op.kind.String())
	if err != nil {
		return nil, err
	}
	if len(a) != numel(op.a) || len(b) != numel(op.b) {
		return nil, fmt.Errorf("%v: inputs have %d and %d elements, the graph expects shapes %v and %v", op.kind, len(a), len(b), op.a, op.b)
	}
	out := make([]float32, numel(op.out))
	n := len(op.out)
	var la, lb int
	if n > 0 {
		la, lb = op.sa[n-1], op.sb[n-1]
	}
	forEach(op.out, op.sa, op.sb, func(offA, offB, offO, run int) {
		binaryRun(op.kind, out[offO:offO+run], a, b, offA, offB, la, lb)
	})
	return newValue(op.out, out), nil
}

func binaryRun(kind Kind, out, a, b []float32, offA, offB, la, lb int) {
	run := len(out)
	switch {
	case la == 1 && lb == 1:
		av, bv := a[offA:offA+run], b[offB:offB+run]
		switch kind {
		case KindAdd:
			for k := range out {
				out[k] = av[k] + bv[k]
			}
		case KindSub:
			for k := range out {
				out[k] = av[k] - bv[k]
			}
		case KindMul:
			for k := range out {
				out[k] = av[k] * bv[k]
			}
		case KindDiv:
			for k := range out {
				out[k] = av[k] / bv[k]
			}
		}
	case la == 1 && lb == 0:
		av, s := a[offA:offA+run], b[offB]
		switch kind {
		case KindAdd:
			for k := range out {
				out[k] = av[k] + s
			}
		case KindSub:
			for k := range out {
				out[k] = av[k] - s
			}
		case KindMul:
			for k := range out {
				out[k] = av[k] * s
			}
		case KindDiv:
			for k := range out {
				out[k] = av[k] / s
			}
		}
	default:
		ia, ib := offA, offB
		for k := range out {
			x, y := a[ia], b[ib]
			switch kind {
			case KindAdd:
				out[k] = x + y
			case KindSub:
				out[k] = x - y
			case KindMul:
				out[k] = x * y
			case KindDiv:
				out[k] = x / y
			}
			ia += la
			ib += lb
		}
	}
}

func (op *binaryOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op *binaryOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("%v: SymDiff wants 2 inputs", op.kind)
	}
	a, b := inputs[0], inputs[1]
	var ga, gb *gorgonia.Node
	var err error
	switch op.kind {
	case KindAdd:
		if ga, err = SumTo(grad, op.a, 1); err == nil {
			gb, err = SumTo(grad, op.b, 1)
		}
	case KindSub:
		if ga, err = SumTo(grad, op.a, 1); err == nil {
			gb, err = SumTo(grad, op.b, -1)
		}
	case KindMul:
		var t *gorgonia.Node
		if t, err = Mul(grad, b); err == nil {
			if ga, err = SumTo(t, op.a, 1); err == nil {
				if t, err = Mul(grad, a); err == nil {
					gb, err = SumTo(t, op.b, 1)
				}
			}
		}
	case KindDiv:
		// d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b = -y/b.
		var t, u *gorgonia.Node
		if t, err = Div(grad, b); err == nil {
			if ga, err = SumTo(t, op.a, 1); err == nil {
				if u, err = Div(output, b); err == nil {
					if t, err = Mul(grad, u); err == nil {
						gb, err = SumTo(t, op.b, -1)
					}
				}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("gradient of %v: %w", op.kind, err)
	}
	return gorgonia.Nodes{ga, gb}, nil
}

// ---------------------------------------------------------------------------------
// SumTo / Expand

type sumToOp struct {
	opkit.Plain
	from, to tensor.Shape
	scale    float32
}

// SumTo sums x over the axes along which shape `to` was broadcast to x's
// shape, and multiplies by scale. It is the gradient of broadcasting.
func SumTo(x *gorgonia.Node, to tensor.Shape, scale float32) (*gorgonia.Node, error) {
	from := opkit.ShapeOf(x)
	if b, err := BroadcastShape(to, from); err != nil || !b.Eq(from) {
		return nil, fmt.Errorf("SumTo: %v does not broadcast to %v", to, from)
	}
	if from.Eq(to) && scale == 1 {
		return x, nil
	}
	return gorgonia.ApplyOp(&sumToOp{from: from, to: to.Clone(), scale: scale}, x)
}

func (op *sumToOp) Arity() int    { return 1 }
func (op *sumToOp) Type() hm.Type { return opkit.FnType(len(op.from), len(op.to)) }
func (op *sumToOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(op.to) == 0 {
		return tensor.ScalarShape(), nil
	}
	return op.to.Clone(), nil
}
func (op *sumToOp) String() string { return fmt.Sprintf("SumTo%v→%v×%v", op.from, op.to, op.scale) }
func (op *sumToOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.elementwise.SumTo|%v|%v|%v", op.from, op.to, op.scale)
}
func (op *sumToOp) Hashcode() uint32 { return opkit.Hashcode(op) }
func (op *sumToOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	x, err := float32Data(vals[0], "SumTo")
	if err != nil {
		return nil, err
	}
	out := make([]float32, numel(op.to))
	st := broadcastStrides(op.to, op.from)
	n := len(op.from)
	lt := 0
	if n > 0 {
		lt = st[n-1]
	}
	ones := make([]int, n)
	forEach(op.from, st, ones, func(offT, _, offX, run int) {
		xs := x[offX : offX+run]
		if lt == 0 {
			var s float32
			for _, v := range xs {
				s += v
			}
			out[offT] += s
			return
		}
		o := out[offT : offT+run]
		for k, v := range xs {
			o[k] += v
		}
	})
	if op.scale != 1 {
		for i := range out {
			out[i] *= op.scale
		}
	}
	return newValue(op.to, out), nil
}
func (op *sumToOp) DiffWRT(int) []bool { return []bool{true} }
func (op *sumToOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := expand(grad, op.from, op.scale)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

type expandOp struct {
	opkit.Plain
	from, to tensor.Shape
	scale    float32
}

// Expand broadcasts x to shape `to` (ONNX Expand when `to` is the broadcast result).
func Expand(x *gorgonia.Node, to tensor.Shape) (*gorgonia.Node, error) {
	return expand(x, to, 1)
}

func expand(x *gorgonia.Node, to tensor.Shape, scale float32) (*gorgonia.Node, error) {
	from := opkit.ShapeOf(x)
	if b, err := BroadcastShape(from, to); err != nil || !b.Eq(to) {
		return nil, fmt.Errorf("Expand: %v does not broadcast to %v", from, to)
	}
	return gorgonia.ApplyOp(&expandOp{from: from, to: to.Clone(), scale: scale}, x)
}

func (op *expandOp) Arity() int    { return 1 }
func (op *expandOp) Type() hm.Type { return opkit.FnType(len(op.from), len(op.to)) }
func (op *expandOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(op.to) == 0 {
		return tensor.ScalarShape(), nil
	}
	return op.to.Clone(), nil
}
func (op *expandOp) String() string {
	return fmt.Sprintf("Expand%v→%v×%v", op.from, op.to, op.scale)
}
func (op *expandOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.elementwise.Expand|%v|%v|%v", op.from, op.to, op.scale)
}
func (op *expandOp) Hashcode() uint32 { return opkit.Hashcode(op) }
func (op *expandOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	x, err := float32Data(vals[0], "Expand")
	if err != nil {
		return nil, err
	}
	out := make([]float32, numel(op.to))
	sx := broadcastStrides(op.from, op.to)
	n := len(op.to)
	lx := 0
	if n > 0 {
		lx = sx[n-1]
	}
	ones := make([]int, n)
	forEach(op.to, sx, ones, func(offX, _, offO, run int) {
		o := out[offO : offO+run]
		if lx == 0 {
			v := x[offX] * op.scale
			for k := range o {
				o[k] = v
			}
			return
		}
		for k := range o {
			o[k] = x[offX+k] * op.scale
		}
	})
	return newValue(op.to, out), nil
}
func (op *expandOp) DiffWRT(int) []bool { return []bool{true} }
func (op *expandOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := SumTo(grad, op.from, op.scale)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}
