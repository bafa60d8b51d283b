package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/pipeline/fingerprint"
	"github.com/pgaug/pgaug/pipeline/infer"
	"github.com/pgaug/pgaug/trainer/metrics"
)

// MethodResult is one method's outcome in a run.
type MethodResult struct {
	Method     string          `json:"method"`
	Classifier string          `json:"classifier"`
	Policy     string          `json:"policy,omitempty"`
	Stages     []string        `json:"stages"` // the directories of its stages
	Test       metrics.Report  `json:"test"`   // ONNX Runtime on the test split
	TestTTA    *metrics.Report `json:"test_tta,omitempty"`
	// TestStudy scores each study's mean probability (datasets with study
	// ids, e.g. MURA).
	TestStudy *metrics.Report `json:"test_study,omitempty"`
	Val       *metrics.Report `json:"val,omitempty"` // the selected model's (gorgonia)
	// Saliency is the selected model's saliency scores on the val split
	// (APGA's policy maps, Grad-CAM's), Warnings its stages' warnings.
	Saliency map[string]float64 `json:"saliency,omitempty"`
	Warnings []string           `json:"warnings,omitempty"`
}

// RunSummary is what `pgaug pipeline run` produces (report.json).
type RunSummary struct {
	Dir     string         `json:"dir"`
	Seed    uint64         `json:"seed"`
	Data    string         `json:"data"`
	Methods []MethodResult `json:"methods"`
	Stages  []StageRecord  `json:"stages"`
	Seconds float64        `json:"seconds"`
	Report  string         `json:"report"`
	Config  RunConfig      `json:"config"`
}

type runner struct {
	cfg   RunConfig
	log   io.Writer
	start time.Time
	sum   *RunSummary
	opts  runOptions
}

// runOptions restrict what RunPipeline does, for experiments run cell by
// cell (ExperimentCell, ExperimentShared, CollectExperiment).
type runOptions struct {
	// mayRun says whether a stage that is not finished may run (nil: all
	// may); a stage that may not fails with a *StageNotDoneError.
	mayRun func(stage string) bool
	// sharedOnly stops after the stages every method shares (import,
	// converge and its inference); noReport writes no seed-level files
	// (config.toml, report), which concurrent cells of one seed would race for.
	sharedOnly, noReport bool
}

// StageNotDoneError is what a run that may not run a stage says about it.
type StageNotDoneError struct{ Stage, Dir, Why string }

func (e *StageNotDoneError) Error() string {
	if e.Why != "" {
		return fmt.Sprintf("stage %s (%s) must run again: %s", e.Stage, e.Dir, e.Why)
	}
	return fmt.Sprintf("stage %s (%s) has not finished", e.Stage, e.Dir)
}

func (r *runner) say(format string, a ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, a...))
	}
}

// common returns the Common settings of a training stage.
func (r *runner) common(t TrainSection, dir string) Common {
	c := r.cfg
	return Common{
		Data: c.Data.Path, OutDir: dir, Epochs: t.Epochs, Batch: t.Batch, EvalEvery: t.EvalEvery, Select: t.Select,
		Patience: t.Patience, Keep: 2, Resume: true, Schedule: t.Schedule, Warmup: t.Warmup, StepEvery: t.StepEvery,
		Gamma: t.Gamma, Seed: c.Seed, Workers: c.Data.Workers, PerClass: c.Data.PerClass,
		TrainTransform: c.Data.TrainTransform, EvalTransform: c.Data.EvalTransform, Version: c.Version, Log: r.log,
	}
}

func optimOf(t TrainSection) Optim {
	return Optim{Name: t.Optimizer, LR: t.LR, Momentum: t.Momentum, WeightDecay: t.WeightDecay}
}

func finalOf(res RunResult) map[string]metrics.Report { return res.Final }

// RunPipeline runs import → converge (plain training) → each method (APGA or noise-mask
// heating, fine-tuning, the augmentation baselines) → ONNX Runtime inference
// on the test split → report, in cfg.Dir. ONNX Runtime must be loaded.
func RunPipeline(ctx context.Context, cfg RunConfig, log io.Writer) (RunSummary, error) {
	return runPipeline(ctx, cfg, log, runOptions{})
}

