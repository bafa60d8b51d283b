package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/gradcam"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
	"github.com/pgaug/pgaug/trainer/supervised"
)

// TrainConfig configures plain supervised training (the papers' "train to
// convergence first" model) and the augmentation baselines.
type TrainConfig struct {
	Common
	Model  string `fingerprint:",input"` // ONNX classifier, or zoo:NAME
	Freeze []string
	Opt    Optim
	// Aug: none, cutout, gradcam (1:1 with the originals) or cutmix.
	Aug         string
	CutoutSize  int
	CutMixAlpha float64
	CutMixProb  float64
	// GradCAMModel is the frozen classifier whose Grad-CAM masks augment
	// (default: Model); GradCAMLayer its layer (default: the last 4-D
	// feature map); GradCAMThreshold keeps pixels with cam above it.
	GradCAMModel string `fingerprint:",input"`
	// AugBatchStats trains the augmented copies on their own batch
	// statistics (supervised.Config.AugBatchStats).
	AugBatchStats    bool
	GradCAMLayer     string
	GradCAMThreshold float64
}

// RunResult summarises a training run.
type RunResult struct {
	Dir        string                    `json:"dir"`
	Method     string                    `json:"method"`
	Classifier string                    `json:"classifier"`
	Policy     string                    `json:"policy,omitempty"`
	Loop       fit.Summary               `json:"loop"`
	Final      map[string]metrics.Report `json:"final"` // val/test (and *_tta) of the selected model
	// Saliency holds the selected model's saliency scores per split (APGA's
	// policy maps, the Grad-CAM maps; see package saliency).
	Saliency map[string]map[string]float64 `json:"saliency,omitempty"`
	// Warnings say in words what went wrong in a run that still finished
	// (e.g. in which epochs APGA's policy collapsed).
	Warnings []string `json:"warnings,omitempty"`
	Settings any      `json:"settings"`
}

// NewOptimizer builds the optimizer a config names.
func NewOptimizer(name string, momentum, weightDecay float64, nesterov bool) (optim.Optimizer, error) {
	switch strings.ToLower(name) {
	case "", "sgd":
		return &optim.SGD{Momentum: momentum, WeightDecay: weightDecay, Nesterov: nesterov}, nil
	case "adam":
		return optim.NewAdam(weightDecay), nil
	case "adamw":
		return optim.NewAdamW(weightDecay), nil
	}
	return nil, fmt.Errorf("optimizer %q: want sgd, adam or adamw", name)
}

// Train trains cfg.Model on the train split of cfg.Data with the fit loop,
// selects the best model on the val split, and exports it to
// OutDir/classifier.onnx.
func Train(ctx context.Context, cfg TrainConfig) (RunResult, error) {
	res := RunResult{Dir: cfg.OutDir, Final: map[string]metrics.Report{}, Settings: cfg}
	aug, err := supervised.ParseAugmentation(cfg.Aug)
	if err != nil {
		return res, err
	}
	res.Method = "baseline"
	if aug != supervised.None {
		res.Method = string(aug)
	}
	d, err := openData(ctx, cfg.Common)
	if err != nil {
		return res, err
	}
	defer d.Close()
	m, source, err := importSource(cfg.Model, d.classes, d.c, d.h, cfg.Seed, cfg.Freeze)
	if err != nil {
		return res, err
	}
	opt, err := cfg.Opt.New()
	if err != nil {
		return res, err
	}
	net := netstep.New(m, netstep.CrossEntropy)
	defer net.Close()
	var cam *gradcam.Explainer
	if aug == supervised.GradCAM {
		spec := cfg.GradCAMModel
		if spec == "" {
			spec = cfg.Model
		}
		cm, _, err := importSource(spec, d.classes, d.c, d.h, cfg.Seed, nil)
		if err != nil {
			return res, fmt.Errorf("Grad-CAM model: %w", err)
		}
		if cam, err = gradcam.New(cm, cfg.GradCAMLayer); err != nil {
			return res, err
		}
		defer cam.Close()
		if cfg.GradCAMThreshold > 0 {
			if err := cam.SetThreshold(float32(cfg.GradCAMThreshold)); err != nil {
				return res, err
			}
		}
	}
	method, err := supervised.New(supervised.Config{
		Classes: d.classes, LR: cfg.Opt.LR, Aug: aug, CutoutSize: cfg.CutoutSize,
		CutMixAlpha: cfg.CutMixAlpha, CutMixProb: cfg.CutMixProb, Seed: cfg.Seed, AugBatchStats: cfg.AugBatchStats,
	}, net, opt, cam)
	if err != nil {
		return res, err
	}
	if cam != nil {
		method.Saliency = saliencyEval(d)
	}
	meta := baseMeta(res.Method, cfg.Common, d, source)
	meta["pgaug.optimizer"] = cfg.Opt.String()
	switch aug {
	case supervised.Cutout:
		meta["pgaug.augmentation"] = fmt.Sprintf("cutout size=%d, 1:1", cfg.CutoutSize)
	case supervised.GradCAM:
		meta["pgaug.augmentation"] = fmt.Sprintf("gradcam layer=%s threshold=%g, 1:1", cam.Layer(), cam.Threshold())
	case supervised.CutMix:
		meta["pgaug.augmentation"] = fmt.Sprintf("cutmix alpha=%g p=%g", cfg.CutMixAlpha, cfg.CutMixProb)
	}
	err = runMethod(ctx, &res, cfg.Common, d, method, res.Method, cfg, nil, nil)
	if err != nil {
		return res, err
	}
	res.Classifier = filepath.Join(cfg.OutDir, ClassifierFile)
	if err := exportModel(m, res.Classifier, cfg.Version, withFinal(meta, res.Final)); err != nil {
		return res, err
	}
	return res, writeJSONFile(filepath.Join(cfg.OutDir, SummaryFile), res)
}

// runMethod runs the loop for a method, then scores the selected model on
// val and test into res.Final.
//
// hook may change the loop's settings; after (optional) runs when the loop
// ends, before the final evaluation.
func runMethod(ctx context.Context, res *RunResult, c Common, d *runData, m fit.Method, name string, settings any, hook func(*fit.LoopConfig), after func() error) error {
	mlog, err := openMetricsLog(c)
	if err != nil {
		return err
	}
	defer mlog.Close()
	lc, err := c.loopConfig(d.train.NumBatches(), name, settings, mlog)
	if err != nil {
		return err
	}
	if hook != nil {
		hook(&lc)
	}
	if c.Log != nil {
		fmt.Fprintf(c.Log, "%s: training on %s of %s, %d batches of %d per epoch, %d epochs\n", name, d.trainDesc, c.Data, d.train.NumBatches(), c.Batch, c.Epochs)
	}
	res.Loop, err = fit.Run(ctx, m, d.train, d.val, lc)
	if err != nil {
		return err
	}
	if after != nil {
		if err := after(); err != nil {
			return err
		}
	}
	return addFinal(ctx, res, d, m, "")
}

// withFinal adds the final metrics to an export's metadata.
func withFinal(meta map[string]string, final map[string]metrics.Report) map[string]string {
	for split, r := range final {
		meta["pgaug."+split+"_accuracy"] = fmt.Sprintf("%.6f", r.Accuracy)
		meta["pgaug."+split+"_balanced_accuracy"] = fmt.Sprintf("%.6f", r.BalancedAcc)
		meta["pgaug."+split+"_auroc"] = fmt.Sprintf("%.6f", r.AUROC)
	}
	return meta
}
