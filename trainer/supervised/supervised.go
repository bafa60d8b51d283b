package supervised

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/trainer/augment"
	"github.com/pgaug/pgaug/trainer/checkpoint"
	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/gradcam"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
	"github.com/pgaug/pgaug/trainer/saliency"
)

// Augmentation names a baseline.
type Augmentation string

// The baselines.
const (
	None    Augmentation = "none"
	Cutout  Augmentation = "cutout"
	GradCAM Augmentation = "gradcam"
	CutMix  Augmentation = "cutmix"
)

// ParseAugmentation reads none|cutout|gradcam|cutmix.
func ParseAugmentation(s string) (Augmentation, error) {
	switch a := Augmentation(strings.ToLower(s)); a {
	case "", None:
		return None, nil
	case Cutout, GradCAM, CutMix:
		return a, nil
	}
	return "", fmt.Errorf("augmentation %q: want none, cutout, gradcam or cutmix", s)
}

// Config of a supervised run.
type Config struct {
	Classes int
	LR      float64
	Aug     Augmentation
	// CutoutSize is the side of Cutout's square in pixels.
	CutoutSize int
	// CutMixAlpha is the Beta(α, α) parameter of CutMix; CutMixProb the
	// probability that a batch is mixed.
	CutMixAlpha, CutMixProb float64
	// Seed seeds the augmentation's random draws.
	Seed uint64
	// AugBatchStats trains the augmented copy (cutout, gradcam) with its own
	// batch's BatchNorm statistics without folding them into the running
	// ones: a batch that keeps a tenth of each image (Grad-CAM masks) has
	// other statistics, and folding them in skews evaluation. Off: as the
	// APGA paper's baselines train (a PyTorch train-mode step).
	AugBatchStats bool
}

// Method trains one classifier. It implements fit.Method.
type Method struct {
	Cfg Config
	Net *netstep.Net
	Opt optim.Optimizer
	// CAM gives the Grad-CAM masks (Aug == GradCAM): a frozen classifier.
	CAM *gradcam.Explainer
	// Saliency, when set (and CAM is), makes EvaluateExtra score the
	// Grad-CAM maps as APGA's policy maps are scored, so the two compare.
	Saliency *saliency.Eval

	pcg *rand.PCG
	rng *rand.Rand
}

// New checks cfg and wraps net and its optimizer.
func New(cfg Config, net *netstep.Net, opt optim.Optimizer, cam *gradcam.Explainer) (*Method, error) {
	if cfg.Classes < 2 {
		return nil, fmt.Errorf("supervised training: %d classes; a classifier needs at least 2", cfg.Classes)
	}
	if net == nil || opt == nil {
		return nil, fmt.Errorf("supervised training: want a network and an optimizer")
	}
	switch cfg.Aug {
	case "", None:
		cfg.Aug = None
	case Cutout:
		if cfg.CutoutSize < 1 {
			return nil, fmt.Errorf("cutout: the square's side must be at least 1 pixel, got %d", cfg.CutoutSize)
		}
	case GradCAM:
		if cam == nil {
			return nil, fmt.Errorf("gradcam augmentation needs a Grad-CAM explainer (a frozen classifier)")
		}
	case CutMix:
		if cfg.CutMixAlpha <= 0 || cfg.CutMixProb < 0 || cfg.CutMixProb > 1 {
			return nil, fmt.Errorf("cutmix: want α > 0 and a probability in [0, 1], got α %v, p %v", cfg.CutMixAlpha, cfg.CutMixProb)
		}
	default:
		return nil, fmt.Errorf("unknown augmentation %q", cfg.Aug)
	}
	pcg := rand.NewPCG(cfg.Seed, 0x7375706572766973)
	return &Method{Cfg: cfg, Net: net, Opt: opt, CAM: cam, pcg: pcg, rng: rand.New(pcg)}, nil
}

