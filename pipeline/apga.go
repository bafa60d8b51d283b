package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/pipeline/report"
	"github.com/pgaug/pgaug/trainer/apga"
	"github.com/pgaug/pgaug/trainer/checkpoint"
	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/gradcam"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
	"github.com/pgaug/pgaug/trainer/saliency"
)

// APGAConfig configures `pgaug train apga`.
type APGAConfig struct {
	Common
	// Classifier and Policy are ONNX files or zoo:NAME (the policy: a
	// network with one sigmoid channel at input resolution, e.g.
	// zoo:ternausnet11).
	Classifier               string `fingerprint:",input"`
	Policy                   string `fingerprint:",input"`
	Freeze, PolicyFreeze     []string
	ClassifierOpt, PolicyOpt Optim // the learning rates are Method's
	Method                   apga.Config
	// PolicyInit "gradcam" first distils the classifier's Grad-CAM masks
	// into the policy for PolicyInitEpochs epochs (a stand-in for a
	// pretrained segmenter); "" starts APGA from the policy as it is.
	PolicyInit       string
	PolicyInitEpochs int
	// GridImages is the number of validation images in each mask grid
	// (0: 6; negative: no grids).
	GridImages int `fingerprint:"-"`
}

// TrainAPGA runs APGA (Algorithm 1) from two ONNX models to two ONNX
// models: OutDir/classifier.onnx and OutDir/policy.onnx, with the metrics
// log, checkpoints and a PNG mask grid per evaluation in OutDir/grids.
func TrainAPGA(ctx context.Context, cfg APGAConfig) (RunResult, error) {
	res := RunResult{Dir: cfg.OutDir, Method: "apga", Final: map[string]metrics.Report{}, Settings: cfg}
	d, err := openData(ctx, cfg.Common)
	if err != nil {
		return res, err
	}
	defer d.Close()
	cm, csrc, err := importSource(cfg.Classifier, d.classes, d.c, d.h, cfg.Seed, cfg.Freeze)
	if err != nil {
		return res, fmt.Errorf("classifier: %w", err)
	}
	pm, psrc, err := importPolicy(cfg.Policy, d.c, d.h, cfg.Seed+1, cfg.PolicyFreeze, cfg.Method.PolicyStart)
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
	mc := cfg.Method
	mc.Classes = d.classes
	cnet := netstep.New(cm, netstep.CrossEntropy)
	defer cnet.Close()
	pnet := netstep.New(pm, netstep.BinaryCrossEntropy)
	defer pnet.Close()
	method, err := apga.New(mc, cnet, pnet, copt, popt)
	if err != nil {
		return res, err
	}
	method.Saliency = saliencyEval(d)
	if method.Black, err = d.train.Config().Transform.BlackLevel(int(d.ds.Row(0).Channels)); err != nil {
		return res, fmt.Errorf("the black level of the training transform: %w", err)
	}
	grids := cfg.GridImages
	if grids == 0 {
		grids = 6
	}
	var sample *tensor.Dense
	if grids > 0 && d.val != nil {
		if sample, err = firstImages(ctx, d.val, grids); err != nil {
			return res, err
		}
		if err := os.MkdirAll(filepath.Join(cfg.OutDir, "grids"), 0o755); err != nil {
			return res, err
		}
	}
	contrasted := false           // a sampled policy's map had a contrast in some epoch
	pointing := map[int]float64{} // epoch → its last evaluation's mask_pointing
	hook := func(lc *fit.LoopConfig) {
		lc.OnEpoch = func(rec fit.EpochRecord) error {
			p, ok := pointing[rec.Epoch]
			kind, what := epochVerdict(rec.Mean, p, ok)
			switch {
			case kind == apga.NoCollapse:
				contrasted = true
			case cfg.Log == nil:
			case kind == apga.FlatMap && !contrasted:
				fmt.Fprintf(cfg.Log, "APGA epoch %d: the policy has not learned yet: %s\n", rec.Epoch, what)
			default:
				fmt.Fprintf(cfg.Log, "APGA epoch %d: the policy collapsed: %s\n", rec.Epoch, what)
			}
			return nil
		}
		lc.OnEval = func(ctx context.Context, ev fit.Eval) error {
			if p, ok := ev.Extra[saliency.KeyPointing]; ok {
				pointing[ev.Epoch] = p
			}
			if sample == nil {
				return nil
			}
			prob, masked, err := method.Masks(sample)
			if err != nil {
				return err
			}
			path := filepath.Join(cfg.OutDir, "grids", fmt.Sprintf("step-%07d.png", ev.Step))
			return drawMaskGrid(path, sample, prob, masked, mc.Threshold, fmt.Sprintf("APGA, step %d (epoch %d)", ev.Step, ev.Epoch))
		}
	}
	if err := policyInit(ctx, cfg, d, cm, method); err != nil {
		return res, err
	}
	if err := runMethod(ctx, &res, cfg.Common, d, method, "apga", cfg, hook, nil); err != nil {
		return res, err
	}
	notes, err := collapseNotes(filepath.Join(cfg.OutDir, MetricsLog))
	if err != nil {
		return res, err
	}
	for _, note := range notes {
		res.Warnings = append(res.Warnings, note)
		if cfg.Log != nil {
			fmt.Fprintln(cfg.Log, "APGA: "+note)
		}
	}
	if mc.TTA {
		// The final numbers above use TTA: keep them as such, and add the
		// plain ones.
		for _, split := range []string{"val", "test"} {
			if r, ok := res.Final[split]; ok {
				res.Final[split+"_tta"] = r
			}
		}
		method.Cfg.TTA = false
		if err := addFinal(ctx, &res, d, method, ""); err != nil {
			return res, err
		}
		method.Cfg.TTA = true
	} else {
		method.Cfg.TTA = true
		if err := addFinal(ctx, &res, d, method, "_tta"); err != nil {
			return res, err
		}
		method.Cfg.TTA = false
	}
	if note := pointingNote(res.Saliency["val"]); note != "" {
		res.Warnings = append(res.Warnings, note)
		if cfg.Log != nil {
			fmt.Fprintln(cfg.Log, "APGA: "+note)
		}
	}
	meta := baseMeta("apga", cfg.Common, d, csrc)
	meta["pgaug.optimizer"] = cfg.ClassifierOpt.String()
	meta["pgaug.policy"] = psrc
	meta["pgaug.apga"] = fmt.Sprintf("preset=%s lr_c=%g lr_p=%g baseline_decay=%g baseline_first=%v adv_scale=%g lambda_zeros=%g lambda_ones=%g lambdas_by_|adv|=%v adv_eval_mode=%v threshold=%g aid_keep=[%g,%g]",
		mc.Preset, mc.ClassifierLR, mc.PolicyLR, mc.BaselineDecay, mc.BaselineFirst, mc.AdvantageScale, mc.LambdaZeros, mc.LambdaOnes,
		mc.ScaleLambdasByAdvantage, mc.AdversarialEvalMode, mc.Threshold, method.Cfg.AidKeepMin, method.Cfg.AidKeepMax)
	res.Classifier = filepath.Join(cfg.OutDir, ClassifierFile)
	if err := exportModel(cm, res.Classifier, cfg.Version, withFinal(meta, res.Final)); err != nil {
		return res, err
	}
	rule, err := method.Rule(d.h, d.w)
	if err != nil {
		return res, err
	}
	pmeta := map[string]string{"pgaug.method": "apga-policy", "pgaug.role": "policy", "pgaug.source": psrc,
		"pgaug.threshold": fmt.Sprint(mc.Threshold), "pgaug.apga": meta["pgaug.apga"], "pgaug.dataset": meta["pgaug.dataset"],
		apga.MetadataKey: rule.String()}
	res.Policy = filepath.Join(cfg.OutDir, PolicyFile)
	if err := exportModel(pm, res.Policy, cfg.Version, pmeta); err != nil {
		return res, err
	}
	return res, writeJSONFile(filepath.Join(cfg.OutDir, SummaryFile), res)
}

