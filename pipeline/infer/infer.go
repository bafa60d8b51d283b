package infer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/datasets/transform"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/trainer/apga"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/progress"
)

// DefaultBatch is the batch size when Config.Batch is 0.
const DefaultBatch = 32

// MaskThreshold is the policy probability above which a pixel is kept in
// the TTA mask.
const MaskThreshold = 0.5

// Config configures Run.
type Config struct {
	// Model is the classifier's ONNX file: one float32 input N×C×H×W and a
	// first output of N×K logits (or probabilities), K the dataset's
	// number of classes.
	Model string
	// Data is the Arrow dataset (a file or a directory of part files).
	Data string
	// Output is the predictions file to write (Arrow IPC); an existing
	// file is replaced once the new one is complete.
	Output string
	// Split selects the rows: "" for every row, else train, val or test.
	Split string
	// Batch is the number of images per session run (0: DefaultBatch, or
	// the model's fixed batch size when it has one).
	Batch int
	// Device is "cpu" (also "") or "cuda"; DeviceID and GPUMemLimit (bytes,
	// 0: no limit) apply to cuda.
	Device      string
	DeviceID    int
	GPUMemLimit int64
	// Threads is ONNX Runtime's intra-op thread count (0: its default).
	Threads int
	// Transform is a datasets/transform spec applied to every image; ""
	// applies the dataset's recorded normalisation, if any.
	Transform string
	// TTA turns on test-time augmentation with the Policy model (required
	// with TTA, refused without it): a segmentation network taking the
	// same input as Model and giving one sigmoid channel at the input
	// resolution.
	TTA    bool
	Policy string
	// Workers is the number of loader goroutines decoding and transforming
	// images (0: GOMAXPROCS); Prefetch the number of batches kept ready
	// beyond those being built (0: the loader's default).
	Workers, Prefetch int
	// Progress, when set, receives a progress bar with images/s.
	Progress io.Writer
	// Version is the pgaug version recorded in the output ("" : none).
	Version string
	// Shard, when set (Shard.N > 0), predicts only the shard's share of the
	// selected rows (see [Shard]); Merge joins the shards' files.
	Shard Shard
}

// Result summarises a Run.
type Result struct {
	Output  string
	Rows    int      // images predicted (rows written)
	Classes []string // the dataset's class names
	// Elapsed is the time from the first batch requested to the last row
	// written; ImagesPerSec is Rows / Elapsed.
	Elapsed      time.Duration
	ImagesPerSec float64
	// FirstBatch is the part of Elapsed spent on the first batch (ONNX
	// Runtime's first run of a session is slower: it sizes its buffers);
	// SteadyImagesPerSec is the rate over the other batches (0 with a
	// single batch).
	FirstBatch         time.Duration
	SteadyImagesPerSec float64
	// ModelGivesProbabilities reports that the model's outputs already
	// summed to 1 per image, so they were kept instead of softmaxed.
	ModelGivesProbabilities bool
	// Metrics scores the predictions; nil when the dataset has no single
	// label per image (multilabel datasets).
	Metrics *metrics.Report
	// StudyMetrics scores the mean probabilities per study (group id, e.g.
	// MURA's studies) when the rows have group ids; nil otherwise.
	StudyMetrics *metrics.Report
}

// ModelTransform returns spec, or when it is empty the evaluation transform
// a pgaug-trained model records in its metadata (pgaug.eval_transform; ""
// when there is none, which then means the dataset's normalisation).
func ModelTransform(model, spec string) string {
	if spec != "" {
		return spec
	}
	if mp, err := onnxio.Load(model); err == nil {
		return onnxio.MetadataValue(mp, "pgaug.eval_transform")
	}
	return ""
}

