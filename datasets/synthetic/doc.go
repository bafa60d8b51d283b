// Package synthetic generates small radiograph-like grayscale images whose
// label depends on a small local structure hidden among distractors, so that
// what a classifier attends to — and so masking and noise augmentation —
// matters.
//
// Every image has a smooth "chest" background (body outline, two darker lung
// fields with curved ribs, a bright spine), Gaussian noise and several
// distractor blobs of the same brightness and size as the structures. Class
// 0 ("normal") has no structure; class k > 0 has one small structure inside a
// lung field: 1 a ring (hollow: its centre is background), 2 a short straight
// streak, 3 a cross, 4 a pair of dots. The structure's pixels are given as the
// sample's mask and its bounding box as its bbox.
//
// Everything is a function of the seed and the image index: the same
// Config gives the same images, labels and splits, in any order and on any
// machine. Labels cycle through the classes (balanced); splits are assigned
// per class by a seeded permutation (stratified).
package synthetic
