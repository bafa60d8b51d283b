//go:build openblas

package spatial

/*
#cgo LDFLAGS: -lopenblas
int openblas_get_num_threads(void);
*/
import "C"

// blasThreads is how many threads the BLAS runs one SGEMM on. OpenBLAS's
// threads spin and collide when several goroutines call it at once, so with
// more than one the operators call it from one goroutine at a time.
func blasThreads() int { return int(C.openblas_get_num_threads()) }
