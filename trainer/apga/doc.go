// Package apga implements Adversarial Policy Gradient Augmentation (APGA,
// ../shared/seeds/apga-paper.txt; the precise algorithm is
// spec/algorithms.md §1): a segmentation policy learns by REINFORCE, with an
// adversarial reward from the classifier, which pixels matter; the masks it
// produces then augment the classifier's training 1:1.
//
// Per batch (x, y), Algorithm 1:
//  1. L_orig = CE(M_c(x), y); one optimizer step on the classifier.
//  2. P = M_p(x); adversarial mask A_adv = (P < 0.5); x_adv = A_adv ⊙ x.
//  3. L_adv = CE(M_c(x_adv), y) (no update); reward R = L_adv − L_orig.
//  4. Baseline b: an exponential moving average of R (decay 0.5).
//  5. Policy loss BCE(P, A)·(R − b) + λ_zeros·BCE(P, 0) with the action
//     A = (P > 0.5); one optimizer step on the policy.
//  6. Aid mask A_aid = (M_p(x) > 0.5) from the updated policy; one classifier
//     step on A_aid ⊙ x.
//
// Two presets: "paper" (the text above, Adam 1e-4) and "reference" (the
// authors' published code: a policy loss of 100·BCE(P,A)·R' +
// 0.1·|R'|·BCE(P,0) + 0.01·|R'|·BCE(P,1), a baseline updated before the
// advantage is taken, L_adv in evaluation mode, Adam 1e-5). Every constant is
// a field of Config.
//
// Masks multiply the classifier's input tensor, i.e. the image after the
// loader's transform (normalised images lose their erased pixels to 0 in the
// normalised space; the reference preset feeds un-normalised images in [0,1],
// where 0 is black).
package apga
