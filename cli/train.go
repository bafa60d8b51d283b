package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/pipeline"
	"github.com/pgaug/pgaug/trainer/apga"
)

// trainCommands returns the commands of the "train" group.
func trainCommands() []*cli.Command {
	return []*cli.Command{trainBaselineCommand(), trainAPGACommand(), trainNoiseMaskCommand(), trainFinetuneCommand()}
}

// loopDefaults are a trainer's defaults for the shared flags.
type loopDefaults struct {
	epochs, batch       int
	schedule            string
	warmup, stepEvery   float64
	gamma               float64
	evalEvery, patience int
}

// commonFlags are the flags every trainer shares: data, run directory, loop,
// checkpoints, schedule, seed.
func commonFlags(d loopDefaults) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data", Required: true, Usage: "Arrow dataset (file or directory) with train, val (and test) splits"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Required: true, Usage: "run directory: classifier.onnx, metrics.jsonl, checkpoints/, summary.json"},
		&cli.IntFlag{Name: "epochs", Value: d.epochs},
		&cli.IntFlag{Name: "batch", Value: d.batch},
		&cli.IntFlag{Name: "eval-every", Value: d.evalEvery, Usage: "evaluate and checkpoint every N steps too (0: each epoch only)"},
		&cli.StringFlag{Name: "select", Value: "accuracy", Usage: "validation metric of best-model selection: accuracy, balanced_accuracy, macro_f1, auroc or loss"},
		&cli.IntFlag{Name: "patience", Value: d.patience, Usage: "stop after N epochs without a better validation metric (0: never)"},
		&cli.IntFlag{Name: "keep", Value: 3, Usage: "checkpoints to keep (besides best.pgck)"},
		&cli.BoolFlag{Name: "resume", Usage: "continue from the newest checkpoint in the run directory"},
		&cli.StringFlag{Name: "schedule", Value: d.schedule, Usage: "learning-rate schedule: constant, cosine (--warmup) or step (--step-every, --gamma)"},
		&cli.Float64Flag{Name: "warmup", Value: d.warmup, Usage: "linear warm-up, in epochs (cosine)"},
		&cli.Float64Flag{Name: "step-every", Value: d.stepEvery, Usage: "epochs between decays (step)"},
		&cli.Float64Flag{Name: "gamma", Value: d.gamma, Usage: "decay factor (step)"},
		&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seeds the initialisation, shuffling, augmentation and sampling"},
		&cli.IntFlag{Name: "workers", Usage: "data loading goroutines (0: one per CPU)"},
		&cli.IntFlag{Name: "per-class", Usage: "train on N images per class, drawn with the seed (the data-constrained regime; 0: all)"},
		&cli.StringFlag{Name: "train-transform", Usage: "training transform, e.g. randomresizedcrop=224:0.08-1,hflip=0.5,normalize=0.3162:0.3213 (default: the dataset's normalisation)"},
		&cli.StringFlag{Name: "eval-transform", Usage: "evaluation transform, e.g. resize=256,centercrop=224,normalize=0.3162:0.3213 (default: the dataset's normalisation)"},
	}
}

func commonFrom(c *cli.Context) pipeline.Common {
	return pipeline.Common{
		Data: c.String("data"), OutDir: c.String("output"), Epochs: c.Int("epochs"), Batch: c.Int("batch"),
		EvalEvery: c.Int("eval-every"), Select: c.String("select"), Patience: c.Int("patience"), Keep: c.Int("keep"),
		Resume: c.Bool("resume"), Schedule: c.String("schedule"), Warmup: c.Float64("warmup"), StepEvery: c.Float64("step-every"),
		Gamma: c.Float64("gamma"), Seed: c.Uint64("seed"), Workers: c.Int("workers"), PerClass: c.Int("per-class"),
		TrainTransform: c.String("train-transform"), EvalTransform: c.String("eval-transform"), Version: Version, Log: c.App.Writer,
	}
}

// optimDefaults are an optimizer's flag defaults; prefix names the network
// ("" for the classifier, "policy-").
type optimDefaults struct {
	prefix, name     string
	lr, momentum, wd float64
}

func optimFlags(d optimDefaults) []cli.Flag {
	p := d.prefix
	return []cli.Flag{
		&cli.StringFlag{Name: p + "optimizer", Value: d.name, Usage: "sgd, adam or adamw"},
		&cli.Float64Flag{Name: p + "lr", Value: d.lr, Usage: "learning rate"},
		&cli.Float64Flag{Name: p + "momentum", Value: d.momentum, Usage: "SGD momentum"},
		&cli.BoolFlag{Name: p + "nesterov", Usage: "Nesterov momentum (SGD)"},
		&cli.Float64Flag{Name: p + "weight-decay", Value: d.wd},
	}
}

