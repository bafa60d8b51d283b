package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/heat"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/noisemask"
)

// NoiseMaskConfig configures `pgaug train noisemask` (heating).
type NoiseMaskConfig struct {
	Common
	// Classifier is an ONNX classifier or zoo:NAME (the paper: ResNet-50).
	Classifier string `fingerprint:",input"`
	// Policy is the policy's feature extractor: zoo:resnet10t (default) or
	// an ONNX classifier whose head is replaced by a 2·G²-way linear layer
	// (the two heads giving a and b), unless it already has that width.
	Policy               string `fingerprint:",input"`
	Freeze, PolicyFreeze []string
	// ClassifierOpt trains the classifier under Common's schedule (paper: SGD
	// 0.1, momentum 0.9, wd 1e-4, ×0.1 every 30 epochs); PolicyOpt the
	// policy under PolicySchedule (paper: SGD 0.01, cosine).
	ClassifierOpt, PolicyOpt Optim
	PolicySchedule           string
	// Loss: paper, reinforce or scaled (see package heat). Noise: beta,
	// gaussian or uniform.
	Loss, Noise string
	// Grid is "32", "64" or "pure"; Upsample nearest or bilinear; a blur
	// kernel of 0 turns the blur off.
	Grid       string
	Upsample   string
	BlurKernel int
	BlurSigma  float64
	TauImage   float64
	TauDataset float64
	// BaselineDecay of the CE baseline (reinforce) and of the running mean
	// S̄ of |S| (scaled).
	BaselineDecay float64
	// PolicyClip clips the policy's gradient norm (0: off, the papers').
	PolicyClip float64
	// ParamBound L > 0 bounds the policy's outputs to L·tanh(a/L), so α, β
	// ∈ [e^−L, e^L]; 0: unbounded; negative: the loss's default
	// (heat.DefaultBound: 3 for scaled, 0 for paper and reinforce).
	ParamBound float64
	GridImages int `fingerprint:"-"` // images per figure (0: 6; negative: none)
	// NoiseStartMean and NoiseStartStd, unless both are 0, start the
	// noise at that mean and standard deviation in every cell: the
	// dataset-level parameters and the policy's output bias are set to the
	// noise model's parameters for them (noisemask.Model.ParamsFor), in
	// place of the paper's random start (dataset-level a, b ~ N(0, 1)).
	NoiseStartMean float64 `fingerprint:",omitempty"`
	NoiseStartStd  float64 `fingerprint:",omitempty"`
}

// DatasetParamsFile holds the dataset-level α/β parameters of a heating run.
const DatasetParamsFile = "dataset_params.json"

