package apga

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/ops/spatial"
	"github.com/pgaug/pgaug/trainer/optim"
)

// How the policy acts (Config.Actions).
const (
	// ActionsThreshold takes the action A = 1[P > threshold] (Algorithm 1,
	// the paper and reference presets).
	ActionsThreshold = "threshold"
	// ActionsBernoulli samples A ~ Bernoulli(q) per cell, with per-image
	// rewards and a leave-one-out baseline (the sampled preset).
	ActionsBernoulli = "bernoulli"
)

// How the advantages are normalised (Config.AdvantageNorm).
const (
	AdvNormNone  = "none"
	AdvNormBatch = "batch"
)

// How the keep-fraction target is held (Config.KeepMode).
const (
	// KeepPenalty adds KeepWeight·(q̄_i − κ)² per image.
	KeepPenalty = "penalty"
	// KeepLagrange adds λ·(q̄ − κ) and raises λ by KeepWeight·(q̄ − κ) each
	// step (dual ascent on the constraint q̄ = κ).
	KeepLagrange = "lagrange"
)

// Grid returns the side G of the mask grid for h×w images: MaskGrid, or
// with MaskGrid 0 and Bernoulli actions one cell per 4×4 pixels (a quarter
// of the resolution, as Dabkowski & Gal's masks) when the sides allow it;
// 0 means one action per pixel.
func (c Config) Grid(h, w int) (int, error) {
	g := c.MaskGrid
	if g == 0 {
		if c.Actions != ActionsBernoulli || h != w || h%4 != 0 || h < 8 {
			return 0, nil
		}
		g = h / 4
	}
	if g < 0 || h != w || h%g != 0 {
		return 0, fmt.Errorf("APGA: a %d×%d mask grid needs square images whose side it divides; the images are %d×%d", g, g, h, w)
	}
	if g == h {
		return 0, nil
	}
	return g, nil
}

// gridPolicyLoss is the policy loss on cell probabilities q = the mean of P
// over each cell of a g×g grid: mean(−w1·log q − w0·log(1 − q)), with the
// weights B×1×g×g given at each step. g = 0 is the per-pixel PolicyLoss.
func gridPolicyLoss(g int) func(*gorgonia.ExprGraph, *gorgonia.Node) (*gorgonia.Node, []*gorgonia.Node, error) {
	if g == 0 {
		return PolicyLoss
	}
	return func(eg *gorgonia.ExprGraph, out *gorgonia.Node) (*gorgonia.Node, []*gorgonia.Node, error) {
		s := out.Shape()
		if s.Dims() != 4 || s[1] != 1 || s[2]%g != 0 || s[3]%g != 0 {
			return nil, nil, fmt.Errorf("the policy must output one probability channel, B×1×H×W with H and W multiples of the %d×%d grid; it gives %v", g, g, s)
		}
		k := [2]int{s[2] / g, s[3] / g}
		q, err := spatial.AveragePool2D(out, spatial.PoolParams{KernelShape: k, Strides: k})
		if err != nil {
			return nil, nil, err
		}
		ws := []int{s[0], 1, g, g}
		w1 := gorgonia.NewTensor(eg, tensor.Float32, 4, gorgonia.WithShape(ws...), gorgonia.WithName("apga.w1"))
		w0 := gorgonia.NewTensor(eg, tensor.Float32, 4, gorgonia.WithShape(ws...), gorgonia.WithName("apga.w0"))
		l, err := loss.WeightedBinaryCrossEntropy(q, w1, w0)
		return l, []*gorgonia.Node{w1, w0}, err
	}
}

// cellMeans averages each image's h×w map p over the cells of a g×g grid
// (g = 0: p itself), as the policy loss's pooling does.
func cellMeans(p []float32, b, h, w, g int) []float32 {
	if g == 0 {
		return append([]float32(nil), p...)
	}
	ch, cw := h/g, w/g
	q := make([]float32, b*g*g)
	inv := 1 / float64(ch*cw)
	for i := 0; i < b; i++ {
		for cy := 0; cy < g; cy++ {
			for cx := 0; cx < g; cx++ {
				var s float64
				for y := cy * ch; y < (cy+1)*ch; y++ {
					for x := cx * cw; x < (cx+1)*cw; x++ {
						s += float64(p[(i*h+y)*w+x])
					}
				}
				q[(i*g+cy)*g+cx] = float32(s * inv)
			}
		}
	}
	return q
}

