// Package apga implements Adversarial Policy Gradient Augmentation (APGA):
// a segmentation policy learns by REINFORCE, with an adversarial reward
// from the classifier, which pixels matter; the masks it produces then
// augment the classifier's training 1:1.
//
// Two networks: a classifier M_c (the paper: DenseNet-169, trained to
// convergence first) and a segmentation policy M_p (the paper: TernausNet,
// a U-Net with a VGG11 encoder and one sigmoid channel at input
// resolution), whose output P is, per pixel, the probability that the
// pixel is important.
//
// # Algorithm 1 (presets paper and reference)
//
// Per batch (x, y):
//  1. L_orig = CE(M_c(x), y); one optimizer step on the classifier.
//  2. P = M_p(x); adversarial mask A_adv = (P < 0.5); x_adv = A_adv ⊙ x (the
//     pixels the policy thinks important are erased).
//  3. L_adv = CE(M_c(x_adv), y), no update; reward R = L_adv − L_orig.
//  4. Baseline b: an exponential moving average of R (decay 0.5).
//  5. Policy loss BCE(P, A)·(R − b) + λ_zeros·BCE(P, 0), λ_zeros = 0.1, with
//     the action A = (P > 0.5) as the BCE's target (means over pixels and
//     batch); one optimizer step on the policy. R and b are constants.
//  6. Aid mask A_aid = (M_p(x) > 0.5) from the updated policy; one classifier
//     step on A_aid ⊙ x: original and masked images train the classifier
//     1:1.
//
// Preset "paper" is that text: Adam 1e-4 for both networks. Preset
// "reference" is the authors' published code where it differs: the policy
// loss 100·BCE(P,A)·R' + 0.1·|R'|·BCE(P,0) + 0.01·|R'|·BCE(P,1) with the
// baseline updated before the advantage R' = R − b is taken (b starts at
// the first reward, so the first advantage is 0), L_adv in evaluation mode,
// Adam 1e-5 for both networks (and, in the command, model selection every
// 100 steps, early stopping after 15 epochs, images repeated to 3 channels
// without normalisation where the classifier takes that).
//
// # Why a policy from scratch does not learn under Algorithm 1
//
// With the action taken deterministically and one scalar reward per batch,
// the gradient on pixel j's logit is (R − b)(p_j − A_j)/N: the same sign at
// every pixel relative to the mask there is. R > b sharpens whatever mask
// the policy has, R < b flattens it; nothing depends on which pixels
// mattered, and λ_zeros·BCE(P, 0) drifts everything towards marking
// nothing. The published code hides this by starting from a policy
// pretrained as a segmenter (TernausNet on Carvana) with a small learning
// rate on a converged classifier. On a from-scratch policy the two presets
// collapse (P < 0.5 everywhere: blank aid images) or stay where they
// started; Collapsed names it, and the aid guard (AidKeepMin, AidKeepMax)
// skips the aid step of a collapsed mask.
//
// # The sampled form (preset "sampled")
//
// Per image, actions are sampled rather than thresholded, and each
// sample's reward is its own, so that a cell is pushed up exactly when
// erasing it hurt the classifier more than the image's other samples did:
//
//   - one action per cell of a G×G grid (MaskGrid; by default cells of 4×4
//     pixels, a quarter of the resolution as in Dabkowski & Gal's masks): the
//     cell's probability q is the mean of P over it, and A ~ Bernoulli(q) is
//     spread back over the cell's pixels;
//   - K samples per image (Samples, 4) and rewards
//     R_ik = CE(M_c(x_i ⊙ (1 − A_ik) + f_i ⊙ A_ik), y_i) − CE(M_c(x_i), y_i),
//     both in evaluation mode, where f_i is the fill of erased pixels
//     (Fill: a blurred copy of the image by default, which removes small
//     structure without drawing the edges that zeros draw; "black", or
//     "zero" for the paper's x ⊙ (1 − A));
//   - the leave-one-out baseline A_ik = R_ik − mean_{l≠k} R_il (RLOO: no
//     running average to lag behind), the batch's advantages divided by
//     their root mean square (AdvantageNorm "batch"): once the policy finds
//     the structure, erasing it raises the loss by ≈ 3 where it raised it by
//     ≈ 0.2 before, and without the division the REINFORCE term's size
//     follows, while the keep and entropy terms' stays;
//   - the policy loss −mean_ik[A_ik·Σ_c(s log q + (1 − s) log(1 − q))]/K, plus
//     KeepWeight·(q̄_i − κ)² per image to hold the marked fraction at the keep
//     target κ (KeepTarget 0.1; or, KeepMode "lagrange", a multiplier raised
//     by dual ascent), the target going from the first batch's mean keep to κ
//     over KeepWarmup (100) steps, the entropy bonus β·H(q) (Entropy
//     0.001), and the logit penalty λ·logit(q)²/2 per cell (LogitPenalty
//     0.003): the keep and entropy forces on a cell's logit carry a factor
//     q(1 − q) and vanish as a cell saturates, so a map could saturate at
//     exactly 1 on several cells (a maximum shared by cells outside the
//     structure); the logit penalty's force λ·logit does not vanish;
//   - the aid step on each image's κ share of cells with the largest q
//     (AidMask top; "threshold" for q > 0.5; or a sample, AidSample), with
//     the same fill, trained on the aid batch's own BatchNorm statistics
//     without folding them into the running ones (AidBatchStats: a batch
//     that keeps a tenth of each image has other statistics);
//   - the policy starts at q = PolicyStart everywhere (the bias before its
//     sigmoid; 0.25) and learns with Adam 3e-3; the converged classifier
//     moves at 1e-5, as in the published code; both under a cosine schedule
//     (Schedule), which settles the policy at the end.
//
// A step costs two classifier steps (the original and the aid batch), one
// classifier pass over (K+1)·B images, one policy step and two policy
// passes. Distil trains the policy on target masks first (the command's
// --policy-init gradcam: the classifier's Grad-CAM masks), a stand-in for a
// pretrained segmenter.
//
// Masks multiply the classifier's input tensor, i.e. the image after the
// loader's transform: with Fill zero an erased pixel becomes 0 in the
// normalised space (the image's mean); Black gives the value a black pixel
// has there.
//
// EvaluateExtra scores the policy's maps with package saliency (against a
// dataset's region masks where it has them, and by deletion and insertion
// curves) at every evaluation.
package apga
