// Package heat trains a classifier with the policy-gradient noise mask
// (../shared/seeds/noise-mask-paper.txt; spec/algorithms.md §2) as a
// fit.Method. The classifier that comes out is the "heated" model, which is
// then fine-tuned on clean images.
//
// Per batch:
//  1. The policy network (a ResNet-10t feature extractor with a linear head
//     of 2·G² outputs: the two heads giving a_img and b_img) runs on x.
//  2. a = τ_i·a_dataset + (1−τ_i)·a_img (same for b); the dataset-level
//     parameters follow a_dataset ← τ_d·a_dataset + (1−τ_d)·mean_batch(a_img).
//  3. M ~ Beta(exp(a), exp(b)) on the host (no gradient), G×G per image.
//  4. M is up-sampled to the image size, blurred and multiplied into every
//     channel of the normalised image: x' = x ⊙ blur(up(M)).
//  5. CE = CE(M_c(x'), y); logP = log Beta(M; α, β) per cell.
//     Loss "paper": L = mean_b(logsumexp_cells(logP))·CE, one backward pass
//     for both networks: the classifier's gradient is dCE·S and the policy's
//     dS·CE (S the logsumexp factor), which is what this package computes,
//     from two graphs.
//     Loss "reinforce": the policy minimises mean_b(Σ logP)·(CE − b) with CE
//     detached and b an EMA baseline of CE; the classifier minimises CE.
//
// The policy's forward pass runs twice per step (once to sample M, once
// inside its training graph): BatchNorm running statistics of the policy are
// therefore updated twice per step. They are only used when the policy is
// exported, never by training.
package heat
