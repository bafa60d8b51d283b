package batchnorm

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// Params choose the mode of one BatchNorm operator.
type Params struct {
	// Mode is the flag shared by the network's BatchNorm layers; nil means
	// always Eval.
	Mode *ModeFlag
	// Frozen makes this layer run as Eval whatever the flag says.
	Frozen bool
}

// BatchNorm normalises x (N×C, N×C×H×W or any N×C×…) per channel and applies
// scale and bias (both of shape C), as ONNX BatchNormalization and PyTorch's
// BatchNorm1d/2d do. In Train mode it uses the batch statistics and updates
// state's running statistics in the forward pass; in Eval and Frozen mode it
// uses the running statistics. Gradients flow to x, scale and bias in every
// mode (the full batch-statistics backward in Train mode).
//
// The mode is read from p.Mode each time the operator runs (see [ModeFlag]).
// Statistics are computed in float64. Training needs more than one value per
// channel (N·H·W > 1), as in PyTorch.
func BatchNorm(x, scale, bias *gorgonia.Node, state *State, p Params) (*gorgonia.Node, error) {
	for _, in := range []struct {
		what string
		n    *gorgonia.Node
	}{{"input", x}, {"scale", scale}, {"bias", bias}} {
		if err := opkit.CheckFloat32("BatchNorm", in.what, in.n); err != nil {
			return nil, err
		}
	}
	xs := opkit.ShapeOf(x)
	if xs.Dims() < 2 {
		return nil, fmt.Errorf("BatchNorm: input %q has shape %v, want N×C or N×C×…", x.Name(), xs)
	}
	c := xs[1]
	for _, v := range []*gorgonia.Node{scale, bias} {
		if s := opkit.ShapeOf(v); s.Dims() != 1 || s[0] != c {
			return nil, fmt.Errorf("BatchNorm: %q has shape %v, want (%d) for input %q of shape %v", v.Name(), s, c, x.Name(), xs)
		}
	}
	if err := state.validate(c); err != nil {
		return nil, err
	}
	op := &bnOp{state: state, flag: p.Mode, frozen: p.Frozen, rank: xs.Dims()}
	out, err := gorgonia.ApplyOp(op, x, scale, bias)
	if err != nil {
		return nil, fmt.Errorf("BatchNorm: %w", err)
	}
	return out, nil
}

// layout is an N×C×S view of the input (S the product of the spatial axes).
type layout struct{ n, c, s int }

func (l layout) count() int { return l.n * l.s }

func layoutOf(shape tensor.Shape) (layout, error) {
	if shape.Dims() < 2 {
		return layout{}, fmt.Errorf("BatchNorm: input has shape %v, want N×C or N×C×…", shape)
	}
	l := layout{n: shape[0], c: shape[1], s: 1}
	for _, v := range shape[2:] {
		l.s *= v
	}
	return l, nil
}

// run returns the n-th contiguous run (of length l.s) of channel c.
func (l layout) run(n, c int) (lo, hi int) {
	lo = (n*l.c + c) * l.s
	return lo, lo + l.s
}

// moments returns the mean and the biased variance of channel c, accumulated
// in float64 around the channel's first element (which keeps the one-pass
// formula accurate when the mean is large). The backward statistics call the
// same sums so that they see the same values.
func moments(x []float32, l layout, c int) (mean, variance float64) {
	shift := float64(x[c*l.s])
	var s1, s2 float64
	for n := 0; n < l.n; n++ {
		lo, hi := l.run(n, c)
		a1, a2 := sums(x[lo:hi], shift)
		s1 += a1
		s2 += a2
	}
	return finishMoments(shift, s1, s2, l.count())
}

