package spatial

import (
	"fmt"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
)

type convCase struct {
	name          string
	n, c, h, w, o int
	kh, kw        int
	p             ConvParams
	bias          bool
	pads          [4]int // the resolved pads the references use
}

func (cc convCase) shapes() (xs, ws []int) {
	g := cc.p.Group
	if g == 0 {
		g = 1
	}
	return []int{cc.n, cc.c, cc.h, cc.w}, []int{cc.o, cc.c / g, cc.kh, cc.kw}
}

func (cc convCase) naive() naiveConv {
	s, d := defaultOne(cc.p.Strides), defaultOne(cc.p.Dilations)
	g := cc.p.Group
	if g == 0 {
		g = 1
	}
	return naiveConv{kh: cc.kh, kw: cc.kw, sh: s[0], sw: s[1], dh: d[0], dw: d[1], pads: cc.pads, group: g}
}

func (cc convCase) build() builder {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		if cc.bias {
			return Conv2DBias(in[0], in[1], in[2], cc.p)
		}
		return Conv2D(in[0], in[1], cc.p)
	}
}

func (cc convCase) inputs(seed uint64) []*tensor.Dense {
	xs, ws := cc.shapes()
	in := []*tensor.Dense{dense(randData(seed, prod(xs)), xs...), dense(randData(seed+1, prod(ws)), ws...)}
	if cc.bias {
		in = append(in, dense(randData(seed+2, cc.o), cc.o))
	}
	return in
}

var convCases = []convCase{
	{name: "3x3 pad1", n: 2, c: 3, h: 7, w: 6, o: 4, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}}, pads: [4]int{1, 1, 1, 1}},
	{name: "stride2", n: 2, c: 3, h: 9, w: 8, o: 5, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}}, pads: [4]int{1, 1, 1, 1}},
	{name: "dilation2", n: 2, c: 2, h: 9, w: 10, o: 3, kh: 3, kw: 3, p: ConvParams{Dilations: [2]int{2, 2}, Pads: [4]int{2, 2, 2, 2}}, pads: [4]int{2, 2, 2, 2}},
	{name: "group2", n: 2, c: 4, h: 6, w: 7, o: 6, kh: 3, kw: 3, p: ConvParams{Group: 2, Pads: [4]int{1, 1, 1, 1}}, pads: [4]int{1, 1, 1, 1}},
	{name: "depthwise stride2", n: 2, c: 4, h: 6, w: 6, o: 8, kh: 3, kw: 3, p: ConvParams{Group: 4, Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}}, pads: [4]int{1, 1, 1, 1}},
	{name: "1x1", n: 3, c: 8, h: 5, w: 5, o: 6, kh: 1, kw: 1},
	{name: "1x1 stride2", n: 2, c: 4, h: 7, w: 7, o: 6, kh: 1, kw: 1, p: ConvParams{Strides: [2]int{2, 2}}},
	{name: "1x1 group2 bias", n: 2, c: 4, h: 3, w: 5, o: 6, kh: 1, kw: 1, p: ConvParams{Group: 2}, bias: true},
	{name: "rect kernel", n: 2, c: 3, h: 8, w: 9, o: 4, kh: 3, kw: 2, p: ConvParams{Strides: [2]int{2, 1}, Dilations: [2]int{1, 2}, Pads: [4]int{1, 1, 1, 1}}, pads: [4]int{1, 1, 1, 1}},
	{name: "asymmetric pads", n: 2, c: 3, h: 7, w: 8, o: 4, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{1, 0, 2, 1}}, pads: [4]int{1, 0, 2, 1}},
	{name: "bias", n: 2, c: 3, h: 5, w: 5, o: 4, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}}, bias: true, pads: [4]int{1, 1, 1, 1}},
	{name: "7x7 stem", n: 2, c: 3, h: 16, w: 15, o: 8, kh: 7, kw: 7, p: ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{3, 3, 3, 3}}, bias: true, pads: [4]int{3, 3, 3, 3}},
	{name: "SAME_UPPER stride2", n: 2, c: 3, h: 8, w: 7, o: 4, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, AutoPad: SameUpper}, pads: [4]int{0, 1, 1, 1}},
	{name: "SAME_LOWER stride2", n: 2, c: 3, h: 8, w: 7, o: 4, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{2, 2}, AutoPad: SameLower}, pads: [4]int{1, 1, 0, 1}},
	{name: "VALID", n: 2, c: 3, h: 8, w: 7, o: 4, kh: 3, kw: 2, p: ConvParams{AutoPad: Valid}},
	{name: "window past the end", n: 1, c: 2, h: 8, w: 8, o: 3, kh: 3, kw: 3, p: ConvParams{Strides: [2]int{3, 3}, Pads: [4]int{0, 0, 1, 0}}, pads: [4]int{0, 0, 1, 0}},
	// Stride 1 with pads beyond the kernel's reach: the input gradient cannot
	// be a flipped convolution and goes through col2im.
	{name: "1x1 pad1", n: 2, c: 3, h: 5, w: 4, o: 2, kh: 1, kw: 1, p: ConvParams{Pads: [4]int{1, 1, 1, 1}}, pads: [4]int{1, 1, 1, 1}},
	{name: "3x3 pad3 bottom", n: 2, c: 2, h: 5, w: 6, o: 3, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{0, 1, 3, 0}}, pads: [4]int{0, 1, 3, 0}},
	{name: "64 channels", n: 2, c: 64, h: 14, w: 14, o: 64, kh: 3, kw: 3, p: ConvParams{Pads: [4]int{1, 1, 1, 1}}, pads: [4]int{1, 1, 1, 1}},
}

