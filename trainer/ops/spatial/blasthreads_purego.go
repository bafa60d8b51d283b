//go:build !openblas

package spatial

// blasThreads is 1 for gonum's pure-Go BLAS: its own goroutines share the Go
// scheduler with the operators' goroutines, so batches are split across
// goroutines.
func blasThreads() int { return 1 }