// sums returns Σ(x−shift) and Σ(x−shift)², with four partial sums for
// instruction-level parallelism.
func sums(xs []float32, shift float64) (s1, s2 float64) {
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		v := xs[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(v[0])-shift, float64(v[1])-shift, float64(v[2])-shift, float64(v[3])-shift
		a0 += d0
		a1 += d1
		a2 += d2
		a3 += d3
		b0 += d0 * d0
		b1 += d1 * d1
		b2 += d2 * d2
		b3 += d3 * d3
	}
	for ; i < len(xs); i++ {
		d := float64(xs[i]) - shift
		a0 += d
		b0 += d * d
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}

// gradSums returns Σg and Σg·(x−shift).
func gradSums(xs, gs []float32, shift float64) (g1, gx float64) {
	gs = gs[:len(xs)]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		v, g := xs[i:i+4:i+4], gs[i:i+4:i+4]
		g0, g1_, g2, g3 := float64(g[0]), float64(g[1]), float64(g[2]), float64(g[3])
		a0 += g0
		a1 += g1_
		a2 += g2
		a3 += g3
		b0 += g0 * (float64(v[0]) - shift)
		b1 += g1_ * (float64(v[1]) - shift)
		b2 += g2 * (float64(v[2]) - shift)
		b3 += g3 * (float64(v[3]) - shift)
	}
	for ; i < len(xs); i++ {
		g := float64(gs[i])
		a0 += g
		b0 += g * (float64(xs[i]) - shift)
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}

func finishMoments(shift, s1, s2 float64, m int) (mean, variance float64) {
	d := s1 / float64(m)
	return shift + d, math.Max(s2/float64(m)-d*d, 0)
}

// bnOp is the forward operator: (x, scale, bias) → y.
type bnOp struct {
	opkit.Plain
	state  *State
	flag   *ModeFlag
	frozen bool
	rank   int
}

var (
	_ gorgonia.Op              = (*bnOp)(nil)
	_ gorgonia.SDOp            = (*bnOp)(nil)
	_ gorgonia.UsePreallocDoer = (*bnOp)(nil)
)

// training reports whether the operator runs in Train mode now.
func (op *bnOp) training() bool {
	if op.frozen || op.flag == nil {
		return false
	}
	m := op.flag.Mode()
	return m == Train || m == Recount
}

// counting reports whether a training pass updates the running statistics.
func (op *bnOp) counting() bool { return op.flag.Mode() == Train }

func (op *bnOp) Arity() int { return 3 }

func (op *bnOp) Type() hm.Type { return opkit.FnType(op.rank, 1, 1, op.rank) }

func (op *bnOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if err := opkit.CheckArity("BatchNorm", len(in), 3); err != nil {
		return nil, err
	}
	s, err := opkit.InputShape("BatchNorm", in[0])
	if err != nil {
		return nil, err
	}
	l, err := layoutOf(s)
	if err != nil {
		return nil, err
	}
	for i, what := range []string{"scale", "bias"} {
		v, err := opkit.InputShape("BatchNorm", in[1+i])
		if err != nil {
			return nil, err
		}
		if v.Dims() != 1 || v[0] != l.c {
			return nil, fmt.Errorf("BatchNorm: %s has shape %v, want (%d)", what, v, l.c)
		}
	}
	return s.Clone(), nil
}

func (op *bnOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

// params reads and checks x, scale and bias.
func params(name string, in []gorgonia.Value) (x, scale, bias []float32, shape tensor.Shape, l layout, err error) {
	if x, shape, _, err = opkit.Float32Data(name, in[0]); err != nil {
		return
	}
	if l, err = layoutOf(shape); err != nil {
		return
	}
	if scale, _, _, err = opkit.Float32Data(name, in[1]); err != nil {
		return
	}
	if len(scale) != l.c {
		err = fmt.Errorf("%s: scale has %d elements, want %d", name, len(scale), l.c)
		return
	}
	if len(in) > 2 && in[2] != nil {
		if bias, _, _, err = opkit.Float32Data(name, in[2]); err != nil {
			return
		}
		if len(bias) != l.c {
			err = fmt.Errorf("%s: bias has %d elements, want %d", name, len(bias), l.c)
		}
	}
	return
}

func (op *bnOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := opkit.CheckArity("BatchNorm", len(in), 3); err != nil {
		return nil, err
	}
	x, scale, bias, shape, l, err := params("BatchNorm", in)
	if err != nil {
		return nil, err
	}
	st := op.state
	if l.c != len(st.RunningMean) {
		return nil, fmt.Errorf("BatchNorm: input has %d channels, the state %d", l.c, len(st.RunningMean))
	}
	out := opkit.NewOutput(prealloc, shape, false, x, scale, bias)
	y := out.Data
	m := l.count()

	if !op.training() {
		st.mu.Lock()
		eps := st.Epsilon
		mean := append([]float32(nil), st.RunningMean...)
		vars := append([]float32(nil), st.RunningVar...)
		st.mu.Unlock()
		opkit.ParallelFor(l.c, len(x), func(lo, hi int) {
			for c := lo; c < hi; c++ {
				a := float32(float64(scale[c]) / math.Sqrt(float64(vars[c])+eps))
				normalise(y, x, l, c, mean[c], a, bias[c])
			}
		})
		return out.Value(), nil
	}

	if m < 2 {
		return nil, fmt.Errorf("BatchNorm: training needs more than one value per channel, input has shape %v", shape)
	}
	st.mu.Lock()
	eps := st.Epsilon
	st.mu.Unlock()
	batchMean := make([]float64, l.c)
	batchVar := make([]float64, l.c)
	opkit.ParallelFor(l.c, 2*len(x), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			mean, v := moments(x, l, c)
			batchMean[c], batchVar[c] = mean, v
			a := float32(float64(scale[c]) / math.Sqrt(v+eps))
			normalise(y, x, l, c, float32(mean), a, bias[c])
		}
	})
	if !op.counting() {
		return out.Value(), nil
	}
	st.mu.Lock()
	mom := st.Momentum
	unbias := float64(m) / float64(m-1)
	for c := range batchMean {
		st.RunningMean[c] = float32((1-mom)*float64(st.RunningMean[c]) + mom*batchMean[c])
		st.RunningVar[c] = float32((1-mom)*float64(st.RunningVar[c]) + mom*batchVar[c]*unbias)
	}
	st.BatchesTracked++
	st.mu.Unlock()
	return out.Value(), nil
}

