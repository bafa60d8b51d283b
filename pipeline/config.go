package pipeline

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/pgaug/pgaug/datasets/atomicfile"
	"github.com/pgaug/pgaug/trainer/apga"
)

// RunConfig is the configuration of `pgaug pipeline run` and `pgaug
// experiment`, read from a TOML file (see ExampleConfig); every key is also
// a command-line flag named section.key (e.g. --apga.epochs 5).
type RunConfig struct {
	// Dir is the run directory: each stage writes into its own
	// sub-directory, and a stage that finished is skipped on re-run.
	Dir string `toml:"dir" help:"run directory" fingerprint:"-"`
	// Methods run after the shared stages: baseline (more plain training),
	// cutout, gradcam, cutmix, apga, noisemask (heat, then fine-tune).
	Methods []string `toml:"methods" help:"methods: baseline, cutout, gradcam, cutmix, apga, noisemask" fingerprint:"-"`
	Seed    uint64   `toml:"seed" help:"seed of everything"`
	// Seeds (experiment only) repeats the pipeline per seed.
	Seeds []uint64 `toml:"seeds" help:"seeds of an experiment" fingerprint:"-"`

	Data      DataSection      `toml:"data"`
	Models    ModelsSection    `toml:"models"`
	Baseline  TrainSection     `toml:"baseline"`
	Augment   AugmentSection   `toml:"augment"`
	APGA      APGASection      `toml:"apga"`
	NoiseMask NoiseMaskSection `toml:"noisemask"`
	Finetune  FinetuneSection  `toml:"finetune"`
	Infer     InferSection     `toml:"infer"`

	// Variants define method variants: a method entry "KIND@NAME" (e.g.
	// "noisemask@gaussian") runs KIND with the keys of [variants.NAME] set,
	// e.g. "noisemask.noise" = "gaussian", in stages of its own
	// (noisemask@gaussian, finetune@gaussian) beside the plain ones, from
	// the same converged model. A variant may set only its method's keys.
	Variants map[string]map[string]string `toml:"variants" fingerprint:"-"`

	Version string `toml:"-"`
	// ReuseFrom lists other run directories whose finished stages with the
	// same fingerprint are copied instead of run again (experiment configs
	// that share data and seed share import, converge and the baselines).
	// For an experiment each directory's seed-N sub-directory is tried too.
	ReuseFrom []string `toml:"-" fingerprint:"-"`
}

// DataSection says where the data are and how they are fed.
type DataSection struct {
	Path           string `toml:"path" help:"Arrow dataset with train, val and test splits" fingerprint:",input"`
	PerClass       int    `toml:"per_class" help:"training images per class (0: all)"`
	TrainTransform string `toml:"train_transform" help:"training transform spec"`
	EvalTransform  string `toml:"eval_transform" help:"evaluation transform spec"`
	Workers        int    `toml:"workers" help:"data loading goroutines (0: one per CPU)" fingerprint:"-"`
}

// ModelsSection names the backbones: ONNX files or zoo:NAME.
type ModelsSection struct {
	Classifier  string   `toml:"classifier" help:"classifier ONNX or zoo:NAME" fingerprint:",input"`
	APGAPolicy  string   `toml:"apga_policy" help:"APGA segmentation policy ONNX or zoo:NAME" fingerprint:",input"`
	NoisePolicy string   `toml:"noise_policy" help:"noise-mask policy feature extractor ONNX or zoo:NAME" fingerprint:",input"`
	Freeze      []string `toml:"freeze" help:"classifier parameters to freeze (globs)"`
}

// TrainSection holds a training stage's loop and optimizer settings.
type TrainSection struct {
	Epochs      int     `toml:"epochs" help:"epochs"`
	Batch       int     `toml:"batch" help:"batch size"`
	Optimizer   string  `toml:"optimizer" help:"sgd, adam or adamw"`
	LR          float64 `toml:"lr" help:"learning rate"`
	Momentum    float64 `toml:"momentum" help:"SGD momentum"`
	WeightDecay float64 `toml:"weight_decay" help:"weight decay"`
	Schedule    string  `toml:"schedule" help:"constant, cosine or step"`
	Warmup      float64 `toml:"warmup" help:"warm-up epochs (cosine)"`
	StepEvery   float64 `toml:"step_every" help:"epochs between decays (step)"`
	Gamma       float64 `toml:"gamma" help:"decay factor (step)"`
	EvalEvery   int     `toml:"eval_every" help:"evaluate every N steps too"`
	Select      string  `toml:"select" help:"selection metric"`
	Patience    int     `toml:"patience" help:"early-stopping patience in epochs"`
}