// importPolicy imports an APGA policy (ONNX or zoo:NAME) with one output
// channel, starting it at probability start (0: as it is).
func importPolicy(spec string, channels, size int, seed uint64, freeze []string, start float64) (*importer.Model, string, error) {
	mp, desc, err := ModelSource(spec, 1, channels, size, seed)
	if err != nil {
		return nil, "", err
	}
	if start != 0 {
		bias, err := modelops.SetOutputProbability(mp, start)
		if err != nil {
			return nil, "", fmt.Errorf("starting %s at P = %g: %w", desc, start, err)
		}
		desc += fmt.Sprintf(" (%s set so that P starts at %g)", bias, start)
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

// policyInit distils the classifier's Grad-CAM masks into the policy
// (PolicyInit "gradcam") unless the run resumes from a checkpoint, which
// holds the policy as distilled and trained since.
func policyInit(ctx context.Context, cfg APGAConfig, d *runData, classifier *importer.Model, m *apga.Method) error {
	switch cfg.PolicyInit {
	case "", "none":
		return nil
	case "gradcam":
	default:
		return fmt.Errorf("policy initialisation %q: want none or gradcam", cfg.PolicyInit)
	}
	if cfg.Resume {
		if _, ok, err := checkpoint.Latest(filepath.Join(cfg.OutDir, "checkpoints")); err != nil || ok {
			return err
		}
	}
	epochs := cfg.PolicyInitEpochs
	if epochs <= 0 {
		epochs = DefaultPolicyInitEpochs
	}
	frozen, err := gradcam.FrozenCopy(classifier)
	if err != nil {
		return err
	}
	cam, err := gradcam.New(frozen, "")
	if err != nil {
		return fmt.Errorf("Grad-CAM of the classifier for the policy's start: %w", err)
	}
	defer cam.Close()
	target := func(x *tensor.Dense) ([]float32, error) {
		s := x.Shape()
		masks, _, err := cam.Masks(x.Data().([]float32), s[0], s[1], s[2], s[3])
		return masks, err
	}
	loss, err := m.Distil(ctx, d.train, epochs, optim.NewAdam(0), cfg.PolicyOpt.LR, target)
	if err != nil {
		return fmt.Errorf("distilling Grad-CAM masks into the policy: %w", err)
	}
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, "APGA: the policy learned the classifier's Grad-CAM masks (layer %s, cam > %g) for %d epochs first (loss %.4f)\n", cam.Layer(), cam.Threshold(), epochs, loss)
	}
	return nil
}