// Run predicts every selected row of cfg.Data with cfg.Model and writes the
// predictions to cfg.Output. ONNX Runtime must have been loaded (ort.Init).
// On error no output file is left behind.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := checkConfig(&cfg); err != nil {
		return Result{}, err
	}
	ds, err := arrowds.Open(cfg.Data)
	if err != nil {
		return Result{}, err
	}
	defer ds.Close()
	meta := ds.Meta()
	tf, err := transform.ForDataset(ModelTransform(cfg.Model, cfg.Transform), meta)
	if err != nil {
		return Result{}, fmt.Errorf("transform %q: %w", cfg.Transform, err)
	}
	opts := ort.SessionOptions{Threads: cfg.Threads, Device: cfg.Device, DeviceID: cfg.DeviceID, GPUMemLimit: cfg.GPUMemLimit}
	r, err := newRunner(cfg, opts, meta.Classes)
	if err != nil {
		return Result{}, err
	}
	defer r.close()
	if r.fixedBatch > 0 {
		if cfg.Batch == 0 {
			cfg.Batch = r.fixedBatch
		} else if cfg.Batch > r.fixedBatch {
			return Result{}, fmt.Errorf("model %s takes batches of at most %d images (its input %q is %s); got batch %d",
				cfg.Model, r.fixedBatch, r.in.Name, shapeString(r.in.Shape), cfg.Batch)
		}
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	header := fileHeader{Model: cfg.Model, Data: cfg.Data, Split: cfg.Split, Version: cfg.Version, Classes: meta.Classes}
	lcfg := loader.Config{Split: cfg.Split, BatchSize: cfg.Batch, Workers: cfg.Workers, Prefetch: cfg.Prefetch, Transform: tf}
	if cfg.Shard.N > 0 {
		selected := ds.Indices(cfg.Split)
		lo, hi := cfg.Shard.Range(len(selected))
		if lo == hi {
			return Result{}, fmt.Errorf("shard %s of %s (split %q): no rows; %d rows cannot fill %d shards", cfg.Shard, cfg.Data, cfg.Split, len(selected), cfg.Shard.N)
		}
		lcfg.Rows = selected[lo:hi]
		if header.Shard, err = shardHeader(cfg, ds, selected, lo, hi); err != nil {
			return Result{}, err
		}
	}
	l, err := loader.New(ds, lcfg)
	if err != nil {
		return Result{}, fmt.Errorf("dataset %s, split %q: %w", cfg.Data, cfg.Split, err)
	}
	if cfg.TTA {
		header.Policy = cfg.Policy
	}
	w, err := newPredictionWriter(cfg.Output, header)
	if err != nil {
		return Result{}, err
	}
	defer w.abort()

	labelled := meta.Task != arrowds.Multilabel
	k := len(meta.Classes)
	var allProbs []float32
	var allLabels []int
	var groups []string
	if labelled {
		allProbs = make([]float32, 0, l.Len()*k)
		allLabels = make([]int, 0, l.Len())
	}
	probs := make([]float32, cfg.Batch*k)
	preds := make([]int32, cfg.Batch)
	bar := progress.New(cfg.Progress, "infer", int64(l.Len()), progress.Options{Unit: "img"})
	var firstBatch time.Duration
	var firstN int
	start := time.Now()
	it := l.Epoch(ctx, 0)
	defer it.Close()
	for first := true; ; first = false {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Result{}, fmt.Errorf("reading %s: %w", cfg.Data, err)
		}
		if first {
			if err := r.checkImages(b, cfg.Data, tf); err != nil {
				return Result{}, err
			}
		}
		n := b.N
		p := probs[:n*k]
		if err := r.predict(b.X[:n*b.C*b.H*b.W], n, p); err != nil {
			return Result{}, fmt.Errorf("batch %d (rows %d..%d of %s): %w", b.Index, b.Rows[0], b.Rows[n-1], cfg.Data, err)
		}
		b.Release()
		for i := 0; i < n; i++ {
			preds[i] = int32(argmax(p[i*k : (i+1)*k]))
		}
		if err := w.append(b.IDs, b.Rows, b.Labels, preds[:n], p); err != nil {
			return Result{}, err
		}
		if labelled {
			allProbs = append(allProbs, p...)
			for i, y := range b.Labels[:n] {
				allLabels = append(allLabels, int(y))
				groups = append(groups, ds.Row(b.Rows[i]).Group)
			}
		}
		bar.Add(int64(n), "")
		if first {
			firstBatch, firstN = time.Since(start), n
		}
	}
	if err := w.commit(); err != nil {
		return Result{}, err
	}
	elapsed := time.Since(start)
	bar.Done()
	res := Result{Output: cfg.Output, Rows: w.rows, Classes: meta.Classes, Elapsed: elapsed, ModelGivesProbabilities: r.mode == modeProbabilities}
	if elapsed > 0 {
		res.ImagesPerSec = float64(w.rows) / elapsed.Seconds()
	}
	res.FirstBatch = firstBatch
	if rest := elapsed - firstBatch; w.rows > firstN && rest > 0 {
		res.SteadyImagesPerSec = float64(w.rows-firstN) / rest.Seconds()
	}
	if labelled && k >= 2 {
		rep, err := metrics.Compute(allProbs, allLabels, k)
		if err != nil {
			return res, fmt.Errorf("scoring the predictions of %s (written to %s): %w", cfg.Model, cfg.Output, err)
		}
		res.Metrics = &rep
		if grouped(groups) {
			p, l, _, err := metrics.Aggregate(allProbs, allLabels, groups, k)
			if err != nil {
				return res, fmt.Errorf("per-study metrics of %s: %w", cfg.Model, err)
			}
			srep, err := metrics.Compute(p, l, k)
			if err != nil {
				return res, fmt.Errorf("per-study metrics of %s: %w", cfg.Model, err)
			}
			res.StudyMetrics = &srep
		}
	}
	return res, nil
}