// AugmentSection continues from the baseline with an augmentation baseline.
type AugmentSection struct {
	TrainSection
	CutoutSize   int     `toml:"cutout_size" help:"Cutout square side"`
	CutMixAlpha  float64 `toml:"cutmix_alpha" help:"CutMix Beta(α, α)"`
	CutMixProb   float64 `toml:"cutmix_prob" help:"CutMix probability"`
	GradCAMLayer string  `toml:"gradcam_layer" help:"Grad-CAM layer (default: the last 4-D feature map)"`
	// AugBatchStats trains the augmented copies on their own batch
	// statistics without folding them into the running ones.
	AugBatchStats bool `toml:"aug_batch_stats" help:"train the cutout/gradcam copies on their own BatchNorm batch statistics, leaving the running ones to the originals"`
}

// APGASection configures APGA (continuing from the baseline).
type APGASection struct {
	TrainSection
	Preset      string  `toml:"preset" help:"sampled (default), paper or reference"`
	PolicyLR    float64 `toml:"policy_lr" help:"policy learning rate (0: the preset's)"`
	LambdaZeros float64 `toml:"lambda_zeros" help:"λ_zeros (0: the preset's)"`
	AidMinKeep  float64 `toml:"aid_min_keep" help:"collapse guard: skip the aid step when the aid mask keeps less of the batch (0: the preset's)"`
	AidMaxKeep  float64 `toml:"aid_max_keep" help:"collapse guard: skip the aid step when the aid mask keeps more of the batch (0: the preset's)"`
	TTA         bool    `toml:"tta" help:"test-time augmentation with the policy at inference"`
	// The sampled preset's settings (0 or "": the preset's).
	MaskGrid         int     `toml:"mask_grid" help:"sampled: actions per cell of a G×G grid (0: the preset's, cells of 4×4 pixels)"`
	Samples          int     `toml:"samples" help:"sampled: actions sampled per image (0: the preset's)"`
	KeepTarget       float64 `toml:"keep_target" help:"sampled: fraction of the image the policy marks (0: the preset's)"`
	KeepMode         string  `toml:"keep_mode" help:"sampled: penalty or lagrange (\"\": the preset's)"`
	KeepWeight       float64 `toml:"keep_weight" help:"sampled: the keep penalty's weight or the multiplier's step (0: the preset's)"`
	KeepWarmup       int     `toml:"keep_warmup" help:"sampled: steps from the first keep to the target (0: the preset's)"`
	Entropy          float64 `toml:"entropy" help:"sampled: entropy bonus β (0: the preset's)"`
	AdvantageNorm    string  `toml:"advantage_norm" help:"sampled: batch (divide the advantages by their root mean square) or none (\"\": the preset's)"`
	LogitPenalty     float64 `toml:"logit_penalty" help:"sampled: weight λ of λ·logit(q)²/2 per cell (0: the preset's; negative: off)"`
	Fill             string  `toml:"fill" help:"sampled: what erased pixels become: zero, black or blur (\"\": the preset's)"`
	AidMask          string  `toml:"aid_mask" help:"sampled: the aid mask, top or threshold (\"\": the preset's)"`
	AidSample        bool    `toml:"aid_sample" help:"sampled: the aid step on a sampled mask"`
	PolicyInit       string  `toml:"policy_init" help:"gradcam: first train the policy on the classifier's Grad-CAM masks; none"`
	PolicyInitEpochs int     `toml:"policy_init_epochs" help:"epochs of the Grad-CAM start (0: 2)"`
	PolicyStart      float64 `toml:"policy_start" help:"start the policy at this probability everywhere (0: the preset's)"`
}