// normalise writes y = (x − mean)·a + b for channel c.
func normalise(y, x []float32, l layout, c int, mean, a, b float32) {
	for n := 0; n < l.n; n++ {
		lo, hi := l.run(n, c)
		src := x[lo:hi]
		dst := y[lo:hi]
		dst = dst[:len(src)]
		for i, v := range src {
			dst[i] = (v-mean)*a + b
		}
	}
}

func (op *bnOp) String() string {
	return fmt.Sprintf("BatchNorm(eps=%g, momentum=%g, frozen=%t)", op.state.Epsilon, op.state.Momentum, op.frozen)
}

// WriteHash identifies the layer by its state and flag: two layers never
// merge, and one layer applied twice to the same input would.
func (op *bnOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.batchnorm/%p/%p/%t/%d", op.state, op.flag, op.frozen, op.rank)
}

func (op *bnOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *bnOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (op *bnOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	const name = "BatchNorm gradient"
	if err := opkit.CheckArity(name, len(inputs), 3); err != nil {
		return nil, err
	}
	x, scale := inputs[0], inputs[1]
	stats, err := opkit.Apply(name, &bnStatsOp{fwd: *op}, x, grad)
	if err != nil {
		return nil, err
	}
	dx, err := opkit.Apply(name, &bnGradXOp{fwd: *op}, x, scale, grad, stats)
	if err != nil {
		return nil, err
	}
	dscale, err := opkit.Apply(name, &bnGradParamOp{fwd: *op, bias: false}, stats)
	if err != nil {
		return nil, err
	}
	dbias, err := opkit.Apply(name, &bnGradParamOp{fwd: *op, bias: true}, stats)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dscale, dbias}, nil
}

// bnStatsOp computes the per-channel quantities of the backward pass:
// (x, dy) → [mean | 1/σ | Σdy | Σdy·x̂ | mode], 4C+1 values, where mean and
// σ are the batch statistics in Train mode and the running ones otherwise,
// and mode is 1 for Train, 0 otherwise.
type bnStatsOp struct {
	opkit.Plain
	fwd bnOp
}

var _ gorgonia.Op = (*bnStatsOp)(nil)

func (op *bnStatsOp) Arity() int { return 2 }

func (op *bnStatsOp) Type() hm.Type { return opkit.FnType(op.fwd.rank, op.fwd.rank, 1) }

