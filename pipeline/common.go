package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/atomicfile"
	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/datasets/ops"
	"github.com/pgaug/pgaug/datasets/transform"
	"github.com/pgaug/pgaug/onnx/exporter"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/pipeline/fingerprint"
	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/optim"
)

// Common holds the settings every trainer shares: data, loop, checkpoints.
//
// The fingerprint tags say which settings change a run's result (see
// package fingerprint): a run resumes only from checkpoints written with
// the same ones, and a pipeline stage is reused only when they match.
type Common struct {
	// Data is the Arrow dataset (file or directory) with train (and val,
	// test) splits; its content, not its path, identifies it.
	Data string `fingerprint:",input"`
	// OutDir is the run directory: models, metrics.jsonl, checkpoints/,
	// figures.
	OutDir string `fingerprint:"-"`
	Epochs int
	Batch  int
	// EvalEvery evaluates and checkpoints every N steps besides each epoch.
	EvalEvery int
	// Select names the validation metric of best-model selection
	// (accuracy, balanced_accuracy, macro_f1, auroc, loss).
	Select   string
	Patience int  // epochs without improvement before stopping (0: off)
	Keep     int  `fingerprint:"-"` // checkpoints kept (besides best.pgck)
	Resume   bool `fingerprint:"-"` // continue from the newest checkpoint in OutDir
	// Schedule: constant, cosine (Warmup epochs of linear warm-up) or step
	// (×Gamma every StepEvery epochs).
	Schedule  string
	Warmup    float64
	StepEvery float64
	Gamma     float64
	Seed      uint64
	Workers   int `fingerprint:"-"` // data loading goroutines; results do not depend on them
	// PerClass keeps this many training images per class (seeded), the
	// papers' data-constrained regime (0: all).
	PerClass int
	// TrainTransform and EvalTransform are datasets/transform specs; empty
	// gives the dataset's normalisation (if recorded) only.
	TrainTransform, EvalTransform string
	// Version is pgaug's: other code may give other results, so a run
	// resumes, and a stage is reused, only with the same version.
	Version string
	Log     io.Writer `fingerprint:"-"`
}

// Optim names an optimizer and its settings.
type Optim struct {
	Name        string // sgd, adam, adamw
	LR          float64
	Momentum    float64
	Nesterov    bool
	WeightDecay float64
}

// New builds the optimizer.
func (o Optim) New() (optim.Optimizer, error) {
	return NewOptimizer(o.Name, o.Momentum, o.WeightDecay, o.Nesterov)
}

func (o Optim) String() string {
	return fmt.Sprintf("%s lr=%g momentum=%g nesterov=%v wd=%g", o.Name, o.LR, o.Momentum, o.Nesterov, o.WeightDecay)
}

// runData is an opened dataset with its loaders.
type runData struct {
	ds               *arrowds.Dataset
	meta             arrowds.Metadata
	classes          int
	train, val, test *loader.Loader
	trainDesc        string
	c, h, w          int // the training images' shape after the transform
	evalT            transform.Pipeline
}

func (d *runData) Close() {
	if d != nil && d.ds != nil {
		d.ds.Close()
	}
}

