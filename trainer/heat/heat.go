package heat

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/chewxy/math32"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/trainer/checkpoint"
	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/noisemask"
	"github.com/pgaug/pgaug/trainer/optim"
)

// Loss forms (see the package documentation).
const (
	LossPaper     = "paper"
	LossReinforce = "reinforce"
	LossScaled    = "scaled"
)

// ScaledFloor is the least denominator of the scaled loss: its factor is
// S/max(S̄, ScaledFloor), so that a run whose log-density factor stays near
// 0 does not divide by (almost) nothing.
const ScaledFloor = 1e-3

// DefaultScaledBound is the bound L of log α and log β that the scaled loss
// gets when none is chosen (see [DefaultBound]): α, β ∈ [e^−3, e^3] ≈
// [0.05, 20].
const DefaultScaledBound = 3.0

// DefaultBound is the bound of the log-space parameters a loss gets when
// none is chosen: [DefaultScaledBound] for the scaled loss, 0 (unbounded, as
// the papers) for paper and reinforce.
func DefaultBound(loss string) float64 {
	if strings.EqualFold(loss, LossScaled) {
		return DefaultScaledBound
	}
	return 0
}

// Config holds the method's constants.
type Config struct {
	Classes int
	// Loss is "paper", "reinforce" or "scaled".
	Loss string
	// Noise is the noise model (beta, gaussian, uniform).
	Noise noisemask.Model
	Mask  noisemask.MaskConfig
	// TauImage (τ_i, 0.9) mixes dataset- and image-level parameters;
	// TauDataset (τ_d, 0.99) is the dataset-level EMA decay.
	TauImage, TauDataset float64
	// BaselineDecay is the EMA decay of the CE baseline (reinforce) and of
	// the running mean S̄ of |S| (scaled).
	BaselineDecay float64
	// ClassifierLR is the classifier's base rate (the loop's schedule
	// multiplies it); PolicyLR the policy's, under PolicySchedule over
	// TotalSteps.
	ClassifierLR, PolicyLR float64
	PolicySchedule         fit.Schedule
	TotalSteps             int
	// PolicyClipNorm clips the policy's gradient to this L2 norm (0: no
	// clipping, the papers' setting). The log-density's gradient grows with
	// α·|log x|, so samples near 0 or 1 can throw a and b far enough that
	// exp overflows; clipping keeps long runs finite.
	PolicyClipNorm float64
	// Bound L > 0 maps the policy's raw outputs a_img and b_img to
	// L·tanh(a_img/L) before they are mixed, in the policy's graph and on the
	// host alike, and New clamps the dataset-level parameters into [−L, L],
	// so the mixed a and b stay in [−L, L]: for the Beta model α, β ∈
	// [e^−L, e^L]. 0 leaves them unbounded (the papers' setting).
	Bound float64
	Seed  uint64
}

// Method heats a classifier. It implements fit.Method.
type Method struct {
	Cfg        Config
	Classifier *netstep.Net
	Policy     *netstep.Net
	ClsOpt     optim.Optimizer
	PolicyOpt  optim.Optimizer
	Dataset    *noisemask.DatasetParams

	baseline *noisemask.EMA
	sAbs     *noisemask.EMA // S̄, the running mean of |S| (scaled loss)
	mix      map[*gorgonia.ExprGraph]*noisemask.MixGraph
	pcg      *rand.PCG
	rng      *rand.Rand
	step     int64
}