// grouped reports whether every row has a study (group) id and some
// studies hold several rows.
func grouped(groups []string) bool {
	if len(groups) == 0 {
		return false
	}
	seen := map[string]bool{}
	for _, g := range groups {
		if g == "" {
			return false
		}
		seen[g] = true
	}
	return len(seen) < len(groups)
}

func checkConfig(cfg *Config) error {
	switch {
	case cfg.Model == "":
		return errors.New("no model given (an ONNX classifier)")
	case cfg.Data == "":
		return errors.New("no dataset given (an Arrow file or directory)")
	case cfg.Output == "":
		return errors.New("no output given (the predictions .arrow file to write)")
	case cfg.Batch < 0:
		return fmt.Errorf("batch %d, want at least 1 (0: the default)", cfg.Batch)
	case cfg.Workers < 0 || cfg.Prefetch < 0:
		return fmt.Errorf("workers %d, prefetch %d: want >= 0 (0: the default)", cfg.Workers, cfg.Prefetch)
	case cfg.Shard.N < 0 || (cfg.Shard.N > 0 && (cfg.Shard.K < 1 || cfg.Shard.K > cfg.Shard.N)):
		return fmt.Errorf("shard %d/%d: want K/N with 1 <= K <= N", cfg.Shard.K, cfg.Shard.N)
	case cfg.TTA && cfg.Policy == "":
		return errors.New("test-time augmentation (--tta) needs a policy model (--policy P.onnx)")
	case !cfg.TTA && cfg.Policy != "":
		return fmt.Errorf("a policy (%s) is only used for test-time augmentation: add --tta, or drop --policy", cfg.Policy)
	}
	switch cfg.Split {
	case "", "train", "val", "test":
	default:
		return fmt.Errorf("split %q: want train, val, test or \"\" (every row)", cfg.Split)
	}
	if sameFile(cfg.Output, cfg.Data) || sameFile(cfg.Output, cfg.Model) || (cfg.Policy != "" && sameFile(cfg.Output, cfg.Policy)) {
		return fmt.Errorf("output %s would replace an input; choose another file name", cfg.Output)
	}
	return nil
}

func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// How a model's first output is turned into probabilities; decided on the
// first batch.
const (
	modeUnknown = iota
	modeLogits
	modeProbabilities
)

// runner runs the classifier (and the TTA policy) with reused buffers.
type runner struct {
	model, policyPath string
	sess, policy      *ort.Session
	in, out           ort.ValueInfo
	polIn, polOut     ort.ValueInfo
	rule              apga.MaskRule // how the policy's output masks the images
	fallback          []bool        // per image of the batch: TTA scores the original alone
	classes           int
	fixedBatch        int  // the model's fixed batch size; 0 when dynamic
	direct            bool // RunInto the logits buffer (one rank-2 output)
	mode              int
	c, h, w           int // image size, known after the first batch
	logits            []float32
	padded            []float32
	probs2            []float32
}

