// Package supervised is plain supervised training as a fit.Method: one
// classifier, softmax cross-entropy, and the augmentation baselines the APGA
// paper compares with, each used 1:1 with the original images (an optimizer
// step on the original batch, then one on its augmented copy):
//
//   - none: the original batch only (the papers' "train to convergence
//     first" model);
//   - cutout: a random square erased per image (DeVries & Taylor);
//   - gradcam: Grad-CAM masks from a frozen copy of a given classifier at a
//     named layer, top-1 class, bilinear up-sampling, min-max scaling, keep
//     pixels with cam > 0.5 (the APGA paper's Grad-CAM baseline, as its authors' code builds it);
//
// and CutMix (Yun et al.), which replaces a batch by its mix with a shuffled
// copy with probability p, since practitioners expect it.
package supervised
