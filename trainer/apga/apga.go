package apga

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/trainer/checkpoint"
	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
	"github.com/pgaug/pgaug/trainer/saliency"
)

// Config holds every constant of the method.
type Config struct {
	Preset string // "paper", "reference" or "sampled": recorded, the fields below rule
	// ClassifierLR and PolicyLR are the base learning rates (the loop's
	// schedule multiplies both).
	ClassifierLR, PolicyLR float64
	// BaselineDecay is the EMA decay d of the reward baseline:
	// b ← d·b + (1−d)·R.
	BaselineDecay float64
	// BaselineFirst updates the baseline with the current reward before the
	// advantage R − b is taken, and starts it at the first reward (the
	// published code); otherwise b starts at 0 and is updated after.
	BaselineFirst bool
	// AdvantageScale multiplies BCE(P, A)·(R − b).
	AdvantageScale float64
	// LambdaZeros and LambdaOnes weigh BCE(P, 0) and BCE(P, 1).
	LambdaZeros, LambdaOnes float64
	// ScaleLambdasByAdvantage multiplies the λ terms by |R − b| (the
	// published code).
	ScaleLambdasByAdvantage bool
	// AdversarialEvalMode computes L_adv with the classifier in evaluation
	// mode (running BatchNorm statistics; the published code); otherwise in
	// training mode, as the classifier's other passes, with batch statistics
	// but without updating the running ones: step 3 changes nothing of the
	// classifier (a PyTorch train-mode pass would also fold the masked
	// batch's statistics into the running ones, and an adversarial batch
	// that erases nearly everything then wrecks evaluation-mode accuracy).
	AdversarialEvalMode bool
	// Threshold turns probabilities into masks (0.5).
	Threshold float64
	// AidKeepMin and AidKeepMax guard against a collapsed policy: when the
	// aid mask keeps less than AidKeepMin or more than AidKeepMax of the
	// batch's pixels, the aid-mask classifier step is skipped (a blank batch
	// teaches the classifier nothing and drags its BatchNorm statistics; a
	// batch kept whole repeats step 1). The step's "aid_skipped" value is 1
	// then, and "loss_aid" is the aid batch's loss in evaluation mode. Both
	// presets leave the guard off (0 and 1, as Algorithm 1); a zero
	// AidKeepMax means 1.
	AidKeepMin, AidKeepMax float64
	// TTA makes Evaluate score the mean softmax of the original and the
	// aid-masked image; an image whose aid mask keeps less than AidKeepMin
	// or more than AidKeepMax is scored on the original alone.
	TTA     bool
	Classes int

	// Actions is ActionsThreshold (paper, reference) or ActionsBernoulli
	// (sampled; "" means threshold). The fields below are the sampled
	// preset's.
	Actions string
	// MaskGrid G: one action per cell of a G×G grid, with the cell's
	// probability q the mean of P over it, up-sampled (nearest) to the
	// image; 0 chooses one cell per 4×4 pixels where the side allows (see
	// Grid).
	MaskGrid int
	// Samples K ≥ 2 per image: per-image rewards
	// R_ij = CE(f(x_i ⊙ (1 − A_ij)), y_i) − CE(f(x_i), y_i) and the
	// leave-one-out baseline A_ij = R_ij − mean_{l≠j} R_il.
	Samples int
	// KeepTarget κ is the fraction of the image the policy should mark,
	// held by KeepMode (KeepPenalty or KeepLagrange) with KeepWeight (the
	// penalty's weight, or the multiplier's step). Over the first
	// KeepWarmup steps the target goes linearly from the first batch's mean
	// keep to κ.
	KeepTarget float64
	KeepMode   string
	KeepWeight float64
	KeepWarmup int
	// Entropy β adds the bonus β·H(q) to the policy's objective.
	Entropy float64
	// AdvantageNorm divides each batch's leave-one-out advantages by their
	// root mean square (AdvNormBatch; "" or AdvNormNone leaves them as they
	// are): the REINFORCE term keeps one size as the rewards grow or shrink,
	// so the keep penalty and the entropy bonus keep theirs beside it.
	AdvantageNorm string
	// LogitPenalty λ adds λ·logit(q)²/2 per cell to the policy's loss: a cell
	// the policy is sure of is pulled back from saturation with a force
	// that, unlike the entropy bonus's and the keep penalty's, does not
	// vanish as q → 0 or 1 (a map saturated at exactly 1 on several cells
	// has no single maximum).
	LogitPenalty float64
	// AidMask makes the deterministic aid mask: AidThreshold (q >
	// Threshold; "" is threshold) or AidTop (the keep target's share of
	// cells of the largest q).
	AidMask string
	// AidSample takes the aid step on a sampled mask instead of the
	// deterministic one.
	AidSample bool
	// Fill is what erased pixels become: FillZero, FillBlack or FillBlur
	// ("" is zero).
	Fill string
	// Schedule is the learning-rate schedule the preset trains under
	// (constant for paper and reference; cosine for sampled, which settles
	// the policy from scratch at the end), for the caller's loop unless it
	// was given one.
	Schedule string
	// PolicyStart, in (0, 1), is the probability the policy starts at
	// everywhere: whoever imports the policy sets the bias before its
	// sigmoid to logit(PolicyStart) (0: the policy as initialised).
	PolicyStart float64
	// AidBatchStats trains the aid step with the aid batch's BatchNorm
	// statistics without folding them into the running statistics.
	AidBatchStats bool
	// Seed seeds the action sampler.
	Seed uint64
}