func runPipeline(ctx context.Context, cfg RunConfig, log io.Writer, opts runOptions) (RunSummary, error) {
	sum := RunSummary{Dir: cfg.Dir, Seed: cfg.Seed, Data: cfg.Data.Path, Config: cfg}
	if err := cfg.check(); err != nil {
		return sum, err
	}
	r := &runner{cfg: cfg, log: log, start: time.Now(), sum: &sum, opts: opts}
	inputs, err := stageInputsOf(cfg)
	if err != nil {
		return sum, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return sum, err
	}
	if !opts.noReport {
		if err := cfg.WriteTOML(filepath.Join(cfg.Dir, "config.toml")); err != nil {
			return sum, err
		}
	}

	// 1. import/convert the classifier backbone and check it against ONNX Runtime.
	imp, err := r.stage("import", filepath.Join(cfg.Dir, "import"), inputs("import", []string{"seed", "data.path", "data.train_transform", "data.eval_transform", "models.classifier"}), func(rec *StageRecord) error {
		d, err := openData(ctx, Common{Data: cfg.Data.Path, Batch: 1, Seed: cfg.Seed, TrainTransform: cfg.Data.TrainTransform, EvalTransform: cfg.Data.EvalTransform, Workers: 1})
		if err != nil {
			return err
		}
		classes, c, h := d.classes, d.c, d.h
		d.Close()
		mp, src, err := ModelSource(cfg.Models.Classifier, classes, c, h, cfg.Seed)
		if err != nil {
			return err
		}
		m, err := importer.Import(mp, importer.Options{Source: src})
		if err != nil {
			return err
		}
		opts := modelops.ConvertOptions{Seed: cfg.Seed, Verify: modelops.VerifyOptions{Size: h, Channels: c}}
		if len(m.Outputs) == 1 && len(m.Outputs[0].Dims) == 2 && m.Outputs[0].Dims[1] != int64(classes) {
			opts.Classes = classes
		}
		if len(m.Inputs) == 1 && len(m.Inputs[0].Dims) == 4 && m.Inputs[0].Dims[1] > 0 && m.Inputs[0].Dims[1] != int64(c) {
			opts.InChannels = c
		}
		out, rep, err := modelops.ConvertModel(mp, src, opts)
		if err != nil {
			return err
		}
		path := filepath.Join(rec.Dir, ClassifierFile)
		if err := onnxio.Save(path, out); err != nil {
			return err
		}
		rec.Outputs["classifier"] = path
		rec.Note = fmt.Sprintf("%s → %s: %s", src, path, rep.Verified)
		r.say("import: %s", rec.Note)
		return nil
	})
	if err != nil {
		return sum, err
	}

	// 2. plain training to convergence first (every method but the noise
	// mask continues from this model).
	base, err := r.stage("converge", filepath.Join(cfg.Dir, "converge"), inputs("converge", trainKeys("baseline"), imp), func(rec *StageRecord) error {
		res, err := Train(ctx, TrainConfig{Common: r.common(cfg.Baseline, rec.Dir), Model: imp.Outputs["classifier"], Freeze: cfg.Models.Freeze, Opt: optimOf(cfg.Baseline)})
		if err != nil {
			return err
		}
		rec.Outputs["classifier"], rec.Final, rec.Saliency, rec.Warnings = res.Classifier, finalOf(res), res.Saliency, res.Warnings
		return nil
	})
	if err != nil {
		return sum, err
	}

	// 3. each method, then inference on the test split.
	methods := cfg.Methods
	if opts.sharedOnly {
		methods = nil
	}
	for _, method := range methods {
		mcfg, err := cfg.ForMethod(method)
		if err != nil {
			return sum, err
		}
		mr, err := r.method(ctx, method, mcfg, imp, base)
		if err != nil {
			return sum, err
		}
		sum.Methods = append(sum.Methods, mr)
	}
	// The baseline model itself, scored the same way, for reference.
	if inf, err := r.stage("infer converge", filepath.Join(cfg.Dir, "converge", "infer"), inputs("infer converge", inferKeys, base), func(rec *StageRecord) error {
		return r.infer(ctx, rec, base.Outputs["classifier"], "", false)
	}); err != nil {
		return sum, err
	} else {
		sum.Methods = append([]MethodResult{{Method: "converged start", Classifier: base.Outputs["classifier"], Stages: []string{base.Dir}, Test: inf.Final["test"]}}, sum.Methods...)
	}

	// 4. the report.
	sum.Seconds = time.Since(r.start).Seconds()
	if opts.noReport {
		return sum, nil
	}
	page, err := writeRunReport(cfg, &sum)
	if err != nil {
		return sum, err
	}
	sum.Report = page
	if err := writeJSONFile(filepath.Join(cfg.Dir, "report.json"), sum); err != nil {
		return sum, err
	}
	r.say("report: %s", page)
	return sum, nil
}

