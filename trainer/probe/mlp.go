package probe

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// MLPConfig configures FitMLP.
type MLPConfig struct {
	Hidden      int     `json:"hidden"`       // hidden units (0: 256)
	Epochs      int     `json:"epochs"`       // passes over the training rows (0: 50)
	Batch       int     `json:"batch"`        // rows per Adam step (0: 64)
	LR          float64 `json:"lr"`           // Adam learning rate (0: 1e-3)
	WeightDecay float64 `json:"weight_decay"` // L2 penalty added to the weight gradients (not the biases); 0: none
	Seed        uint64  `json:"seed"`         // initialisation and shuffling
	// OnEpoch, when set, is called after each epoch with its number (from
	// 1) and mean training loss.
	OnEpoch func(epoch int, loss float64) `json:"-"`
}

func (c MLPConfig) withDefaults() (MLPConfig, error) {
	if c.Hidden < 0 || c.Epochs < 0 || c.Batch < 0 || c.LR < 0 || c.WeightDecay < 0 ||
		math.IsNaN(c.LR) || math.IsNaN(c.WeightDecay) || math.IsInf(c.LR, 0) || math.IsInf(c.WeightDecay, 0) {
		return c, fmt.Errorf("probe: MLP hidden %d, epochs %d, batch %d, learning rate %v, weight decay %v: want all >= 0 and finite (0: default)",
			c.Hidden, c.Epochs, c.Batch, c.LR, c.WeightDecay)
	}
	if c.Hidden == 0 {
		c.Hidden = 256
	}
	if c.Epochs == 0 {
		c.Epochs = 50
	}
	if c.Batch == 0 {
		c.Batch = 64
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	return c, nil
}

// MLP is a fitted one-hidden-layer probe: softmax(ReLU(x·W1 + B1)·W2 + B2)
// on standardised features x.
type MLP struct {
	Std     Standardizer `json:"standardizer"`
	D       int          `json:"features"`
	Hidden  int          `json:"hidden"`
	Classes int          `json:"classes"`
	W1      []float64    `json:"w1"` // D×Hidden, row-major
	B1      []float64    `json:"b1"`
	W2      []float64    `json:"w2"` // Hidden×Classes, row-major
	B2      []float64    `json:"b2"`
	// Loss is the mean training loss of the last epoch.
	Loss   float64 `json:"loss"`
	Epochs int     `json:"epochs"`
}

type adam struct {
	m, v []float64
}

func (a *adam) step(w, g []float64, lr float64, t int) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	c1 := 1 - math.Pow(b1, float64(t))
	c2 := 1 - math.Pow(b2, float64(t))
	for i, gi := range g {
		a.m[i] = b1*a.m[i] + (1-b1)*gi
		a.v[i] = b2*a.v[i] + (1-b2)*gi*gi
		w[i] -= lr * (a.m[i] / c1) / (math.Sqrt(a.v[i]/c2) + eps)
	}
}

func newAdam(n int) *adam { return &adam{m: make([]float64, n), v: make([]float64, n)} }

