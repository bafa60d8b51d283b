// Package opkit holds the helpers that the custom gorgonia operators of
// trainer/ops share: type and shape checks, float32 data access, output
// tensors that reuse a preallocated value when it is safe, and a parallel
// loop.
//
// It also holds the pieces of gorgonia.Op that the operators would
// otherwise each write again (op.go): the fixed methods ([Plain], to embed),
// the type signature ([FnType]) and hash ([Hashcode]); the arity and shape
// checks of InferShape ([CheckArity], [UnaryShape], [GradShapes],
// [CheckGradShape], [ElementwiseGradShape]); the input reads of Do
// ([UnaryData], [GradValues], [GradData], [CheckGradSize]); and applying an
// operator ([Apply], [ApplyUnary]) and the SymDiff of a one-input operator
// ([UnaryGrad]). Their errors name the operator, the input and the expected
// shape, as the operators' own do.
package opkit