// toPixels spreads per-cell values (b×g×g) over their cells' pixels
// (b×h×w); g = 0 copies per-pixel values.
func toPixels(v []float32, b, h, w, g int) []float32 {
	if g == 0 {
		return append([]float32(nil), v...)
	}
	out := make([]float32, b*h*w)
	ch, cw := h/g, w/g
	for i := 0; i < b; i++ {
		for y := 0; y < h; y++ {
			row := v[(i*g+y/ch)*g:]
			for x := 0; x < w; x++ {
				out[(i*h+y)*w+x] = row[x/cw]
			}
		}
	}
	return out
}

// maskImages returns copies of x (b×c×h×w) with the pixels where keep
// (b×h×w, broadcast over channels) is 0 replaced by fill's (nil: by 0), and
// the fraction of pixels kept per image.
func maskImages(x, keep, fill []float32, b, c, h, w int) ([]float32, []float64) {
	hw := h * w
	out := make([]float32, len(x))
	if fill != nil {
		copy(out, fill)
	}
	frac := make([]float64, b)
	for i := 0; i < b; i++ {
		k := keep[i*hw : (i+1)*hw]
		n := 0
		for j, v := range k {
			if v == 0 {
				continue
			}
			n++
			for ch := 0; ch < c; ch++ {
				idx := (i*c+ch)*hw + j
				out[idx] = x[idx]
			}
		}
		frac[i] = float64(n) / float64(hw)
	}
	return out, frac
}

// What erased pixels become (Config.Fill).
const (
	// FillZero: 0 in the network's input space, the mean of a normalised
	// image (the paper's x ⊙ (1 − A) on the input tensor).
	FillZero = "zero"
	// FillBlack: the input value of a black pixel (Method.Black), so that
	// erasing a dark background changes nothing.
	FillBlack = "black"
	// FillBlur: a blurred copy of the image (Method.Blur), which removes
	// small structure without drawing edges.
	FillBlur = "blur"
)