func optimFrom(c *cli.Context, prefix string) pipeline.Optim {
	return pipeline.Optim{Name: c.String(prefix + "optimizer"), LR: c.Float64(prefix + "lr"), Momentum: c.Float64(prefix + "momentum"),
		Nesterov: c.Bool(prefix + "nesterov"), WeightDecay: c.Float64(prefix + "weight-decay")}
}

func flags(groups ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// reportRun prints where a run's outputs are and its final metrics.
func reportRun(c *cli.Context, res pipeline.RunResult) {
	w := c.App.Writer
	for _, split := range []string{"val", "test", "val_tta", "test_tta"} {
		if r, ok := res.Final[split]; ok {
			fmt.Fprintf(w, "%-9s n=%d  accuracy %.4f  balanced accuracy %.4f  macro F1 %.4f  AUROC %.4f\n", split, r.N, r.Accuracy, r.BalancedAcc, r.MacroF1, r.AUROC)
		}
	}
	if res.Loop.Stopped != "" {
		fmt.Fprintln(w, res.Loop.Stopped)
	}
	fmt.Fprintf(w, "wrote %s\n", res.Classifier)
	if res.Policy != "" {
		fmt.Fprintf(w, "wrote %s\n", res.Policy)
	}
	fmt.Fprintf(w, "run directory: %s (metrics log %s)\n", res.Dir, filepath.Join(res.Dir, pipeline.MetricsLog))
}

func trainBaselineCommand() *cli.Command {
	return &cli.Command{
		Name:      "baseline",
		Usage:     "plain supervised training, and the augmentation baselines (cutout, gradcam, cutmix)",
		ArgsUsage: "--model M.onnx --data D -o RUNDIR",
		Description: "Imports the classifier as a trainable gorgonia graph and trains it with softmax cross-entropy on\n" +
			"the train split (seeded shuffling, drop-last batches), evaluating on the val split every epoch\n" +
			"(and every --eval-every steps), keeping the best model on --select, and exports it to\n" +
			"RUNDIR/classifier.onnx with its provenance in the metadata.\n\n" +
			"--aug cutout|gradcam trains 1:1 on the original batch and its augmented copy (the APGA paper's\n" +
			"baselines); gradcam masks come from a frozen copy of --gradcam-model (default: --model) at\n" +
			"--gradcam-layer (default: its last 4-D feature map), top-1 class, cam > 0.5 kept.\n" +
			"--aug cutmix mixes a batch with a shuffled copy with probability --cutmix-prob.",
		Flags: flags(
			[]cli.Flag{
				&cli.StringFlag{Name: "model", Required: true, Usage: "ONNX classifier to start from, or zoo:NAME"},
				&cli.StringSliceFlag{Name: "freeze", Usage: "freeze parameters matching a glob (or re:REGEXP); repeatable"},
				&cli.StringFlag{Name: "aug", Value: "none", Usage: "none, cutout, gradcam or cutmix"},
				&cli.IntFlag{Name: "cutout-size", Value: 16, Usage: "side of the square Cutout erases, in pixels"},
				&cli.Float64Flag{Name: "cutmix-alpha", Value: 1, Usage: "CutMix's Beta(α, α)"},
				&cli.Float64Flag{Name: "cutmix-prob", Value: 0.5, Usage: "probability that a batch is mixed"},
				&cli.StringFlag{Name: "gradcam-model", Usage: "frozen classifier for Grad-CAM masks (default: --model)"},
				&cli.StringFlag{Name: "gradcam-layer", Usage: "layer (ONNX value) of the Grad-CAM maps (default: the last 4-D feature map)"},
				&cli.Float64Flag{Name: "gradcam-threshold", Value: 0.5, Usage: "keep pixels whose min-max scaled cam exceeds this"},
				&cli.BoolFlag{Name: "aug-batch-stats", Usage: "train the cutout/gradcam copies on their own BatchNorm batch statistics, leaving the running ones to the original images"},
			},
			commonFlags(loopDefaults{epochs: 10, batch: 32, schedule: "cosine"}),
			optimFlags(optimDefaults{name: "sgd", lr: 0.01, momentum: 0.9, wd: 1e-4}),
		),
		Action: func(c *cli.Context) error {
			res, err := pipeline.Train(c.Context, pipeline.TrainConfig{
				Common: commonFrom(c), Model: c.String("model"), Freeze: c.StringSlice("freeze"), Opt: optimFrom(c, ""),
				Aug: c.String("aug"), CutoutSize: c.Int("cutout-size"), CutMixAlpha: c.Float64("cutmix-alpha"), CutMixProb: c.Float64("cutmix-prob"),
				GradCAMModel: c.String("gradcam-model"), GradCAMLayer: c.String("gradcam-layer"), GradCAMThreshold: c.Float64("gradcam-threshold"),
				AugBatchStats: c.Bool("aug-batch-stats"),
			})
			if err != nil {
				return fmt.Errorf("train baseline: %w", err)
			}
			reportRun(c, res)
			return nil
		},
	}
}

func trainAPGACommand() *cli.Command {
	return &cli.Command{
		Name:      "apga",
		Usage:     "Adversarial Policy Gradient Augmentation: a segmentation policy's masks augment the classifier 1:1",
		ArgsUsage: "--classifier C.onnx [--policy P.onnx] --data D -o RUNDIR",
		Description: "A segmentation policy learns by REINFORCE which pixels matter to the classifier: erasing what\n" +
			"it marks should raise the classifier's loss (the reward). Its masks, keeping what it marks, then\n" +
			"train the classifier 1:1 with the original images. Algorithm 1 of the APGA paper, per batch: a\n" +
			"classifier step on the images; the policy's map P; the images with the pixels P > 0.5 erased;\n" +
			"the reward R = L_erased − L_orig against an average b; the policy loss BCE(P,A)·(R−b) +\n" +
			"λ_zeros·BCE(P,0) with the action A = P > 0.5; a classifier step on the images with P > 0.5 kept.\n\n" +
			"--preset paper: that text, Adam 1e-4 for both networks, baseline decay 0.5, λ_zeros 0.1.\n" +
			"--preset reference: the authors' published code: policy loss 100·BCE(P,A)·R' + 0.1·|R'|·BCE(P,0)\n" +
			"+ 0.01·|R'|·BCE(P,1), baseline updated before the advantage, the erased loss in evaluation mode,\n" +
			"Adam 1e-5, model selection every 100 steps, early stop after 15 epochs, and 3-channel images in\n" +
			"[0,1] without normalisation where the classifier takes that (a classifier trained by pgaug is fed\n" +
			"what it was trained on). Both need a policy that already segments (the published code starts from\n" +
			"a pretrained TernausNet): one scalar reward per batch pushes every pixel the same way, so a\n" +
			"policy from scratch marks all or nothing (the log says so: \"the policy collapsed\").\n" +
			"--preset sampled: Bernoulli actions per cell of a grid (cells of 4×4 pixels; --mask-grid), 4\n" +
			"samples per image (--samples) each with its own reward and a leave-one-out baseline, so a cell is\n" +
			"pushed up only when erasing it hurt more than the image's other samples did; the marked share held\n" +
			"at --keep-target 0.1 by a penalty (--keep-weight, warming down from the policy's start 0.25 over\n" +
			"--keep-warmup 100 steps), an entropy bonus 0.001, the advantages divided by their batch root mean\n" +
			"square (--advantage-norm) so the rewards' growth does not outweigh the keep penalty, a logit\n" +
			"penalty 0.003·logit(q)²/2 per cell (--logit-penalty) that holds cells back from saturating at\n" +
			"exactly 1 (a maximum shared by many cells), erased pixels filled from a blurred copy\n" +
			"(--fill), the aid mask the 10% most likely cells (--aid-mask), the aid step on its own batch\n" +
			"statistics; Adam 3e-3 for the policy from scratch, 1e-5 for the converged classifier, both under\n" +
			"a cosine schedule (the others: constant; --schedule overrides). A step costs\n" +
			"a classifier pass over 5× the batch besides Algorithm 1's passes.\n" +
			"--preset sampled is the default: on synthetic data whose structure is known its policy, from\n" +
			"scratch, points at the structure (README: APGA's evidence), where paper and reference mark\n" +
			"nothing in particular.\n" +
			"Any flag given overrides the preset. --policy-init gradcam first trains the policy on the\n" +
			"classifier's Grad-CAM masks. The exported policy is the last one; the classifier the best on\n" +
			"validation. Where the data have region masks (the synthetic data do), every evaluation scores the\n" +
			"masks against them (mask_keep, mask_iou, mask_iou_topk, mask_pointing, mask_iou_random), and on\n" +
			"any data by deletion and insertion AUC.\n\n" +
			"The classifier should be trained to convergence first (pgaug train baseline). Outputs:\n" +
			"RUNDIR/classifier.onnx, RUNDIR/policy.onnx, metrics.jsonl, checkpoints/, and grids/step-N.png\n" +
			"(image | policy probability | aid mask | masked image) at each evaluation.",
		Flags: flags(
			[]cli.Flag{
				&cli.StringFlag{Name: "classifier", Required: true, Usage: "ONNX classifier (trained to convergence), or zoo:NAME"},
				&cli.StringFlag{Name: "policy", Value: "zoo:ternausnet11", Usage: "segmentation policy: ONNX with one sigmoid channel at input resolution, or zoo:NAME"},
				&cli.StringSliceFlag{Name: "freeze", Usage: "freeze classifier parameters matching a glob (or re:REGEXP)"},
				&cli.StringSliceFlag{Name: "policy-freeze", Usage: "freeze policy parameters matching a glob (or re:REGEXP)"},
				&cli.StringFlag{Name: "preset", Value: "sampled", Usage: "sampled (the default: per-image sampled actions; see above), paper, or reference (the published code's constants)"},
				&cli.Float64Flag{Name: "baseline-decay", Usage: "EMA decay of the reward baseline (preset: 0.5)"},
				&cli.BoolFlag{Name: "baseline-first", Usage: "update the baseline before taking the advantage (preset reference)"},
				&cli.Float64Flag{Name: "adv-scale", Usage: "scale of BCE(P,A)·(R−b) (preset: 1 paper, 100 reference)"},
				&cli.Float64Flag{Name: "lambda-zeros", Usage: "weight of BCE(P,0) (preset: 0.1)"},
				&cli.Float64Flag{Name: "lambda-ones", Usage: "weight of BCE(P,1) (preset: 0 paper, 0.01 reference)"},
				&cli.BoolFlag{Name: "scale-lambdas", Usage: "multiply the λ terms by |R−b| (preset reference)"},
				&cli.BoolFlag{Name: "adv-eval-mode", Usage: "compute L_adv with the classifier in evaluation mode (preset reference)"},
				&cli.Float64Flag{Name: "threshold", Usage: "mask threshold on P (preset: 0.5)"},
				&cli.Float64Flag{Name: "aid-min-keep", Usage: "collapse guard: skip the aid-mask classifier step when the aid mask keeps less than this fraction of the batch's pixels (0: off, as Algorithm 1; 0.02 guards against a policy that blanks everything)"},
				&cli.Float64Flag{Name: "aid-max-keep", Value: 1, Usage: "collapse guard: skip the aid-mask classifier step when the aid mask keeps more than this fraction (1: off)"},
				&cli.BoolFlag{Name: "tta", Usage: "select and report with test-time augmentation (mean softmax of the image and its aid-masked copy)"},
				&cli.IntFlag{Name: "mask-grid", Usage: "sampled: one action per cell of a G×G grid (0: cells of 4×4 pixels where the side allows)"},
				&cli.IntFlag{Name: "samples", Usage: "sampled: actions K sampled per image, with the leave-one-out baseline (preset: 4)"},
				&cli.Float64Flag{Name: "keep-target", Usage: "sampled: the fraction κ of the image the policy should mark (preset: 0.1)"},
				&cli.StringFlag{Name: "keep-mode", Usage: "sampled: hold κ by a penalty or a Lagrange multiplier (penalty, lagrange)"},
				&cli.Float64Flag{Name: "keep-weight", Usage: "sampled: the penalty's weight, or the multiplier's step (preset: 1)"},
				&cli.IntFlag{Name: "keep-warmup", Usage: "sampled: steps over which the target goes from the first batch's keep to κ"},
				&cli.Float64Flag{Name: "entropy", Usage: "sampled: weight β of the entropy bonus β·H(q) (preset: 0.001)"},
				&cli.StringFlag{Name: "advantage-norm", Usage: "sampled: batch (divide each batch's advantages by their root mean square; preset) or none"},
				&cli.Float64Flag{Name: "logit-penalty", Usage: "sampled: weight λ of λ·logit(q)²/2 per cell, holding cells back from saturation (preset: 0.003; 0: off)"},
				&cli.StringFlag{Name: "aid-mask", Usage: "sampled: the aid mask: top (the keep target's share of most likely cells) or threshold (q > 0.5)"},
				&cli.BoolFlag{Name: "aid-sample", Usage: "sampled: the aid step on a sampled mask instead of q > 0.5"},
				&cli.BoolFlag{Name: "aid-batch-stats", Usage: "train the aid step on the aid batch's BatchNorm statistics without folding them into the running ones"},
				&cli.StringFlag{Name: "policy-init", Value: "none", Usage: "gradcam: first train the policy for --policy-init-epochs on the classifier's Grad-CAM masks (a stand-in for a pretrained segmenter); none"},
				&cli.IntFlag{Name: "policy-init-epochs", Value: 2, Usage: "epochs of the --policy-init gradcam start"},
				&cli.Float64Flag{Name: "policy-start", Usage: "start the policy at probability P everywhere (the bias of its last layer set to logit(P)); 0: as initialised"},
				&cli.StringFlag{Name: "fill", Usage: "sampled: what erased pixels become: zero (0 in the normalised input), black (a black pixel's value), blur (a blurred copy)"},
				&cli.IntFlag{Name: "grid-images", Value: 6, Usage: "validation images per mask grid (negative: no grids)"},
			},
			commonFlags(loopDefaults{epochs: 20, batch: 25}),
			optimFlags(optimDefaults{name: "adam", lr: 1e-4}),
			[]cli.Flag{
				&cli.StringFlag{Name: "policy-optimizer", Value: "adam", Usage: "sgd, adam or adamw"},
				&cli.Float64Flag{Name: "policy-lr", Value: 1e-4, Usage: "the policy's learning rate (preset: 1e-4 paper, 1e-5 reference)"},
				&cli.Float64Flag{Name: "policy-momentum", Usage: "SGD momentum of the policy"},
				&cli.BoolFlag{Name: "policy-nesterov"},
				&cli.Float64Flag{Name: "policy-weight-decay"},
			},
		),
		Action: func(c *cli.Context) error {
			mc, err := apga.Preset(c.String("preset"))
			if err != nil {
				return err
			}
			common := commonFrom(c)
			copt, popt := optimFrom(c, ""), optimFrom(c, "policy-")
			if mc.Preset == "reference" || mc.Preset == "sampled" {
				if !c.IsSet("lr") {
					copt.LR = mc.ClassifierLR
				}
				if !c.IsSet("policy-lr") {
					popt.LR = mc.PolicyLR
				}
			}
			if !c.IsSet("schedule") && mc.Schedule != "" {
				common.Schedule = mc.Schedule
			}
			if mc.Preset == "reference" {
				if !c.IsSet("eval-every") {
					common.EvalEvery = 100
				}
				if !c.IsSet("patience") {
					common.Patience = 15
				}
				if !c.IsSet("train-transform") || !c.IsSet("eval-transform") {
					spec, why, err := referenceTransform(c.String("classifier"))
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "preset reference: %s\n", why)
					if !c.IsSet("train-transform") && spec != "" {
						common.TrainTransform = spec
					}
					if !c.IsSet("eval-transform") && spec != "" {
						common.EvalTransform = spec
					}
				}
			}
			mc.ClassifierLR, mc.PolicyLR = copt.LR, popt.LR
			if c.IsSet("baseline-decay") {
				mc.BaselineDecay = c.Float64("baseline-decay")
			}
			if c.IsSet("baseline-first") {
				mc.BaselineFirst = c.Bool("baseline-first")
			}
			if c.IsSet("adv-scale") {
				mc.AdvantageScale = c.Float64("adv-scale")
			}
			if c.IsSet("lambda-zeros") {
				mc.LambdaZeros = c.Float64("lambda-zeros")
			}
			if c.IsSet("lambda-ones") {
				mc.LambdaOnes = c.Float64("lambda-ones")
			}
			if c.IsSet("scale-lambdas") {
				mc.ScaleLambdasByAdvantage = c.Bool("scale-lambdas")
			}
			if c.IsSet("adv-eval-mode") {
				mc.AdversarialEvalMode = c.Bool("adv-eval-mode")
			}
			if c.IsSet("threshold") {
				mc.Threshold = c.Float64("threshold")
			}
			if c.IsSet("aid-min-keep") {
				mc.AidKeepMin = c.Float64("aid-min-keep")
			}
			if c.IsSet("aid-max-keep") || mc.AidKeepMax == 0 {
				mc.AidKeepMax = c.Float64("aid-max-keep")
			}
			mc.TTA = c.Bool("tta")
			for _, f := range []struct {
				name string
				dst  *int
			}{{"mask-grid", &mc.MaskGrid}, {"samples", &mc.Samples}, {"keep-warmup", &mc.KeepWarmup}} {
				if c.IsSet(f.name) {
					*f.dst = c.Int(f.name)
				}
			}
			for _, f := range []struct {
				name string
				dst  *float64
			}{{"keep-target", &mc.KeepTarget}, {"keep-weight", &mc.KeepWeight}, {"entropy", &mc.Entropy}, {"logit-penalty", &mc.LogitPenalty}} {
				if c.IsSet(f.name) {
					*f.dst = c.Float64(f.name)
				}
			}
			if c.IsSet("keep-mode") {
				mc.KeepMode = c.String("keep-mode")
			}
			if c.IsSet("advantage-norm") {
				mc.AdvantageNorm = c.String("advantage-norm")
			}
			if c.IsSet("policy-start") {
				mc.PolicyStart = c.Float64("policy-start")
			}
			if c.IsSet("fill") {
				mc.Fill = c.String("fill")
			}
			if c.IsSet("aid-batch-stats") {
				mc.AidBatchStats = c.Bool("aid-batch-stats")
			}
			if c.IsSet("aid-mask") {
				mc.AidMask = c.String("aid-mask")
			}
			if c.IsSet("aid-sample") {
				mc.AidSample = c.Bool("aid-sample")
			}
			mc.Seed = common.Seed + 4
			res, err := pipeline.TrainAPGA(c.Context, pipeline.APGAConfig{
				Common: common, Classifier: c.String("classifier"), Policy: c.String("policy"),
				Freeze: c.StringSlice("freeze"), PolicyFreeze: c.StringSlice("policy-freeze"),
				ClassifierOpt: copt, PolicyOpt: popt, Method: mc, GridImages: c.Int("grid-images"),
				PolicyInit: c.String("policy-init"), PolicyInitEpochs: c.Int("policy-init-epochs"),
			})
			if err != nil {
				return fmt.Errorf("train apga: %w", err)
			}
			reportRun(c, res)
			return nil
		},
	}
}

