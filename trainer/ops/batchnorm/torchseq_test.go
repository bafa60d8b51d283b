package batchnorm

import (
	"fmt"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/optest"
)

// bnNet is a graph y = BatchNorm(x) with loss Σ y⊙dy, built once for one
// batch shape and run many times.
type bnNet struct {
	x, dy, scale, bias *gorgonia.Node
	yv                 gorgonia.Value
	vm                 gorgonia.VM
}

func newBNNet(t *testing.T, shape []int, st *State, flag *ModeFlag, scale, bias []float32) *bnNet {
	t.Helper()
	g := gorgonia.NewGraph()
	c := shape[1]
	n := &bnNet{
		x:     gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName("x")),
		dy:    gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName("dy")),
		scale: gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(c), gorgonia.WithName("scale"), gorgonia.WithValue(optest.Dense(scale, c))),
		bias:  gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(c), gorgonia.WithName("bias"), gorgonia.WithValue(optest.Dense(bias, c))),
	}
	y, err := BatchNorm(n.x, n.scale, n.bias, st, Params{Mode: flag})
	if err != nil {
		t.Fatal(err)
	}
	gorgonia.Read(y, &n.yv)
	p, err := gorgonia.HadamardProd(y, n.dy)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Sum(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gorgonia.Grad(loss, n.x, n.scale, n.bias); err != nil {
		t.Fatal(err)
	}
	n.vm = gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(n.x, n.scale, n.bias))
	t.Cleanup(func() { n.vm.Close() })
	return n
}

// step runs the net once and returns y and the gradients of x, scale, bias,
// zeroing the gradients afterwards (as a solver's Step would).
func (n *bnNet) step(t *testing.T, x, dy []float32) (y, dx, dscale, dbias []float32) {
	t.Helper()
	shape := n.x.Shape()
	if err := gorgonia.Let(n.x, optest.Dense(x, shape...)); err != nil {
		t.Fatal(err)
	}
	if err := gorgonia.Let(n.dy, optest.Dense(dy, shape...)); err != nil {
		t.Fatal(err)
	}
	if err := n.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	defer n.vm.Reset()
	y = optest.ValueData(t, n.yv)
	var grads [3][]float32
	for i, node := range []*gorgonia.Node{n.x, n.scale, n.bias} {
		gv, err := node.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grads[i] = optest.ValueData(t, gv)
		gv.(*tensor.Dense).Zero()
	}
	return y, grads[0], grads[1], grads[2]
}

type bnStep struct {
	mode  Mode
	shape []int
}

// TestAgainstPyTorch runs the same sequence of batches through this BatchNorm
// and PyTorch's (train with two batch sizes, eval, train again, frozen),
// comparing outputs, all gradients and the running statistics after every
// step.
func TestAgainstPyTorch(t *testing.T) {
	for _, c := range []struct {
		name        string
		torchModule string
		onnxMomentum,
		eps float64
		steps []bnStep
	}{
		{"2d", "BatchNorm2d", 0.9, 1e-5, []bnStep{
			{Train, []int{2, 3, 4, 5}}, {Train, []int{3, 3, 4, 5}}, {Eval, []int{2, 3, 4, 5}},
			{Train, []int{2, 3, 4, 5}}, {Frozen, []int{3, 3, 4, 5}}, {Train, []int{3, 3, 4, 5}},
		}},
		{"1d", "BatchNorm1d", 0.7, 1e-3, []bnStep{
			{Train, []int{4, 5}}, {Eval, []int{4, 5}}, {Train, []int{6, 5}}, {Train, []int{4, 5}}, {Eval, []int{6, 5}},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ch := c.steps[0].shape[1]
			scale, bias := optest.Uniform(1, ch, 0.5, 1.5), optest.Uniform(2, ch, -0.5, 0.5)
			rm0, rv0 := optest.Uniform(3, ch, -1, 1), optest.Uniform(4, ch, 0.5, 2)
			inputs := map[string][]float32{"scale": scale, "bias": bias, "rm0": rm0, "rv0": rv0}
			var script strings.Builder
			fmt.Fprintf(&script, `C = %d
bn = torch.nn.%s(C, eps=%g, momentum=%g)
with torch.no_grad():
    bn.weight.copy_(load('scale', C)); bn.bias.copy_(load('bias', C))
    bn.running_mean.copy_(load('rm0', C)); bn.running_var.copy_(load('rv0', C))
`, ch, c.torchModule, c.eps, 1-c.onnxMomentum)
			for i, s := range c.steps {
				inputs[fmt.Sprintf("x%d", i)] = channelData(uint64(10+i), s.shape)
				inputs[fmt.Sprintf("dy%d", i)] = optest.Uniform(uint64(20+i), optest.Numel(s.shape), -1, 1)
				shape := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(s.shape)), ","), "[]")
				fmt.Fprintf(&script, `bn.train(%s)
x = load('x%d', %s).requires_grad_(True)
y = bn(x)
y.backward(load('dy%d', %s))
save('y%d', y); save('dx%d', x.grad); save('dscale%d', bn.weight.grad); save('dbias%d', bn.bias.grad)
bn.weight.grad = None; bn.bias.grad = None
save('rm%d', bn.running_mean); save('rv%d', bn.running_var)
`, map[bool]string{true: "True", false: "False"}[s.mode == Train], i, shape, i, shape, i, i, i, i, i, i)
			}
			script.WriteString("save('tracked', bn.num_batches_tracked.float())\n")
			ref := optest.RunTorch(t, script.String(), inputs)

			st := NewState(ch, c.eps, MomentumFromONNX(c.onnxMomentum))
			if err := st.SetStats(rm0, rv0); err != nil {
				t.Fatal(err)
			}
			flag := NewModeFlag(Train)
			nets := map[int]*bnNet{} // by batch size, built once each
			for i, s := range c.steps {
				net := nets[s.shape[0]]
				if net == nil {
					net = newBNNet(t, s.shape, st, flag, scale, bias)
					nets[s.shape[0]] = net
				}
				flag.Set(s.mode)
				n := optest.Numel(s.shape)
				y, dx, dscale, dbias := net.step(t, inputs[fmt.Sprintf("x%d", i)], inputs[fmt.Sprintf("dy%d", i)])
				what := fmt.Sprintf("step %d (%v, %v)", i, s.mode, s.shape)
				optest.AssertClose(t, what+" y", y, optest.MustGet(t, ref, fmt.Sprintf("y%d", i), n), 2e-6, 2e-6)
				optest.AssertClose(t, what+" dx", dx, optest.MustGet(t, ref, fmt.Sprintf("dx%d", i), n), 2e-5, 2e-5)
				optest.AssertClose(t, what+" dscale", dscale, optest.MustGet(t, ref, fmt.Sprintf("dscale%d", i), ch), 2e-5, 2e-5)
				optest.AssertClose(t, what+" dbias", dbias, optest.MustGet(t, ref, fmt.Sprintf("dbias%d", i), ch), 2e-5, 2e-5)
				mean, vars := st.Stats()
				optest.AssertClose(t, what+" running mean", mean, optest.MustGet(t, ref, fmt.Sprintf("rm%d", i), ch), 1e-6, 1e-6)
				optest.AssertClose(t, what+" running var", vars, optest.MustGet(t, ref, fmt.Sprintf("rv%d", i), ch), 1e-6, 1e-6)
			}
			if tracked := optest.MustGet(t, ref, "tracked", 1)[0]; float32(st.BatchesTracked) != tracked {
				t.Errorf("BatchesTracked = %d, PyTorch's num_batches_tracked = %v", st.BatchesTracked, tracked)
			}
		})
	}
}