func newRunner(cfg Config, opts ort.SessionOptions, classNames []string) (*runner, error) {
	classes := len(classNames)
	r := &runner{model: cfg.Model, policyPath: cfg.Policy, classes: classes}
	if classes < 1 {
		return nil, fmt.Errorf("dataset %s has no classes", cfg.Data)
	}
	var err error
	if r.sess, err = ort.NewSession(cfg.Model, opts); err != nil {
		return nil, err
	}
	ins, outs := r.sess.Inputs(), r.sess.Outputs()
	if len(ins) != 1 || len(outs) < 1 {
		r.close()
		return nil, fmt.Errorf("model %s has %d inputs and %d outputs; want one image input (N×C×H×W) and an output of N×%d logits",
			cfg.Model, len(ins), len(outs), classes)
	}
	r.in, r.out = ins[0], outs[0]
	if err := checkImageInput(r.in, "model", cfg.Model); err != nil {
		r.close()
		return nil, err
	}
	if r.out.ElemType != onnxio.DTypeFloat32 || len(r.out.Shape) < 2 {
		r.close()
		return nil, fmt.Errorf("model %s: output %q is %s %s; want float32 N×%d logits", cfg.Model, r.out.Name, r.out.ElemType, shapeString(r.out.Shape), classes)
	}
	if per := fixedProduct(r.out.Shape[1:]); per > 0 && per != classes {
		r.close()
		return nil, fmt.Errorf("model %s gives %d values per image (output %q is %s), but dataset %s has %d classes %s",
			cfg.Model, per, r.out.Name, shapeString(r.out.Shape), cfg.Data, classes, abbreviate(classNames))
	}
	r.fixedBatch = int(max(r.in.Shape[0], 0))
	r.direct = len(outs) == 1 && len(r.out.Shape) == 2
	if cfg.TTA {
		if r.policy, err = ort.NewSession(cfg.Policy, opts); err != nil {
			r.close()
			return nil, fmt.Errorf("policy: %w", err)
		}
		pins, pouts := r.policy.Inputs(), r.policy.Outputs()
		if len(pins) != 1 || len(pouts) < 1 {
			r.close()
			return nil, fmt.Errorf("policy %s has %d inputs and %d outputs; want one image input (N×C×H×W) and an output of N×1×H×W probabilities",
				cfg.Policy, len(pins), len(pouts))
		}
		r.polIn, r.polOut = pins[0], pouts[0]
		if r.rule, err = policyRule(cfg.Policy); err != nil {
			r.close()
			return nil, err
		}
		if err := checkImageInput(r.polIn, "policy", cfg.Policy); err != nil {
			r.close()
			return nil, err
		}
		if r.polOut.ElemType != onnxio.DTypeFloat32 {
			r.close()
			return nil, fmt.Errorf("policy %s: output %q is %s; want float32 N×1×H×W probabilities", cfg.Policy, r.polOut.Name, r.polOut.ElemType)
		}
		if pb := r.polIn.Shape[0]; pb > 0 && (r.fixedBatch == 0 || int(pb) != r.fixedBatch) {
			r.close()
			return nil, fmt.Errorf("policy %s takes batches of exactly %d images and model %s %s; both must take the same batches",
				cfg.Policy, pb, cfg.Model, batchWords(r.fixedBatch))
		}
	}
	return r, nil
}

func abbreviate(s []string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > 8 {
		return "(" + strings.Join(s[:8], ", ") + ", ...)"
	}
	return "(" + strings.Join(s, ", ") + ")"
}

func batchWords(fixed int) string {
	if fixed == 0 {
		return "takes any batch size"
	}
	return fmt.Sprintf("takes batches of %d", fixed)
}

func checkImageInput(in ort.ValueInfo, what, path string) error {
	if in.ElemType != onnxio.DTypeFloat32 || len(in.Shape) != 4 {
		return fmt.Errorf("%s %s: input %q is %s %s; want float32 images N×C×H×W", what, path, in.Name, in.ElemType, shapeString(in.Shape))
	}
	return nil
}

