// Package augment holds batch augmentations on host memory: batches are
// N×C×H×W float32 slices in row-major order, masks are N×H×W (one per
// image, broadcast over the channels), targets are N×K class distributions
// (one-hot or soft).
//
//   - [Cutout] (DeVries & Taylor 2017) erases one square per image, the
//     baseline the APGA paper compares with; [CutoutMask] gives the masks.
//   - [CutMix] (Yun et al. 2019, as timm implements it) pastes a box from a
//     shuffled copy of the batch and mixes the targets by the pasted area.
//   - [ApplyMask] multiplies images by 0/1 (or soft) masks, as APGA and the
//     Grad-CAM baseline (package gradcam) do.
//
// Cutout and ApplyMask work in place (clone the batch with slices.Clone to
// keep the original); CutMix returns new slices and leaves its inputs alone.
// Randomness comes only from the *rand.Rand given (math/rand/v2), so the
// same seeded source gives the same augmentation, bit for bit. Bad sizes are
// errors naming what was expected, never panics.
package augment