func trainNoiseMaskCommand() *cli.Command {
	return &cli.Command{
		Name:      "noisemask",
		Usage:     "heat a classifier with the policy-gradient Beta noise mask",
		ArgsUsage: "--classifier C.onnx --data D -o RUNDIR",
		Description: "The noise-mask method: a light policy network (ResNet-10t features and a 2·G²-way head: a and\n" +
			"b of a G×G grid) gives image-level parameters, mixed with dataset-level ones (τ_i 0.9; EMA τ_d\n" +
			"0.99); α = exp(a), β = exp(b); M ~ Beta(α, β) is up-sampled, blurred and multiplied into the\n" +
			"normalised image while the classifier trains.\n\n" +
			"Loss forms, with S = mean_b(logsumexp_cells(log p)), the batch's log-density factor:\n" +
			"  --loss paper: the published S·CE for both networks. The classifier's gradient is\n" +
			"    multiplied by S, which is not of order 1 (about 6 on PneumoniaMNIST) and can be negative: its\n" +
			"    effective learning rate is |S|·--lr, and its step is reversed while S < 0.\n" +
			"  --loss reinforce: the policy minimises mean_b(Σ log p)·(CE − baseline), the classifier CE.\n" +
			"  --loss scaled (default): S·CE/S̄, S̄ a running mean of |S| (EMA with --baseline-decay, from the\n" +
			"    first batch's |S|, at least 1e-3): the classifier's gradient is multiplied by S/S̄, about ±1,\n" +
			"    so --lr is its learning rate while batches still weigh by their S; the policy's gradient is\n" +
			"    CE/S̄·dS, the gradient of the same loss. The default because the paper form as written\n" +
			"    (lr 0.05, unbounded a, b) collapsed or overflowed on 3 of 3 PneumoniaMNIST seeds (README).\n" +
			"--param-bound L maps the policy's outputs a, b to L·tanh(a/L) (the dataset-level parameters are\n" +
			"clamped to [−L, L]), so α, β ∈ [e^−L, e^L] (L 3: [0.05, 20]): exp cannot run away to 0 or\n" +
			"overflow. 0 is unbounded; the default is 3 with --loss scaled, 0 with paper and reinforce.\n" +
			"The metrics log's step records show a_img_mean, b_img_mean (log space), a_dataset_mean,\n" +
			"b_dataset_mean, alpha_mean, beta_mean, objective (S), classifier_grad_scale and s_bar, and\n" +
			"RUNDIR/noise-params.png draws the first four over the steps: a run heating away shows there.\n" +
			"--noise-start-mean m --noise-start-std s start every cell's noise at that mean and standard\n" +
			"deviation (the dataset-level parameters and the policy's output bias are set to them; for Beta\n" +
			"α+β = m(1−m)/s² − 1) in place of the paper's random start (a, b ~ N(0, 1): noise of mean about\n" +
			"0.5 that darkens half of every image). They must lie inside --param-bound.\n\n" +
			"The classifier that comes out is the heated model: fine-tune it with 'pgaug train finetune'.\n" +
			"Outputs: RUNDIR/classifier.onnx (the heated model, its metadata says how it was heated),\n" +
			"RUNDIR/policy.onnx, dataset_params.json (a/b of the dataset), grids/step-N.png (image | noise\n" +
			"matrix | masked image) and histogram.png (original vs masked intensities, the paper's Fig. 6).",
		Flags: flags(
			[]cli.Flag{
				&cli.StringFlag{Name: "classifier", Required: true, Usage: "ONNX classifier, or zoo:NAME (the paper: zoo:resnet50)"},
				&cli.StringFlag{Name: "policy", Value: "zoo:resnet10t", Usage: "policy feature extractor: zoo:NAME or an ONNX classifier (its head becomes the 2·G² heads)"},
				&cli.StringSliceFlag{Name: "freeze", Usage: "freeze classifier parameters matching a glob (or re:REGEXP)"},
				&cli.StringSliceFlag{Name: "policy-freeze", Usage: "freeze policy parameters matching a glob (or re:REGEXP)"},
				&cli.StringFlag{Name: "loss", Value: "scaled", Usage: "paper (S·CE, S = mean logsumexp log p), reinforce (Σ log p·(CE − baseline)) or scaled (S/S̄·CE, S̄ a running mean of |S|)"},
				&cli.StringFlag{Name: "noise", Value: "beta", Usage: "noise model: beta, gaussian or uniform"},
				&cli.StringFlag{Name: "grid", Value: "64", Usage: "noise grid side G: 32, 64, … or pure (the image size)"},
				&cli.StringFlag{Name: "upsample", Value: "nearest", Usage: "nearest or bilinear"},
				&cli.IntFlag{Name: "blur-kernel", Value: 13, Usage: "Gaussian blur kernel (odd; 0: no blur)"},
				&cli.Float64Flag{Name: "blur-sigma", Value: 6, Usage: "Gaussian blur σ"},
				&cli.Float64Flag{Name: "tau-image", Value: 0.9, Usage: "τ_i: weight of the dataset-level parameters in the mix"},
				&cli.Float64Flag{Name: "tau-dataset", Value: 0.99, Usage: "τ_d: EMA decay of the dataset-level parameters"},
				&cli.Float64Flag{Name: "baseline-decay", Value: 0.9, Usage: "EMA decay of the CE baseline (--loss reinforce) and of S̄ (--loss scaled)"},
				&cli.StringFlag{Name: "policy-schedule", Value: "cosine", Usage: "the policy's schedule: cosine, constant"},
				&cli.Float64Flag{Name: "policy-clip", Usage: "clip the policy's gradient to this L2 norm (0: off, as the papers; a guard against exp(a) overflowing)"},
				&cli.Float64Flag{Name: "param-bound", DefaultText: "3 with --loss scaled, else 0", Usage: "bound L of log α, log β: the policy's outputs become L·tanh(a/L), α, β ∈ [e^−L, e^L] (0: unbounded)"},
				&cli.IntFlag{Name: "grid-images", Value: 6, Usage: "validation images per noise grid (negative: none)"},
				&cli.Float64Flag{Name: "noise-start-mean", Usage: "start the noise at this mean in every cell, with --noise-start-std (0: the paper's random start)"},
				&cli.Float64Flag{Name: "noise-start-std", Usage: "start the noise at this standard deviation in every cell (with --noise-start-mean)"},
			},
			commonFlags(loopDefaults{epochs: 90, batch: 32, schedule: "step", stepEvery: 30, gamma: 0.1}),
			optimFlags(optimDefaults{name: "sgd", lr: 0.1, momentum: 0.9, wd: 1e-4}),
			optimFlags(optimDefaults{prefix: "policy-", name: "sgd", lr: 0.01, momentum: 0.9}),
		),
		Action: func(c *cli.Context) error {
			bound, err := paramBound(c)
			if err != nil {
				return err
			}
			res, err := pipeline.TrainNoiseMask(c.Context, pipeline.NoiseMaskConfig{
				Common: commonFrom(c), Classifier: c.String("classifier"), Policy: c.String("policy"),
				Freeze: c.StringSlice("freeze"), PolicyFreeze: c.StringSlice("policy-freeze"),
				ClassifierOpt: optimFrom(c, ""), PolicyOpt: optimFrom(c, "policy-"), PolicySchedule: c.String("policy-schedule"),
				Loss: c.String("loss"), Noise: c.String("noise"), Grid: c.String("grid"), Upsample: c.String("upsample"),
				BlurKernel: c.Int("blur-kernel"), BlurSigma: c.Float64("blur-sigma"), TauImage: c.Float64("tau-image"),
				TauDataset: c.Float64("tau-dataset"), BaselineDecay: c.Float64("baseline-decay"), PolicyClip: c.Float64("policy-clip"), GridImages: c.Int("grid-images"),
				ParamBound: bound, NoiseStartMean: c.Float64("noise-start-mean"), NoiseStartStd: c.Float64("noise-start-std"),
			})
			if err != nil {
				return fmt.Errorf("train noisemask: %w", err)
			}
			reportRun(c, res)
			return nil
		},
	}
}