// perImageCE is the cross-entropy of each image's logits (n×K) for its
// label.
func perImageCE(logits *tensor.Dense, labels []int, classes int) ([]float64, error) {
	z := logits.Data().([]float32)
	if len(z) != len(labels)*classes {
		return nil, fmt.Errorf("the classifier gives %d outputs per image, the dataset has %d classes", len(z)/max(len(labels), 1), classes)
	}
	out := make([]float64, len(labels))
	for i, y := range labels {
		row := z[i*classes : (i+1)*classes]
		m := float64(row[0])
		for _, v := range row[1:] {
			m = math.Max(m, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		out[i] = m + math.Log(s) - float64(row[y])
	}
	return out, nil
}

// keepTarget is κ at this step: from the first batch's mean keep, linearly
// to KeepTarget over KeepWarmup steps.
func (m *Method) keepTarget() float64 {
	c := m.Cfg
	if c.KeepWarmup <= 0 || m.sampledSteps >= int64(c.KeepWarmup) {
		return c.KeepTarget
	}
	f := float64(m.sampledSteps) / float64(c.KeepWarmup)
	return m.keepStart + f*(c.KeepTarget-m.keepStart)
}

// sampledStep is TrainStep with Bernoulli actions.
func (m *Method) sampledStep(ctx context.Context, b *loader.Batch, lrScale float64) (map[string]float64, error) {
	c := m.Cfg
	x, y, labels, err := batchInputs(b, c.Classes)
	if err != nil {
		return nil, err
	}
	n, ch, h, w := b.N, b.C, b.H, b.W
	g, err := c.Grid(h, w)
	if err != nil {
		return nil, err
	}
	cells := h * w
	if g > 0 {
		cells = g * g
	}
	k := c.Samples
	lrC, lrP := c.ClassifierLR*lrScale, c.PolicyLR*lrScale

	// 1. classifier step on the original batch.
	r1, err := m.Classifier.Step(x, m.ClsOpt, lrC, y)
	if err != nil {
		return nil, fmt.Errorf("classifier step on the original batch: %w", err)
	}
	// 2. the policy's cell probabilities, and K sampled actions per image.
	p, err := m.Policy.ForwardTraining(x)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if err := checkPolicyShape(p, n, h, w); err != nil {
		return nil, err
	}
	q := cellMeans(p.Data().([]float32), n, h, w, g)
	samples := make([]float32, k*n*cells) // sample j of image i at (j*n+i)*cells
	var sampled float64
	for j := 0; j < k; j++ {
		for i := 0; i < n; i++ {
			for cc := 0; cc < cells; cc++ {
				if m.rng.Float64() < float64(q[i*cells+cc]) {
					samples[(j*n+i)*cells+cc] = 1
					sampled++
				}
			}
		}
	}
	// 3. the rewards: the classifier's loss on each image with its marked
	// pixels erased, less its loss on the image, in one pass over the
	// originals and the K·B erased images (no update).
	xd := x.Data().([]float32)
	rule, err := m.Rule(h, w)
	if err != nil {
		return nil, err
	}
	fill, err := rule.FillImages(xd, n, ch, h, w)
	if err != nil {
		return nil, err
	}
	all := make([]float32, 0, (k+1)*len(xd))
	all = append(all, xd...)
	for j := 0; j < k; j++ {
		marked := toPixels(samples[j*n*cells:(j+1)*n*cells], n, h, w, g)
		for i := range marked {
			marked[i] = 1 - marked[i]
		}
		erased, _ := maskImages(xd, marked, fill, n, ch, h, w)
		all = append(all, erased...)
	}
	allX := tensor.New(tensor.WithShape((k+1)*n, ch, h, w), tensor.WithBacking(all))
	var z *tensor.Dense
	if c.AdversarialEvalMode {
		z, err = m.Classifier.Forward(allX)
	} else {
		z, err = m.Classifier.ForwardBatchStats(allX)
	}
	if err != nil {
		return nil, fmt.Errorf("classifier on the erased images: %w", err)
	}
	allLabels := make([]int, 0, (k+1)*n)
	for j := 0; j <= k; j++ {
		allLabels = append(allLabels, labels...)
	}
	ce, err := perImageCE(z, allLabels, c.Classes)
	if err != nil {
		return nil, err
	}
	rewards := make([]float64, k*n)
	var meanR, meanAdv, lossAdv float64
	for j := 0; j < k; j++ {
		for i := 0; i < n; i++ {
			r := ce[(j+1)*n+i] - ce[i]
			if math.IsNaN(r) || math.IsInf(r, 0) {
				return nil, fmt.Errorf("the reward of image %s is %v: %w", b.IDs[i], r, fit.ErrNonFinite)
			}
			rewards[j*n+i] = r
			meanR += r / float64(k*n)
			lossAdv += ce[(j+1)*n+i] / float64(k*n)
		}
	}
	// 4. leave-one-out advantages: A_ij = R_ij − mean of the image's other
	// samples' rewards; the REINFORCE weights per cell.
	advs, advRMS := looAdvantages(rewards, k, n, c.AdvantageScale, c.AdvantageNorm)
	w1 := make([]float32, n*cells)
	w0 := make([]float32, n*cells)
	var advAbs float64
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			adv := advs[j*n+i]
			advAbs += math.Abs(adv) / float64(k*n)
			meanAdv += adv / float64(k*n)
			for cc := 0; cc < cells; cc++ {
				s := samples[(j*n+i)*cells+cc]
				w1[i*cells+cc] += float32(adv * float64(s) / float64(k))
				w0[i*cells+cc] += float32(adv * float64(1-s) / float64(k))
			}
		}
	}
	// The keep-fraction term and the entropy bonus, as gradients in q
	// written into the same weights: −w1/q + w0/(1−q) = γ for
	// w1 = −γ·q(1−q), w0 = γ·q(1−q) (d below is the gradient in the
	// logit, γ·q(1−q)); the logit penalty's gradient in the logit is
	// λ·logit(q), added to d as it is.
	if m.sampledSteps == 0 && !m.keepStarted {
		m.keepStart, m.keepStarted = meanOf(q), true
	}
	target := m.keepTarget()
	qbar := meanOf(q)
	var entropy float64
	for i := 0; i < n; i++ {
		qi := q[i*cells : (i+1)*cells]
		var gKeep float64
		switch c.KeepMode {
		case KeepLagrange:
			gKeep = m.Lagrange
		default:
			gKeep = 2 * c.KeepWeight * (meanOf(qi) - target)
		}
		for cc, v := range qi {
			pv := math.Min(math.Max(float64(v), 1e-6), 1-1e-6)
			entropy += (-pv*math.Log(pv) - (1-pv)*math.Log(1-pv)) / float64(n*cells)
			logit := math.Log(pv / (1 - pv))
			gamma := gKeep + c.Entropy*logit
			d := float32(gamma*pv*(1-pv) + c.LogitPenalty*logit)
			w1[i*cells+cc] -= d
			w0[i*cells+cc] += d
		}
	}
	if c.KeepMode == KeepLagrange {
		m.Lagrange += c.KeepWeight * (qbar - target)
	}
	ws := []int{n, 1, h, w}
	if g > 0 {
		ws = []int{n, 1, g, g}
	}
	rp, err := m.Policy.Step(x, m.PolicyOpt, lrP,
		tensor.New(tensor.WithShape(ws...), tensor.WithBacking(w1)),
		tensor.New(tensor.WithShape(ws...), tensor.WithBacking(w0)))
	if err != nil {
		return nil, fmt.Errorf("policy step: %w", err)
	}
	m.sampledSteps++

	// 5. the aid mask of the updated policy (its deterministic mask, or a
	// sample); a classifier step on the kept pixels.
	pAid, err := m.Policy.ForwardTraining(x)
	if err != nil {
		return nil, fmt.Errorf("policy (aid mask): %w", err)
	}
	probAid, keep, err := rule.Keep(pAid.Data().([]float32), n, h, w)
	if err != nil {
		return nil, err
	}
	contrast := mapContrast(probAid, keep, n, h*w)
	if c.AidSample {
		qAid := cellMeans(pAid.Data().([]float32), n, h, w, g)
		keepCells := make([]float32, len(qAid))
		for i, v := range qAid {
			if m.rng.Float64() < float64(v) {
				keepCells[i] = 1
			}
		}
		keep = toPixels(keepCells, n, h, w, g)
	}
	aid, frac := maskImages(xd, keep, fill, n, ch, h, w)
	kept := 0.0
	for _, f := range frac {
		kept += f / float64(n)
	}
	xAid := tensor.New(tensor.WithShape(n, ch, h, w), tensor.WithBacking(aid))
	lAid, skipped, err := m.aidStep(xAid, y, labels, kept, lrC)
	if err != nil {
		return nil, err
	}
	return map[string]float64{
		"loss": float64(r1.Loss), "loss_adv": lossAdv, "loss_aid": lAid, "reward": meanR, "advantage_abs": advAbs, "advantage_rms": advRMS,
		"policy_loss": float64(rp.Loss), "mask_keep": kept, "p_mean": meanOf(probAid), "sample_keep": sampled / float64(k*n*cells),
		"keep_target": target, "lagrange": m.Lagrange, "entropy": entropy, "aid_skipped": skipped, "map_contrast": contrast,
	}, nil
}