// New checks cfg and wires the networks: the policy's output must be
// B×(2·G²).
func New(cfg Config, classifier, policy *netstep.Net, clsOpt, policyOpt optim.Optimizer, ds *noisemask.DatasetParams) (*Method, error) {
	if cfg.Classes < 2 {
		return nil, fmt.Errorf("noise mask: %d classes; a classifier needs at least 2", cfg.Classes)
	}
	switch cfg.Loss {
	case "":
		cfg.Loss = LossPaper
	case LossPaper, LossReinforce, LossScaled:
	default:
		return nil, fmt.Errorf("noise-mask loss %q: want paper, reinforce or scaled", cfg.Loss)
	}
	if !(cfg.Bound >= 0) || math.IsInf(cfg.Bound, 0) {
		return nil, fmt.Errorf("noise mask: parameter bound %v, want a finite L >= 0 (0: unbounded)", cfg.Bound)
	}
	if cfg.Noise == nil {
		cfg.Noise = noisemask.Beta{}
	}
	if ds == nil || ds.Grid != cfg.Mask.Grid {
		return nil, fmt.Errorf("noise mask: dataset-level parameters for a %d×%d grid are needed", cfg.Mask.Grid, cfg.Mask.Grid)
	}
	for _, t := range []struct {
		name string
		v    float64
	}{{"τ_i", cfg.TauImage}, {"τ_d", cfg.TauDataset}, {"baseline decay", cfg.BaselineDecay}} {
		if t.v < 0 || t.v > 1 {
			return nil, fmt.Errorf("noise mask: %s = %v outside [0, 1]", t.name, t.v)
		}
	}
	if cfg.PolicySchedule == nil {
		cfg.PolicySchedule = fit.Constant()
	}
	base, err := noisemask.NewEMA(cfg.BaselineDecay)
	if err != nil {
		return nil, err
	}
	sAbs, err := noisemask.NewEMA(cfg.BaselineDecay)
	if err != nil {
		return nil, err
	}
	if cfg.Bound > 0 {
		// The mix is a convex combination: with both of its terms in
		// [−L, L], so are a and b, and so is every later EMA update.
		l := float32(cfg.Bound)
		for _, v := range [][]float32{ds.A, ds.B} {
			for i := range v {
				v[i] = min(max(v[i], -l), l)
			}
		}
	}
	pcg := rand.NewPCG(cfg.Seed, 0x6E6F697365)
	m := &Method{Cfg: cfg, Classifier: classifier, Policy: policy, ClsOpt: clsOpt, PolicyOpt: policyOpt, Dataset: ds,
		baseline: base, sAbs: sAbs, mix: map[*gorgonia.ExprGraph]*noisemask.MixGraph{}, pcg: pcg, rng: rand.New(pcg)}
	policy.Custom = m.policyLoss
	// The policy's gradient pass recomputes the pass the noise was sampled
	// from: its BatchNorm statistics are counted once, by that pass.
	policy.Recount = true
	return m, nil
}

// policyLoss builds objective(logP(M; mix(bound(a_img), bound(b_img))))·factor
// on the policy's B×2G² output, with inputs M (B×G²) and the scalar factor
// (CE for the paper loss, CE − b for reinforce, CE/max(S̄, ScaledFloor) for
// scaled); bound is the identity without Cfg.Bound.
func (m *Method) policyLoss(g *gorgonia.ExprGraph, out *gorgonia.Node) (*gorgonia.Node, []*gorgonia.Node, error) {
	cells := m.Cfg.Mask.Grid * m.Cfg.Mask.Grid
	s := out.Shape()
	if s.Dims() != 2 || s[1] != 2*cells {
		return nil, nil, fmt.Errorf("the policy must output B×%d (a and b of a %d×%d grid); it gives %v", 2*cells, m.Cfg.Mask.Grid, m.Cfg.Mask.Grid, s)
	}
	aImg, err := gorgonia.Slice(out, nil, gorgonia.S(0, cells))
	if err != nil {
		return nil, nil, err
	}
	bImg, err := gorgonia.Slice(out, nil, gorgonia.S(cells, 2*cells))
	if err != nil {
		return nil, nil, err
	}
	if m.Cfg.Bound > 0 {
		if aImg, err = boundNode(aImg, m.Cfg.Bound); err != nil {
			return nil, nil, err
		}
		if bImg, err = boundNode(bImg, m.Cfg.Bound); err != nil {
			return nil, nil, err
		}
	}
	mg, err := m.Dataset.MixNode(aImg, bImg, m.Cfg.TauImage)
	if err != nil {
		return nil, nil, err
	}
	m.mix[g] = mg
	sample := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(s[0], cells), gorgonia.WithName("heat.sample"))
	factor := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("heat.factor"))
	logP, err := m.Cfg.Noise.LogDensity(mg.A, mg.B, sample)
	if err != nil {
		return nil, nil, err
	}
	var obj *gorgonia.Node
	if m.Cfg.Loss != LossReinforce {
		obj, err = noisemask.PaperObjective(logP)
	} else {
		obj, err = noisemask.ReinforceObjective(logP)
	}
	if err != nil {
		return nil, nil, err
	}
	l, err := noisemask.Advantage(obj, factor)
	return l, []*gorgonia.Node{sample, factor}, err
}