// paramBound is --param-bound, or −1 (the loss's default) when it is not
// given.
func paramBound(c *cli.Context) (float64, error) {
	if !c.IsSet("param-bound") {
		return -1, nil
	}
	if l := c.Float64("param-bound"); l >= 0 {
		return l, nil
	}
	return 0, fmt.Errorf("train noisemask: --param-bound %v, want L >= 0 (0: unbounded)", c.Float64("param-bound"))
}

func trainFinetuneCommand() *cli.Command {
	return &cli.Command{
		Name:      "finetune",
		Usage:     "fine-tune a heated (or any) ONNX classifier on clean images and export it",
		ArgsUsage: "--model HEATED.onnx --data D -o RUNDIR",
		Description: "The published recipe by default: SGD lr 0.001, 10 epochs with 7 epochs of linear warm-up then\n" +
			"cosine, batch 64, and the weights of the last 3 epochs averaged (--average-last; 0 keeps the\n" +
			"best model on validation instead). --new-head replaces the classifier's head for the dataset's\n" +
			"classes. The heating record of the model's metadata is kept in the export.",
		Flags: flags(
			[]cli.Flag{
				&cli.StringFlag{Name: "model", Required: true, Usage: "ONNX classifier (e.g. RUNDIR/classifier.onnx of train noisemask)"},
				&cli.StringSliceFlag{Name: "freeze", Usage: "freeze parameters matching a glob (or re:REGEXP)"},
				&cli.IntFlag{Name: "average-last", Value: 3, Usage: "average the weights of the last K epochs (0: best on validation)"},
				&cli.BoolFlag{Name: "new-head", Usage: "replace the head with a fresh layer for the dataset's classes"},
			},
			commonFlags(loopDefaults{epochs: 10, batch: 64, schedule: "cosine", warmup: 7}),
			optimFlags(optimDefaults{name: "sgd", lr: 0.001, momentum: 0.9, wd: 1e-4}),
		),
		Action: func(c *cli.Context) error {
			res, err := pipeline.Finetune(c.Context, pipeline.FinetuneConfig{
				Common: commonFrom(c), Model: c.String("model"), Freeze: c.StringSlice("freeze"), Opt: optimFrom(c, ""),
				AverageLast: c.Int("average-last"), NewHead: c.Bool("new-head"),
			})
			if err != nil {
				return fmt.Errorf("train finetune: %w", err)
			}
			reportRun(c, res)
			return nil
		},
	}
}