// How the deterministic aid mask is made from the cell probabilities
// (Config.AidMask).
const (
	// AidThreshold keeps the cells with q > Threshold.
	AidThreshold = "threshold"
	// AidTop keeps each image's round(κ·cells) cells of the largest q (at
	// least one): the mask always keeps the keep target's share, and a flat
	// map (a policy that marks nothing in particular) shows as a low
	// contrast instead (MapContrast).
	AidTop = "top"
)

// mapContrast is the mean, over images, of the mean probability of the
// kept cells less that of the others (per pixel, n×px values: each cell
// weighs by its pixels, all alike): near 0 for a flat map, up to 1 for a
// policy sure of which cells matter.
func mapContrast(q, keep []float32, n, cells int) float64 {
	var sum float64
	for i := 0; i < n; i++ {
		var in, out float64
		var nin, nout int
		for j := i * cells; j < (i+1)*cells; j++ {
			if keep[j] != 0 {
				in += float64(q[j])
				nin++
			} else {
				out += float64(q[j])
				nout++
			}
		}
		if nin > 0 && nout > 0 {
			sum += in/float64(nin) - out/float64(nout)
		}
	}
	return sum / float64(max(n, 1))
}

// MapContrastMin is the epoch mean of the step value map_contrast below
// which a sampled policy counts as collapsed to a flat map: its kept cells
// are hardly more likely than the rest.
const MapContrastMin = 0.05