// TrainStep trains on the batch and, for cutout and gradcam, on its
// augmented copy; for cutmix, on the mixed batch with probability p.
func (m *Method) TrainStep(ctx context.Context, b *loader.Batch, lrScale float64) (map[string]float64, error) {
	n, c, h, w, k := b.N, b.C, b.H, b.W, m.Cfg.Classes
	xs := append([]float32(nil), b.X[:n*c*h*w]...)
	labels := make([]int, n)
	for i, y := range b.Labels[:n] {
		if y < 0 {
			return nil, fmt.Errorf("sample %s has no single label (multi-label datasets are not supported by this trainer)", b.IDs[i])
		}
		labels[i] = int(y)
	}
	y, err := loss.OneHot(labels, k)
	if err != nil {
		return nil, err
	}
	lr := m.Cfg.LR * lrScale
	dense := func(d []float32) *tensor.Dense {
		return tensor.New(tensor.WithShape(n, c, h, w), tensor.WithBacking(d))
	}
	out := map[string]float64{}
	if m.Cfg.Aug == CutMix {
		mixed := false
		if m.rng.Float64() < m.Cfg.CutMixProb {
			xm, ym, err := augment.CutMix(xs, y.Data().([]float32), n, c, h, w, k, m.Cfg.CutMixAlpha, m.rng)
			if err != nil {
				return nil, err
			}
			xs, y = xm, tensor.New(tensor.WithShape(n, k), tensor.WithBacking(ym))
			mixed = true
		}
		r, err := m.Net.Step(dense(xs), m.Opt, lr, y)
		if err != nil {
			return nil, err
		}
		out["loss"] = float64(r.Loss)
		out["mixed"] = b2f(mixed)
		return out, nil
	}
	r, err := m.Net.Step(dense(xs), m.Opt, lr, y)
	if err != nil {
		return nil, err
	}
	out["loss"] = float64(r.Loss)
	var aug []float32
	switch m.Cfg.Aug {
	case Cutout:
		aug = append([]float32(nil), xs...)
		if _, err := augment.Cutout(aug, n, c, h, w, m.Cfg.CutoutSize, m.rng); err != nil {
			return nil, err
		}
	case GradCAM:
		masks, _, err := m.CAM.Masks(xs, n, c, h, w)
		if err != nil {
			return nil, fmt.Errorf("Grad-CAM masks: %w", err)
		}
		aug = append([]float32(nil), xs...)
		if err := augment.ApplyMask(aug, masks, n, c, h, w); err != nil {
			return nil, err
		}
		out["mask_keep"] = meanOf(masks)
	}
	if aug != nil {
		if m.Cfg.AugBatchStats {
			m.Net.Recount = true
			defer func() { m.Net.Recount = false }()
		}
		ra, err := m.Net.Step(dense(aug), m.Opt, lr, y)
		if err != nil {
			return nil, fmt.Errorf("step on the %s batch: %w", m.Cfg.Aug, err)
		}
		out["loss_aug"] = float64(ra.Loss)
	}
	return out, nil
}

func meanOf(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(max(len(v), 1))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Evaluate scores the classifier on l.
func (m *Method) Evaluate(ctx context.Context, l *loader.Loader) (metrics.Report, error) {
	return fit.Evaluate(ctx, m.Net, l, m.Cfg.Classes)
}

// EvaluateExtra scores the Grad-CAM maps and masks on l (see package
// saliency), with the deletion and insertion curves of the classifier being
// trained; it implements fit.ExtraEvaluator. Without CAM or Saliency it
// scores nothing.
func (m *Method) EvaluateExtra(ctx context.Context, l *loader.Loader) (map[string]float64, error) {
	if m.CAM == nil || m.Saliency == nil {
		return nil, nil
	}
	e := *m.Saliency
	e.Threshold = float64(m.CAM.Threshold())
	maps := func(x *tensor.Dense) ([]float32, error) {
		s := x.Shape()
		cams, _, err := m.CAM.Maps(x.Data().([]float32), s[0], s[1], s[2], s[3])
		return cams, err
	}
	classify := func(x *tensor.Dense) ([]float32, error) {
		z, err := m.Net.Forward(x)
		if err != nil {
			return nil, err
		}
		return metrics.Softmax(z.Data().([]float32), m.Cfg.Classes), nil
	}
	return e.Evaluate(ctx, l, maps, classify, m.Cfg.Classes)
}

// SaveState adds the classifier, its optimizer and the augmentation RNG.
func (m *Method) SaveState(s *checkpoint.State) error {
	if err := s.AddModel("classifier", m.Net.Model); err != nil {
		return err
	}
	if err := s.AddOptimizer("classifier.opt", m.Opt); err != nil {
		return err
	}
	return s.AddRNG("supervised.aug", m.pcg)
}

// RestoreState reads what SaveState wrote.
func (m *Method) RestoreState(s *checkpoint.State) error {
	if err := s.RestoreModel("classifier", m.Net.Model); err != nil {
		return err
	}
	if err := s.RestoreOptimizer("classifier.opt", m.Opt); err != nil {
		return err
	}
	return s.RestoreRNG("supervised.aug", m.pcg)
}
