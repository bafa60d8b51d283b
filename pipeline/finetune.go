package pipeline

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/checkpoint"
	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/supervised"
)

// FinetuneConfig configures `pgaug train finetune`: a heated (or any) ONNX
// classifier fine-tuned on clean images. The published recipe: lr 0.001, 10
// epochs of which 7 warm-up, batch 64, the last 3 epochs' weights averaged.
type FinetuneConfig struct {
	Common
	Model  string `fingerprint:",input"` // ONNX classifier (e.g. a heated model), or zoo:NAME
	Freeze []string
	Opt    Optim
	// AverageLast averages the weights at the end of the last K epochs
	// (0: keep the best model on validation instead).
	AverageLast int
	// NewHead replaces the classifier's head with a fresh layer for the
	// dataset's classes.
	NewHead bool
}

// averagingMethod adds a weight average (checkpointed) to supervised
// training.
type averagingMethod struct {
	*supervised.Method
	avg *fit.WeightAverage
}

func (a *averagingMethod) SaveState(s *checkpoint.State) error {
	if err := a.Method.SaveState(s); err != nil {
		return err
	}
	a.avg.SaveState(s, "finetune.average")
	return nil
}

func (a *averagingMethod) RestoreState(s *checkpoint.State) error {
	if err := a.Method.RestoreState(s); err != nil {
		return err
	}
	return a.avg.RestoreState(s, "finetune.average")
}

// Finetune fine-tunes cfg.Model and exports OutDir/classifier.onnx.
func Finetune(ctx context.Context, cfg FinetuneConfig) (RunResult, error) {
	res := RunResult{Dir: cfg.OutDir, Method: "finetune", Final: map[string]metrics.Report{}, Settings: cfg}
	if cfg.AverageLast < 0 || cfg.AverageLast > cfg.Epochs {
		return res, fmt.Errorf("--average-last %d: want 0…%d (the epochs)", cfg.AverageLast, cfg.Epochs)
	}
	d, err := openData(ctx, cfg.Common)
	if err != nil {
		return res, err
	}
	defer d.Close()
	mp, source, err := ModelSource(cfg.Model, d.classes, d.c, d.h, cfg.Seed)
	if err != nil {
		return res, err
	}
	heated := onnxio.MetadataValue(mp, "pgaug.heating")
	if cfg.NewHead {
		if _, err := modelops.ReplaceHead(mp, d.classes, cfg.Seed); err != nil {
			return res, fmt.Errorf("new head for %s: %w", source, err)
		}
		source += fmt.Sprintf(" (new %d-way head)", d.classes)
	}
	m, err := importer.Import(mp, importer.Options{Source: source})
	if err != nil {
		return res, err
	}
	if len(cfg.Freeze) > 0 {
		if _, err := m.Freeze(cfg.Freeze...); err != nil {
			return res, err
		}
	}
	opt, err := cfg.Opt.New()
	if err != nil {
		return res, err
	}
	net := netstep.New(m, netstep.CrossEntropy)
	defer net.Close()
	sm, err := supervised.New(supervised.Config{Classes: d.classes, LR: cfg.Opt.LR, Seed: cfg.Seed}, net, opt, nil)
	if err != nil {
		return res, err
	}
	method := &averagingMethod{Method: sm, avg: fit.NewWeightAverage(m)}
	hook := func(lc *fit.LoopConfig) {
		if cfg.AverageLast == 0 {
			return
		}
		lc.RestoreBest = false
		lc.Patience = 0
		lc.OnEpochEnd = func(ctx context.Context, epoch int) error {
			if epoch > cfg.Epochs-cfg.AverageLast {
				method.avg.Add()
			}
			return nil
		}
	}
	after := func() error {
		if cfg.AverageLast == 0 {
			return nil
		}
		if err := method.avg.Apply(); err != nil {
			return err
		}
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "averaged the weights of the last %d epochs\n", method.avg.Count())
		}
		return nil
	}
	if err := runMethod(ctx, &res, cfg.Common, d, method, "finetune", cfg, hook, after); err != nil {
		return res, err
	}
	meta := baseMeta("finetune", cfg.Common, d, source)
	meta["pgaug.optimizer"] = cfg.Opt.String()
	meta["pgaug.average_last"] = fmt.Sprint(cfg.AverageLast)
	if heated != "" {
		meta["pgaug.heating"] = heated
	}
	res.Classifier = filepath.Join(cfg.OutDir, ClassifierFile)
	if err := exportModel(m, res.Classifier, cfg.Version, withFinal(meta, res.Final)); err != nil {
		return res, err
	}
	return res, writeJSONFile(filepath.Join(cfg.OutDir, SummaryFile), res)
}