// method runs one method's stages (with its variant's configuration cfg)
// after the shared import and converge stages, then its inference on the
// test split.
func (r *runner) method(ctx context.Context, method string, cfg RunConfig, imp, base StageRecord) (MethodResult, error) {
	inputs, err := stageInputsOf(cfg)
	if err != nil {
		return MethodResult{Method: method}, err
	}
	mr := MethodResult{Method: method}
	var last StageRecord
	kind, variant := SplitMethod(method)
	switch kind {
	case "baseline", "cutout", "gradcam", "cutmix":
		aug := kind
		if kind == "baseline" {
			aug = "none"
		}
		a := cfg.Augment
		last, err = r.stage(method, filepath.Join(cfg.Dir, method), inputs(method, trainKeys("augment"), base), func(rec *StageRecord) error {
			res, err := Train(ctx, TrainConfig{Common: r.common(a.TrainSection, rec.Dir), Model: base.Outputs["classifier"], Freeze: cfg.Models.Freeze,
				Opt: optimOf(a.TrainSection), Aug: aug, CutoutSize: a.CutoutSize, CutMixAlpha: a.CutMixAlpha, CutMixProb: a.CutMixProb,
				GradCAMModel: base.Outputs["classifier"], GradCAMLayer: a.GradCAMLayer, AugBatchStats: a.AugBatchStats})
			if err != nil {
				return err
			}
			rec.Outputs["classifier"], rec.Final, rec.Saliency, rec.Warnings = res.Classifier, finalOf(res), res.Saliency, res.Warnings
			return nil
		})
	case "apga":
		a := cfg.APGA
		last, err = r.stage(method, filepath.Join(cfg.Dir, method), inputs(method, trainKeys("apga", "models.apga_policy"), base), func(rec *StageRecord) error {
			mc, err := a.Method()
			if err != nil {
				return err
			}
			mc.Seed = cfg.Seed + 4
			if a.Schedule == "" {
				a.Schedule = mc.Schedule
			}
			copt := optimOf(a.TrainSection)
			copt.LR = mc.ClassifierLR
			popt := copt
			popt.LR = mc.PolicyLR
			res, err := TrainAPGA(ctx, APGAConfig{Common: r.common(a.TrainSection, rec.Dir), Classifier: base.Outputs["classifier"],
				Policy: cfg.Models.APGAPolicy, Freeze: cfg.Models.Freeze, ClassifierOpt: copt, PolicyOpt: popt, Method: mc,
				PolicyInit: a.PolicyInit, PolicyInitEpochs: a.PolicyInitEpochs})
			if err != nil {
				return err
			}
			rec.Outputs["classifier"], rec.Outputs["policy"], rec.Final, rec.Saliency, rec.Warnings = res.Classifier, res.Policy, finalOf(res), res.Saliency, res.Warnings
			return nil
		})
	case "noisemask":
		n := cfg.NoiseMask
		start := imp
		if converged, err := n.HeatsConverged(); err != nil {
			return mr, err
		} else if converged {
			start = base
		}
		var heated StageRecord
		heated, err = r.stage(method, filepath.Join(cfg.Dir, method), inputs(method, trainKeys("noisemask", "models.noise_policy"), start), func(rec *StageRecord) error {
			res, err := TrainNoiseMask(ctx, NoiseMaskConfig{Common: r.common(n.TrainSection, rec.Dir), Classifier: start.Outputs["classifier"],
				Policy: cfg.Models.NoisePolicy, Freeze: cfg.Models.Freeze, ClassifierOpt: optimOf(n.TrainSection),
				PolicyOpt: Optim{Name: "sgd", LR: n.PolicyLR, Momentum: n.PolicyMomentum}, PolicySchedule: n.PolicySchedule,
				Loss: n.Loss, Noise: n.Noise, Grid: n.Grid, Upsample: n.Upsample, BlurKernel: n.BlurKernel, BlurSigma: n.BlurSigma,
				TauImage: n.TauImage, TauDataset: n.TauDataset, BaselineDecay: n.BaselineDecay, PolicyClip: n.PolicyClip, ParamBound: n.ParamBound,
				NoiseStartMean: n.NoiseStartMean, NoiseStartStd: n.NoiseStartStd})
			if err != nil {
				return err
			}
			rec.Outputs["classifier"], rec.Outputs["policy"], rec.Final, rec.Saliency, rec.Warnings = res.Classifier, res.Policy, finalOf(res), res.Saliency, res.Warnings
			return nil
		})
		if err != nil {
			return mr, err
		}
		mr.Stages = append(mr.Stages, heated.Dir)
		mr.Warnings = append(mr.Warnings, heated.Warnings...)
		f := cfg.Finetune
		ft := WithVariant("finetune", variant)
		last, err = r.stage(ft, filepath.Join(cfg.Dir, ft), inputs(ft, trainKeys("finetune"), heated), func(rec *StageRecord) error {
			res, err := Finetune(ctx, FinetuneConfig{Common: r.common(f.TrainSection, rec.Dir), Model: heated.Outputs["classifier"],
				Freeze: cfg.Models.Freeze, Opt: optimOf(f.TrainSection), AverageLast: min(f.AverageLast, f.Epochs)})
			if err != nil {
				return err
			}
			rec.Outputs["classifier"], rec.Final, rec.Saliency, rec.Warnings = res.Classifier, finalOf(res), res.Saliency, res.Warnings
			return nil
		})
	}
	if err != nil {
		return mr, err
	}
	mr.Stages = append(mr.Stages, last.Dir)
	mr.Classifier, mr.Policy = last.Outputs["classifier"], last.Outputs["policy"]
	if v, ok := last.Final["val"]; ok {
		mr.Val = &v
	}
	mr.Saliency = last.Saliency["val"]
	mr.Warnings = append(mr.Warnings, last.Warnings...)
	keys := inferKeys
	if kind == "apga" {
		keys = append(keys[:len(keys):len(keys)], "apga.tta")
	}
	inf, err := r.stage("infer "+method, filepath.Join(cfg.Dir, method, "infer"), inputs("infer "+method, keys, last), func(rec *StageRecord) error {
		return r.infer(ctx, rec, mr.Classifier, mr.Policy, kind == "apga" && cfg.APGA.TTA)
	})
	if err != nil {
		return mr, err
	}
	mr.Test = inf.Final["test"]
	if t, ok := inf.Final["test_tta"]; ok {
		mr.TestTTA = &t
	}
	if t, ok := inf.Final["test_study"]; ok {
		mr.TestStudy = &t
	}
	r.say("%s: test accuracy %.4f, balanced accuracy %.4f, AUROC %.4f (ONNX Runtime, %d images)", method, mr.Test.Accuracy, mr.Test.BalancedAcc, mr.Test.AUROC, mr.Test.N)
	return mr, nil
}