// openData opens c.Data and builds the train (shuffled, drop-last), val and
// test loaders (nil where the split is empty).
func openData(ctx context.Context, c Common) (*runData, error) {
	if c.Batch < 1 {
		return nil, fmt.Errorf("batch size %d: want at least 1", c.Batch)
	}
	ds, err := arrowds.Open(c.Data)
	if err != nil {
		return nil, err
	}
	d := &runData{ds: ds, meta: ds.Meta()}
	d.classes = len(d.meta.Classes)
	if d.classes < 2 {
		ds.Close()
		return nil, fmt.Errorf("dataset %s has %d classes; a classifier needs at least 2", c.Data, d.classes)
	}
	if c.TrainTransform == "" && c.EvalTransform == "" && len(d.meta.NormMean) == 0 {
		// Un-normalised pixels in [0,1] give small activations that BatchNorm's
		// running variance (starting at 1) takes hundreds of steps to reach:
		// normalise with the training split's statistics, as users expect.
		mean, std, err := ops.ComputeStats(ds, "train", nil)
		if err != nil {
			ds.Close()
			return nil, fmt.Errorf("computing the normalisation of %s: %w", c.Data, err)
		}
		d.meta.NormMean, d.meta.NormStd = mean, std
		if c.Log != nil {
			fmt.Fprintf(c.Log, "%s records no normalisation: using the train split's (%s); set --train-transform/--eval-transform to choose\n", c.Data, transform.NormalizeSpec(mean, std))
		}
	}
	trainT, err := transform.ForDataset(c.TrainTransform, d.meta)
	if err != nil {
		ds.Close()
		return nil, fmt.Errorf("train transform: %w", err)
	}
	evalT, err := transform.ForDataset(c.EvalTransform, d.meta)
	if err != nil {
		ds.Close()
		return nil, fmt.Errorf("eval transform: %w", err)
	}
	tc := loader.Config{Split: "train", BatchSize: c.Batch, DropLast: true, Shuffle: true, Seed: c.Seed, Workers: c.Workers, Transform: trainT}
	d.trainDesc = fmt.Sprintf("%d images", len(ds.Indices("train")))
	if c.PerClass > 0 {
		rows, err := PerClassRows(ds, "train", c.PerClass, c.Seed)
		if err != nil {
			ds.Close()
			return nil, err
		}
		tc.Split, tc.Rows = "", rows
		d.trainDesc = fmt.Sprintf("%d images (%d per class, seed %d)", len(rows), c.PerClass, c.Seed)
	}
	if d.train, err = loader.New(ds, tc); err != nil {
		ds.Close()
		return nil, fmt.Errorf("train split of %s: %w", c.Data, err)
	}
	if d.train.NumBatches() == 0 {
		ds.Close()
		return nil, fmt.Errorf("train split of %s: %d images make no full batch of %d", c.Data, d.train.Len(), c.Batch)
	}
	for _, s := range []struct {
		name string
		dst  **loader.Loader
	}{{"val", &d.val}, {"test", &d.test}} {
		if len(ds.Indices(s.name)) == 0 {
			continue
		}
		if *s.dst, err = loader.New(ds, loader.Config{Split: s.name, BatchSize: c.Batch, Workers: c.Workers, Transform: evalT}); err != nil {
			ds.Close()
			return nil, fmt.Errorf("%s split of %s: %w", s.name, c.Data, err)
		}
	}
	it := d.train.Epoch(ctx, 0)
	b, err := it.Next()
	it.Close()
	if err != nil {
		ds.Close()
		return nil, fmt.Errorf("reading a first training batch of %s: %w", c.Data, err)
	}
	d.c, d.h, d.w = b.C, b.H, b.W
	d.evalT = evalT
	b.Release()
	return d, nil
}

// PerClassRows returns up to k rows of each class of a split, drawn without
// replacement with a seeded generator, in dataset order.
func PerClassRows(ds *arrowds.Dataset, split string, k int, seed uint64) ([]int, error) {
	byClass := map[int32][]int{}
	for _, r := range ds.Indices(split) {
		l := ds.Row(r).Label
		if l < 0 {
			return nil, fmt.Errorf("--per-class needs single-label rows; row %d (%s) of %s has none", r, ds.Row(r).ID, ds.Path())
		}
		byClass[l] = append(byClass[l], r)
	}
	if len(byClass) == 0 {
		return nil, fmt.Errorf("split %q of %s is empty", split, ds.Path())
	}
	rng := rand.New(rand.NewPCG(seed, 0x70657263))
	var classes []int32
	for c := range byClass {
		classes = append(classes, c)
	}
	sort.Slice(classes, func(i, j int) bool { return classes[i] < classes[j] })
	var out []int
	for _, c := range classes {
		rows := byClass[c]
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		out = append(out, rows[:min(k, len(rows))]...)
	}
	sort.Ints(out)
	return out, nil
}

