// Package optest holds what the tests of the trainer/ops packages share:
// seeded inputs, running a graph forward and backward with a given upstream
// gradient, checking that operators reuse preallocated outputs safely, and
// the PyTorch reference harness (RunTorch, with TorchPrelude's load/save
// helpers). Only tests import it.
package optest