// boundNode is L·tanh(x/L), in the float32 operations (and their order)
// of [bound].
func boundNode(x *gorgonia.Node, l float64) (*gorgonia.Node, error) {
	s, err := gorgonia.Mul(x, gorgonia.NewConstant(float32(1/l), gorgonia.WithName(fmt.Sprintf("heat.bound.inv(%g)", l))))
	if err != nil {
		return nil, fmt.Errorf("parameter bound: %w", err)
	}
	t, err := gorgonia.Tanh(s)
	if err != nil {
		return nil, fmt.Errorf("parameter bound: %w", err)
	}
	out, err := gorgonia.Mul(t, gorgonia.NewConstant(float32(l), gorgonia.WithName(fmt.Sprintf("heat.bound(%g)", l))))
	if err != nil {
		return nil, fmt.Errorf("parameter bound: %w", err)
	}
	return out, nil
}

// bound is L·tanh(v/L) on the host, bit for bit what boundNode computes
// (gorgonia's float32 tanh is math32.Tanh).
func bound(v float32, l float64) float32 {
	return math32.Tanh(v*float32(1/l)) * float32(l)
}

// RawFor returns the raw policy output v that the bound L maps to t:
// L·atanh(t/L), so that L·tanh(v/L) = t (v = t when L is 0, unbounded). It
// is how a policy is made to start at chosen parameters (through its output
// bias). |t| must lie inside the bound.
func RawFor(t, l float64) (float64, error) {
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return 0, fmt.Errorf("noise mask: parameter %v is not finite", t)
	}
	if l == 0 {
		return t, nil
	}
	if !(math.Abs(t) < l) {
		return 0, fmt.Errorf("noise mask: parameter %.4g lies outside the bound ±%g (--param-bound): choose a milder start or a wider bound", t, l)
	}
	return l * math.Atanh(t/l), nil
}

// imageParams splits the policy's output o (B×2G²) into a_img and b_img,
// bounded when Cfg.Bound > 0; aRaw and bRaw are then the outputs before the
// bound (nil without one).
func (m *Method) imageParams(o []float32, b int) (aImg, bImg, aRaw, bRaw []float32) {
	cells := m.Cfg.Mask.Grid * m.Cfg.Mask.Grid
	aImg, bImg = make([]float32, b*cells), make([]float32, b*cells)
	for i := 0; i < b; i++ {
		copy(aImg[i*cells:], o[i*2*cells:i*2*cells+cells])
		copy(bImg[i*cells:], o[i*2*cells+cells:(i+1)*2*cells])
	}
	if l := m.Cfg.Bound; l > 0 {
		aRaw, bRaw = append([]float32(nil), aImg...), append([]float32(nil), bImg...)
		for i := range aImg {
			aImg[i], bImg[i] = bound(aImg[i], l), bound(bImg[i], l)
		}
	}
	return aImg, bImg, aRaw, bRaw
}

// Objective computes, on the host, the policy factor S for logP values
// (B×cells): mean_b logsumexp (paper, scaled) or reinforce's mean_b Σ.
func (m *Method) objective(logP []float64, b, cells int) float64 {
	var s float64
	for i := 0; i < b; i++ {
		row := logP[i*cells : (i+1)*cells]
		if m.Cfg.Loss != LossReinforce {
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, v)
			}
			var e float64
			for _, v := range row {
				e += math.Exp(v - mx)
			}
			s += mx + math.Log(e)
		} else {
			for _, v := range row {
				s += v
			}
		}
	}
	return s / float64(b)
}