// fixedProduct returns the product of dims, or -1 when one is dynamic.
func fixedProduct(dims []int64) int {
	p := 1
	for _, d := range dims {
		if d < 0 {
			return -1
		}
		p *= int(d)
	}
	return p
}

// shapeString writes a shape as "N×3×224×224" (dynamic dimensions as "?"
// except a leading batch dimension, "N").
func shapeString(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		switch {
		case d >= 0:
			parts[i] = fmt.Sprint(d)
		case i == 0:
			parts[i] = "N"
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, "×") + "]"
}

// checkImages compares the first batch's images with what the model (and
// the policy) take.
func (r *runner) checkImages(b *loader.Batch, data string, tf transform.Pipeline) error {
	r.c, r.h, r.w = b.C, b.H, b.W
	check := func(in ort.ValueInfo, what, path string) error {
		want := in.Shape[1:]
		got := []int64{int64(b.C), int64(b.H), int64(b.W)}
		ok := true
		for i, d := range want {
			if d >= 0 && d != got[i] {
				ok = false
			}
		}
		if ok {
			return nil
		}
		var hint []string
		if want[0] >= 0 && want[0] != got[0] {
			hint = append(hint, fmt.Sprintf("channels=%d", want[0]))
		}
		if (want[1] >= 0 && want[1] != got[1]) || (want[2] >= 0 && want[2] != got[2]) {
			hint = append(hint, fmt.Sprintf("resize=%dx%d", max(want[1], 1), max(want[2], 1)))
		}
		spec := tf.String()
		if spec == "" {
			spec = "none"
		}
		return fmt.Errorf("%s %s takes images of C×H×W = %s (input %q is %s), but dataset %s gives %d×%d×%d after the transforms (%s): add %s to --transform",
			what, path, strings.Trim(shapeString(want), "[]"), in.Name, shapeString(in.Shape), data, b.C, b.H, b.W, spec, strings.Join(hint, ","))
	}
	if err := check(r.in, "model", r.model); err != nil {
		return err
	}
	if r.policy != nil {
		return check(r.polIn, "policy", r.policyPath)
	}
	return nil
}

// predict writes the class probabilities of the n images in x into dst
// (n×classes).
func (r *runner) predict(x []float32, n int, dst []float32) error {
	runN := n
	if r.fixedBatch > 0 && n < r.fixedBatch {
		// A model with a fixed batch size gets a zero-padded last batch.
		per := len(x) / n
		r.padded = grow(r.padded, r.fixedBatch*per)
		copy(r.padded, x)
		clear(r.padded[len(x):])
		x, runN = r.padded, r.fixedBatch
	}
	if err := r.classify(x, runN, n, dst); err != nil {
		return err
	}
	if r.policy == nil {
		return nil
	}
	masked, err := r.mask(x, runN)
	if err != nil {
		return err
	}
	r.probs2 = grow(r.probs2, len(dst))
	if err := r.classify(masked, runN, n, r.probs2); err != nil {
		return fmt.Errorf("classifying the masked images: %w", err)
	}
	k := r.classes
	for i, p := range r.probs2 {
		if r.fallback[i/k] {
			continue // a collapsed mask: the original alone
		}
		dst[i] = (dst[i] + p) / 2
	}
	return nil
}

// classify runs the classifier on runN images and writes the probabilities
// of the first n into dst.
func (r *runner) classify(x []float32, runN, n int, dst []float32) error {
	k := r.classes
	shape := []int64{int64(runN), int64(r.c), int64(r.h), int64(r.w)}
	input := map[string]ort.Tensor{r.in.Name: ort.Float32Tensor(shape, x)}
	var logits []float32
	if r.direct && r.mode != modeUnknown {
		r.logits = grow(r.logits, runN*k)
		logits = r.logits[:runN*k]
		out := map[string]ort.Tensor{r.out.Name: ort.Float32Tensor([]int64{int64(runN), int64(k)}, logits)}
		if err := r.sess.RunInto(input, out); err != nil {
			return err
		}
	} else {
		res, err := r.sess.Run(input)
		if err != nil {
			return err
		}
		t := res[r.out.Name]
		if len(t.Shape) == 0 || t.Shape[0] != int64(runN) || len(t.Float32) != runN*k {
			return fmt.Errorf("model %s gives output %q of shape %v for %d images; want %d×%d (one logit per class of the dataset's %d classes)",
				r.model, r.out.Name, t.Shape, runN, runN, k, k)
		}
		logits = t.Float32
	}
	logits = logits[:n*k]
	if r.mode == modeUnknown {
		r.mode = modeLogits
		if isDistribution(logits, k) {
			r.mode = modeProbabilities
		}
	}
	if r.mode == modeProbabilities {
		copy(dst, logits)
		return nil
	}
	softmax(logits, k, dst)
	return nil
}

