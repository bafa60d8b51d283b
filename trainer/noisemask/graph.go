package noisemask

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
	"github.com/pgaug/pgaug/trainer/ops/reduce"
	"github.com/pgaug/pgaug/trainer/ops/special"
)

// checkTriple checks that a, b and m are float32 tensors of one shape.
func checkTriple(what string, a, b, m *gorgonia.Node) error {
	for _, c := range []struct {
		name string
		n    *gorgonia.Node
	}{{"a", a}, {"b", b}, {"m", m}} {
		if c.n == nil {
			return fmt.Errorf("noisemask: %s: %s is nil", what, c.name)
		}
		if err := opkit.CheckFloat32("noisemask."+what, c.name, c.n); err != nil {
			return err
		}
	}
	sa, sb, sm := opkit.ShapeOf(a), opkit.ShapeOf(b), opkit.ShapeOf(m)
	if sa.Dims() == 0 {
		return fmt.Errorf("noisemask: %s: a is a scalar, want a B×G² tensor", what)
	}
	if !sa.Eq(sb) || !sa.Eq(sm) {
		return fmt.Errorf("noisemask: %s: shapes a %v, b %v, m %v differ", what, sa, sb, sm)
	}
	return nil
}

func f32(v float64) *gorgonia.Node {
	return gorgonia.NewConstant(float32(v), gorgonia.WithName(fmt.Sprintf("noisemask.const(%g)", v)))
}

// chain applies gorgonia operations one after another, stopping at the first
// error.
type chain struct {
	what string
	err  error
}

func (c *chain) do(f func() (*gorgonia.Node, error)) *gorgonia.Node {
	if c.err != nil {
		return nil
	}
	n, err := f()
	if err != nil {
		c.err = fmt.Errorf("noisemask: %s: %w", c.what, err)
	}
	return n
}

// LogDensity implements [Model]: with α = exp(a), β = exp(b),
// (α−1)·log m + (β−1)·log(1−m) − lnΓ(α) − lnΓ(β) + lnΓ(α+β).
// m must lie in (0, 1) (the samplers clamp it into [Eps, 1−Eps]).
func (Beta) LogDensity(a, b, m *gorgonia.Node) (*gorgonia.Node, error) {
	if err := checkTriple("Beta.LogDensity", a, b, m); err != nil {
		return nil, err
	}
	c := &chain{what: "Beta.LogDensity"}
	alpha := c.do(func() (*gorgonia.Node, error) { return gorgonia.Exp(a) })
	beta := c.do(func() (*gorgonia.Node, error) { return gorgonia.Exp(b) })
	ab := c.do(func() (*gorgonia.Node, error) { return gorgonia.Add(alpha, beta) })
	logm := c.do(func() (*gorgonia.Node, error) { return gorgonia.Log(m) })
	negm := c.do(func() (*gorgonia.Node, error) { return gorgonia.Neg(m) })
	log1m := c.do(func() (*gorgonia.Node, error) { return gorgonia.Log1p(negm) })
	// (α−1)·log m = α·log m − log m, and likewise for β: no scalar operands.
	t1 := c.do(func() (*gorgonia.Node, error) { return gorgonia.HadamardProd(alpha, logm) })
	t1 = c.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(t1, logm) })
	t2 := c.do(func() (*gorgonia.Node, error) { return gorgonia.HadamardProd(beta, log1m) })
	t2 = c.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(t2, log1m) })
	lgA := c.do(func() (*gorgonia.Node, error) { return special.LnGamma(alpha) })
	lgB := c.do(func() (*gorgonia.Node, error) { return special.LnGamma(beta) })
	lgAB := c.do(func() (*gorgonia.Node, error) { return special.LnGamma(ab) })
	// lnΓ(α+β) − lnΓ(α) − lnΓ(β)
	norm := c.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(lgAB, lgA) })
	norm = c.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(norm, lgB) })
	out := c.do(func() (*gorgonia.Node, error) { return gorgonia.Add(t1, t2) })
	out = c.do(func() (*gorgonia.Node, error) { return gorgonia.Add(out, norm) })
	return out, c.err
}

// LogDensity implements [Model]: with z = (m − a)·exp(−b),
// −½·z² − b − ½·log 2π.
func (Gaussian) LogDensity(a, b, m *gorgonia.Node) (*gorgonia.Node, error) {
	if err := checkTriple("Gaussian.LogDensity", a, b, m); err != nil {
		return nil, err
	}
	c := &chain{what: "Gaussian.LogDensity"}
	d := c.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(m, a) })
	nb := c.do(func() (*gorgonia.Node, error) { return gorgonia.Neg(b) })
	inv := c.do(func() (*gorgonia.Node, error) { return gorgonia.Exp(nb) })
	z := c.do(func() (*gorgonia.Node, error) { return gorgonia.HadamardProd(d, inv) })
	z2 := c.do(func() (*gorgonia.Node, error) { return gorgonia.Square(z) })
	half := c.do(func() (*gorgonia.Node, error) { return gorgonia.Mul(z2, f32(-0.5)) })
	out := c.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(half, b) })
	out = c.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(out, f32(0.5*math.Log(2*math.Pi))) })
	return out, c.err
}

