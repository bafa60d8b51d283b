package optim

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Param is one tensor to update: its values and its gradient (same length),
// both updated in place (Value by the step; Grad is left for the caller to zero).
type Param struct {
	Name  string
	Value []float32
	Grad  []float32
}

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update with learning rate lr.
	Step(params []Param, lr float64) error
	// State returns the optimizer's buffers by parameter name, and the step count.
	State() (buffers map[string][][]float32, steps int64)
	// SetState restores what State returned.
	SetState(buffers map[string][][]float32, steps int64)
}

// SGD is stochastic gradient descent as torch.optim.SGD.
type SGD struct {
	Momentum, Dampening, WeightDecay float64
	Nesterov                         bool

	buf   map[string][]float32
	steps int64
}

// Step implements Optimizer.
func (o *SGD) Step(params []Param, lr float64) error {
	if o.buf == nil {
		o.buf = map[string][]float32{}
	}
	if o.Nesterov && (o.Momentum <= 0 || o.Dampening != 0) {
		return fmt.Errorf("SGD: Nesterov momentum needs momentum > 0 and dampening 0")
	}
	for _, p := range params {
		if err := check(p); err != nil {
			return err
		}
		b, had := o.buf[p.Name]
		if o.Momentum != 0 && !had {
			b = make([]float32, len(p.Value))
			o.buf[p.Name] = b
		}
		mom, damp, wd := float32(o.Momentum), float32(1-o.Dampening), float32(o.WeightDecay)
		for i := range p.Value {
			d := p.Grad[i] + wd*p.Value[i]
			if o.Momentum != 0 {
				if !had {
					b[i] = d
				} else {
					b[i] = mom*b[i] + damp*d
				}
				if o.Nesterov {
					d += mom * b[i]
				} else {
					d = b[i]
				}
			}
			p.Value[i] -= float32(lr) * d
		}
	}
	o.steps++
	return nil
}

// State implements Optimizer.
func (o *SGD) State() (map[string][][]float32, int64) {
	out := map[string][][]float32{}
	for k, v := range o.buf {
		out[k] = [][]float32{append([]float32(nil), v...)}
	}
	return out, o.steps
}

// SetState implements Optimizer.
func (o *SGD) SetState(s map[string][][]float32, steps int64) {
	o.buf = map[string][]float32{}
	for k, v := range s {
		o.buf[k] = append([]float32(nil), v[0]...)
	}
	o.steps = steps
}

// Adam is torch.optim.Adam (Decoupled false: L2 weight decay added to the
// gradient) or torch.optim.AdamW (Decoupled true).
type Adam struct {
	Beta1, Beta2, Eps, WeightDecay float64
	Decoupled                      bool

	m, v  map[string][]float32
	steps int64
}

// NewAdam returns Adam with PyTorch's defaults (β 0.9/0.999, ε 1e-8).
func NewAdam(weightDecay float64) *Adam {
	return &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay}
}

// NewAdamW returns AdamW with PyTorch's defaults (weight decay 1e-2 unless given).
func NewAdamW(weightDecay float64) *Adam {
	return &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay, Decoupled: true}
}

// Step implements Optimizer.
func (o *Adam) Step(params []Param, lr float64) error {
	if o.m == nil {
		o.m, o.v = map[string][]float32{}, map[string][]float32{}
	}
	o.steps++
	t := float64(o.steps)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2 := 1 - math.Pow(o.Beta2, t)
	stepSize := lr / bc1
	sqrtBC2 := math.Sqrt(bc2)
	b1, b2 := o.Beta1, o.Beta2
	ms := make([][]float32, len(params))
	vs := make([][]float32, len(params))
	for k, p := range params {
		if err := check(p); err != nil {
			return err
		}
		m, ok := o.m[p.Name]
		if !ok {
			m = make([]float32, len(p.Value))
			o.m[p.Name] = m
			o.v[p.Name] = make([]float32, len(p.Value))
		}
		ms[k], vs[k] = m, o.v[p.Name]
	}
	// Every element is independent: chunks run in parallel, with results
	// identical to a sequential pass.
	parallelChunks(params, func(k, lo, hi int) {
		p, m, v := params[k], ms[k], vs[k]
		for i := lo; i < hi; i++ {
			g := float64(p.Grad[i])
			w := float64(p.Value[i])
			if o.Decoupled {
				w *= 1 - lr*o.WeightDecay
			} else {
				g += o.WeightDecay * w
			}
			mi := b1*float64(m[i]) + (1-b1)*g
			vi := b2*float64(v[i]) + (1-b2)*g*g
			m[i], v[i] = float32(mi), float32(vi)
			denom := math.Sqrt(vi)/sqrtBC2 + o.Eps
			p.Value[i] = float32(w - stepSize*mi/denom)
		}
	})
	return nil
}

// chunkSize is the number of elements a goroutine updates at a time.
const chunkSize = 1 << 15

// parallelChunks calls f(param, lo, hi) over every element range of
// params, from GOMAXPROCS goroutines (inline for small updates).
func parallelChunks(params []Param, f func(k, lo, hi int)) {
	type chunk struct{ k, lo, hi int }
	var chunks []chunk
	total := 0
	for k, p := range params {
		for lo := 0; lo < len(p.Value); lo += chunkSize {
			chunks = append(chunks, chunk{k, lo, min(lo+chunkSize, len(p.Value))})
		}
		total += len(p.Value)
	}
	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	if workers <= 1 || total < 4*chunkSize {
		for _, c := range chunks {
			f(c.k, c.lo, c.hi)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(chunks) {
					return
				}
				c := chunks[i]
				f(c.k, c.lo, c.hi)
			}
		}()
	}
	wg.Wait()
}

// State implements Optimizer.
func (o *Adam) State() (map[string][][]float32, int64) {
	out := map[string][][]float32{}
	for k := range o.m {
		out[k] = [][]float32{append([]float32(nil), o.m[k]...), append([]float32(nil), o.v[k]...)}
	}
	return out, o.steps
}

// SetState implements Optimizer.
func (o *Adam) SetState(s map[string][][]float32, steps int64) {
	o.m, o.v = map[string][]float32{}, map[string][]float32{}
	for k, bufs := range s {
		o.m[k] = append([]float32(nil), bufs[0]...)
		o.v[k] = append([]float32(nil), bufs[1]...)
	}
	o.steps = steps
}

func check(p Param) error {
	if len(p.Value) != len(p.Grad) {
		return fmt.Errorf("parameter %q: %d values but %d gradients", p.Name, len(p.Value), len(p.Grad))
	}
	return nil
}

// ClipGradNorm scales the gradients of params in place so that their joint
// L2 norm is at most maxNorm (as torch.nn.utils.clip_grad_norm_), and returns
// the norm before clipping. maxNorm ≤ 0 leaves them unchanged.
func ClipGradNorm(params []Param, maxNorm float64) float64 {
	var ss float64
	for _, p := range params {
		for _, g := range p.Grad {
			ss += float64(g) * float64(g)
		}
	}
	norm := math.Sqrt(ss)
	if maxNorm <= 0 || norm <= maxNorm || norm == 0 {
		return norm
	}
	s := float32(maxNorm / (norm + 1e-6))
	for _, p := range params {
		for i := range p.Grad {
			p.Grad[i] *= s
		}
	}
	return norm
}
