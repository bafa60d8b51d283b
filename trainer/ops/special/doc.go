// Package special provides ln Γ, digamma ψ and the polygamma functions ψ⁽ⁿ⁾
// as differentiable gorgonia operators on float32 tensors (float64 inside),
// and their float64 implementations.
//
// The noise-mask method needs the log-density of a Beta distribution,
// (α−1)·log x + (β−1)·log(1−x) − ln Γ(α) − ln Γ(β) + ln Γ(α+β), whose
// gradient in α is log x − ψ(α) + ψ(α+β) (the noise mask's policy gradient, package trainer/heat). gorgonia
// has neither function.
//
// The gradient of ln Γ is ψ·dy, that of ψ⁽ⁿ⁾ is ψ⁽ⁿ⁺¹⁾·dy, each a fused custom
// operator that is itself differentiable (up to ψ⁽¹⁰⁾). Note that gorgonia
// cannot differentiate a graph twice with respect to the same node (its
// Backpropagate re-adds the first gradient), so a second derivative must be
// built from these operators directly (e.g. [Trigamma]) rather than by
// calling gorgonia.Grad on the output of gorgonia.Grad.
//
// Accuracy: ψ, ψ₁ and ψ₂ agree with 40-digit mpmath values to a few float64
// ulp on (1e-3, 1e3) (relative error below 1e-15) and satisfy the recurrence
// and reflection formulas; the float32 operators round them correctly.
package special