// FitMLP trains an MLP probe on train with Adam and softmax cross-entropy.
// The initialisation (He-normal hidden weights, PyTorch-default output
// weights) and the mini-batch order derive from cfg.Seed, so a fit is
// reproducible. It stops early with ctx's error when ctx ends.
func FitMLP(ctx context.Context, train Data, cfg MLPConfig) (*MLP, error) {
	if err := train.Validate(); err != nil {
		return nil, fmt.Errorf("MLP probe: training features: %w", err)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	std := FitStandardizer(train)
	xs, err := std.Apply(train.X, train.N)
	if err != nil {
		return nil, err
	}
	n, d, h, k := train.N, train.D, cfg.Hidden, train.Classes
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x4D4C5050524F4245))
	m := &MLP{Std: std, D: d, Hidden: h, Classes: k,
		W1: make([]float64, d*h), B1: make([]float64, h), W2: make([]float64, h*k), B2: make([]float64, k)}
	he := math.Sqrt(2 / float64(d))
	for i := range m.W1 {
		m.W1[i] = rng.NormFloat64() * he
	}
	bound := 1 / math.Sqrt(float64(h))
	for i := range m.W2 {
		m.W2[i] = (2*rng.Float64() - 1) * bound
	}
	for i := range m.B2 {
		m.B2[i] = (2*rng.Float64() - 1) * bound
	}
	params := [][]float64{m.W1, m.B1, m.W2, m.B2}
	grads := [][]float64{make([]float64, d*h), make([]float64, h), make([]float64, h*k), make([]float64, k)}
	opts := make([]*adam, len(params))
	for i, p := range params {
		opts[i] = newAdam(len(p))
	}
	bs := min(cfg.Batch, n)
	xb := make([]float64, bs*d)
	hid := make([]float64, bs*h)
	dh := make([]float64, bs*h)
	z := make([]float64, bs*k)
	yb := make([]int, bs)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	step := 0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		var epochLoss float64
		for start := 0; start < n; start += bs {
			b := min(bs, n-start)
			for r := 0; r < b; r++ {
				i := order[start+r]
				copy(xb[r*d:(r+1)*d], xs[i*d:(i+1)*d])
				yb[r] = train.Labels[i]
			}
			loss := m.forward(xb[:b*d], b, hid[:b*h], z[:b*k], yb[:b])
			epochLoss += loss
			// z holds the probabilities: dL/dz = (P − Y)/b.
			for r := 0; r < b; r++ {
				z[r*k+yb[r]] -= 1
			}
			for i := range z[:b*k] {
				z[i] /= float64(b)
			}
			gW1, gB1, gW2, gB2 := grads[0], grads[1], grads[2], grads[3]
			if cfg.WeightDecay > 0 {
				for i, w := range m.W2 {
					gW2[i] = cfg.WeightDecay * w
				}
				for i, w := range m.W1 {
					gW1[i] = cfg.WeightDecay * w
				}
			}
			beta := 0.0
			if cfg.WeightDecay > 0 {
				beta = 1
			}
			blas64.Gemm(blas.Trans, blas.NoTrans, 1, gen(hid, b, h), gen(z, b, k), beta, gen(gW2, h, k))
			colSums(gB2, z, b, k)
			blas64.Gemm(blas.NoTrans, blas.Trans, 1, gen(z, b, k), gen(m.W2, h, k), 0, gen(dh, b, h))
			for i, v := range hid[:b*h] {
				if v <= 0 {
					dh[i] = 0
				}
			}
			blas64.Gemm(blas.Trans, blas.NoTrans, 1, gen(xb, b, d), gen(dh, b, h), beta, gen(gW1, d, h))
			colSums(gB1, dh, b, h)
			step++
			for i, p := range params {
				opts[i].step(p, grads[i], cfg.LR, step)
			}
		}
		m.Loss = epochLoss / float64(n)
		m.Epochs = epoch
		if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) {
			return nil, fmt.Errorf("probe: MLP training diverged in epoch %d (loss %v); lower the learning rate %v", epoch, m.Loss, cfg.LR)
		}
		if cfg.OnEpoch != nil {
			cfg.OnEpoch(epoch, m.Loss)
		}
	}
	return m, nil
}

func gen(data []float64, rows, cols int) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: cols, Data: data[:rows*cols]}
}

func colSums(dst, a []float64, rows, cols int) {
	clear(dst)
	for r := 0; r < rows; r++ {
		for c, v := range a[r*cols : (r+1)*cols] {
			dst[c] += v
		}
	}
}

// forward computes the hidden activations (after ReLU) into hid and the
// class probabilities into z for b standardised rows xs; with labels y it
// returns their summed cross-entropy (0 without).
func (m *MLP) forward(xs []float64, b int, hid, z []float64, y []int) float64 {
	h, k := m.Hidden, m.Classes
	for r := 0; r < b; r++ {
		copy(hid[r*h:(r+1)*h], m.B1)
		copy(z[r*k:(r+1)*k], m.B2)
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, gen(xs, b, m.D), gen(m.W1, m.D, h), 1, gen(hid, b, h))
	for i, v := range hid[:b*h] {
		if v < 0 {
			hid[i] = 0
		}
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, gen(hid, b, h), gen(m.W2, h, k), 1, gen(z, b, k))
	var loss float64
	for r := 0; r < b; r++ {
		row := z[r*k : (r+1)*k]
		var zy float64
		if y != nil {
			zy = row[y[r]]
		}
		lse := softmaxRow(row)
		if y != nil {
			loss += lse - zy
		}
	}
	return loss
}

// Proba returns the n×Classes class probabilities of the n rows of x.
func (m *MLP) Proba(x []float32, n int) ([]float32, error) {
	xs, err := m.Std.Apply(x, n)
	if err != nil {
		return nil, fmt.Errorf("MLP probe with %d features: %w", m.D, err)
	}
	out := make([]float32, n*m.Classes)
	const chunk = 256
	hid := make([]float64, chunk*m.Hidden)
	z := make([]float64, chunk*m.Classes)
	for s := 0; s < n; s += chunk {
		b := min(chunk, n-s)
		m.forward(xs[s*m.D:(s+b)*m.D], b, hid[:b*m.Hidden], z[:b*m.Classes], nil)
		for i, v := range z[:b*m.Classes] {
			out[s*m.Classes+i] = float32(v)
		}
	}
	return out, nil
}
