package blas

import gblas "gonum.org/v1/gonum/blas"

// Float32 returns the single-precision BLAS chosen at build time, for custom
// operators that call SGEMM directly (im2col convolutions, col2im transposed
// convolutions).
func Float32() gblas.Float32 { return impl }