// Preset returns the configuration a preset names.
func Preset(name string) (Config, error) {
	switch strings.ToLower(name) {
	case "", "paper":
		return Config{Preset: "paper", ClassifierLR: 1e-4, PolicyLR: 1e-4, BaselineDecay: 0.5, AdvantageScale: 1,
			LambdaZeros: 0.1, Threshold: 0.5, Schedule: "constant"}, nil
	case "reference":
		return Config{Preset: "reference", ClassifierLR: 1e-5, PolicyLR: 1e-5, BaselineDecay: 0.5, BaselineFirst: true,
			AdvantageScale: 100, LambdaZeros: 0.1, LambdaOnes: 0.01, ScaleLambdasByAdvantage: true,
			AdversarialEvalMode: true, Threshold: 0.5, Schedule: "constant"}, nil
	case "sampled":
		return SampledPreset(), nil
	}
	return Config{}, fmt.Errorf("APGA preset %q: want paper, reference or sampled", name)
}

// A policy has collapsed in an epoch when its aid mask keeps less than
// CollapseKeepMin or more than CollapseKeepMax of the pixels on average:
// it marks nothing, or everything.
const (
	CollapseKeepMin = 0.02
	CollapseKeepMax = 0.98
)

// Collapse is how an epoch's policy marks nothing useful.
type Collapse int

// The ways a policy collapses.
const (
	NoCollapse Collapse = iota
	// MarkedNothing: the aid mask kept less than CollapseKeepMin.
	MarkedNothing
	// MarkedEverything: the aid mask kept more than CollapseKeepMax.
	MarkedEverything
	// FlatMap: the sampled form's kept cells were hardly more likely than
	// the rest (map_contrast below MapContrastMin). A policy starts flat,
	// so this is a collapse only once it has had a contrast.
	FlatMap
)

// Collapsed says whether an epoch's means of the step values (mask_keep,
// and map_contrast for the sampled form) show a collapsed policy, how, and
// in words with the numbers.
func Collapsed(mean map[string]float64) (Collapse, string) {
	if keep, ok := mean["mask_keep"]; ok {
		switch {
		case keep < CollapseKeepMin:
			return MarkedNothing, fmt.Sprintf("its aid mask kept %.1f%% of the pixels, below %g%%: it marked nothing", 100*keep, 100*CollapseKeepMin)
		case keep > CollapseKeepMax:
			return MarkedEverything, fmt.Sprintf("its aid mask kept %.1f%% of the pixels, above %g%%: it marked everything", 100*keep, 100*CollapseKeepMax)
		}
	}
	if c, ok := mean["map_contrast"]; ok && c < MapContrastMin {
		return FlatMap, fmt.Sprintf("its map was flat: the kept cells' probability exceeded the others' by %.3f, below %g: it marked nothing in particular", c, MapContrastMin)
	}
	return NoCollapse, ""
}

// Presets lists the presets' names.
func Presets() []string { return []string{"paper", "reference", "sampled"} }