// DefaultPolicyInitEpochs is how long the Grad-CAM start trains the policy.
const DefaultPolicyInitEpochs = 2

// PointingLearned is the pointing score (on the val split, where the data
// have known regions) at which a policy counts as having learned what
// matters, whatever its map's contrast: a soft map whose maximum lies in
// the region is not flat.
const PointingLearned = 0.8

// epochVerdict is apga.Collapsed for an epoch's step means, except that a
// flat map (low contrast) whose evaluation pointed at the known regions
// (pointing ≥ PointingLearned, when hasPointing) counts as learned: the
// logit penalty keeps maps soft, and a soft map that points is not one that
// marks nothing in particular.
func epochVerdict(mean map[string]float64, pointing float64, hasPointing bool) (apga.Collapse, string) {
	kind, what := apga.Collapsed(mean)
	if kind == apga.FlatMap && hasPointing && pointing >= PointingLearned {
		return apga.NoCollapse, ""
	}
	return kind, what
}

// collapseNotes reads a run's epoch records and says in words in which
// epochs the policy collapsed: marked nothing or everything, or, once its
// map had a contrast, went flat again. Flat epochs before its first
// contrast are named as not yet learned, and a policy flat throughout as
// never having learned; an epoch whose evaluation pointed at the known
// regions is never called flat (epochVerdict). nil when every epoch was
// fine.
func collapseNotes(metricsLog string) ([]string, error) {
	rows, err := report.ReadJSONLines(metricsLog)
	if err != nil {
		return nil, err
	}
	type group struct {
		label  string
		epochs []int
	}
	var groups []*group
	byLabel := map[string]*group{}
	add := func(label string, epoch int) {
		g := byLabel[label]
		if g == nil {
			g = &group{label: label}
			byLabel[label] = g
			groups = append(groups, g)
		}
		g.epochs = append(g.epochs, epoch)
	}
	contrasted, epochs := false, 0
	pointing := map[int]float64{} // epoch → its last evaluation's mask_pointing
	for _, r := range rows {
		if r["kind"] == "eval" {
			e, _ := r["epoch"].(float64)
			if p, ok := r[saliency.KeyPointing].(float64); ok {
				pointing[int(e)] = p
			}
			continue
		}
		if r["kind"] != "epoch" {
			continue
		}
		raw, _ := r["mean"].(map[string]any)
		mean := map[string]float64{}
		for k, v := range raw {
			if f, ok := v.(float64); ok {
				mean[k] = f
			}
		}
		e, _ := r["epoch"].(float64)
		epochs++
		p, ok := pointing[int(e)]
		kind, what := epochVerdict(mean, p, ok)
		switch {
		case kind == apga.NoCollapse:
			contrasted = true
		case kind == apga.FlatMap && !contrasted:
			add("had not learned yet in epochs %s ("+collapseKind(what)+")", int(e))
		default:
			add("collapsed in epochs %s ("+collapseKind(what)+")", int(e))
		}
	}
	var notes []string
	for _, g := range groups {
		if !contrasted && len(g.epochs) == epochs && strings.HasPrefix(g.label, "had not learned") {
			notes = append(notes, fmt.Sprintf("the policy never learned: its map was flat in every epoch (%s)", epochList(g.epochs)))
			continue
		}
		notes = append(notes, "the policy "+fmt.Sprintf(g.label, epochList(g.epochs)))
	}
	return notes, nil
}

