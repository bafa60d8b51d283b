// Package torchref holds the interoperability tests against PyTorch: real
// torchvision networks (and TernausNet) exported by scripts/export_pretrained.py
// with Debian's python3-torch, imported by pgaug, and compared with PyTorch's
// own outputs and training steps. PyTorch computes the references in float64
// (the same on every CPU), and each comparison's tolerance follows from
// float32's precision: a multiple of how far float64 runs perturbed at
// float32's precision deviate (Deviation, Tolerance). It has no non-test code
// beyond the helpers that run the export script and read its references.
package torchref