// strategies runs f with each parallel strategy forced, with whole-image
// column matrices (one image per SGEMM, and the batch's images sharing one
// column matrix: imagesPerGemm) and with bands of a single output row, then
// restores the defaults.
func strategies(t *testing.T, f func(t *testing.T)) {
	defer func(b, m int) { strategyOverride, colsBandBytes, minGemmCols, batchingDisable = 0, b, m, false }(colsBandBytes, minGemmCols)
	for _, band := range []int{1 << 30, 1} {
		for _, s := range []int{1, 2} {
			for _, batched := range []bool{false, true} {
				if batched && band == 1 {
					continue // banded images never share a column matrix
				}
				strategyOverride, colsBandBytes = s, band
				batchingDisable, minGemmCols = !batched, 1<<30
				t.Run(fmt.Sprintf("strategy%d/band%d/batched=%t", s, band, batched), f)
			}
		}
	}
}

// biasData is the bias input's data of a case with bias, nil otherwise.
func biasData(in []*tensor.Dense, bias bool) []float32 {
	if !bias {
		return nil
	}
	return in[2].Data().([]float32)
}

// expectForward checks, under every strategy, that build's output on in is
// want, of shape wantShape.
func expectForward(t *testing.T, build builder, in []*tensor.Dense, want []float32, wantShape []int) {
	strategies(t, func(t *testing.T) {
		got, shape, _ := forwardBackward(t, build, in, nil)
		if !shape.Eq(tensor.Shape(wantShape)) {
			t.Fatalf("output shape %v, want %v", shape, wantShape)
		}
		expectClose(t, "forward", got, want, 1e-5)
	})
}

// torchGrads are the indices, among a torch job's outputs, of a
// (transposed) convolution's y and of the gradients of Σ y ⊙ r with respect
// to x, w and (db ≥ 0 only with bias) b.
type torchGrads struct {
	y, dx, dw, db int
	bias          bool
}