// ModelSource loads an ONNX model from a file, or builds a zoo network for
// "zoo:NAME" with the given classes, input channels, image size and seed.
func ModelSource(spec string, classes, channels, size int, seed uint64) (*onnxpb.ModelProto, string, error) {
	if name, ok := strings.CutPrefix(spec, "zoo:"); ok {
		mp, err := zoo.Build(name, zoo.Options{Classes: classes, InChannels: channels, Size: size, Seed: seed})
		if err != nil {
			if info, lerr := zoo.Lookup(name); lerr == nil && (size < info.MinSize || info.SizeMultiple > 1 && size%info.SizeMultiple != 0) {
				return nil, "", fmt.Errorf("zoo model %q for %d×%d images: %w (resize the images, e.g. --train-transform and --eval-transform \"resize=%d,...\")",
					name, size, size, err, max(info.MinSize, roundUp(size, max(info.SizeMultiple, 1))))
			}
			return nil, "", fmt.Errorf("zoo model %q: %w", name, err)
		}
		return mp, spec, nil
	}
	mp, err := onnxio.Load(spec)
	if err != nil {
		return nil, "", err
	}
	return mp, filepath.Base(spec), nil
}

// importSource imports a model from ModelSource with freeze patterns.
func importSource(spec string, classes, channels, size int, seed uint64, freeze []string) (*importer.Model, string, error) {
	mp, desc, err := ModelSource(spec, classes, channels, size, seed)
	if err != nil {
		return nil, "", err
	}
	m, err := importer.Import(mp, importer.Options{Source: desc})
	if err != nil {
		return nil, "", err
	}
	if len(freeze) > 0 {
		if _, err := m.Freeze(freeze...); err != nil {
			return nil, "", err
		}
	}
	return m, desc, nil
}

// schedule builds the learning-rate schedule of c for a loader.
func (c Common) schedule(batchesPerEpoch int) (fit.Schedule, error) {
	return fit.ParseSchedule(c.Schedule, int(c.Warmup*float64(batchesPerEpoch)+0.5), int(c.StepEvery*float64(batchesPerEpoch)+0.5), c.Gamma)
}

// loopConfig returns the fit loop settings of c writing into dir. settings
// is the method's whole configuration: its fingerprint goes into every
// checkpoint, and a resumed run must have the same one.
func (c Common) loopConfig(batchesPerEpoch int, method string, settings any, metrics *os.File) (fit.LoopConfig, error) {
	sched, err := c.schedule(batchesPerEpoch)
	if err != nil {
		return fit.LoopConfig{}, err
	}
	fp, err := fingerprint.Of(settings, "", InputIdentity)
	if err != nil {
		return fit.LoopConfig{}, err
	}
	return fit.LoopConfig{
		Epochs: c.Epochs, EvalEvery: c.EvalEvery, Select: c.Select, Patience: c.Patience, Schedule: sched,
		CheckpointDir: filepath.Join(c.OutDir, "checkpoints"), Keep: c.Keep, Resume: c.Resume, RestoreBest: true,
		Meta:        map[string]string{"method": method, "config": fp.Sum(), "settings": fp.Encode()},
		ResumeCheck: resumeCheck(method, fp), Progress: c.Log, Metrics: metrics, LogEvery: 10,
		OnStart: func(from int64) error { return keepMetricsUpTo(metrics, from) },
	}, nil
}

// InputIdentity identifies a model or dataset a run reads: zoo:NAME as
// itself, a file or directory by its content (fingerprint.Content).
func InputIdentity(spec string) (string, error) {
	if strings.HasPrefix(spec, "zoo:") {
		return spec, nil
	}
	return fingerprint.Content(spec)
}