// stageInputs returns, for a configuration, what a stage's result depends
// on: the keys named (exactly or by a prefix ending in "."), pgaug's
// version, and the fingerprints of the stages it consumes.
func stageInputsOf(cfg RunConfig) (func(name string, keys []string, upstream ...StageRecord) fingerprint.Settings, error) {
	all, err := fingerprint.Of(cfg, "", InputIdentity)
	if err != nil {
		return nil, err
	}
	return func(name string, keys []string, upstream ...StageRecord) fingerprint.Settings {
		s := stageInputs(all, append(keys, "version"), upstream...)
		s["stage"] = name
		return s
	}, nil
}

// trainKeys are the configuration keys a training stage of a section
// depends on.
func trainKeys(section string, more ...string) []string {
	return append([]string{"seed", "data.", "models.freeze", section + "."}, more...)
}

// inferKeys are the configuration keys an inference stage depends on.
var inferKeys = []string{"data.path", "data.eval_transform", "infer.batch", "infer.device"}

// infer scores a classifier on the test split with ONNX Runtime (and with
// TTA when asked), writing the predictions into the stage directory.
func (r *runner) infer(ctx context.Context, rec *StageRecord, model, policy string, tta bool) error {
	rec.Final = map[string]metrics.Report{}
	runOne := func(name string, withTTA bool) error {
		out := filepath.Join(rec.Dir, name+".arrow")
		cfg := infer.Config{Model: model, Data: r.cfg.Data.Path, Output: out, Split: "test", Batch: r.cfg.Infer.Batch,
			Threads: r.cfg.Infer.Threads, Device: r.cfg.Infer.Device, Transform: r.cfg.Data.EvalTransform, Workers: r.cfg.Data.Workers, Version: r.cfg.Version}
		if withTTA {
			cfg.TTA, cfg.Policy = true, policy
		}
		res, err := infer.Run(ctx, cfg)
		if err != nil {
			return err
		}
		if res.Metrics == nil {
			return errors.New("the test split has no labels: no metrics")
		}
		key := "test"
		if withTTA {
			key = "test_tta"
		}
		rec.Final[key] = *res.Metrics
		if res.StudyMetrics != nil {
			rec.Final[key+"_study"] = *res.StudyMetrics
		}
		rec.Outputs[name] = out
		return nil
	}
	if err := runOne("predictions", false); err != nil {
		return err
	}
	if tta && policy != "" {
		return runOne("predictions_tta", true)
	}
	return nil
}