// backwardOutputs has the job, whose script has set y from x, w (and b) and
// the weights r, backpropagate Σ y ⊙ r and output y and the gradients.
func backwardOutputs(job *torchJob, bias bool) torchGrads {
	job.line("(y * r).sum().backward()")
	e := torchGrads{y: job.output("y"), dx: job.output("x.grad"), dw: job.output("w.grad"), db: -1, bias: bias}
	if bias {
		e.db = job.output("b.grad")
	}
	return e
}

// check compares, under every strategy, build's output and gradients of
// Σ y ⊙ r on in with the job's results res.
func (e torchGrads) check(t *testing.T, build builder, in []*tensor.Dense, r []float32, res [][]float32) {
	strategies(t, func(t *testing.T) {
		y, _, grads := forwardBackward(t, build, in, r)
		expectClose(t, "y", y, res[e.y], 1e-4)
		expectClose(t, "dx", grads[0], res[e.dx], 1e-4)
		expectClose(t, "dw", grads[1], res[e.dw], 1e-4)
		if e.bias {
			expectClose(t, "db", grads[2], res[e.db], 1e-4)
		}
	})
}

func TestConvMatchesNaive(t *testing.T) {
	for i, cc := range convCases {
		t.Run(cc.name, func(t *testing.T) {
			in := cc.inputs(uint64(100 + 10*i))
			xs, _ := cc.shapes()
			want, wantShape := cc.naive().conv(in[0].Data().([]float32), xs, in[1].Data().([]float32), cc.o, biasData(in, cc.bias))
			expectForward(t, cc.build(), in, want, wantShape)
		})
	}
}

// TestConvMatchesTorch compares the output and the gradients of Σ y ⊙ R with
// F.conv2d and autograd (pads applied by F.pad, which covers the asymmetric
// ones).
func TestConvMatchesTorch(t *testing.T) {
	job := newTorchJob(t)
	exps := make([]torchGrads, len(convCases))
	ins := make([][]*tensor.Dense, len(convCases))
	rs := make([][]float32, len(convCases))
	for i, cc := range convCases {
		in := cc.inputs(uint64(200 + 10*i))
		ins[i] = in
		xs, ws := cc.shapes()
		nv := cc.naive()
		_, ys := nv.conv(in[0].Data().([]float32), xs, in[1].Data().([]float32), cc.o, nil)
		rs[i] = randData(uint64(300+i), prod(ys))
		x := job.input(t, in[0].Data().([]float32), true, xs...)
		w := job.input(t, in[1].Data().([]float32), true, ws...)
		r := job.input(t, rs[i], false, ys...)
		job.line("x, w, r = %s, %s, %s", x, w, r)
		bias := "None"
		if cc.bias {
			job.line("b = %s", job.input(t, in[2].Data().([]float32), true, cc.o))
			bias = "b"
		}
		p := cc.pads
		job.line("y = F.conv2d(F.pad(x, (%d, %d, %d, %d)), w, %s, stride=(%d, %d), dilation=(%d, %d), groups=%d)",
			p[1], p[3], p[0], p[2], bias, nv.sh, nv.sw, nv.dh, nv.dw, nv.group)
		exps[i] = backwardOutputs(job, cc.bias)
	}
	res := job.run(t)
	for i, cc := range convCases {
		t.Run(cc.name, func(t *testing.T) { exps[i].check(t, cc.build(), ins[i], rs[i], res) })
	}
}

func TestConvGradcheck(t *testing.T) {
	for i, cc := range convCases {
		if cc.c*cc.h*cc.w > 600 {
			continue // covered by the PyTorch comparison; too slow for finite differences
		}
		t.Run(cc.name, func(t *testing.T) {
			in := cc.inputs(uint64(400 + 10*i))
			gradcheck.Check(t, gradcheck.Build(cc.build()), in, gradcheck.Options{Seed: uint64(i), MaxProbe: 64})
		})
	}
}