// Method is the APGA configuration the section gives: its preset with
// every key that is set laid over it.
func (a APGASection) Method() (apga.Config, error) {
	mc, err := apga.Preset(a.Preset)
	if err != nil {
		return mc, err
	}
	if a.LR > 0 {
		mc.ClassifierLR = a.LR
	}
	if a.PolicyLR > 0 {
		mc.PolicyLR = a.PolicyLR
	}
	if a.LambdaZeros > 0 {
		mc.LambdaZeros = a.LambdaZeros
	}
	if a.AidMinKeep > 0 {
		mc.AidKeepMin = a.AidMinKeep
	}
	if a.AidMaxKeep > 0 {
		mc.AidKeepMax = a.AidMaxKeep
	}
	for _, f := range []struct {
		v   int
		dst *int
	}{{a.MaskGrid, &mc.MaskGrid}, {a.Samples, &mc.Samples}, {a.KeepWarmup, &mc.KeepWarmup}} {
		if f.v > 0 {
			*f.dst = f.v
		}
	}
	for _, f := range []struct {
		v   float64
		dst *float64
	}{{a.KeepTarget, &mc.KeepTarget}, {a.KeepWeight, &mc.KeepWeight}, {a.Entropy, &mc.Entropy}} {
		if f.v > 0 {
			*f.dst = f.v
		}
	}
	if a.KeepMode != "" {
		mc.KeepMode = a.KeepMode
	}
	if a.AdvantageNorm != "" {
		mc.AdvantageNorm = a.AdvantageNorm
	}
	switch {
	case a.LogitPenalty > 0:
		mc.LogitPenalty = a.LogitPenalty
	case a.LogitPenalty < 0:
		mc.LogitPenalty = 0
	}
	if a.Fill != "" {
		mc.Fill = a.Fill
	}
	if a.AidMask != "" {
		mc.AidMask = a.AidMask
	}
	mc.AidSample = mc.AidSample || a.AidSample
	if a.PolicyStart > 0 {
		mc.PolicyStart = a.PolicyStart
	}
	return mc, nil
}

// NoiseMaskSection configures heating with the noise mask.
type NoiseMaskSection struct {
	TrainSection
	Loss           string  `toml:"loss" help:"paper (S·CE, S the log-density factor), reinforce (Σ log p·(CE − baseline)) or scaled (S/S̄·CE, S̄ a running mean of |S|)"`
	Noise          string  `toml:"noise" help:"beta, gaussian or uniform"`
	Grid           string  `toml:"grid" help:"32, 64, … or pure"`
	Upsample       string  `toml:"upsample" help:"nearest or bilinear"`
	BlurKernel     int     `toml:"blur_kernel" help:"blur kernel (0: none)"`
	BlurSigma      float64 `toml:"blur_sigma" help:"blur σ"`
	TauImage       float64 `toml:"tau_image" help:"τ_i"`
	TauDataset     float64 `toml:"tau_dataset" help:"τ_d"`
	PolicyLR       float64 `toml:"policy_lr" help:"policy learning rate"`
	PolicyMomentum float64 `toml:"policy_momentum" help:"policy SGD momentum"`
	PolicySchedule string  `toml:"policy_schedule" help:"policy schedule"`
	PolicyClip     float64 `toml:"policy_clip" help:"clip the policy's gradient norm (0: off)"`
	ParamBound     float64 `toml:"param_bound" help:"bound L of log α, log β (policy outputs → L·tanh(a/L), α, β ∈ [e^−L, e^L]); 0: unbounded; negative: the loss's default (3 for scaled, 0 for paper and reinforce)"`
	BaselineDecay  float64 `toml:"baseline_decay" help:"EMA decay of the CE baseline (reinforce) and of S̄ (scaled)"`
	// NoiseStartMean and NoiseStartStd start the noise at that mean and
	// standard deviation in every cell (both 0: the paper's random start).
	NoiseStartMean float64 `toml:"noise_start_mean" fingerprint:",omitempty" help:"start the noise at this mean in every cell (with noise_start_std; 0: the paper's random start)"`
	NoiseStartStd  float64 `toml:"noise_start_std" fingerprint:",omitempty" help:"start the noise at this standard deviation (with noise_start_mean)"`
	// Start is what heating starts from: the classifier as imported
	// (models.classifier, "" or "import": a pretrained backbone, as the
	// method is meant) or the converge stage's classifier ("converged": for
	// a classifier that starts untrained, so that heating compares with
	// the other methods from the same converged start).
	Start string `toml:"start" fingerprint:",omitempty" help:"heat the classifier as imported (import, the default) or the converged one (converged)"`
}

// HeatsConverged says whether heating starts from the converge stage's
// classifier (Start "converged") rather than the imported one ("" or
// "import"); any other Start is an error.
func (n NoiseMaskSection) HeatsConverged() (bool, error) {
	switch n.Start {
	case "", "import":
		return false, nil
	case "converged":
		return true, nil
	}
	return false, fmt.Errorf("noisemask.start %q: want import or converged", n.Start)
}

// FinetuneSection configures fine-tuning of the heated model.
type FinetuneSection struct {
	TrainSection
	AverageLast int `toml:"average_last" help:"average the last K epochs' weights"`
}

// InferSection configures the ONNX Runtime inference on the test split.
type InferSection struct {
	Batch   int    `toml:"batch" help:"images per session run"`
	Threads int    `toml:"threads" help:"ONNX Runtime threads (0: its default)" fingerprint:"-"`
	Device  string `toml:"device" help:"cpu or cuda"`
}