// LogDensity implements [Model]: −log 2 − b everywhere (see [Uniform]). a
// stays in the graph with a zero coefficient, so that asking for its
// gradient gives zeros rather than an error.
func (Uniform) LogDensity(a, b, m *gorgonia.Node) (*gorgonia.Node, error) {
	if err := checkTriple("Uniform.LogDensity", a, b, m); err != nil {
		return nil, err
	}
	c := &chain{what: "Uniform.LogDensity"}
	za := c.do(func() (*gorgonia.Node, error) { return gorgonia.Mul(a, f32(0)) })
	out := c.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(za, b) })
	out = c.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(out, f32(math.Ln2)) })
	return out, c.err
}

func checkLogP(what string, logP *gorgonia.Node) error {
	if logP == nil {
		return fmt.Errorf("noisemask: %s: logP is nil", what)
	}
	if err := opkit.CheckFloat32("noisemask."+what, "logP", logP); err != nil {
		return err
	}
	if s := opkit.ShapeOf(logP); s.Dims() != 2 || s[0] < 1 || s[1] < 1 {
		return fmt.Errorf("noisemask: %s: logP has shape %v, want B×G² (rank 2)", what, s)
	}
	return nil
}

// PaperObjective is the paper's (and the published code's) policy factor,
// mean over the batch of logsumexp over the pixels of logP (B×G²): a scalar
// node. The training loop multiplies it by the batch-mean cross-entropy and
// minimises the product with one backward pass for both networks (package
// heat's "paper" and "scaled" losses).
//
// The logsumexp is computed stably as logP − LogSoftmax(logP) (every entry
// of a row equals that row's logsumexp; LogSoftmax subtracts the row maximum
// internally) averaged over the row, so its gradient is exactly the softmax
// weights: d/d logP[b,i] = softmax(logP[b,:])_i / B.
func PaperObjective(logP *gorgonia.Node) (*gorgonia.Node, error) {
	if err := checkLogP("PaperObjective", logP); err != nil {
		return nil, err
	}
	c := &chain{what: "PaperObjective"}
	ls := c.do(func() (*gorgonia.Node, error) { return reduce.LogSoftmax(logP, 1) })
	lse := c.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(logP, ls) })
	out := c.do(func() (*gorgonia.Node, error) { return reduce.ReduceMean(lse, nil, false) })
	return out, c.err
}

// ReinforceObjective is the textbook REINFORCE factor, mean over the batch of
// Σ over pixels of logP (B×G²): a scalar node. The caller multiplies it by the
// advantage (CE − baseline), with CE detached, for example a scalar input
// node set each step with gorgonia.Let (see [Advantage] and [EMA]), and
// minimises that product for the policy, while the classifier minimises plain
// CE.
func ReinforceObjective(logP *gorgonia.Node) (*gorgonia.Node, error) {
	if err := checkLogP("ReinforceObjective", logP); err != nil {
		return nil, err
	}
	c := &chain{what: "ReinforceObjective"}
	s := c.do(func() (*gorgonia.Node, error) { return reduce.ReduceSum(logP, []int{1}, false) })
	out := c.do(func() (*gorgonia.Node, error) { return reduce.ReduceMean(s, nil, false) })
	return out, c.err
}

// Advantage returns objective·adv as a scalar node, where adv is a float32
// scalar node that the caller sets each step to (CE − baseline); adv should
// be an input node (no gradient flows into it when it is not a Grad target).
func Advantage(objective, adv *gorgonia.Node) (*gorgonia.Node, error) {
	if objective == nil || adv == nil {
		return nil, fmt.Errorf("noisemask: Advantage: nil node")
	}
	if !objective.IsScalar() || !adv.IsScalar() {
		return nil, fmt.Errorf("noisemask: Advantage: want two scalar nodes, got shapes %v and %v", objective.Shape(), adv.Shape())
	}
	if objective.Dtype() != tensor.Float32 || adv.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("noisemask: Advantage: want float32 nodes, got %v and %v", objective.Dtype(), adv.Dtype())
	}
	out, err := gorgonia.Mul(objective, adv)
	if err != nil {
		return nil, fmt.Errorf("noisemask: Advantage: %w", err)
	}
	return out, nil
}