func TestConvNoInputGrad(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 2, 5, 5), gorgonia.WithName("x"), gorgonia.WithInit(gorgonia.GlorotU(1)))
	w := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(3, 2, 3, 3), gorgonia.WithName("w"), gorgonia.WithInit(gorgonia.GlorotU(1)))
	y, err := Conv2D(x, w, ConvParams{NoInputGrad: true})
	if err != nil {
		t.Fatal(err)
	}
	cost, err := gorgonia.Sum(y)
	if err != nil {
		t.Fatal(err)
	}
	before := len(g.AllNodes())
	if _, err := gorgonia.Grad(cost, w); err != nil {
		t.Fatal(err)
	}
	for _, n := range g.AllNodes()[before:] {
		if strings.Contains(n.Op().String(), "ConvTranspose") {
			t.Fatalf("an input gradient node %v was built", n)
		}
	}
	if _, err := gorgonia.Grad(cost, x); err == nil {
		t.Fatal("differentiating with respect to x succeeded with NoInputGrad")
	}
}

// TestConvRepeatedRuns runs a compiled graph (forward and gradients) three
// times, as a training loop does, with new input values each time: every run
// must give the right output and leave the inputs alone. (The tape machine's
// Reset drops its registers, so the outputs are fresh Do results each run;
// UsePreallocDo is tested in TestConvDoReturnsFreshValues.)
func TestConvRepeatedRuns(t *testing.T) {
	cc := convCases[9] // asymmetric pads, stride 2
	in := cc.inputs(500)
	xs, _ := cc.shapes()
	g := gorgonia.NewGraph()
	nodes := inputNodes(g, in)
	y, err := cc.build()(g, nodes)
	if err != nil {
		t.Fatal(err)
	}
	cost, _ := gorgonia.Sum(y)
	if _, err := gorgonia.Grad(cost, nodes...); err != nil {
		t.Fatal(err)
	}
	var yv gorgonia.Value
	gorgonia.Read(y, &yv)
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	xdata := in[0].Data().([]float32)
	for run := 0; run < 3; run++ {
		copy(xdata, randData(uint64(600+run), len(xdata)))
		xCopy := append([]float32(nil), xdata...)
		wCopy := append([]float32(nil), in[1].Data().([]float32)...)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		want, _ := cc.naive().conv(xdata, xs, in[1].Data().([]float32), cc.o, nil)
		expectClose(t, fmt.Sprintf("run %d", run), yv.Data().([]float32), want, 1e-5)
		expectClose(t, "x after the run", xdata, xCopy, 0)
		expectClose(t, "w after the run", in[1].Data().([]float32), wCopy, 0)
		yv = nil
		vm.Reset()
	}
}

// Distinct parameters must hash differently, or gorgonia merges the nodes.
func TestConvHashDistinguishesParams(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 2, 8, 8), gorgonia.WithName("x"), gorgonia.WithInit(gorgonia.GlorotU(1)))
	w := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(2, 2, 3, 3), gorgonia.WithName("w"), gorgonia.WithInit(gorgonia.GlorotU(1)))
	params := []ConvParams{
		{Pads: [4]int{1, 1, 1, 1}},
		{Pads: [4]int{2, 2, 2, 2}, Dilations: [2]int{2, 2}},
		{Pads: [4]int{2, 0, 0, 2}},
		{Pads: [4]int{0, 2, 2, 0}},
		{Pads: [4]int{1, 1, 1, 1}, Group: 2},
		{Pads: [4]int{1, 1, 1, 1}, NoInputGrad: true},
	}
	seen := map[uint32]int{}
	nodes := map[*gorgonia.Node]int{}
	for i, p := range params {
		ww := w
		if p.Group == 2 {
			ww = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(2, 1, 3, 3), gorgonia.WithName("w1"), gorgonia.WithInit(gorgonia.GlorotU(1)))
		}
		y, err := Conv2D(x, ww, p)
		if err != nil {
			t.Fatal(err)
		}
		h := y.Op().Hashcode()
		if j, ok := seen[h]; ok {
			t.Fatalf("params %d and %d hash alike", i, j)
		}
		seen[h] = i
		if j, ok := nodes[y]; ok {
			t.Fatalf("params %d and %d gave the same node", i, j)
		}
		nodes[y] = i
	}
	// The same op on the same inputs is the same node.
	a, _ := Conv2D(x, w, params[0])
	b, _ := Conv2D(x, w, params[0])
	if a != b {
		t.Fatal("identical convolutions were not merged")
	}
}

