// Package saliency measures how well a saliency map — an APGA policy's
// probability map P, a Grad-CAM map — marks what a classifier's label
// depends on.
//
// Where the true region G is known (a dataset's mask, e.g. the planted
// structure of the synthetic data), ScoreRegion compares the map's mask
// M = 1[P > threshold] and its top-|G| pixels with G:
//
//   - mask_keep: the fraction of pixels M keeps;
//   - mask_iou: |M ∩ G| / |M ∪ G|;
//   - mask_iou_topk: the IoU of the |G| pixels with the largest P;
//   - mask_pointing: 1 when the argmax of P lies in G dilated by
//     max(1, side/16) pixels (the pointing game of TorchRay's benchmark);
//   - mask_iou_random: the IoU a random mask of M's area gets in
//     expectation, |M|·|G|/N / (|M| + |G| − |M|·|G|/N), the floor mask_iou
//     must clear to mean anything.
//
// Region averages scores over the images whose region is not empty.
//
// For any data, Curves gives the deletion and insertion AUCs of RISE
// (Petsiuk et al. 2018): pixels in decreasing order of P are set to zero
// (deletion) or copied from the image into a blurred copy of it
// (insertion), in equal steps; the area under the true class's probability
// against the fraction of pixels changed is the score, (Σ a − a₀/2 −
// a_N/2)/N. A map that marks what matters has a low deletion AUC and a
// high insertion AUC.
package saliency