// TrainNoiseMask heats a classifier with the policy-gradient noise mask and
// writes OutDir/classifier.onnx (the heated model), OutDir/policy.onnx, the
// dataset-level parameters, noise grids and the intensity histogram.
func TrainNoiseMask(ctx context.Context, cfg NoiseMaskConfig) (RunResult, error) {
	res := RunResult{Dir: cfg.OutDir, Method: "noisemask", Final: map[string]metrics.Report{}, Settings: cfg}
	d, err := openData(ctx, cfg.Common)
	if err != nil {
		return res, err
	}
	defer d.Close()
	if d.h != d.w && strings.EqualFold(cfg.Grid, "pure") {
		return res, fmt.Errorf("grid pure needs square images, the training images are %d×%d", d.h, d.w)
	}
	g, err := noisemask.ParseGrid(orDefault(cfg.Grid, "64"), d.h)
	if err != nil {
		return res, err
	}
	noise, err := noisemask.ParseModel(cfg.Noise)
	if err != nil {
		return res, err
	}
	lossName, err := heat.ParseLoss(cfg.Loss)
	if err != nil {
		return res, err
	}
	if cfg.ParamBound < 0 {
		// Resolved before the settings are fingerprinted and recorded, so a
		// checkpoint and the run's record hold the bound that was used.
		cfg.ParamBound = heat.DefaultBound(lossName)
		res.Settings = cfg
	}
	cm, csrc, err := importSource(cfg.Classifier, d.classes, d.c, d.h, cfg.Seed, cfg.Freeze)
	if err != nil {
		return res, fmt.Errorf("classifier: %w", err)
	}
	start, err := noiseStart(noise, cfg.NoiseStartMean, cfg.NoiseStartStd, cfg.ParamBound, g)
	if err != nil {
		return res, err
	}
	pm, psrc, err := policySource(orDefault(cfg.Policy, "zoo:resnet10t"), 2*g*g, d.c, d.h, cfg.Seed+1, cfg.PolicyFreeze, start.bias)
	if err != nil {
		return res, fmt.Errorf("policy: %w", err)
	}
	copt, err := cfg.ClassifierOpt.New()
	if err != nil {
		return res, err
	}
	popt, err := cfg.PolicyOpt.New()
	if err != nil {
		return res, err
	}
	psched, err := fit.ParseSchedule(orDefault(cfg.PolicySchedule, "cosine"), 0, 0, 0)
	if err != nil {
		return res, fmt.Errorf("policy schedule: %w", err)
	}
	ds, err := start.datasetParams(g, cfg.Seed+2)
	if err != nil {
		return res, err
	}
	mc := heat.Config{
		Classes: d.classes, Loss: lossName, Noise: noise,
		Mask:     noisemask.MaskConfig{Grid: g, Mode: orDefault(cfg.Upsample, noisemask.ModeNearest), Kernel: cfg.BlurKernel, Sigma: cfg.BlurSigma},
		TauImage: cfg.TauImage, TauDataset: cfg.TauDataset, BaselineDecay: cfg.BaselineDecay,
		ClassifierLR: cfg.ClassifierOpt.LR, PolicyLR: cfg.PolicyOpt.LR, PolicySchedule: psched,
		TotalSteps: cfg.Epochs * d.train.NumBatches(), PolicyClipNorm: cfg.PolicyClip, Bound: cfg.ParamBound, Seed: cfg.Seed + 3,
	}
	cnet := netstep.New(cm, netstep.CrossEntropy)
	defer cnet.Close()
	pnet := netstep.New(pm, netstep.CrossEntropy)
	defer pnet.Close()
	method, err := heat.New(mc, cnet, pnet, copt, popt, ds)
	if err != nil {
		return res, err
	}
	figs := cfg.GridImages
	if figs == 0 {
		figs = 6
	}
	var sample *tensor.Dense
	if figs > 0 && d.val != nil {
		if sample, err = firstImages(ctx, d.val, figs); err != nil {
			return res, err
		}
		if err := os.MkdirAll(filepath.Join(cfg.OutDir, "grids"), 0o755); err != nil {
			return res, err
		}
	}
	hook := func(lc *fit.LoopConfig) {
		if sample == nil {
			return
		}
		lc.OnEval = func(ctx context.Context, ev fit.Eval) error {
			n, err := method.PreviewNoise(sample, uint64(ev.Step))
			if err != nil {
				return err
			}
			masked, err := heat.Masked(sample, n.Mask)
			if err != nil {
				return err
			}
			path := filepath.Join(cfg.OutDir, "grids", fmt.Sprintf("step-%07d.png", ev.Step))
			return drawNoiseGrid(path, sample, n, masked, g, fmt.Sprintf("noise mask, step %d (epoch %d)", ev.Step, ev.Epoch))
		}
	}
	if err := runMethod(ctx, &res, cfg.Common, d, method, "noisemask", cfg, hook, nil); err != nil {
		return res, err
	}
	if logPath := filepath.Join(cfg.OutDir, MetricsLog); fileExists(logPath) {
		title := fmt.Sprintf("noise parameters over the steps (loss %s, bound %s)", lossName, boundText(mc.Bound))
		if _, err := drawNoiseParams(logPath, filepath.Join(cfg.OutDir, NoiseParamsFile), mc.Bound, title); err != nil {
			return res, err
		}
	}
	if sample != nil {
		if err := noiseHistogram(ctx, filepath.Join(cfg.OutDir, "histogram.png"), method, d); err != nil {
			return res, err
		}
	}
	if err := writeJSONFile(filepath.Join(cfg.OutDir, DatasetParamsFile), ds); err != nil {
		return res, err
	}
	heating := fmt.Sprintf("loss=%s noise=%s grid=%d upsample=%s blur=%d/%g tau_i=%g tau_d=%g policy=%s policy_opt=%s policy_schedule=%s policy_clip=%g epochs=%d",
		lossName, noise.Name(), g, mc.Mask.Mode, mc.Mask.Kernel, mc.Mask.Sigma, mc.TauImage, mc.TauDataset, psrc, cfg.PolicyOpt, orDefault(cfg.PolicySchedule, "cosine"), cfg.PolicyClip, cfg.Epochs)
	if lossName == heat.LossScaled {
		heating += fmt.Sprintf(" s_bar_decay=%g", mc.BaselineDecay)
	}
	if mc.Bound > 0 {
		heating += fmt.Sprintf(" param_bound=%g", mc.Bound)
	}
	if start.bias != nil {
		heating += fmt.Sprintf(" noise_start=%g/%g", cfg.NoiseStartMean, cfg.NoiseStartStd)
	}
	meta := baseMeta("noisemask", cfg.Common, d, csrc)
	meta["pgaug.optimizer"] = cfg.ClassifierOpt.String()
	meta["pgaug.heated"] = "true"
	meta["pgaug.heating"] = heating
	res.Classifier = filepath.Join(cfg.OutDir, ClassifierFile)
	if err := exportModel(cm, res.Classifier, cfg.Version, withFinal(meta, res.Final)); err != nil {
		return res, err
	}
	res.Policy = filepath.Join(cfg.OutDir, PolicyFile)
	if err := exportModel(pm, res.Policy, cfg.Version, map[string]string{"pgaug.method": "noisemask-policy", "pgaug.role": "policy",
		"pgaug.heating": heating, "pgaug.output": fmt.Sprintf("a then b of a %d×%d grid per image (log space), before mixing with %s", g, g, DatasetParamsFile)}); err != nil {
		return res, err
	}
	return res, writeJSONFile(filepath.Join(cfg.OutDir, SummaryFile), res)
}