// Noise is one batch's sampled noise and mask.
type Noise struct {
	A, B   []float32 // mixed parameters, B×G²
	AImg   []float32 // image-level a, B×G² (b in BImg), after the bound
	BImg   []float32
	ARaw   []float32 // the policy's a before the bound (b in BRaw); nil without one
	BRaw   []float32
	Sample []float32 // M, B×G²
	Mask   []float32 // B×H×W after up-sampling and blur
}

// SampleNoise runs the policy (training mode when training) on x, mixes the
// parameters and draws the noise matrices and masks from the method's
// sampler, whose state the checkpoints hold.
func (m *Method) SampleNoise(x *tensor.Dense, training bool) (*Noise, error) {
	return m.sampleNoise(x, training, m.rng)
}

// PreviewNoise is SampleNoise in evaluation mode drawing from a generator
// of its own, seeded by seed: for figures drawn during training, which
// must leave the training sampler (and so the run's result, and a resumed
// run's) as it was.
func (m *Method) PreviewNoise(x *tensor.Dense, seed uint64) (*Noise, error) {
	return m.sampleNoise(x, false, rand.New(rand.NewPCG(seed, 0x70726576696577)))
}

func (m *Method) sampleNoise(x *tensor.Dense, training bool, rng *rand.Rand) (*Noise, error) {
	var out *tensor.Dense
	var err error
	if training {
		out, err = m.Policy.ForwardTraining(x)
	} else {
		out, err = m.Policy.Forward(x)
	}
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	xs := x.Shape()
	b, h, w := xs[0], xs[2], xs[3]
	cells := m.Cfg.Mask.Grid * m.Cfg.Mask.Grid
	o := out.Data().([]float32)
	if len(o) != b*2*cells {
		return nil, fmt.Errorf("the policy gives %d values per image, want %d (a and b of a %d×%d grid)", len(o)/b, 2*cells, m.Cfg.Mask.Grid, m.Cfg.Mask.Grid)
	}
	n := &Noise{}
	n.AImg, n.BImg, n.ARaw, n.BRaw = m.imageParams(o, b)
	if n.A, n.B, err = m.Dataset.Mix(n.AImg, n.BImg, b, m.Cfg.TauImage); err != nil {
		return nil, err
	}
	n.Sample = make([]float32, b*cells)
	if err := m.Cfg.Noise.Sample(rng, n.A, n.B, n.Sample); err != nil {
		return nil, fmt.Errorf("sampling the noise: %w", err)
	}
	if n.Mask, err = noisemask.BuildMask(n.Sample, b, h, w, m.Cfg.Mask); err != nil {
		return nil, err
	}
	return n, nil
}

// Masked returns x ⊙ mask (broadcast over channels) as a new tensor.
func Masked(x *tensor.Dense, mask []float32) (*tensor.Dense, error) {
	s := x.Shape()
	d := append([]float32(nil), x.Data().([]float32)...)
	if err := noisemask.Apply(d, mask, s[0], s[1], s[2], s[3]); err != nil {
		return nil, err
	}
	return tensor.New(tensor.WithShape(s...), tensor.WithBacking(d)), nil
}