// pointingNote says so when the data's known regions show that the final
// policy marks something else: its maximum lies in the region on fewer than
// half of the val images, or its mask overlaps the regions no better than a
// random mask of the same area (within a factor of 1.5). "" otherwise, and
// when the data have no regions.
func pointingNote(val map[string]float64) string {
	pointing, ok := val[saliency.KeyPointing]
	if !ok {
		return ""
	}
	iou, rnd := val[saliency.KeyIoU], val[saliency.KeyIoURandom]
	switch {
	case pointing < 0.5:
		return fmt.Sprintf("the policy does not point at the known regions: its maximum lies in the region on %.0f%% of the val images (mask IoU %.3f, a random mask's %.3f)", 100*pointing, iou, rnd)
	case iou < 1.5*rnd:
		return fmt.Sprintf("the policy's mask overlaps the known regions no better than chance: IoU %.3f against a random mask's %.3f (pointing %.2f)", iou, rnd, pointing)
	}
	return ""
}

// collapseKind is Collapsed's description without its numbers, so that
// epochs that collapsed the same way are named together.
func collapseKind(what string) string {
	if i := strings.LastIndex(what, ": "); i >= 0 {
		return strings.TrimSpace(what[i+2:])
	}
	return what
}

// epochList writes epoch numbers as ranges: 1-3, 5.
func epochList(e []int) string {
	var parts []string
	for i := 0; i < len(e); {
		j := i
		for j+1 < len(e) && e[j+1] == e[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", e[i], e[j]))
		} else {
			parts = append(parts, fmt.Sprint(e[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// addFinal scores m on val and test under keys with a suffix.
func addFinal(ctx context.Context, res *RunResult, d *runData, m fit.Method, suffix string) error {
	for _, s := range []struct {
		name string
		l    *loader.Loader
	}{{"val", d.val}, {"test", d.test}} {
		if s.l == nil {
			continue
		}
		r, err := m.Evaluate(ctx, s.l)
		if err != nil {
			return fmt.Errorf("evaluation on %s: %w", s.name, err)
		}
		res.Final[s.name+suffix] = r
		if x, ok := m.(fit.ExtraEvaluator); ok && suffix == "" {
			extra, err := x.EvaluateExtra(ctx, s.l)
			if err != nil {
				return fmt.Errorf("saliency scores on %s: %w", s.name, err)
			}
			if len(extra) > 0 {
				if res.Saliency == nil {
					res.Saliency = map[string]map[string]float64{}
				}
				res.Saliency[s.name] = extra
			}
		}
	}
	return nil
}

// firstImages returns up to n images from the start of l as a tensor.
func firstImages(ctx context.Context, l *loader.Loader, n int) (*tensor.Dense, error) {
	it := l.Epoch(ctx, 0)
	defer it.Close()
	b, err := it.Next()
	if err != nil {
		return nil, fmt.Errorf("reading images for the mask grids: %w", err)
	}
	defer b.Release()
	n = min(n, b.N)
	sz := b.C * b.H * b.W
	return tensor.New(tensor.WithShape(n, b.C, b.H, b.W), tensor.WithBacking(append([]float32(nil), b.X[:n*sz]...))), nil
}