// policyRule is the mask rule an APGA policy records (apga.MetadataKey);
// a policy without one masks as Algorithm 1 does: P > MaskThreshold kept,
// the rest 0.
func policyRule(path string) (apga.MaskRule, error) {
	mp, err := onnxio.Load(path)
	if err != nil {
		return apga.MaskRule{}, fmt.Errorf("policy: %w", err)
	}
	text := onnxio.MetadataValue(mp, apga.MetadataKey)
	if text == "" {
		return apga.MaskRule{Threshold: MaskThreshold, Fill: apga.FillZero, KeepMax: 1}, nil
	}
	rule, err := apga.ParseMaskRule(text)
	if err != nil {
		return rule, fmt.Errorf("policy %s: metadata %s: %w", path, apga.MetadataKey, err)
	}
	return rule, nil
}

// mask runs the policy on x and returns x masked by its rule (the pixels
// it keeps as they are, the rest filled), and marks in r.fallback the
// images whose mask keeps too little or too much of them.
func (r *runner) mask(x []float32, runN int) ([]float32, error) {
	shape := []int64{int64(runN), int64(r.c), int64(r.h), int64(r.w)}
	res, err := r.policy.Run(map[string]ort.Tensor{r.polIn.Name: ort.Float32Tensor(shape, x)})
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p := res[r.polOut.Name]
	hw := r.h * r.w
	okShape := len(p.Shape) == 4 && p.Shape[0] == int64(runN) && p.Shape[1] == 1 && p.Shape[2] == int64(r.h) && p.Shape[3] == int64(r.w)
	if !okShape || len(p.Float32) != runN*hw {
		return nil, fmt.Errorf("policy %s gives output %q of shape %v for images of %d×%d×%d×%d; want %d×1×%d×%d (one sigmoid channel at the input resolution)",
			r.policyPath, r.polOut.Name, p.Shape, runN, r.c, r.h, r.w, runN, r.h, r.w)
	}
	masked, kept, err := r.rule.Masked(x, p.Float32, runN, r.c, r.h, r.w)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", r.policyPath, err)
	}
	r.fallback = r.fallback[:0]
	for _, k := range kept {
		r.fallback = append(r.fallback, r.rule.Fallback(k))
	}
	return masked, nil
}

func (r *runner) close() {
	if r.sess != nil {
		r.sess.Close()
	}
	if r.policy != nil {
		r.policy.Close()
	}
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// isDistribution reports whether every row of v (rows of k values) is a
// probability distribution: values in [0,1] summing to 1.
func isDistribution(v []float32, k int) bool {
	for i := 0; i+k <= len(v); i += k {
		var s float64
		for _, p := range v[i : i+k] {
			if !(p >= -1e-6 && p <= 1+1e-6) {
				return false
			}
			s += float64(p)
		}
		if math.Abs(s-1) > 1e-4 {
			return false
		}
	}
	return true
}

// softmax writes the row-wise softmax of logits (rows of k) into dst, as
// metrics.Softmax computes it, without allocating.
func softmax(logits []float32, k int, dst []float32) {
	for i := 0; i+k <= len(logits); i += k {
		row, out := logits[i:i+k], dst[i:i+k]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var s float64
		for j, v := range row {
			e := math.Exp(float64(v - m))
			out[j] = float32(e)
			s += e
		}
		for j := range out {
			out[j] = float32(float64(out[j]) / s)
		}
	}
}

func argmax(row []float32) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}
