// Package heat trains a classifier with the policy-gradient noise mask as a
// fit.Method: a policy network learns, per image, the parameters of a noise
// distribution on a coarse grid; the sampled noise, smoothed to the image's
// size, multiplies the image while the classifier trains on it. The
// classifier that comes out is the "heated" model, which is then fine-tuned
// on clean images.
//
// Per batch:
//  1. The policy network (a ResNet-10t feature extractor with a linear head
//     of 2·G² outputs: the two heads giving a_img and b_img, log α and log β
//     for the Beta model) runs on x. With a bound L > 0 (Config.Bound) each
//     output v becomes L·tanh(v/L) first (see "Bound" below).
//  2. a = τ_i·a_dataset + (1−τ_i)·a_img (same for b); the dataset-level
//     parameters follow a_dataset ← τ_d·a_dataset + (1−τ_d)·mean_batch(a_img).
//  3. M ~ Beta(exp(a), exp(b)) on the host (no gradient), G×G per image.
//  4. M is up-sampled to the image size, blurred and multiplied into every
//     channel of the normalised image: x' = x ⊙ blur(up(M)).
//  5. CE = CE(M_c(x'), y); logP = log Beta(M; α, β) per cell; the networks
//     step by one of the three loss forms below.
//
// # Loss forms
//
// Let S = mean_b logsumexp_cells(logP), the log-density factor of the
// batch (reported as "objective").
//
// "paper" is the published loss L = S·CE, minimised by one backward pass for
// both networks: the classifier's gradient is S·dCE and the policy's CE·dS.
// The classifier's gradient is thus multiplied by S, which is not a constant
// of order 1: it depends on the grid size and on how peaked the noise
// density is (around 6 on PneumoniaMNIST), and it is negative when the
// batch's mean of log Σ_cells p is (for instance when every cell's density
// is below 1/G²), so it can change sign during a run. In effect the classifier's
// learning rate is |S| times the one asked for, and its step is reversed
// (gradient ascent on CE) whenever S < 0. This form is kept as published.
//
// "reinforce" is the textbook estimator: the policy minimises
// mean_b(Σ_cells logP)·(CE − b), with CE detached and b an exponential
// moving average of CE (decay Config.BaselineDecay); the classifier
// minimises plain CE.
//
// "scaled" keeps the paper's per-batch weighting but removes its scale: S̄
// is a running mean of |S| (an EMA with decay Config.BaselineDecay, started
// at the first batch's |S|), and the loss is L = S·CE/max(S̄, ScaledFloor)
// with S̄ held constant. The classifier's gradient is (S/S̄)·dCE: a
// multiplier of about ±1 (exactly sign(S) on the first step, and never more
// than 1/(1−decay) in magnitude), so its learning rate is the one asked for,
// while batches whose noise is more (less) likely than usual still weigh
// more (less). The policy's gradient is (CE/S̄)·dS, the gradient of the same
// L: dividing both networks' terms by one detached constant keeps the pair
// the gradient of one objective, and keeps the policy's rate free of S's
// scale in the same way: multiplying S by any constant c > 0 leaves both
// networks' steps as they were (c·dS/(c·S̄)), so a rate chosen on one grid
// size or noise model carries over to another. S̄ uses |S|, so it is positive whatever S's sign; the
// floor ScaledFloor (1e-3) keeps a run whose S stays near 0 from dividing by
// almost nothing. A negative S still reverses the classifier's step, as in
// the paper's loss, but by a multiplier of order 1 instead of |S|. S̄ is part
// of the checkpoint, so a resumed run is bit for bit the uninterrupted one.
//
// # Bound
//
// The policy's outputs are unbounded, and exp of them can run away: α or β
// in the thousands (a noise that is nearly constant, or exp overflowing to
// +Inf and the run ending on NaN), or near 0 (a noise that is almost always
// 0 or 1). Config.Bound = L > 0 maps each raw output v of the policy to
// L·tanh(v/L) before mixing, identically in the policy's graph (so the
// gradient flows through tanh) and on the host where the noise is sampled;
// New clamps the dataset-level parameters into [−L, L], and the mix and its
// EMA are convex combinations, so a and b stay in [−L, L]: for the Beta model
// α, β ∈ [e^−L, e^L] (L = 3: [0.05, 20]). For the Gaussian and uniform models
// the bound limits the centre a to [−L, L] and the scale exp(b) to
// [e^−L, e^L]. Near 0 the map is the identity (L·tanh(v/L) ≈ v for |v| ≪ L).
// 0 leaves the outputs as they are (the papers' setting). [DefaultBound]
// gives the default for each loss: 3 for scaled, 0 for paper and reinforce.
//
// # Metrics
//
// Each step reports, besides the classifier's CE ("loss"): "objective" (S),
// "classifier_grad_scale" (what multiplies the classifier's gradient: S for
// paper, 1 for reinforce, S/S̄ for scaled), "s_bar" and "scaled_loss"
// ((S/S̄)·CE) for scaled, "paper_loss" (S·CE) for paper, "advantage" for
// reinforce, "policy_loss", "policy_grad_norm", "policy_lr", "mask_mean",
// "alpha_mean" and "beta_mean" (means of exp(a), exp(b) of the mixed
// parameters), "a_img_mean" and "b_img_mean" (means of the image-level
// a_img, b_img in log space, after the bound), "a_dataset_mean" and
// "b_dataset_mean" (means of the dataset-level parameters after the step's
// EMA update) and, with a bound, "a_img_raw_mean" and "b_img_raw_mean" (the
// policy's outputs before it: far beyond ±L, they say that tanh saturates
// and the policy's gradient vanishes). A run that heats away shows as
// a_img_mean or b_img_mean drifting without end, the dataset means
// following, and alpha_mean or beta_mean exploding.
//
// The policy's forward pass runs twice per step (once to sample M, once
// inside its training graph); the second pass does not count its BatchNorm
// statistics again, so the policy's running statistics are updated once per
// step, as by the single pass of the published code. They are only used when
// the policy is exported, never by training.
package heat
