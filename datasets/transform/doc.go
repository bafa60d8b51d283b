// Package transform holds the image transforms of the data loader. They work
// on float32 images in CHW layout (channel planes, row-major), with pixel
// values scaled to [0,1] until Normalize.
//
// Random transforms draw from the *rand.Rand they are given; the loader
// derives one per sample from (seed, epoch, row), so results do not depend on
// worker count or order.
//
// Resizing is separable bilinear (a triangle filter) with pixel centres at
// +0.5; when shrinking, the filter is widened by the shrink factor, so that
// it averages every source pixel (antialiasing, as PIL's resize does).
// Weights are normalised, so a constant image stays constant.
package transform
