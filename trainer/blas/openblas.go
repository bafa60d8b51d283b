//go:build openblas

package blas

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
*/
import "C"

import (
	"os"

	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/gorgonia"
)

var impl = netlib.Implementation{}

func init() {
	// One OpenBLAS thread per call: the convolution kernels split the batch
	// across goroutines themselves, which measured about 1.7× faster than
	// OpenBLAS's own threads on this project's layers (OpenBLAS used one
	// core for those shapes anyway). OPENBLAS_NUM_THREADS, when set, wins.
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" {
		C.openblas_set_num_threads(1)
	}
	gorgonia.Use(impl)
}

// Name says which BLAS the binary was built with.
func Name() string { return "openblas" }