// DefaultRunConfig returns the defaults: the papers' recipes scaled to a
// CPU-sized run (the HTML report records every value used).
func DefaultRunConfig() RunConfig {
	return RunConfig{
		Dir: "runs/pipeline", Methods: []string{"apga"}, Seed: 1, Seeds: []uint64{1, 2, 3},
		Models:   ModelsSection{Classifier: "zoo:resnet18", APGAPolicy: "zoo:unet-small", NoisePolicy: "zoo:resnet10t"},
		Baseline: TrainSection{Epochs: 30, Batch: 32, Optimizer: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4, Schedule: "cosine", Warmup: 1, Select: "accuracy"},
		Augment: AugmentSection{TrainSection: TrainSection{Epochs: 20, Batch: 25, Optimizer: "adam", LR: 1e-4, Schedule: "constant", Select: "accuracy"},
			CutoutSize: 8, CutMixAlpha: 1, CutMixProb: 0.5},
		APGA: APGASection{TrainSection: TrainSection{Epochs: 20, Batch: 25, Optimizer: "adam", Select: "accuracy"},
			Preset: "sampled"},
		NoiseMask: NoiseMaskSection{TrainSection: TrainSection{Epochs: 30, Batch: 32, Optimizer: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4,
			Schedule: "step", StepEvery: 10, Gamma: 0.1, Select: "accuracy"},
			Loss: "scaled", Noise: "beta", Grid: "8", Upsample: "nearest", BlurKernel: 5, BlurSigma: 2, TauImage: 0.9, TauDataset: 0.99,
			PolicyLR: 0.01, PolicyMomentum: 0.9, PolicySchedule: "cosine", ParamBound: -1, BaselineDecay: 0.9},
		Finetune: FinetuneSection{TrainSection: TrainSection{Epochs: 10, Batch: 64, Optimizer: "sgd", LR: 1e-3, Momentum: 0.9, WeightDecay: 1e-4,
			Schedule: "cosine", Warmup: 7, Select: "accuracy"}, AverageLast: 3},
		Infer: InferSection{Batch: 64, Device: "cpu"},
	}
}

// LoadRunConfig reads a TOML file over the defaults; unknown keys are an
// error naming them.
func LoadRunConfig(path string) (RunConfig, error) {
	cfg := DefaultRunConfig()
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	md, err := toml.Decode(string(b), &cfg)
	if err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return cfg, fmt.Errorf("config %s: unknown keys %s (see `pgaug pipeline keys`)", path, strings.Join(keys, ", "))
	}
	return cfg, nil
}

// ConfigKey describes one configuration key.
type ConfigKey struct {
	Name, Help, Kind string
	field            func(*RunConfig) reflect.Value
}

// ConfigKeys lists every key of RunConfig as section.key (top-level keys
// bare), in declaration order.
func ConfigKeys() []ConfigKey {
	var out []ConfigKey
	var walk func(t reflect.Type, prefix string, path []int)
	walk = func(t reflect.Type, prefix string, path []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("toml")
			if tag == "-" || f.Type.Kind() == reflect.Map {
				continue // Variants are tables of keys, not one key
			}
			p := append(append([]int(nil), path...), i)
			if f.Anonymous {
				walk(f.Type, prefix, p)
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, prefix+tag+".", p)
				continue
			}
			idx := p
			out = append(out, ConfigKey{Name: prefix + tag, Help: f.Tag.Get("help"), Kind: f.Type.String(),
				field: func(c *RunConfig) reflect.Value { return reflect.ValueOf(c).Elem().FieldByIndex(idx) }})
		}
	}
	walk(reflect.TypeOf(RunConfig{}), "", nil)
	return out
}

// Set sets the key named name from its text form (lists are
// comma-separated).
func (c *RunConfig) Set(name, value string) error {
	for _, k := range ConfigKeys() {
		if k.Name != name {
			continue
		}
		v := k.field(c)
		if err := setValue(v, value); err != nil {
			return fmt.Errorf("%s = %q: %w", name, value, err)
		}
		return nil
	}
	return fmt.Errorf("unknown configuration key %q", name)
}

// Get returns a key's value as text.
func (c *RunConfig) Get(name string) (string, bool) {
	for _, k := range ConfigKeys() {
		if k.Name == name {
			v := k.field(c)
			if v.Kind() == reflect.Slice {
				parts := make([]string, v.Len())
				for i := range parts {
					parts[i] = fmt.Sprint(v.Index(i).Interface())
				}
				return strings.Join(parts, ","), true
			}
			return fmt.Sprint(v.Interface()), true
		}
	}
	return "", false
}