// referenceTransform is the input the reference preset feeds a classifier:
// the published code's 3-channel images in [0, 1] without normalisation
// ("channels=3") only where that is what the classifier takes. A classifier
// trained by pgaug records the transform it learned on, and is fed that; a
// classifier of other than 3 input channels keeps the dataset's own input.
// It returns "" to keep the dataset's default, and why.
func referenceTransform(classifier string) (spec, why string, err error) {
	if strings.HasPrefix(classifier, "zoo:") {
		return "channels=3", "the published code's input, 3 channels in [0, 1] without normalisation (a zoo classifier is built for it)", nil
	}
	mp, err := onnxio.Load(classifier)
	if err != nil {
		return "", "", err
	}
	if t := onnxio.MetadataValue(mp, "pgaug.eval_transform"); t != "" {
		return t, fmt.Sprintf("%s records that it was trained on %q, so it is fed that rather than the published code's un-normalised 3-channel images (set --train-transform/--eval-transform to choose)", classifier, t), nil
	}
	sum := onnxio.Inspect(mp)
	if len(sum.Inputs) == 1 && len(sum.Inputs[0].Shape) == 4 && sum.Inputs[0].Shape[1].Value == 3 {
		return "channels=3", "the published code's input, 3 channels in [0, 1] without normalisation", nil
	}
	return "", fmt.Sprintf("%s does not take 3 channels: it keeps the dataset's input instead of the published code's 3-channel images", classifier), nil
}
