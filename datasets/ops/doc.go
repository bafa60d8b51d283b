// Package ops implements the dataset operations behind `pgaug data`:
// Inspect (schema, counts per split and class, image sizes), Grid (a PNG of
// samples per class), Split (seeded, stratified re-assignment of the split
// column, optionally keeping groups such as patients together), Sample
// (seeded k-shot subsets) and Stats (per-channel mean/std written into the
// metadata). Every operation that writes does so atomically, batch by batch
// through arrowds.Rewrite, keeping every column.
package ops