func TestConvDoReturnsFreshValues(t *testing.T) {
	cc := convCases[0]
	in := cc.inputs(700)
	xs, ws := cc.shapes()
	a, _ := resolveConv("Conv", cc.p, [2]int{xs[2], xs[3]}, [2]int{ws[2], ws[3]})
	op := &convOp{a: a}
	v1, err := op.Do(in[0], in[1])
	if err != nil {
		t.Fatal(err)
	}
	v2, err := op.Do(in[0], in[1])
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := v1.Data().([]float32), v2.Data().([]float32)
	if &d1[0] == &d2[0] {
		t.Fatal("Do returned the same backing array twice")
	}
	expectClose(t, "second Do", d2, d1, 0)
	// A prealloc of another shape is not used.
	other := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking(make([]float32, 4)))
	v3, err := op.UsePreallocDo(other, in[0], in[1])
	if err != nil {
		t.Fatal(err)
	}
	if v3 == other {
		t.Fatal("UsePreallocDo wrote into a value of the wrong shape")
	}
	expectClose(t, "UsePreallocDo", v3.Data().([]float32), d1, 0)
	// A matching one is.
	v4, err := op.UsePreallocDo(v1, in[0], in[1])
	if err != nil {
		t.Fatal(err)
	}
	if v4 != v1 {
		t.Fatal("UsePreallocDo did not reuse a value of the right shape")
	}
}

func TestResolveAutoPad(t *testing.T) {
	cases := []struct {
		mode                     AutoPad
		in, kernel, strides, dil [2]int
		want                     [4]int
	}{
		{SameUpper, [2]int{8, 7}, [2]int{3, 3}, [2]int{2, 2}, [2]int{1, 1}, [4]int{0, 1, 1, 1}},
		{SameLower, [2]int{8, 7}, [2]int{3, 3}, [2]int{2, 2}, [2]int{1, 1}, [4]int{1, 1, 0, 1}},
		{SameUpper, [2]int{5, 5}, [2]int{4, 2}, [2]int{1, 1}, [2]int{1, 1}, [4]int{1, 0, 2, 1}},
		{SameLower, [2]int{5, 5}, [2]int{4, 2}, [2]int{1, 1}, [2]int{1, 1}, [4]int{2, 1, 1, 0}},
		{SameUpper, [2]int{6, 6}, [2]int{3, 3}, [2]int{1, 1}, [2]int{2, 2}, [4]int{2, 2, 2, 2}},
		{SameUpper, [2]int{6, 6}, [2]int{1, 1}, [2]int{3, 3}, [2]int{1, 1}, [4]int{0, 0, 0, 0}}, // negative total: none
		{Valid, [2]int{6, 6}, [2]int{3, 3}, [2]int{1, 1}, [2]int{1, 1}, [4]int{}},
		{"", [2]int{6, 6}, [2]int{3, 3}, [2]int{1, 1}, [2]int{1, 1}, [4]int{}},
	}
	for _, c := range cases {
		got, err := ResolveAutoPad(c.mode, c.in, c.kernel, c.strides, c.dil, [4]int{})
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if got != c.want {
			t.Errorf("%s in=%v k=%v s=%v d=%v: pads %v, want %v", c.mode, c.in, c.kernel, c.strides, c.dil, got, c.want)
		}
	}
	if _, err := ResolveAutoPad(SameUpper, [2]int{5, 5}, [2]int{3, 3}, [2]int{1, 1}, [2]int{1, 1}, [4]int{1, 1, 1, 1}); err == nil {
		t.Error("pads together with SAME_UPPER were accepted")
	}
	if _, err := ResolveAutoPad("SAME", [2]int{5, 5}, [2]int{3, 3}, [2]int{1, 1}, [2]int{1, 1}, [4]int{}); err == nil {
		t.Error("auto_pad SAME was accepted")
	}
}

func TestConvErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	mk := func(name string, dt tensor.Dtype, shape ...int) *gorgonia.Node {
		return gorgonia.NewTensor(g, dt, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name))
	}
	x := mk("x", tensor.Float32, 2, 4, 6, 6)
	cases := []struct {
		name string
		run  func() (*gorgonia.Node, error)
		want string
	}{
		{"weight channels", func() (*gorgonia.Node, error) { return Conv2D(x, mk("w1", tensor.Float32, 3, 3, 3, 3), ConvParams{}) }, "weight shape"},
		{"group does not divide", func() (*gorgonia.Node, error) {
			return Conv2D(x, mk("w2", tensor.Float32, 3, 4, 3, 3), ConvParams{Group: 3})
		}, "group"},
		{"outputs not divisible by group", func() (*gorgonia.Node, error) {
			return Conv2D(x, mk("w3", tensor.Float32, 3, 2, 3, 3), ConvParams{Group: 2})
		}, "multiple of group"},
		{"3-D input", func() (*gorgonia.Node, error) {
			return Conv2D(mk("x3", tensor.Float32, 4, 6, 6), mk("w4", tensor.Float32, 3, 4, 3, 3), ConvParams{})
		}, "4 dimensions"},
		{"float64", func() (*gorgonia.Node, error) {
			return Conv2D(mk("x64", tensor.Float64, 2, 4, 6, 6), mk("w5", tensor.Float32, 3, 4, 3, 3), ConvParams{})
		}, "float32"},
		{"kernel_shape mismatch", func() (*gorgonia.Node, error) {
			return Conv2D(x, mk("w6", tensor.Float32, 3, 4, 3, 3), ConvParams{KernelShape: [2]int{5, 5}})
		}, "kernel_shape"},
		{"window too big", func() (*gorgonia.Node, error) { return Conv2D(x, mk("w7", tensor.Float32, 3, 4, 7, 7), ConvParams{}) }, "does not fit"},
		{"negative pads", func() (*gorgonia.Node, error) {
			return Conv2D(x, mk("w8", tensor.Float32, 3, 4, 3, 3), ConvParams{Pads: [4]int{-1, 0, 0, 0}})
		}, "non-negative"},
		{"zero stride", func() (*gorgonia.Node, error) {
			return Conv2D(x, mk("w9", tensor.Float32, 3, 4, 3, 3), ConvParams{Strides: [2]int{-1, 1}})
		}, "strides"},
		{"auto_pad with pads", func() (*gorgonia.Node, error) {
			return Conv2D(x, mk("w10", tensor.Float32, 3, 4, 3, 3), ConvParams{AutoPad: SameUpper, Pads: [4]int{1, 1, 1, 1}})
		}, "auto_pad"},
		{"bad bias", func() (*gorgonia.Node, error) {
			return Conv2DBias(x, mk("w11", tensor.Float32, 3, 4, 3, 3), mk("b1", tensor.Float32, 4), ConvParams{})
		}, "bias"},
		{"nil weight", func() (*gorgonia.Node, error) { return Conv2D(x, nil, ConvParams{}) }, "nil"},
		{"convT weight", func() (*gorgonia.Node, error) {
			return ConvTranspose2D(x, mk("w12", tensor.Float32, 3, 2, 3, 3), ConvTransposeParams{})
		}, "weight shape"},
		{"convT output_padding", func() (*gorgonia.Node, error) {
			return ConvTranspose2D(x, mk("w13", tensor.Float32, 4, 2, 3, 3), ConvTransposeParams{Strides: [2]int{2, 2}, OutputPadding: [2]int{2, 0}})
		}, "output_padding"},
		{"convT pads with output_shape", func() (*gorgonia.Node, error) {
			return ConvTranspose2D(x, mk("w14", tensor.Float32, 4, 2, 3, 3), ConvTransposeParams{Pads: [4]int{1, 1, 1, 1}, OutputShape: [2]int{8, 8}})
		}, "output_shape"},
		{"convT empty output", func() (*gorgonia.Node, error) {
			return ConvTranspose2D(x, mk("w15", tensor.Float32, 4, 2, 1, 1), ConvTransposeParams{Pads: [4]int{3, 3, 3, 3}})
		}, "empty output"},
		{"convT group", func() (*gorgonia.Node, error) {
			return ConvTranspose2D(x, mk("w16", tensor.Float32, 4, 2, 3, 3), ConvTransposeParams{Group: 3})
		}, "group"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := c.run()
			if err == nil {
				t.Fatalf("no error; got node %v", n)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !(strings.HasPrefix(msg, "Conv") || strings.HasPrefix(msg, "ConvTranspose")) {
				t.Fatalf("error %q does not name the op and %q", msg, c.want)
			}
		})
	}
}