// aidStep is the classifier step on the aid-masked batch, or, when the
// collapse guard says the mask kept too little or too much, its loss alone.
func (m *Method) aidStep(xAid, y *tensor.Dense, labels []int, kept, lr float64) (lAid, skipped float64, err error) {
	c := m.Cfg
	if kept < c.AidKeepMin || kept > c.AidKeepMax {
		zAid, err := m.Classifier.Forward(xAid)
		if err != nil {
			return 0, 1, fmt.Errorf("classifier on the aid-masked batch: %w", err)
		}
		lAid, err = meanCE(zAid, labels, c.Classes)
		return lAid, 1, err
	}
	if c.AidBatchStats {
		// Train on the aid batch with its own statistics, but leave the
		// running ones to the original images: a batch that keeps a tenth of
		// each image has other statistics, and folding them in skews
		// evaluation.
		m.Classifier.Recount = true
		defer func() { m.Classifier.Recount = false }()
	}
	r, err := m.Classifier.Step(xAid, m.ClsOpt, lr, y)
	if err != nil {
		return 0, 0, fmt.Errorf("classifier step on the aid-masked batch: %w", err)
	}
	return float64(r.Loss), 0, nil
}

func checkPolicyShape(p *tensor.Dense, n, h, w int) error {
	if s := p.Shape(); len(s) != 4 || s[0] != n || s[1] != 1 || s[2] != h || s[3] != w {
		return fmt.Errorf("policy output %v does not match the images (want %d×1×%d×%d)", p.Shape(), n, h, w)
	}
	return nil
}

// looAdvantages returns the leave-one-out advantages of K samples of n
// images (reward j of image i at j*n+i): A_ij = scale·(R_ij − mean of the
// image's other samples' rewards), divided by their root mean square when
// norm is AdvNormBatch (a batch whose advantages are all 0 stays 0), and
// that root mean square before the division.
func looAdvantages(rewards []float64, k, n int, scale float64, norm string) ([]float64, float64) {
	advs := make([]float64, k*n)
	var ms float64
	for i := 0; i < n; i++ {
		var sum float64
		for j := 0; j < k; j++ {
			sum += rewards[j*n+i]
		}
		for j := 0; j < k; j++ {
			a := scale * (rewards[j*n+i] - (sum-rewards[j*n+i])/float64(k-1))
			advs[j*n+i] = a
			ms += a * a / float64(k*n)
		}
	}
	rms := math.Sqrt(ms)
	if norm == AdvNormBatch && rms > 0 {
		for i := range advs {
			advs[i] /= rms
		}
	}
	return advs, rms
}

// newSampler is the action sampler of a seed.
func newSampler(seed uint64) (*rand.PCG, *rand.Rand) {
	pcg := rand.NewPCG(seed, 0x61706761)
	return pcg, rand.New(pcg)
}