// Method trains a classifier and a segmentation policy together. It
// implements fit.Method.
type Method struct {
	Cfg        Config
	Classifier *netstep.Net // softmax cross-entropy on B×K logits
	Policy     *netstep.Net // one-channel probability map, B×1×H×W
	ClsOpt     optim.Optimizer
	PolicyOpt  optim.Optimizer

	// Baseline is the reward EMA; BaselineSet says it holds a reward (for
	// BaselineFirst).
	Baseline    float64
	BaselineSet bool
	// Lagrange is the keep constraint's multiplier (KeepLagrange).
	Lagrange float64
	// Saliency, when set, makes EvaluateExtra score the policy's maps (see
	// package saliency).
	Saliency *saliency.Eval
	// Black is the input value of a black pixel per channel: what erased
	// pixels become with FillBlack.
	Black []float32

	pcg          *rand.PCG
	rng          *rand.Rand
	sampledSteps int64
	keepStart    float64
	keepStarted  bool
}

// New checks cfg and wraps the two networks (imported models) with their
// optimizers.
func New(cfg Config, classifier, policy *netstep.Net, clsOpt, policyOpt optim.Optimizer) (*Method, error) {
	if cfg.Classes < 2 {
		return nil, fmt.Errorf("APGA: %d classes; a classifier needs at least 2", cfg.Classes)
	}
	if cfg.Threshold <= 0 || cfg.Threshold >= 1 {
		return nil, fmt.Errorf("APGA: mask threshold %v outside (0, 1)", cfg.Threshold)
	}
	if cfg.BaselineDecay < 0 || cfg.BaselineDecay > 1 {
		return nil, fmt.Errorf("APGA: baseline decay %v outside [0, 1]", cfg.BaselineDecay)
	}
	if cfg.AidKeepMax == 0 {
		cfg.AidKeepMax = 1
	}
	if cfg.AidKeepMin < 0 || cfg.AidKeepMax > 1 || cfg.AidKeepMin >= cfg.AidKeepMax {
		return nil, fmt.Errorf("APGA: aid-mask guard [%v, %v]: want 0 ≤ min < max ≤ 1", cfg.AidKeepMin, cfg.AidKeepMax)
	}
	if classifier == nil || policy == nil || clsOpt == nil || policyOpt == nil {
		return nil, fmt.Errorf("APGA: want a classifier, a policy and an optimizer for each")
	}
	switch cfg.Actions {
	case "", ActionsThreshold:
		cfg.Actions = ActionsThreshold
	case ActionsBernoulli:
		if cfg.Samples < 2 {
			return nil, fmt.Errorf("APGA: %d samples per image; the leave-one-out baseline needs at least 2", cfg.Samples)
		}
		if cfg.KeepTarget <= 0 || cfg.KeepTarget >= 1 {
			return nil, fmt.Errorf("APGA: keep target %v outside (0, 1)", cfg.KeepTarget)
		}
		switch cfg.KeepMode {
		case "":
			cfg.KeepMode = KeepPenalty
		case KeepPenalty, KeepLagrange:
		default:
			return nil, fmt.Errorf("APGA: keep mode %q: want %s or %s", cfg.KeepMode, KeepPenalty, KeepLagrange)
		}
		switch cfg.AidMask {
		case "", AidThreshold, AidTop:
		default:
			return nil, fmt.Errorf("APGA: aid mask %q: want %s or %s", cfg.AidMask, AidThreshold, AidTop)
		}
		switch cfg.Fill {
		case "", FillZero, FillBlack, FillBlur:
		default:
			return nil, fmt.Errorf("APGA: fill %q: want %s, %s or %s", cfg.Fill, FillZero, FillBlack, FillBlur)
		}
		switch cfg.AdvantageNorm {
		case "", AdvNormNone, AdvNormBatch:
		default:
			return nil, fmt.Errorf("APGA: advantage normalisation %q: want %s or %s", cfg.AdvantageNorm, AdvNormBatch, AdvNormNone)
		}
		if cfg.LogitPenalty < 0 {
			return nil, fmt.Errorf("APGA: logit penalty %v must not be negative", cfg.LogitPenalty)
		}
		if cfg.KeepWeight < 0 || cfg.Entropy < 0 || cfg.KeepWarmup < 0 || cfg.MaskGrid < 0 {
			return nil, fmt.Errorf("APGA: keep weight %v, entropy %v, warm-up %d and mask grid %d must not be negative", cfg.KeepWeight, cfg.Entropy, cfg.KeepWarmup, cfg.MaskGrid)
		}
	default:
		return nil, fmt.Errorf("APGA: actions %q: want %s or %s", cfg.Actions, ActionsThreshold, ActionsBernoulli)
	}
	m := &Method{Cfg: cfg, Classifier: classifier, Policy: policy, ClsOpt: clsOpt, PolicyOpt: policyOpt}
	m.pcg, m.rng = newSampler(cfg.Seed)
	// The loss's grid follows the images' size, known when a graph is built.
	policy.Custom = func(g *gorgonia.ExprGraph, out *gorgonia.Node) (*gorgonia.Node, []*gorgonia.Node, error) {
		s := out.Shape()
		if s.Dims() != 4 {
			return PolicyLoss(g, out)
		}
		grid, err := cfg.Grid(s[2], s[3])
		if err != nil {
			return nil, nil, err
		}
		return gridPolicyLoss(grid)(g, out)
	}
	// The policy step recomputes the forward pass P came from: its
	// BatchNorm statistics are counted once, by that pass.
	policy.Recount = true
	return m, nil
}

