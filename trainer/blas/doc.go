// Package blas chooses the BLAS implementation that gorgonia uses for matrix
// products, at build time.
//
// Built with the "openblas" tag (what scripts/setup.sh, test.sh and demo.sh
// do), gorgonia and gorgonia/tensor call OpenBLAS through cgo
// (gonum.org/v1/netlib), which is about four times faster than gonum's
// pure-Go default on the convolutions of this project. Without the tag the
// binary is pure Go and needs no system library.
//
// Import the package (for its side effect, or to report [Name]) from every
// package that builds gorgonia graphs.
package blas
