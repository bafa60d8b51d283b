package gradcheck

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Build makes the graph under test: it receives one node per input (named
// "in0", "in1", ...) and returns the output node.
type Build func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error)

// Options tune a check. The zero value is usable.
type Options struct {
	Eps      float64 // finite-difference step (default 1e-2)
	AbsTol   float64 // allowed |numeric - symbolic| (default 2e-3)
	RelTol   float64 // allowed relative error, added to AbsTol (default 2e-2)
	WRT      []int   // inputs to differentiate (default: all)
	MaxProbe int     // elements probed per input, chosen at random (default 48; <0: all)
	Seed     uint64  // seeds R and the probe choice
}

func (o *Options) defaults() {
	if o.Eps == 0 {
		o.Eps = 1e-2
	}
	if o.AbsTol == 0 {
		o.AbsTol = 2e-3
	}
	if o.RelTol == 0 {
		o.RelTol = 2e-2
	}
	if o.MaxProbe == 0 {
		o.MaxProbe = 48
	}
}

// Mismatch is one probed element whose gradients disagree.
type Mismatch struct {
	Input, Index      int
	Numeric, Symbolic float64
}

// Report is the result of a comparison.
type Report struct {
	Probed     int
	MaxAbsDiff float64
	Mismatches []Mismatch
}

func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d elements probed, max |numeric-symbolic| %.3g, %d mismatches", r.Probed, r.MaxAbsDiff, len(r.Mismatches))
	for i, m := range r.Mismatches {
		if i == 8 {
			fmt.Fprintf(&b, "\n  ...")
			break
		}
		fmt.Fprintf(&b, "\n  input %d element %d: numeric %.6g symbolic %.6g", m.Input, m.Index, m.Numeric, m.Symbolic)
	}
	return b.String()
}

// Check fails t when the gradients of build at inputs disagree.
func Check(t testing.TB, build Build, inputs []*tensor.Dense, opts Options) Report {
	t.Helper()
	r, err := Compare(build, inputs, opts)
	if err != nil {
		t.Fatalf("gradcheck: %v", err)
	}
	if len(r.Mismatches) > 0 {
		t.Fatalf("gradcheck: %s", r)
	}
	return r
}

// Compare computes symbolic and numeric gradients of L = Σ out ⊙ R.
func Compare(build Build, inputs []*tensor.Dense, opts Options) (Report, error) {
	opts.defaults()
	rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
	wrt := opts.WRT
	if wrt == nil {
		for i := range inputs {
			wrt = append(wrt, i)
		}
	}
	for i, in := range inputs {
		if in.Dtype() != tensor.Float32 {
			return Report{}, fmt.Errorf("input %d is %v, gradcheck handles float32", i, in.Dtype())
		}
	}

	// Forward once to learn the output shape, then fix R.
	out, err := Forward(build, inputs)
	if err != nil {
		return Report{}, err
	}
	weights := make([]float32, len(out.Data))
	for i := range weights {
		weights[i] = float32(rng.Float64()*2 - 1)
	}

	symbolic, err := symbolicGrads(build, inputs, out.Shape, weights, wrt)
	if err != nil {
		return Report{}, err
	}

	var rep Report
	for k, idx := range wrt {
		data := inputs[idx].Float32s() // the backing array, also for a 0-d (scalar) input
		probes := chooseProbes(len(data), opts.MaxProbe, rng)
		for _, p := range probes {
			orig := data[p]
			data[p] = orig + float32(opts.Eps)
			plus, err := lossAt(build, inputs, weights)
			if err != nil {
				data[p] = orig
				return rep, err
			}
			data[p] = orig - float32(opts.Eps)
			minus, err := lossAt(build, inputs, weights)
			data[p] = orig
			if err != nil {
				return rep, err
			}
			// The actual step is what float32 could represent.
			step := float64(orig+float32(opts.Eps)) - float64(orig-float32(opts.Eps))
			num := (plus - minus) / step
			sym := float64(symbolic[k][p])
			d := math.Abs(num - sym)
			rep.Probed++
			if d > rep.MaxAbsDiff {
				rep.MaxAbsDiff = d
			}
			if d > opts.AbsTol+opts.RelTol*math.Max(math.Abs(num), math.Abs(sym)) {
				rep.Mismatches = append(rep.Mismatches, Mismatch{Input: idx, Index: p, Numeric: num, Symbolic: sym})
			}
		}
	}
	return rep, nil
}