// PolicyLoss is the policy network's loss: mean(−w1·log P − w0·log(1−P))
// with per-pixel weights w1, w0 given at each step (see Weights).
func PolicyLoss(g *gorgonia.ExprGraph, out *gorgonia.Node) (*gorgonia.Node, []*gorgonia.Node, error) {
	s := out.Shape()
	if s.Dims() != 4 || s[1] != 1 {
		return nil, nil, fmt.Errorf("the policy must output one probability channel, B×1×H×W; it gives %v", s)
	}
	w1 := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(s...), gorgonia.WithName("apga.w1"))
	w0 := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(s...), gorgonia.WithName("apga.w0"))
	l, err := loss.WeightedBinaryCrossEntropy(out, w1, w0)
	return l, []*gorgonia.Node{w1, w0}, err
}

// Weights returns the per-pixel weights of the policy loss for the action
// A = (P > threshold) and the advantage adv = R − b:
//
//	paper:     s·adv·BCE(P, A) + λ0·BCE(P, 0) + λ1·BCE(P, 1)
//	reference: the same with λ0, λ1 multiplied by |adv|
//
// as w1 = s·adv·A + λ1', w0 = s·adv·(1−A) + λ0'.
func (c Config) Weights(p []float32, adv float64) (w1, w0 []float32) {
	w1 = make([]float32, len(p))
	w0 = make([]float32, len(p))
	l0, l1 := c.LambdaZeros, c.LambdaOnes
	if c.ScaleLambdasByAdvantage {
		l0, l1 = l0*math.Abs(adv), l1*math.Abs(adv)
	}
	sa := c.AdvantageScale * adv
	for i, v := range p {
		a := 0.0
		if float64(v) > c.Threshold {
			a = 1
		}
		w1[i] = float32(sa*a + l1)
		w0[i] = float32(sa*(1-a) + l0)
	}
	return w1, w0
}

// Advantage updates the baseline with reward r and returns the advantage
// R − b as the configuration says.
func (m *Method) Advantage(r float64) float64 {
	d := m.Cfg.BaselineDecay
	if m.Cfg.BaselineFirst {
		if !m.BaselineSet {
			m.Baseline, m.BaselineSet = r, true
		} else {
			m.Baseline = d*m.Baseline + (1-d)*r
		}
		return r - m.Baseline
	}
	adv := r - m.Baseline
	m.Baseline = d*m.Baseline + (1-d)*r
	m.BaselineSet = true
	return adv
}

// batchInputs copies a loader batch into an input tensor and one-hot targets.
func batchInputs(b *loader.Batch, classes int) (*tensor.Dense, *tensor.Dense, []int, error) {
	x := tensor.New(tensor.WithShape(b.N, b.C, b.H, b.W), tensor.WithBacking(append([]float32(nil), b.X[:b.N*b.C*b.H*b.W]...)))
	labels := make([]int, b.N)
	for i, y := range b.Labels[:b.N] {
		if y < 0 {
			return nil, nil, nil, fmt.Errorf("sample %s has no single label", b.IDs[i])
		}
		labels[i] = int(y)
	}
	t, err := loss.OneHot(labels, classes)
	return x, t, labels, err
}