func (op *bnStatsOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := opkit.ElementwiseGradShape("BatchNorm gradient", in)
	if err != nil {
		return nil, err
	}
	l, err := layoutOf(s)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{4*l.c + 1}, nil
}

func (op *bnStatsOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	const name = "BatchNorm gradient"
	x, dy, shape, _, err := opkit.GradData(name, in)
	if err != nil {
		return nil, err
	}
	l, err := layoutOf(shape)
	if err != nil {
		return nil, err
	}
	st := op.fwd.state
	if l.c != len(st.RunningMean) {
		return nil, fmt.Errorf("%s: input has %d channels, the state %d", name, l.c, len(st.RunningMean))
	}
	out := make([]float32, 4*l.c+1)
	C := l.c
	m := l.count()
	if op.fwd.training() {
		if m < 2 {
			return nil, fmt.Errorf("%s: training needs more than one value per channel, input has shape %v", name, shape)
		}
		st.mu.Lock()
		eps := st.Epsilon
		st.mu.Unlock()
		opkit.ParallelFor(C, 2*len(x), func(lo, hi int) {
			for c := lo; c < hi; c++ {
				// The same sums as moments, plus those of dy.
				shift := float64(x[c*l.s])
				var s1, s2, g1, gx float64
				for n := 0; n < l.n; n++ {
					lo, hi := l.run(n, c)
					a1, a2 := sums(x[lo:hi], shift)
					b1, b2 := gradSums(x[lo:hi], dy[lo:hi], shift)
					s1 += a1
					s2 += a2
					g1 += b1
					gx += b2
				}
				mean, v := finishMoments(shift, s1, s2, m)
				inv := 1 / math.Sqrt(v+eps)
				out[c] = float32(mean)
				out[C+c] = float32(inv)
				out[2*C+c] = float32(g1)
				out[3*C+c] = float32(inv * (gx - s1/float64(m)*g1))
			}
		})
		out[4*C] = 1
	} else {
		st.mu.Lock()
		eps := st.Epsilon
		mean := append([]float32(nil), st.RunningMean...)
		vars := append([]float32(nil), st.RunningVar...)
		st.mu.Unlock()
		opkit.ParallelFor(C, len(x), func(lo, hi int) {
			for c := lo; c < hi; c++ {
				mu := float64(mean[c])
				var g1, gx float64
				for n := 0; n < l.n; n++ {
					lo, hi := l.run(n, c)
					b1, b2 := gradSums(x[lo:hi], dy[lo:hi], mu)
					g1 += b1
					gx += b2
				}
				inv := 1 / math.Sqrt(float64(vars[c])+eps)
				out[c] = mean[c]
				out[C+c] = float32(inv)
				out[2*C+c] = float32(g1)
				out[3*C+c] = float32(inv * gx)
			}
		})
	}
	return tensor.New(tensor.WithShape(4*C+1), tensor.WithBacking(out)), nil
}

func (op *bnStatsOp) String() string { return "BatchNormGradStats" }

func (op *bnStatsOp) WriteHash(h hash.Hash) {
	h.Write([]byte("stats:"))
	op.fwd.WriteHash(h)
}

func (op *bnStatsOp) Hashcode() uint32 { return opkit.Hashcode(op) }

// unpackStats splits the output of bnStatsOp.
func unpackStats(name string, v gorgonia.Value, c int) (mean, inv, sumG, sumGX []float32, train bool, err error) {
	s, _, _, err := opkit.Float32Data(name, v)
	if err != nil {
		return
	}
	if len(s) != 4*c+1 {
		err = fmt.Errorf("%s: statistics have %d values, want %d", name, len(s), 4*c+1)
		return
	}
	return s[:c], s[c : 2*c], s[2*c : 3*c], s[3*c : 4*c], s[4*c] == 1, nil
}

// bnGradXOp is (x, scale, dy, stats) → dx.
type bnGradXOp struct {
	opkit.Plain
	fwd bnOp
}

var (
	_ gorgonia.Op              = (*bnGradXOp)(nil)
	_ gorgonia.UsePreallocDoer = (*bnGradXOp)(nil)
)

func (op *bnGradXOp) Arity() int { return 4 }

func (op *bnGradXOp) Type() hm.Type {
	r := op.fwd.rank
	return opkit.FnType(r, 1, r, 1, r)
}