// TrainStep runs one step of the noise-mask method on a batch.
func (m *Method) TrainStep(ctx context.Context, b *loader.Batch, lrScale float64) (map[string]float64, error) {
	c := m.Cfg
	x := tensor.New(tensor.WithShape(b.N, b.C, b.H, b.W), tensor.WithBacking(append([]float32(nil), b.X[:b.N*b.C*b.H*b.W]...)))
	labels := make([]int, b.N)
	for i, y := range b.Labels[:b.N] {
		if y < 0 {
			return nil, fmt.Errorf("sample %s has no single label", b.IDs[i])
		}
		labels[i] = int(y)
	}
	y, err := loss.OneHot(labels, c.Classes)
	if err != nil {
		return nil, err
	}
	noise, err := m.SampleNoise(x, true)
	if err != nil {
		return nil, err
	}
	xm, err := Masked(x, noise.Mask)
	if err != nil {
		return nil, err
	}
	// The classifier's pass on the masked images.
	rc, err := m.Classifier.ForwardBackward(xm, y)
	if err != nil {
		return nil, fmt.Errorf("classifier: %w", err)
	}
	ce := float64(rc.Loss)
	cells := c.Mask.Grid * c.Mask.Grid
	logP := make([]float64, len(noise.Sample))
	for i, v := range noise.Sample {
		logP[i] = c.Noise.LogDensityF64(float64(noise.A[i]), float64(noise.B[i]), float64(v))
	}
	s := m.objective(logP, b.N, cells)
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return nil, fmt.Errorf("the log-density factor is %v: %w", s, fit.ErrNonFinite)
	}
	// factor multiplies the policy's objective, clsScale the classifier's
	// gradient (see the package documentation).
	factor, clsScale := ce, s
	var sBar float64
	switch c.Loss {
	case LossReinforce:
		factor, clsScale = m.baseline.Advantage(ce), 1
	case LossScaled:
		sBar, clsScale, factor = scaledFactors(m.sAbs, s, ce)
	}
	// The policy's pass: objective·factor.
	for _, mg := range m.mix {
		if err := m.Dataset.Bind(mg); err != nil {
			return nil, err
		}
	}
	rp, err := m.Policy.ForwardBackward(x,
		tensor.New(tensor.WithShape(b.N, cells), tensor.WithBacking(noise.Sample)),
		tensor.New(tensor.WithShape(), tensor.WithBacking([]float32{float32(factor)})))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	// Steps: the classifier's gradient is scaled by S (paper), S/S̄
	// (scaled) or kept (reinforce); the policy's already carries its factor.
	cp, err := m.Classifier.Params(xm.Shape())
	if err != nil {
		return nil, err
	}
	if c.Loss != LossReinforce {
		for _, p := range cp {
			for i := range p.Grad {
				p.Grad[i] *= float32(clsScale)
			}
		}
	}
	pp, err := m.Policy.Params(x.Shape())
	if err != nil {
		return nil, err
	}
	if err := netstep.CheckFinite(cp); err != nil {
		return nil, fmt.Errorf("classifier: %w: %w", err, fit.ErrNonFinite)
	}
	if err := netstep.CheckFinite(pp); err != nil {
		return nil, fmt.Errorf("policy: %w: %w", err, fit.ErrNonFinite)
	}
	pnorm := optim.ClipGradNorm(pp, c.PolicyClipNorm)
	if err := m.ClsOpt.Step(cp, c.ClassifierLR*lrScale); err != nil {
		return nil, err
	}
	total := max(c.TotalSteps, 1)
	plr := c.PolicyLR * c.PolicySchedule(int(min(m.step, int64(total-1))), total)
	if err := m.PolicyOpt.Step(pp, plr); err != nil {
		return nil, err
	}
	switch c.Loss {
	case LossReinforce:
		if _, err := m.baseline.Update(ce); err != nil {
			return nil, err
		}
	case LossScaled:
		if _, err := m.sAbs.Update(math.Abs(s)); err != nil {
			return nil, err
		}
	}
	if err := m.Dataset.Update(noise.AImg, noise.BImg, b.N, c.TauDataset); err != nil {
		return nil, err
	}
	m.step++
	out := map[string]float64{
		"loss": ce, "objective": s, "policy_loss": float64(rp.Loss), "policy_lr": plr,
		"mask_mean": meanOf(noise.Mask), "alpha_mean": meanExp(noise.A), "beta_mean": meanExp(noise.B), "policy_grad_norm": pnorm,
		"a_img_mean": meanOf(noise.AImg), "b_img_mean": meanOf(noise.BImg),
		"a_dataset_mean": meanOf(m.Dataset.A), "b_dataset_mean": meanOf(m.Dataset.B),
		"classifier_grad_scale": clsScale,
	}
	switch c.Loss {
	case LossPaper:
		out["paper_loss"] = s * ce
	case LossReinforce:
		out["advantage"] = factor
	case LossScaled:
		out["s_bar"] = sBar
		out["scaled_loss"] = clsScale * ce
	}
	if noise.ARaw != nil {
		out["a_img_raw_mean"], out["b_img_raw_mean"] = meanOf(noise.ARaw), meanOf(noise.BRaw)
	}
	return out, nil
}