// Mask returns x ⊙ keep, where keep is 1 where the policy probability p
// (B×1×H×W) is above (above=true) or below the threshold, broadcast over
// channels, and the fraction of pixels kept.
func Mask(x *tensor.Dense, p *tensor.Dense, threshold float64, above bool) (*tensor.Dense, float64, error) {
	xs, ps := x.Shape(), p.Shape()
	if len(xs) != 4 || len(ps) != 4 || ps[0] != xs[0] || ps[1] != 1 || ps[2] != xs[2] || ps[3] != xs[3] {
		return nil, 0, fmt.Errorf("policy output %v does not match the images %v (want B×1×H×W at the image size)", ps, xs)
	}
	xd, pd := x.Data().([]float32), p.Data().([]float32)
	out := make([]float32, len(xd))
	n, c, hw := xs[0], xs[1], xs[2]*xs[3]
	kept := 0
	for i := 0; i < n; i++ {
		for j := 0; j < hw; j++ {
			v := float64(pd[i*hw+j])
			keep := v > threshold
			if !above {
				keep = v < threshold
			}
			if !keep {
				continue
			}
			kept++
			for ch := 0; ch < c; ch++ {
				k := (i*c+ch)*hw + j
				out[k] = xd[k]
			}
		}
	}
	return tensor.New(tensor.WithShape(xs...), tensor.WithBacking(out)), float64(kept) / float64(n*hw), nil
}

// meanCE is the mean cross-entropy of logits (B×K) against labels.
func meanCE(logits *tensor.Dense, labels []int, classes int) (float64, error) {
	z := logits.Data().([]float32)
	if len(z) != len(labels)*classes {
		return 0, fmt.Errorf("the classifier gives %d outputs per image, the dataset has %d classes", len(z)/max(len(labels), 1), classes)
	}
	p := metrics.Softmax(z, classes)
	var s float64
	for i, y := range labels {
		s -= math.Log(math.Max(float64(p[i*classes+y]), 1e-30))
	}
	return s / float64(len(labels)), nil
}

// TrainStep runs Algorithm 1 on one batch (with Bernoulli actions, its
// sampled form).
func (m *Method) TrainStep(ctx context.Context, b *loader.Batch, lrScale float64) (map[string]float64, error) {
	if m.Cfg.Actions == ActionsBernoulli {
		return m.sampledStep(ctx, b, lrScale)
	}
	c := m.Cfg
	x, y, labels, err := batchInputs(b, c.Classes)
	if err != nil {
		return nil, err
	}
	lrC, lrP := c.ClassifierLR*lrScale, c.PolicyLR*lrScale
	// 1. classifier step on the original batch.
	r1, err := m.Classifier.Step(x, m.ClsOpt, lrC, y)
	if err != nil {
		return nil, fmt.Errorf("classifier step on the original batch: %w", err)
	}
	lOrig := float64(r1.Loss)
	// 2. the policy's probabilities and the adversarial mask.
	p, err := m.Policy.ForwardTraining(x)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	xAdv, _, err := Mask(x, p, c.Threshold, false)
	if err != nil {
		return nil, err
	}
	// 3. adversarial loss, no update.
	var zAdv *tensor.Dense
	if c.AdversarialEvalMode {
		zAdv, err = m.Classifier.Forward(xAdv)
	} else {
		zAdv, err = m.Classifier.ForwardBatchStats(xAdv)
	}
	if err != nil {
		return nil, fmt.Errorf("classifier on the adversarial batch: %w", err)
	}
	lAdv, err := meanCE(zAdv, labels, c.Classes)
	if err != nil {
		return nil, err
	}
	reward := lAdv - lOrig
	if math.IsNaN(reward) || math.IsInf(reward, 0) {
		return nil, fmt.Errorf("the reward is %v (adversarial loss %v, original loss %v): %w", reward, lAdv, lOrig, fit.ErrNonFinite)
	}
	// 4.–5. baseline, advantage, policy step.
	adv := m.Advantage(reward)
	w1, w0 := c.Weights(p.Data().([]float32), adv)
	ps := p.Shape()
	rp, err := m.Policy.Step(x, m.PolicyOpt, lrP,
		tensor.New(tensor.WithShape(ps...), tensor.WithBacking(w1)),
		tensor.New(tensor.WithShape(ps...), tensor.WithBacking(w0)))
	if err != nil {
		return nil, fmt.Errorf("policy step: %w", err)
	}
	// 6. aid mask from the updated policy; classifier step on it.
	pAid, err := m.Policy.ForwardTraining(x)
	if err != nil {
		return nil, fmt.Errorf("policy (aid mask): %w", err)
	}
	xAid, kept, err := Mask(x, pAid, c.Threshold, true)
	if err != nil {
		return nil, err
	}
	lAid, skipped, err := m.aidStep(xAid, y, labels, kept, lrC)
	if err != nil {
		return nil, err
	}
	return map[string]float64{
		"loss": lOrig, "loss_adv": lAdv, "loss_aid": lAid, "reward": reward,
		"baseline": m.Baseline, "advantage": adv, "policy_loss": float64(rp.Loss),
		"mask_keep": kept, "p_mean": meanOf(pAid.Data().([]float32)), "aid_skipped": skipped,
	}, nil
}