// The op's Do checks its inputs too (an importer may feed other shapes at run
// time than at construction).
func TestConvDoRejectsBadValues(t *testing.T) {
	op := &convOp{a: attrs{kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, group: 1}}
	x := dense(make([]float32, 2*4*5*5), 2, 4, 5, 5)
	w := dense(make([]float32, 3*2*3*3), 3, 2, 3, 3)
	if _, err := op.Do(x, w); err == nil || !strings.Contains(err.Error(), "Conv") {
		t.Fatalf("bad weight: err %v", err)
	}
	if _, err := op.Do(x); err == nil {
		t.Fatal("one input accepted")
	}
	x64 := tensor.New(tensor.WithShape(2, 4, 5, 5), tensor.Of(tensor.Float64))
	if _, err := op.Do(x64, w); err == nil || !strings.Contains(err.Error(), "float32") {
		t.Fatalf("float64 input: err %v", err)
	}
}

// Views (a slice of a larger tensor) are read as their logical contents.
func TestConvDoReadsViews(t *testing.T) {
	cc := convCases[0]
	xs, ws := cc.shapes()
	w := dense(randData(801, prod(ws)), ws...)
	a, _ := resolveConv("Conv", cc.p, [2]int{xs[2], xs[3]}, [2]int{ws[2], ws[3]})
	op := &convOp{a: a}
	for _, c := range []struct {
		big   *tensor.Dense
		slice []tensor.Slice
	}{
		{dense(randData(800, 4*xs[1]*xs[2]*xs[3]), 4, xs[1], xs[2], xs[3]), []tensor.Slice{gorgonia.S(1, 3)}},                       // contiguous, offset
		{dense(randData(802, 2*2*xs[1]*xs[2]*xs[3]), 2, 2*xs[1], xs[2], xs[3]), []tensor.Slice{gorgonia.S(0, 2), gorgonia.S(2, 5)}}, // strided
	} {
		sl := c.slice
		v, err := c.big.Slice(sl...)
		if err != nil {
			t.Fatal(err)
		}
		view := v.(*tensor.Dense)
		if !view.Shape().Eq(tensor.Shape(xs)) {
			t.Fatalf("view shape %v", view.Shape())
		}
		contiguous := view.Materialize().(*tensor.Dense)
		want, _ := cc.naive().conv(contiguous.Data().([]float32), xs, w.Data().([]float32), cc.o, nil)
		got, err := op.Do(view, w)
		if err != nil {
			t.Fatal(err)
		}
		expectClose(t, fmt.Sprintf("view %v", sl), got.Data().([]float32), want, 1e-5)
	}
}
