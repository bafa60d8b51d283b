// Package opkit holds the helpers that the custom gorgonia operators of
// trainer/ops share: type and shape checks, float32 data access, output
// tensors that reuse a preallocated value when it is safe, and a parallel
// loop.
package opkit