func chooseProbes(n, max int, rng *rand.Rand) []int {
	if max < 0 || n <= max {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	return rng.Perm(n)[:max]
}

// Output is a forward result.
type Output struct {
	Shape tensor.Shape
	Data  []float32
}

// Forward runs build on inputs (without gradients) and returns a copy of the output.
func Forward(build Build, inputs []*tensor.Dense) (Output, error) {
	g := gorgonia.NewGraph()
	nodes := inputNodes(g, inputs)
	out, err := build(g, nodes)
	if err != nil {
		return Output{}, fmt.Errorf("building the graph: %w", err)
	}
	var v gorgonia.Value
	gorgonia.Read(out, &v)
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return Output{}, fmt.Errorf("forward: %w", err)
	}
	return copyValue(v)
}

func copyValue(v gorgonia.Value) (Output, error) {
	if v == nil {
		return Output{}, fmt.Errorf("the output was not computed")
	}
	switch d := v.Data().(type) {
	case []float32:
		return Output{Shape: v.Shape().Clone(), Data: append([]float32(nil), d...)}, nil
	case float32:
		return Output{Shape: tensor.ScalarShape(), Data: []float32{d}}, nil
	}
	return Output{}, fmt.Errorf("output is %T, want float32", v.Data())
}

func inputNodes(g *gorgonia.ExprGraph, inputs []*tensor.Dense) []*gorgonia.Node {
	nodes := make([]*gorgonia.Node, len(inputs))
	for i, in := range inputs {
		name := gorgonia.WithName(fmt.Sprintf("in%d", i))
		if in.Shape().IsScalar() { // a 0-d input becomes a scalar node
			nodes[i] = gorgonia.NewScalar(g, tensor.Float32, name, gorgonia.WithValue(in.Float32s()[0]))
			continue
		}
		nodes[i] = gorgonia.NodeFromAny(g, in, name)
	}
	return nodes
}

func lossAt(build Build, inputs []*tensor.Dense, weights []float32) (float64, error) {
	out, err := Forward(build, inputs)
	if err != nil {
		return 0, err
	}
	if len(out.Data) != len(weights) {
		return 0, fmt.Errorf("output size changed from %d to %d", len(weights), len(out.Data))
	}
	var s float64
	for i, v := range out.Data {
		s += float64(v) * float64(weights[i])
	}
	return s, nil
}

func symbolicGrads(build Build, inputs []*tensor.Dense, shape tensor.Shape, weights []float32, wrt []int) ([][]float32, error) {
	g := gorgonia.NewGraph()
	nodes := inputNodes(g, inputs)
	out, err := build(g, nodes)
	if err != nil {
		return nil, fmt.Errorf("building the graph: %w", err)
	}
	var loss *gorgonia.Node
	if shape.IsScalar() {
		w := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("gradcheck.R"), gorgonia.WithValue(weights[0]))
		loss, err = gorgonia.Mul(out, w)
	} else {
		w := gorgonia.NewTensor(g, tensor.Float32, shape.Dims(), gorgonia.WithShape(shape...), gorgonia.WithName("gradcheck.R"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), weights...)))))
		var prod *gorgonia.Node
		if prod, err = gorgonia.HadamardProd(out, w); err == nil {
			loss, err = gorgonia.Sum(prod)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("building the loss: %w", err)
	}
	targets := make(gorgonia.Nodes, len(wrt))
	for k, i := range wrt {
		targets[k] = nodes[i]
	}
	if _, err := gorgonia.Grad(loss, targets...); err != nil {
		return nil, fmt.Errorf("symbolic gradient: %w", err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(targets...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return nil, fmt.Errorf("forward/backward: %w", err)
	}
	grads := make([][]float32, len(targets))
	for k, n := range targets {
		gv, err := n.Grad()
		if err != nil {
			return nil, fmt.Errorf("gradient of input %d: %w", wrt[k], err)
		}
		d, ok := gv.Data().([]float32)
		if !ok {
			if s, ok := gv.Data().(float32); ok {
				d = []float32{s}
			} else {
				return nil, fmt.Errorf("gradient of input %d is %T", wrt[k], gv.Data())
			}
		}
		grads[k] = append([]float32(nil), d...)
	}
	return grads, nil
}
