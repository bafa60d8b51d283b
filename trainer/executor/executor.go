package executor

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Backend runs one operator. out is the buffer the plan holds for the node
// (nil when the node has none: a scalar, or an operator without
// UsePreallocDo); the returned value is what the node holds after the run.
// Backends must not write into their inputs.
type Backend interface {
	Exec(op gorgonia.Op, out gorgonia.Value, in []gorgonia.Value) (gorgonia.Value, error)
	// Alloc returns a buffer for a node of the given type and shape, or nil
	// when the node should have none.
	Alloc(op gorgonia.Op, dt tensor.Dtype, shape tensor.Shape) gorgonia.Value
	// Free releases a buffer that Alloc returned.
	Free(v gorgonia.Value)
}

// CPU is the host backend: UsePreallocDo into the node's buffer when the
// operator has it, Do otherwise.
//
// gorgonia's own operators were written for its tape machine, whose
// registers hold fresh, zeroed values on every run, and some add into the
// destination (sliceIncrOp, the gradient of Slice, does): they get their
// buffer cleared first, which is what their Do starts from. pgaug's
// operators write every element of the destination (each is checked
// against a destination full of NaNs, optest.CheckPrealloc) and get the
// buffer as the last run left it.
type CPU struct{}

// Exec implements Backend.
func (CPU) Exec(op gorgonia.Op, out gorgonia.Value, in []gorgonia.Value) (gorgonia.Value, error) {
	if pd, ok := op.(gorgonia.UsePreallocDoer); ok && out != nil {
		if fromGorgonia(op) {
			if t, ok := out.(*tensor.Dense); ok {
				t.Zero()
			}
		}
		return pd.UsePreallocDo(out, in...)
	}
	return op.Do(in...)
}

// fromGorgonia says whether op is one of gorgonia's own operators.
func fromGorgonia(op gorgonia.Op) bool {
	t := reflect.TypeOf(op)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return strings.HasPrefix(t.PkgPath(), "gorgonia.org/")
}

// Alloc implements Backend: a dense tensor for every non-scalar output of an
// operator that can write into one.
func (CPU) Alloc(op gorgonia.Op, dt tensor.Dtype, shape tensor.Shape) gorgonia.Value {
	if _, ok := op.(gorgonia.UsePreallocDoer); !ok || shape.IsScalar() {
		return nil
	}
	return tensor.New(tensor.Of(dt), tensor.WithShape(shape.Clone()...))
}

// Free implements Backend: the garbage collector takes host buffers.
func (CPU) Free(gorgonia.Value) {}

// Program is the plan for running the part of a graph that some roots
// depend on.
type Program struct {
	backend Backend
	nodes   []*gorgonia.Node // topological order: every node after its inputs
	args    [][]int          // per node, the indices of its inputs in nodes
	index   map[*gorgonia.Node]int
	vals    []gorgonia.Value // what each node holds after the last Run
	bufs    []gorgonia.Value // the plan's buffer per node (nil: none)
	planned bool
	scratch []gorgonia.Value
}

// Compile plans the nodes the roots depend on. Leaves (nodes without
// inputs: the graph's inputs, parameters and constants) are read from the
// node on every Run, so gorgonia.Let before Run works as with the tape
// machine.
func Compile(b Backend, roots ...*gorgonia.Node) (*Program, error) {
	if b == nil {
		b = CPU{}
	}
	if len(roots) == 0 {
		return nil, errors.New("executor: no roots to compute")
	}
	p := &Program{backend: b, index: map[*gorgonia.Node]int{}}
	const (
		unseen = iota
		open
		done
	)
	state := map[*gorgonia.Node]int{}
	// Depth-first, post-order, with an explicit stack: graphs with their
	// backward pass are thousands of nodes deep.
	type frame struct {
		n    *gorgonia.Node
		kids []*gorgonia.Node
		next int
	}
	for _, r := range roots {
		if r == nil {
			return nil, errors.New("executor: nil root")
		}
		if state[r] == done {
			continue
		}
		stack := []frame{{n: r, kids: children(r)}}
		state[r] = open
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next < len(f.kids) {
				k := f.kids[f.next]
				f.next++
				switch state[k] {
				case open:
					return nil, fmt.Errorf("executor: the graph has a cycle through %s", k.Name())
				case unseen:
					state[k] = open
					stack = append(stack, frame{n: k, kids: children(k)})
				}
				continue
			}
			n := f.n
			stack = stack[:len(stack)-1]
			state[n] = done
			args := make([]int, len(f.kids))
			for i, k := range f.kids {
				args[i] = p.index[k]
			}
			p.index[n] = len(p.nodes)
			p.nodes = append(p.nodes, n)
			p.args = append(p.args, args)
		}
	}
	p.vals = make([]gorgonia.Value, len(p.nodes))
	p.bufs = make([]gorgonia.Value, len(p.nodes))
	return p, nil
}

func children(n *gorgonia.Node) []*gorgonia.Node {
	it := n.Graph().From(n.ID())
	if it == nil {
		return nil
	}
	kids := make([]*gorgonia.Node, 0, it.Len())
	for it.Next() {
		kids = append(kids, it.Node().(*gorgonia.Node))
	}
	return kids
}

// plan allocates the buffers, once, from the nodes' static shapes.
func (p *Program) plan() {
	for i, n := range p.nodes {
		if len(p.args[i]) == 0 || n.Op() == nil {
			continue
		}
		p.bufs[i] = p.backend.Alloc(n.Op(), n.Dtype(), n.Shape())
	}
	p.planned = true
}

// Run computes every planned node.
func (p *Program) Run() error {
	if !p.planned {
		p.plan()
	}
	for i, n := range p.nodes {
		args := p.args[i]
		if len(args) == 0 {
			v := n.Value()
			if v == nil {
				return fmt.Errorf("executor: %s has no value (gorgonia.Let it before Run)", n.Name())
			}
			p.vals[i] = v
			continue
		}
		in := p.scratch[:0]
		for _, a := range args {
			in = append(in, p.vals[a])
		}
		v, err := p.backend.Exec(n.Op(), p.bufs[i], in)
		p.scratch = in[:0]
		if err != nil {
			return fmt.Errorf("executor: %s (%v): %w", n.Name(), n.Op(), err)
		}
		if v == nil {
			return fmt.Errorf("executor: %s (%v) returned no value", n.Name(), n.Op())
		}
		p.vals[i] = v
	}
	clear(p.scratch[:cap(p.scratch)])
	return nil
}

// Value returns what n holds after the last Run: the plan's buffer, which
// the next Run overwrites.
func (p *Program) Value(n *gorgonia.Node) (gorgonia.Value, error) {
	i, ok := p.index[n]
	if !ok {
		return nil, fmt.Errorf("executor: %s is not computed by this program", n.Name())
	}
	if p.vals[i] == nil {
		return nil, fmt.Errorf("executor: %s has not been computed yet (Run first)", n.Name())
	}
	return p.vals[i], nil
}

// Close releases the buffers; a later Run plans them again.
func (p *Program) Close() {
	for i, b := range p.bufs {
		if b != nil {
			p.backend.Free(b)
		}
		p.bufs[i] = nil
	}
	clear(p.vals)
	p.planned = false
}

// Len is the number of planned nodes.
func (p *Program) Len() int { return len(p.nodes) }

// Buffers is the number of nodes with a buffer of their own and the bytes
// they hold (after the first Run).
func (p *Program) Buffers() (count int, bytes int64) {
	for _, b := range p.bufs {
		if t, ok := b.(tensor.Tensor); ok {
			count++
			bytes += int64(t.MemSize())
		}
	}
	return count, bytes
}