// noiseStartParams is where heating starts the noise: a and b in every cell
// (and the policy's output bias that gives them through the bound), or the
// paper's random start when bias is nil.
type noiseStartParams struct {
	a, b float64
	bias []float32 // a's G² raw outputs then b's; nil: the random start
}

// noiseStart resolves NoiseStartMean/NoiseStartStd (mean 0: the paper's
// random start) for the noise model under the bound l.
func noiseStart(model noisemask.Model, mean, std, l float64, grid int) (noiseStartParams, error) {
	if mean == 0 && std == 0 {
		return noiseStartParams{}, nil
	}
	a, b, err := model.ParamsFor(mean, std)
	if err != nil {
		return noiseStartParams{}, fmt.Errorf("noise start (mean %g, std %g): %w", mean, std, err)
	}
	// The head's outputs are a's G² cells, then b's.
	cells := grid * grid
	bias := make([]float32, 2*cells)
	for half, t := range []float64{a, b} {
		raw, err := heat.RawFor(t, l)
		if err != nil {
			return noiseStartParams{}, fmt.Errorf("noise start (mean %g, std %g: a = %.4g, b = %.4g): %w", mean, std, a, b, err)
		}
		for i := range cells {
			bias[half*cells+i] = float32(raw)
		}
	}
	return noiseStartParams{a: a, b: b, bias: bias}, nil
}

// datasetParams are the start's dataset-level parameters, or the paper's
// random ones drawn from seed.
func (s noiseStartParams) datasetParams(grid int, seed uint64) (*noisemask.DatasetParams, error) {
	if s.bias == nil {
		return noisemask.NewDatasetParams(grid, seed)
	}
	return noisemask.NewDatasetParamsAt(grid, float32(s.a), float32(s.b))
}

func boundText(l float64) string {
	if l > 0 {
		return fmt.Sprintf("±%g", l)
	}
	return "none"
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// policySource imports a policy network with outputs outputs wide: a zoo
// network built with that width, or a file whose head is replaced if its
// width differs. A non-nil bias (outputs values) becomes the output layer's
// bias, so that the policy starts at those outputs.
func policySource(spec string, outputs, channels, size int, seed uint64, freeze []string, bias []float32) (*importer.Model, string, error) {
	mp, desc, err := ModelSource(spec, outputs, channels, size, seed)
	if err != nil {
		return nil, "", err
	}
	m, err := importer.Import(mp, importer.Options{Source: desc})
	if err != nil {
		return nil, "", err
	}
	changed := false
	if len(m.Outputs) != 1 || len(m.Outputs[0].Dims) != 2 || m.Outputs[0].Dims[1] != int64(outputs) {
		if _, err := modelops.ReplaceHead(mp, outputs, seed); err != nil {
			return nil, "", fmt.Errorf("giving %s a %d-way head (a and b of the noise grid): %w", desc, outputs, err)
		}
		desc += fmt.Sprintf(" (head replaced: %d outputs)", outputs)
		changed = true
	}
	if bias != nil {
		name, err := modelops.SetOutputBias(mp, bias)
		if err != nil {
			return nil, "", fmt.Errorf("starting %s at the chosen noise: %w", desc, err)
		}
		desc += fmt.Sprintf(" (%s set to the noise start)", name)
		changed = true
	}
	if changed {
		if m, err = importer.Import(mp, importer.Options{Source: desc}); err != nil {
			return nil, "", err
		}
	}
	if len(freeze) > 0 {
		if _, err := m.Freeze(freeze...); err != nil {
			return nil, "", err
		}
	}
	return m, desc, nil
}