func meanOf(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(max(len(v), 1))
}

// Evaluate scores the classifier on l (with TTA when the config says so).
func (m *Method) Evaluate(ctx context.Context, l *loader.Loader) (metrics.Report, error) {
	if !m.Cfg.TTA {
		return fit.Evaluate(ctx, m.Classifier, l, m.Cfg.Classes)
	}
	probs, labels, err := m.PredictTTA(ctx, l)
	if err != nil {
		return metrics.Report{}, err
	}
	return metrics.Compute(probs, labels, m.Cfg.Classes)
}

// PredictTTA returns, for every sample of l, the mean of the classifier's
// softmax on the image and on the image masked by the policy's aid mask
// (both networks in inference mode), with the labels. An image whose aid
// mask keeps less than AidKeepMin or more than AidKeepMax of it (a
// collapsed policy) is scored on the original alone.
func (m *Method) PredictTTA(ctx context.Context, l *loader.Loader) ([]float32, []int, error) {
	return fit.PredictWith(ctx, l, func(x *tensor.Dense) ([]float32, error) {
		k := m.Cfg.Classes
		z, err := m.Classifier.Forward(x)
		if err != nil {
			return nil, err
		}
		_, xm, frac, err := m.masks(x)
		if err != nil {
			return nil, err
		}
		zm, err := m.Classifier.Forward(xm)
		if err != nil {
			return nil, err
		}
		a, b := metrics.Softmax(z.Data().([]float32), k), metrics.Softmax(zm.Data().([]float32), k)
		rule, err := m.Rule(x.Shape()[2], x.Shape()[3])
		if err != nil {
			return nil, err
		}
		for i := range a {
			if rule.Fallback(frac[i/k]) {
				continue
			}
			a[i] = (a[i] + b[i]) / 2
		}
		return a, nil
	})
}

// ProbabilityMap runs the policy in inference mode on x (n×C×h×w) and
// returns, per pixel, the probability that the policy marks it: P, or with
// a mask grid its cell's q (n×h×w).
func (m *Method) ProbabilityMap(x *tensor.Dense) ([]float32, error) {
	prob, _, _, err := m.policyMasks(x)
	return prob, err
}

// policyMasks runs the policy in inference mode on x and returns the
// probability map, the aid mask (1 kept) per pixel, and the rule.
func (m *Method) policyMasks(x *tensor.Dense) (prob, keep []float32, rule MaskRule, err error) {
	p, err := m.Policy.Forward(x)
	if err != nil {
		return nil, nil, rule, err
	}
	s := x.Shape()
	if err := checkPolicyShape(p, s[0], s[2], s[3]); err != nil {
		return nil, nil, rule, err
	}
	if rule, err = m.Rule(s[2], s[3]); err != nil {
		return nil, nil, rule, err
	}
	prob, keep, err = rule.Keep(p.Data().([]float32), s[0], s[2], s[3])
	return prob, keep, rule, err
}

// masks is the probability map of x, the aid-masked images and each
// image's kept fraction, by the method's MaskRule.
func (m *Method) masks(x *tensor.Dense) (prob []float32, masked *tensor.Dense, kept []float64, err error) {
	prob, keep, rule, err := m.policyMasks(x)
	if err != nil {
		return nil, nil, nil, err
	}
	s := x.Shape()
	xd := x.Data().([]float32)
	fill, err := rule.FillImages(xd, s[0], s[1], s[2], s[3])
	if err != nil {
		return nil, nil, nil, err
	}
	xm, kept := maskImages(xd, keep, fill, s[0], s[1], s[2], s[3])
	return prob, tensor.New(tensor.WithShape(s...), tensor.WithBacking(xm)), kept, nil
}