// SampledPreset is the sampled preset: Bernoulli actions on a grid of 4×4
// pixel cells, K = 4 samples per image with the leave-one-out baseline, a
// keep target of 0.1 held by a penalty with the policy started there, an
// entropy bonus of 0.001 (on synthetic data with known structure, 0.01 left
// two seeds of ten with a soft, flat map and 0 let the map saturate on the
// wrong cells before it learned; 0.001 let both learn), the advantages
// normalised per batch and a logit penalty of 0.003 (on the same data, the
// seeds that had drifted or learned too late: normalised advantages alone
// learned sooner but saturated, pointing 0.77; with the penalty 0.003
// pointing 0.92 and 0.999; 0.01 softened the map below the flat-map
// warning's contrast), erased pixels filled from a blurred copy, rewards in
// evaluation mode, the aid step on its own batch statistics, the collapse
// guard on; Adam 3e-3 for the policy (it starts from scratch) and 1e-5 for
// the converged classifier (as the published code).
func SampledPreset() Config {
	return Config{Preset: "sampled", Actions: ActionsBernoulli, ClassifierLR: 1e-5, PolicyLR: 3e-3, BaselineDecay: 0.5,
		AdvantageScale: 1, Threshold: 0.5, Samples: 4, KeepTarget: 0.1, KeepMode: KeepPenalty, KeepWeight: 1,
		KeepWarmup: 100, Entropy: 0.001, AdvantageNorm: AdvNormBatch, LogitPenalty: 0.003, AdversarialEvalMode: true, AidKeepMin: 0.02, AidKeepMax: 0.98, Fill: FillBlur,
		AidMask: AidTop, AidBatchStats: true, PolicyStart: 0.25, Schedule: "cosine"}
}

// Distil trains the policy alone for epochs passes over train towards
// target maps (n×h×w in [0, 1], e.g. a frozen classifier's Grad-CAM masks),
// with the policy's own loss at its grid: BCE(q, t) with t the target's mean
// over each cell. It is the stand-in for a pretrained segmenter: APGA then
// starts from a policy that already marks roughly what the classifier
// looks at. It returns the last epoch's mean loss.
func (m *Method) Distil(ctx context.Context, train *loader.Loader, epochs int, opt optim.Optimizer, lr float64, target func(x *tensor.Dense) ([]float32, error)) (float64, error) {
	var last float64
	for e := 0; e < epochs; e++ {
		// Epoch numbers of their own: the shuffles differ from APGA's.
		it := train.Epoch(ctx, 1<<20+e)
		var sum float64
		n := 0
		for {
			b, err := it.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				it.Close()
				return 0, err
			}
			x := tensor.New(tensor.WithShape(b.N, b.C, b.H, b.W), tensor.WithBacking(append([]float32(nil), b.X[:b.N*b.C*b.H*b.W]...)))
			bn, h, w := b.N, b.H, b.W
			b.Release()
			g, err := m.Cfg.Grid(h, w)
			if err != nil {
				it.Close()
				return 0, err
			}
			t, err := target(x)
			if err != nil {
				it.Close()
				return 0, fmt.Errorf("distillation targets: %w", err)
			}
			if len(t) != bn*h*w {
				it.Close()
				return 0, fmt.Errorf("distillation targets: %d values for %d images of %d×%d", len(t), bn, h, w)
			}
			w1 := cellMeans(t, bn, h, w, g)
			w0 := make([]float32, len(w1))
			for i, v := range w1 {
				w0[i] = 1 - v
			}
			ws := []int{bn, 1, h, w}
			if g > 0 {
				ws = []int{bn, 1, g, g}
			}
			// One pass counts the BatchNorm statistics, as in APGA's steps.
			if _, err := m.Policy.ForwardTraining(x); err != nil {
				it.Close()
				return 0, fmt.Errorf("policy: %w", err)
			}
			r, err := m.Policy.Step(x, opt, lr, tensor.New(tensor.WithShape(ws...), tensor.WithBacking(w1)), tensor.New(tensor.WithShape(ws...), tensor.WithBacking(w0)))
			if err != nil {
				it.Close()
				return 0, fmt.Errorf("distillation step: %w", err)
			}
			sum += float64(r.Loss)
			n++
		}
		it.Close()
		last = sum / float64(max(n, 1))
	}
	return last, nil
}