// resumeCheck accepts a checkpoint of the same method whose settings
// fingerprint is fp's, and otherwise says which settings differ.
func resumeCheck(method string, fp fingerprint.Settings) func(map[string]string) error {
	return func(saved map[string]string) error {
		if saved["method"] != method {
			return fmt.Errorf("it was written by %q, this run is %q", saved["method"], method)
		}
		if saved["config"] == fp.Sum() {
			return nil
		}
		old, err := fingerprint.Decode(saved["settings"])
		if err != nil || saved["settings"] == "" {
			return fmt.Errorf("it was written with settings %s, this run has %s", saved["config"], fp.Sum())
		}
		return fmt.Errorf("it was written with other settings: %s", fingerprint.Describe(fingerprint.Diff(old, fp), 6))
	}
}

// openMetricsLog opens OutDir/metrics.jsonl for appending; the loop's
// OnStart (keepMetricsUpTo) then drops what a resumed run writes again.
func openMetricsLog(c Common) (*os.File, error) {
	if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(c.OutDir, MetricsLog), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metrics log: %w", err)
	}
	return f, nil
}

// keepMetricsUpTo cuts the metrics log f after its last record of a step
// ≤ step: a fresh run (step 0) starts an empty log, a resumed one drops the
// records a killed run wrote after its checkpoint (and a line cut short by
// the kill), which it writes again.
func keepMetricsUpTo(f *os.File, step int64) error {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return fmt.Errorf("metrics log %s: %w", f.Name(), err)
	}
	keep := 0
	for off := 0; off < len(b); {
		end := bytes.IndexByte(b[off:], '\n')
		if end < 0 {
			break // the last line was cut short
		}
		var rec struct {
			Step *int64 `json:"step"`
		}
		if json.Unmarshal(b[off:off+end], &rec) != nil || rec.Step == nil || *rec.Step > step {
			break
		}
		off += end + 1
		keep = off
	}
	if keep == len(b) {
		return nil
	}
	if err := f.Truncate(int64(keep)); err != nil {
		return fmt.Errorf("metrics log %s: %w", f.Name(), err)
	}
	return nil
}

// The files a training run writes into its directory.
const (
	ClassifierFile = "classifier.onnx"
	PolicyFile     = "policy.onnx"
	MetricsLog     = "metrics.jsonl"
	SummaryFile    = "summary.json"
)

// exportModel writes m to path atomically with pgaug.* metadata.
func exportModel(m *importer.Model, path, version string, meta map[string]string) error {
	m.SetTraining(false)
	mp, err := exporter.Export(m, exporter.Options{ProducerVersion: version, Metadata: meta})
	if err != nil {
		return fmt.Errorf("exporting %s: %w", path, err)
	}
	return onnxio.Save(path, mp)
}

// writeJSONFile writes v as indented JSON atomically.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// baseMeta is the metadata every exported classifier carries.
func baseMeta(method string, c Common, d *runData, source string) map[string]string {
	return map[string]string{
		"pgaug.method":    method,
		"pgaug.dataset":   filepath.Base(c.Data),
		"pgaug.train":     d.trainDesc,
		"pgaug.epochs":    fmt.Sprint(c.Epochs),
		"pgaug.seed":      fmt.Sprint(c.Seed),
		"pgaug.source":    source,
		"pgaug.transform": d.train.Config().Transform.String(),
		// pgaug infer applies this when it is given no --transform.
		"pgaug.eval_transform": evalSpec(d.evalT),
		"pgaug.classes":        strings.Join(d.meta.Classes, ","),
		"pgaug.schedule":       fmt.Sprintf("%s warmup=%g epochs step_every=%g epochs gamma=%g", c.Schedule, c.Warmup, c.StepEvery, c.Gamma),
	}
}

// evalSpec is the spec of an evaluation transform ("none" for none, so that
// inference does not fall back to the dataset's own normalisation).
func evalSpec(p transform.Pipeline) string {
	if len(p) == 0 {
		return "none"
	}
	return p.String()
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }
