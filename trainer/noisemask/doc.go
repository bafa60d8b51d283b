// Package noisemask is the math of the policy-gradient noise mask (a policy
// network learns per-image parameters of a noise that multiplies the image
// while a classifier trains; package heat trains with it): noise models with
// seeded host samplers and differentiable log-densities, the dataset-level
// parameters and their mixing with the image-level ones, the host-side mask
// construction (up-sampling, Gaussian blur, multiplication into the image)
// and the two policy objectives.
//
// # One training step
//
// The policy network gives B×(2·G²) values; the first half is a_img, the
// second b_img (log space for the Beta model). Then:
//
//	mg, _ := params.MixNode(aImg, bImg, noisemask.DefaultTauI)  // once, when building the graph
//	logP, _ := model.LogDensity(mg.A, mg.B, m)                  // m: a B×G² input node
//	obj, _ := noisemask.PaperObjective(logP)                    // × CE, or ReinforceObjective × advantage
//
// and per step on the host: a, b := params.Mix(aImgValues, bImgValues, B, τ_i);
// model.Sample(rng, a, b, mValues) (then gorgonia.Let(m, …));
// mask := BuildMask(mValues, B, H, W, cfg); Apply(x, mask, B, C, H, W); run
// the graph; params.Update(aImgValues, bImgValues, B, τ_d); params.Bind(mg).
// The sample carries no gradient; the gradient of the objective reaches a_img
// and b_img with the factor (1−τ_i) of the mix.
//
// # Noise models
//
//   - [Beta] (the paper's default): α = exp(a), β = exp(b), M ~ Beta(α, β),
//     sampled as X/(X+Y) of two Marsaglia–Tsang Gamma draws (with the
//     U^{1/k} boost for shapes below 1), in log space.
//   - [Gaussian]: M ~ Normal(a, exp(b)). The paper names the model but not
//     its parameters; only the scale is exponentiated, because the paper
//     exponentiates to make Beta's parameters positive and a mean needs no
//     such constraint.
//   - [Uniform]: M ~ U(a − exp(b), a + exp(b)) (centre a, half-width exp(b)).
//     Its log-density, −log 2 − b, does not depend on a: the policy gradient
//     moves only the width.
//
// Every sample is clamped into [Eps, 1−Eps] with Eps = 1e-6: log x and
// log(1−x) of the Beta density stay finite, and the mask multiplies each
// pixel by a factor in (0, 1) whichever model made it. The log-densities are
// evaluated at the clamped sample (for Uniform, −log 2 − b regardless).
//
// # Dataset-level parameters
//
// [DatasetParams] holds a_dataset and b_dataset (G² each), drawn from N(0, 1)
// at start (the paper: "random and sampled from normal distribution"),
// mixed as a = τ_i·a_dataset + (1−τ_i)·a_img (τ_i = 0.9) and updated as
// a_dataset ← τ_d·a_dataset + (1−τ_d)·mean_batch(a_img) (τ_d = 0.99, no
// gradient). It serialises to JSON for checkpoints and export.
// [NewDatasetParamsAt] starts every cell at chosen parameters instead, e.g.
// those [Model.ParamsFor] gives for a noise of a chosen mean and standard
// deviation (a mild noise, mean 0.95, rather than the random start's noise
// of mean about 0.5).
//
// # Mask
//
// [Upsample] follows F.interpolate ("nearest": PyTorch's legacy nearest,
// "bilinear": align_corners=False), [GaussianBlur] follows torchvision's
// gaussian_blur (reflect padding; kernel 13, σ 6 by default; kernel 0 is
// off), [Apply] multiplies the mask into every channel and [BuildMask] runs
// up-sampling and blur from a [MaskConfig]. [ParseGrid] reads "32", "64" or
// "pure" (G = image size).
//
// # Objectives
//
// [PaperObjective] is mean_b logsumexp_pixels(logP), the paper's and the
// published code's factor, multiplied by the batch CE and minimised for both
// networks at once; its gradient in logP is the row softmax over B.
// [ReinforceObjective] is mean_b Σ_pixels logP, to be multiplied by the
// advantage (CE − baseline, CE detached; [Advantage], [EMA]) for the policy
// while the classifier minimises plain CE. Package heat's "scaled" loss uses
// PaperObjective with the factor divided by a running mean of its magnitude.
//
// Graph builders return errors for wrong shapes or dtypes; host functions
// return errors for inconsistent sizes; nothing panics on bad input.
package noisemask