// scaledFactors returns, for the scaled loss, S̄ once |s| is folded into
// the running mean e (e itself is left as it is: TrainStep updates it after
// the steps), the classifier's gradient multiplier s/max(S̄, ScaledFloor)
// and the policy's factor ce/max(S̄, ScaledFloor). On the first step S̄ =
// |s|, so the multiplier is sign(s) (or s/ScaledFloor when |s| is below the
// floor).
func scaledFactors(e *noisemask.EMA, s, ce float64) (sBar, clsScale, factor float64) {
	sBar = e.Next(math.Abs(s))
	den := max(sBar, ScaledFloor)
	return sBar, s / den, ce / den
}

func meanOf(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(max(len(v), 1))
}

func meanExp(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += math.Exp(float64(x))
	}
	return s / float64(max(len(v), 1))
}

// Evaluate scores the classifier on clean images.
func (m *Method) Evaluate(ctx context.Context, l *loader.Loader) (metrics.Report, error) {
	return fit.Evaluate(ctx, m.Classifier, l, m.Cfg.Classes)
}

// SaveState adds both networks and optimizers, the dataset-level parameters,
// the baseline, S̄ (scaled loss), the sampler's RNG and the policy's step
// count.
func (m *Method) SaveState(s *checkpoint.State) error {
	for _, err := range []error{
		s.AddModel("classifier", m.Classifier.Model),
		s.AddModel("policy", m.Policy.Model),
		s.AddOptimizer("classifier.opt", m.ClsOpt),
		s.AddOptimizer("policy.opt", m.PolicyOpt),
		s.AddRNG("heat.sampler", m.pcg),
	} {
		if err != nil {
			return err
		}
	}
	s.Vectors["heat.a_dataset"] = append([]float32(nil), m.Dataset.A...)
	s.Vectors["heat.b_dataset"] = append([]float32(nil), m.Dataset.B...)
	s.Scalars["heat.baseline"] = m.baseline.Value
	s.Scalars["heat.baseline_set"] = b2f(m.baseline.Started)
	if m.Cfg.Loss == LossScaled {
		s.Scalars["heat.s_bar"] = m.sAbs.Value
		s.Scalars["heat.s_bar_set"] = b2f(m.sAbs.Started)
	}
	s.Counters["heat.step"] = m.step
	return nil
}

// RestoreState reads what SaveState wrote.
func (m *Method) RestoreState(s *checkpoint.State) error {
	for _, err := range []error{
		s.RestoreModel("classifier", m.Classifier.Model),
		s.RestoreModel("policy", m.Policy.Model),
		s.RestoreOptimizer("classifier.opt", m.ClsOpt),
		s.RestoreOptimizer("policy.opt", m.PolicyOpt),
		s.RestoreRNG("heat.sampler", m.pcg),
	} {
		if err != nil {
			return err
		}
	}
	a, b := s.Vectors["heat.a_dataset"], s.Vectors["heat.b_dataset"]
	if len(a) != len(m.Dataset.A) || len(b) != len(m.Dataset.B) {
		return fmt.Errorf("the checkpoint's dataset-level parameters have %d/%d cells, this run %d", len(a), len(b), len(m.Dataset.A))
	}
	copy(m.Dataset.A, a)
	copy(m.Dataset.B, b)
	m.baseline.Value = s.Scalars["heat.baseline"]
	m.baseline.Started = s.Scalars["heat.baseline_set"] != 0
	if m.Cfg.Loss == LossScaled {
		m.sAbs.Value = s.Scalars["heat.s_bar"]
		m.sAbs.Started = s.Scalars["heat.s_bar_set"] != 0
	}
	m.step = s.Counters["heat.step"]
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ParseLoss checks a loss name.
func ParseLoss(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", LossPaper:
		return LossPaper, nil
	case LossReinforce:
		return LossReinforce, nil
	case LossScaled:
		return LossScaled, nil
	}
	return "", fmt.Errorf("noise-mask loss %q: want paper, reinforce or scaled", s)
}
