// Package loader feeds datasets to trainers and inference: it selects a
// split, shuffles per epoch, reads and transforms images on worker
// goroutines with bounded prefetch, and hands out batches as float32 NCHW
// tensors with labels and ids.
//
// Determinism: the epoch's order is a function of (seed, epoch), and each
// sample's random transforms draw from a generator derived from (seed,
// epoch, dataset row). The batches of an epoch are therefore the same, bit
// for bit, whatever the number of workers or the prefetch depth.
//
// Memory: the loader holds the dataset's row index and at most
// Workers+Prefetch batches; pixels are read row by row (one positioned read
// each) as batches are built.
package loader
