// Package gradcheck compares the symbolic gradients of a gorgonia graph with
// central finite differences. Every differentiable operator of the project is
// tested with it.
//
// The checked scalar is L = Σ out ⊙ R for a fixed random R, so every output
// element contributes with a different weight. The finite differences
// evaluate L on the host in float64 from the float32 forward output, which
// keeps their rounding error far below the tolerances used.
package gradcheck
