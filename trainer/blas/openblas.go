//go:build openblas

package blas

/*
#cgo LDFLAGS: -lopenblas
*/
import "C"

import (
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/gorgonia"
)

var impl = netlib.Implementation{}

func init() {
	gorgonia.Use(impl)
}

// Name says which BLAS the binary was built with.
func Name() string { return "openblas" }
