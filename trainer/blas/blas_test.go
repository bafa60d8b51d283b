package blas

import (
	"testing"

	gblas "gonum.org/v1/gonum/blas"
)

// TestSgemmMatchesNaive checks the chosen BLAS against a naive product, so a
// mis-linked library (wrong symbols, wrong layout) is caught.
func TestSgemmMatchesNaive(t *testing.T) {
	const m, k, n = 7, 5, 3
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	for i := range a {
		a[i] = float32(i%11) - 5
	}
	for i := range b {
		b[i] = float32(i%7)*0.5 - 1
	}
	c := make([]float32, m*n)
	Float32().Sgemm(gblas.NoTrans, gblas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var want float32
			for p := 0; p < k; p++ {
				want += a[i*k+p] * b[p*n+j]
			}
			if c[i*n+j] != want {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", Name(), i, j, c[i*n+j], want)
			}
		}
	}
}

// TestConcurrentSgemm calls SGEMM from several goroutines at once, as the
// convolution kernels do, and checks every result.
func TestConcurrentSgemm(t *testing.T) {
	const m, k, n = 200, 64, 300
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	for i := range a {
		a[i] = float32(i%13) * 0.1
	}
	for i := range b {
		b[i] = float32(i%7)*0.2 - 0.5
	}
	want := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[i*k+p]) * float64(b[p*n+j])
			}
			want[i*n+j] = float32(s)
		}
	}
	errs := make(chan string, 8)
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for rep := 0; rep < 20; rep++ {
				c := make([]float32, m*n)
				Float32().Sgemm(gblas.NoTrans, gblas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
				for i := range c {
					if d := c[i] - want[i]; d > 1e-3 || d < -1e-3 {
						errs <- "wrong element"
						return
					}
				}
			}
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
	close(errs)
	if e, ok := <-errs; ok {
		t.Fatalf("%s: concurrent SGEMM gave a %s", Name(), e)
	}
}
