//go:build openblas

package blas

/*
#cgo LDFLAGS: -lopenblas
*/
import "C"

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/gorgonia"
)

// serialized is OpenBLAS with its level-3 single-precision calls made one
// at a time. Debian's threaded OpenBLAS gives wrong results when several
// goroutines call SGEMM at once (its threads share buffers; measured: whole
// output channels of a convolution garbled), while each call already runs on
// all cores, so nothing is lost by serialising them.
type serialized struct {
	netlib.Implementation
	mu *sync.Mutex
}

func (s serialized) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func (s serialized) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Implementation.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

var impl = serialized{mu: new(sync.Mutex)}

func init() {
	gorgonia.Use(impl)
}

// Name says which BLAS the binary was built with.
func Name() string { return "openblas" }
