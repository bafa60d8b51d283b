//go:build !openblas

package blas

import "gonum.org/v1/gonum/blas/gonum"

var impl = gonum.Implementation{}

// Name says which BLAS the binary was built with.
func Name() string { return "gonum (pure Go)" }
