package importer

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/elementwise"
)

// Pow, Min, Max, Abs, Erf and Reciprocal on constants. Integer tensors
// (int64 on the host) are computed exactly in integer arithmetic where ONNX
// Runtime does (Min, Max, Abs, Pow with integer base and exponent), not
// through float64, which would round INT64_MAX (a common Slice end).
func init() {
	hostOps["Pow"] = hostPow
	hostOps["Max"] = hostExtremum(true)
	hostOps["Min"] = hostExtremum(false)
	hostOps["Abs"] = hostAbs
	hostOps["Erf"] = hostUnary(math.Erf) // integers: erf truncated, as NumPy's astype
	hostOps["Reciprocal"] = hostReciprocal
}

// broadcastOffsets returns the NumPy broadcast of two shapes and, for every
// output element in row-major order, the offsets of the operands' elements.
func broadcastOffsets(a, b []int) (out []int, offA, offB []int, err error) {
	s, err := elementwise.BroadcastShape(tensor.Shape(a), tensor.Shape(b))
	if err != nil {
		return nil, nil, nil, err
	}
	out = []int(s)
	total := 1
	for _, d := range out {
		total *= d
	}
	offA, offB = make([]int, total), make([]int, total)
	idx := make([]int, len(out))
	pick := func(s []int) int {
		off, stride := 0, 1
		for k := len(s) - 1; k >= 0; k-- {
			i := idx[len(out)-len(s)+k]
			if s[k] == 1 {
				i = 0
			}
			off += i * stride
			stride *= s[k]
		}
		return off
	}
	for flat := 0; flat < total; flat++ {
		rem := flat
		for ax := len(out) - 1; ax >= 0; ax-- {
			idx[ax] = rem % out[ax]
			rem /= out[ax]
		}
		offA[flat], offB[flat] = pick(a), pick(b)
	}
	return out, offA, offB, nil
}

func hostPow(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil {
		return nil, fmt.Errorf("want 2 inputs (base X, exponent Y), got %d", len(in))
	}
	a, b := in[0], in[1]
	shape, oa, ob, err := broadcastOffsets(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	// The result has the base's type (ONNX, from opset 12 also with an
	// exponent of another type).
	if a.isFloat {
		bv := toF64(b)
		out := make([]float32, len(oa))
		for k := range out {
			out[k] = float32(math.Pow(float64(a.f[oa[k]]), bv[ob[k]]))
		}
		return one(newFloatHost(shape, out)), nil
	}
	out := make([]int64, len(oa))
	for k := range out {
		x := a.i[oa[k]]
		if b.isFloat {
			// ONNX Runtime: static_cast<T>(std::pow(x, y)).
			out[k] = int64(math.Pow(float64(x), float64(b.f[ob[k]])))
			continue
		}
		v, err := intPow(x, b.i[ob[k]])
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return one(newIntHost(shape, out)), nil
}

// intPow is x^e in int64 arithmetic (wrapping on overflow, as C++ integer
// arithmetic does in practice). A negative exponent truncates 1/x^|e|
// toward 0, as ONNX Runtime's cast of std::pow does: only |x| = 1 gives a
// non-zero result; 0 to a negative power is an error.
func intPow(x, e int64) (int64, error) {
	if e < 0 {
		switch x {
		case 0:
			return 0, fmt.Errorf("integer 0 to the negative power %d", e)
		case 1:
			return 1, nil
		case -1:
			if e%2 == 0 {
				return 1, nil
			}
			return -1, nil
		}
		return 0, nil
	}
	r := int64(1)
	for e > 0 {
		if e&1 == 1 {
			r *= x
		}
		x *= x
		e >>= 1
	}
	return r, nil
}

func hostExtremum(isMax bool) hostOp {
	return func(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
		if len(in) == 0 {
			return nil, fmt.Errorf("%s needs at least one input", n.op)
		}
		acc := in[0]
		for i, t := range in {
			if t == nil {
				return nil, fmt.Errorf("%s input %d is empty", n.op, i)
			}
		}
		for _, t := range in[1:] {
			r, err := extremumPair(isMax, acc, t)
			if err != nil {
				return nil, err
			}
			acc = r
		}
		return one(acc), nil
	}
}

// extremumPair is max(a, b) (min when !isMax) with broadcasting; NaN
// propagates (NumPy's maximum). Two integer tensors give an exact integer
// result; otherwise (ONNX wants one type for all inputs) float32.
func extremumPair(isMax bool, a, b *hostTensor) (*hostTensor, error) {
	shape, oa, ob, err := broadcastOffsets(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	if !a.isFloat && !b.isFloat {
		out := make([]int64, len(oa))
		for k := range out {
			x, y := a.i[oa[k]], b.i[ob[k]]
			if (y > x) == isMax && y != x {
				x = y
			}
			out[k] = x
		}
		return newIntHost(shape, out), nil
	}
	af, bf := a.floats(), b.floats()
	out := make([]float32, len(oa))
	for k := range out {
		x, y := af[oa[k]], bf[ob[k]]
		switch {
		case x != x:
		case y != y:
			x = y
		case isMax && y > x, !isMax && y < x:
			x = y
		}
		out[k] = x
	}
	return newFloatHost(shape, out), nil
}

func hostAbs(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	t := in[0]
	if t.isFloat {
		out := make([]float32, len(t.f))
		for k, v := range t.f {
			out[k] = math.Float32frombits(math.Float32bits(v) &^ (1 << 31))
		}
		return one(newFloatHost(t.shape, out)), nil
	}
	out := make([]int64, len(t.i))
	for k, v := range t.i {
		if v < 0 {
			v = -v // MinInt64 stays MinInt64, as in C++
		}
		out[k] = v
	}
	return one(newIntHost(t.shape, out)), nil
}

func hostReciprocal(n *nodeCtx, in []*hostTensor) ([]*hostTensor, error) {
	t := in[0]
	if !t.isFloat {
		return nil, n.unsupported(fmt.Sprintf("of the integer tensor %q", n.inputs[0]), "floating-point inputs (ONNX defines Reciprocal for float types only)")
	}
	out := make([]float32, len(t.f))
	for k, v := range t.f {
		out[k] = 1 / v
	}
	return one(newFloatHost(t.shape, out)), nil
}