func setValue(v reflect.Value, s string) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("want an integer")
		}
		v.SetInt(int64(n))
	case reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want a non-negative integer")
		}
		v.SetUint(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("want a number")
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		v.SetBool(b)
	case reflect.Slice:
		var parts []string
		if s != "" {
			parts = strings.Split(s, ",")
		}
		out := reflect.MakeSlice(v.Type(), len(parts), len(parts))
		for i, p := range parts {
			if err := setValue(out.Index(i), strings.TrimSpace(p)); err != nil {
				return err
			}
		}
		v.Set(out)
	default:
		return fmt.Errorf("unsupported kind %s", v.Kind())
	}
	return nil
}

// EncodeTOML writes the configuration as TOML.
func (c RunConfig) EncodeTOML(w io.Writer) error { return toml.NewEncoder(w).Encode(c) }

// WriteTOML writes the configuration as TOML (the run directory keeps the
// values a run used).
func (c RunConfig) WriteTOML(path string) error {
	var sb strings.Builder
	if err := c.EncodeTOML(&sb); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, []byte(sb.String()))
}

// validMethods lists the methods a pipeline runs.
var validMethods = []string{"baseline", "cutout", "gradcam", "cutmix", "apga", "noisemask"}

func (c RunConfig) check() error {
	if c.Data.Path == "" {
		return fmt.Errorf("config: data.path is required")
	}
	if c.Dir == "" {
		return fmt.Errorf("config: dir is required")
	}
	if len(c.Methods) == 0 {
		return fmt.Errorf("config: methods is empty (choose from %s)", strings.Join(validMethods, ", "))
	}
	seen := map[string]bool{}
	for _, m := range c.Methods {
		kind, _ := SplitMethod(m)
		if !slices.Contains(validMethods, kind) {
			return fmt.Errorf("config: unknown method %q (choose from %s, each optionally @VARIANT)", m, strings.Join(validMethods, ", "))
		}
		if seen[m] {
			return fmt.Errorf("config: method %q listed twice", m)
		}
		seen[m] = true
		mc, err := c.ForMethod(m)
		if err != nil {
			return err
		}
		if _, err := mc.NoiseMask.HeatsConverged(); kind == "noisemask" && err != nil {
			return fmt.Errorf("config: method %q: %w", m, err)
		}
	}
	return nil
}

// SplitMethod splits a method entry into its kind and variant:
// "noisemask@gauss" is the noisemask method with the variant gauss (see
// RunConfig.Variants); "apga" has none.
func SplitMethod(m string) (kind, variant string) {
	kind, variant, _ = strings.Cut(m, "@")
	return kind, variant
}

// WithVariant names a stage of a variant: finetune@gauss.
func WithVariant(stage, variant string) string {
	if variant == "" {
		return stage
	}
	return stage + "@" + variant
}

// variantSections are the configuration sections a method's variant may
// set: its own, and its policy's model. The shared stages' settings (data,
// the classifier, converge) are the run's.
var variantSections = map[string][]string{
	"baseline": {"augment."}, "cutout": {"augment."}, "gradcam": {"augment."}, "cutmix": {"augment."},
	"apga":      {"apga.", "models.apga_policy", "infer."},
	"noisemask": {"noisemask.", "finetune.", "models.noise_policy", "infer."},
}

// ForMethod is the configuration a method entry runs with: the run's, with
// the variant's keys set.
func (c RunConfig) ForMethod(method string) (RunConfig, error) {
	kind, variant := SplitMethod(method)
	if variant == "" {
		return c, nil
	}
	set, ok := c.Variants[variant]
	if !ok {
		return c, fmt.Errorf("config: method %q names variant %q, which [variants] does not define", method, variant)
	}
	out := c
	// Copy the slices the variant may set, so that the run's stay as they are.
	out.Models.Freeze = append([]string(nil), c.Models.Freeze...)
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		allowed := false
		for _, p := range variantSections[kind] {
			allowed = allowed || k == p || strings.HasSuffix(p, ".") && strings.HasPrefix(k, p)
		}
		if !allowed {
			return c, fmt.Errorf("config: variant %q sets %s, but a %s variant may only set %s", variant, k, kind, strings.Join(variantSections[kind], ", "))
		}
		if err := out.Set(k, set[k]); err != nil {
			return c, fmt.Errorf("config: variant %q: %w", variant, err)
		}
	}
	return out, nil
}
