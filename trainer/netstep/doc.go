// Package netstep runs an imported network as a classifier or as a
// segmentation policy: it builds the gorgonia graph for a batch shape with a
// loss on top, runs forward and backward passes, and hands the trainable
// parameters with their gradients to an optimizer (package optim).
//
// Graphs are built per batch shape and cached; every graph shares the
// model's parameter storage, so a step taken through one is seen by all.
package netstep
