// Package torchref holds the interoperability tests against PyTorch: real
// torchvision networks (and TernausNet) exported by scripts/export_pretrained.py
// with Debian's python3-torch, imported by pgaug, and compared with PyTorch's
// own outputs and training steps. It has no non-test code beyond the helpers
// that run the export script.
package torchref