// Masks runs the policy in inference mode on x and returns its probability
// map (n×1×h×w) and the aid-masked images (for figures).
func (m *Method) Masks(x *tensor.Dense) (prob, masked *tensor.Dense, err error) {
	p, xm, _, err := m.masks(x)
	if err != nil {
		return nil, nil, err
	}
	s := x.Shape()
	return tensor.New(tensor.WithShape(s[0], 1, s[2], s[3]), tensor.WithBacking(p)), xm, nil
}

// EvaluateExtra scores the policy's maps on l (see package saliency) when
// Saliency is set; it implements fit.ExtraEvaluator.
func (m *Method) EvaluateExtra(ctx context.Context, l *loader.Loader) (map[string]float64, error) {
	if m.Saliency == nil {
		return nil, nil
	}
	e := *m.Saliency
	e.Threshold = m.Cfg.Threshold
	e.Mask = func(maps []float32, n, h, w int) ([]uint8, error) {
		rule, err := m.Rule(h, w)
		if err != nil {
			return nil, err
		}
		// maps holds each cell's probability over its pixels: its cell
		// means are the cells' own.
		_, keep, err := rule.Keep(maps, n, h, w)
		if err != nil {
			return nil, err
		}
		out := make([]uint8, len(keep))
		for i, v := range keep {
			if v != 0 {
				out[i] = 1
			}
		}
		return out, nil
	}
	classify := func(x *tensor.Dense) ([]float32, error) {
		z, err := m.Classifier.Forward(x)
		if err != nil {
			return nil, err
		}
		return metrics.Softmax(z.Data().([]float32), m.Cfg.Classes), nil
	}
	return e.Evaluate(ctx, l, m.ProbabilityMap, classify, m.Cfg.Classes)
}

// SaveState adds both networks, both optimizers and the baseline to s.
func (m *Method) SaveState(s *checkpoint.State) error {
	for _, err := range []error{
		s.AddModel("classifier", m.Classifier.Model),
		s.AddModel("policy", m.Policy.Model),
		s.AddOptimizer("classifier.opt", m.ClsOpt),
		s.AddOptimizer("policy.opt", m.PolicyOpt),
	} {
		if err != nil {
			return err
		}
	}
	s.Scalars["apga.baseline"] = m.Baseline
	s.Scalars["apga.baseline_set"] = b2f(m.BaselineSet)
	s.Scalars["apga.lagrange"] = m.Lagrange
	s.Scalars["apga.keep_start"] = m.keepStart
	s.Scalars["apga.keep_started"] = b2f(m.keepStarted)
	s.Counters["apga.sampled_steps"] = m.sampledSteps
	return s.AddRNG("apga.sampler", m.pcg)
}

// RestoreBest takes the classifier (weights and BatchNorm statistics) from
// the best checkpoint and leaves the policy as trained to the end: model
// selection is by the classifier's validation score, which says nothing of
// the policy, and the later policy has learned longer. It implements
// fit.BestRestorer.
func (m *Method) RestoreBest(s *checkpoint.State) error {
	return s.RestoreModel("classifier", m.Classifier.Model)
}

// RestoreState reads what SaveState wrote.
func (m *Method) RestoreState(s *checkpoint.State) error {
	if err := s.RestoreModel("classifier", m.Classifier.Model); err != nil {
		return err
	}
	if err := s.RestoreModel("policy", m.Policy.Model); err != nil {
		return err
	}
	if err := s.RestoreOptimizer("classifier.opt", m.ClsOpt); err != nil {
		return err
	}
	if err := s.RestoreOptimizer("policy.opt", m.PolicyOpt); err != nil {
		return err
	}
	m.Baseline = s.Scalars["apga.baseline"]
	m.BaselineSet = s.Scalars["apga.baseline_set"] != 0
	m.Lagrange = s.Scalars["apga.lagrange"]
	m.keepStart = s.Scalars["apga.keep_start"]
	m.keepStarted = s.Scalars["apga.keep_started"] != 0
	m.sampledSteps = s.Counters["apga.sampled_steps"]
	if _, ok := s.RNG["apga.sampler"]; !ok {
		return nil // written before the sampler existed: nothing to restore
	}
	return s.RestoreRNG("apga.sampler", m.pcg)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