func (op *bnGradXOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if err := opkit.CheckArity("BatchNorm gradient", len(in), 4); err != nil {
		return nil, err
	}
	s, err := opkit.InputShape("BatchNorm gradient", in[0])
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

func (op *bnGradXOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *bnGradXOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	const name = "BatchNorm gradient"
	if err := opkit.CheckArity(name, len(in), 4); err != nil {
		return nil, err
	}
	x, scale, _, shape, l, err := params(name, in[:2])
	if err != nil {
		return nil, err
	}
	dy, _, _, err := opkit.Float32Data(name, in[2])
	if err != nil {
		return nil, err
	}
	if err := opkit.CheckGradSize(name, len(dy), len(x)); err != nil {
		return nil, err
	}
	mean, inv, sumG, sumGX, train, err := unpackStats(name, in[3], l.c)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, false, x, scale, dy)
	dx := out.Data
	invM := 1 / float64(l.count())
	opkit.ParallelFor(l.c, len(x), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			a := float64(scale[c]) * float64(inv[c])
			k1 := float32(a)
			if !train {
				for n := 0; n < l.n; n++ {
					lo, hi := l.run(n, c)
					gs := dy[lo:hi]
					d := dx[lo:hi]
					d = d[:len(gs)]
					for i, g := range gs {
						d[i] = k1 * g
					}
				}
				continue
			}
			// dx = a·(dy − Σdy/M − x̂·Σdy·x̂/M), x̂ = (x − mean)/σ
			k2 := float32(-a * float64(inv[c]) * float64(sumGX[c]) * invM)
			k3 := float32(-a * float64(sumG[c]) * invM)
			mu := mean[c]
			for n := 0; n < l.n; n++ {
				lo, hi := l.run(n, c)
				xs := x[lo:hi]
				gs, d := dy[lo:hi], dx[lo:hi]
				gs, d = gs[:len(xs)], d[:len(xs)]
				for i, v := range xs {
					d[i] = k1*gs[i] + k2*(v-mu) + k3
				}
			}
		}
	})
	return out.Value(), nil
}

func (op *bnGradXOp) String() string { return "BatchNormGradX" }

func (op *bnGradXOp) WriteHash(h hash.Hash) {
	h.Write([]byte("dx:"))
	op.fwd.WriteHash(h)
}

func (op *bnGradXOp) Hashcode() uint32 { return opkit.Hashcode(op) }

// bnGradParamOp extracts the gradient of scale (Σdy·x̂) or bias (Σdy) from
// the statistics.
type bnGradParamOp struct {
	opkit.Plain
	fwd  bnOp
	bias bool
}

var _ gorgonia.Op = (*bnGradParamOp)(nil)

func (op *bnGradParamOp) Arity() int { return 1 }

func (op *bnGradParamOp) Type() hm.Type { return opkit.FnType(1, 1) }

func (op *bnGradParamOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := opkit.UnaryShape("BatchNorm gradient", in)
	if err != nil {
		return nil, err
	}
	if s.Dims() != 1 || s[0]%4 != 1 {
		return nil, fmt.Errorf("BatchNorm gradient: statistics have shape %v, want (4C+1)", s)
	}
	return tensor.Shape{s[0] / 4}, nil
}

func (op *bnGradParamOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	const name = "BatchNorm gradient"
	if err := opkit.CheckArity(name, len(in), 1); err != nil {
		return nil, err
	}
	c := in[0].Shape().TotalSize() / 4
	_, _, sumG, sumGX, _, err := unpackStats(name, in[0], c)
	if err != nil {
		return nil, err
	}
	src := sumGX
	if op.bias {
		src = sumG
	}
	return tensor.New(tensor.WithShape(c), tensor.WithBacking(append([]float32(nil), src...))), nil
}

func (op *bnGradParamOp) String() string {
	if op.bias {
		return "BatchNormGradBias"
	}
	return "BatchNormGradScale"
}

func (op *bnGradParamOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "param:%t:", op.bias)
	op.fwd.WriteHash(h)
}

func (op *bnGradParamOp) Hashcode() uint32 { return opkit.Hashcode(op) }
