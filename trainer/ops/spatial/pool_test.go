package spatial

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
)

type poolCase struct {
	name       string
	max        bool
	n, c, h, w int
	p          PoolParams
	pads       [4]int // resolved, for the references
	torch      bool   // expressible with PyTorch's symmetric padding
}

func (pc poolCase) naive() naivePool {
	s, d := defaultOne(pc.p.Strides), defaultOne(pc.p.Dilations)
	return naivePool{kh: pc.p.KernelShape[0], kw: pc.p.KernelShape[1], sh: s[0], sw: s[1], dh: d[0], dw: d[1],
		pads: pc.pads, ceil: pc.p.CeilMode && (pc.p.AutoPad == "" || pc.p.AutoPad == NotSet), countPad: pc.p.CountIncludePad}
}

func (pc poolCase) build() builder {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		if pc.max {
			return MaxPool2D(in[0], pc.p)
		}
		return AveragePool2D(in[0], pc.p)
	}
}

func (pc poolCase) xs() []int { return []int{pc.n, pc.c, pc.h, pc.w} }

var (
	k2, k3 = [2]int{2, 2}, [2]int{3, 3}
	p1     = [4]int{1, 1, 1, 1}
)

var poolCases = []poolCase{
	{name: "max 3x3 s2 p1", max: true, n: 2, c: 3, h: 9, w: 8, p: PoolParams{KernelShape: k3, Strides: s2, Pads: p1}, pads: p1, torch: true},
	{name: "max 2x2 s2 odd", max: true, n: 2, c: 3, h: 8, w: 9, p: PoolParams{KernelShape: k2, Strides: s2}, torch: true},
	{name: "max 3x3 s2 ceil", max: true, n: 2, c: 2, h: 8, w: 9, p: PoolParams{KernelShape: k3, Strides: s2, CeilMode: true}, torch: true},
	{name: "max 2x2 s2 p1 ceil drops a window", max: true, n: 2, c: 2, h: 5, w: 6, p: PoolParams{KernelShape: k2, Strides: s2, Pads: p1, CeilMode: true}, pads: p1, torch: true},
	{name: "max 3x3 p1 s2 ceil past the pad", max: true, n: 1, c: 2, h: 8, w: 10, p: PoolParams{KernelShape: k3, Strides: s2, Pads: p1, CeilMode: true}, pads: p1, torch: true},
	{name: "max dilation2", max: true, n: 2, c: 2, h: 9, w: 8, p: PoolParams{KernelShape: k3, Dilations: s2, Pads: p1}, pads: p1, torch: true},
	{name: "max rect stride", max: true, n: 2, c: 2, h: 9, w: 8, p: PoolParams{KernelShape: [2]int{3, 2}, Strides: [2]int{2, 1}, Pads: [4]int{1, 0, 1, 0}}, pads: [4]int{1, 0, 1, 0}, torch: true},
	{name: "max asymmetric pads ceil", max: true, n: 2, c: 2, h: 7, w: 8, p: PoolParams{KernelShape: k3, Strides: s2, Pads: [4]int{0, 1, 2, 1}, CeilMode: true}, pads: [4]int{0, 1, 2, 1}},
	{name: "max SAME_UPPER", max: true, n: 2, c: 2, h: 8, w: 7, p: PoolParams{KernelShape: k3, Strides: s2, AutoPad: SameUpper}, pads: [4]int{0, 1, 1, 1}},
	{name: "max SAME_LOWER ceil ignored", max: true, n: 2, c: 2, h: 8, w: 7, p: PoolParams{KernelShape: k3, Strides: s2, AutoPad: SameLower, CeilMode: true}, pads: [4]int{1, 1, 0, 1}},
	{name: "avg 3x3 s2 p1 include pad", n: 2, c: 3, h: 9, w: 8, p: PoolParams{KernelShape: k3, Strides: s2, Pads: p1, CountIncludePad: true}, pads: p1, torch: true},
	{name: "avg 3x3 s2 p1 exclude pad", n: 2, c: 3, h: 9, w: 8, p: PoolParams{KernelShape: k3, Strides: s2, Pads: p1}, pads: p1, torch: true},
	{name: "avg 3x3 s2 p1 ceil include pad", n: 2, c: 2, h: 8, w: 10, p: PoolParams{KernelShape: k3, Strides: s2, Pads: p1, CeilMode: true, CountIncludePad: true}, pads: p1, torch: true},
	{name: "avg 3x3 s2 p1 ceil exclude pad", n: 2, c: 2, h: 8, w: 10, p: PoolParams{KernelShape: k3, Strides: s2, Pads: p1, CeilMode: true}, pads: p1, torch: true},
	{name: "avg 2x2 s2 p1 ceil drops a window", n: 2, c: 2, h: 5, w: 6, p: PoolParams{KernelShape: k2, Strides: s2, Pads: p1, CeilMode: true, CountIncludePad: true}, pads: p1, torch: true},
	{name: "avg 2x2 s2 (VGG-style)", n: 2, c: 3, h: 8, w: 8, p: PoolParams{KernelShape: k2, Strides: s2}, torch: true},
	{name: "avg 3x3 s2 ceil no pad", n: 2, c: 2, h: 7, w: 6, p: PoolParams{KernelShape: k3, Strides: [2]int{2, 2}, CeilMode: true, CountIncludePad: true}, torch: true},
	{name: "avg asymmetric pads ceil include pad", n: 2, c: 2, h: 7, w: 8, p: PoolParams{KernelShape: k3, Strides: s2, Pads: [4]int{1, 0, 0, 2}, CeilMode: true, CountIncludePad: true}, pads: [4]int{1, 0, 0, 2}},
	{name: "avg asymmetric pads exclude pad", n: 2, c: 2, h: 7, w: 8, p: PoolParams{KernelShape: k3, Strides: s2, Pads: [4]int{2, 0, 0, 1}}, pads: [4]int{2, 0, 0, 1}},
	{name: "avg dilation2 include pad", n: 2, c: 2, h: 9, w: 8, p: PoolParams{KernelShape: k3, Dilations: s2, Strides: s2, Pads: [4]int{2, 1, 2, 1}, CountIncludePad: true, CeilMode: true}, pads: [4]int{2, 1, 2, 1}},
	{name: "avg SAME_LOWER include pad", n: 2, c: 2, h: 7, w: 7, p: PoolParams{KernelShape: k2, Strides: s2, AutoPad: SameLower, CountIncludePad: true}, pads: [4]int{1, 1, 0, 0}},
}

func TestPoolMatchesNaive(t *testing.T) {
	for i, pc := range poolCases {
		t.Run(pc.name, func(t *testing.T) {
			x := randData(uint64(2000+i), prod(pc.xs()))
			nv := pc.naive()
			want, wantShape, _ := nv.pool(pc.max, x, pc.xs())
			r := randData(uint64(2100+i), prod(wantShape))
			wantDx := nv.grad(pc.max, x, pc.xs(), r)
			got, shape, grads := forwardBackward(t, pc.build(), []*tensor.Dense{dense(x, pc.xs()...)}, r)
			if !shape.Eq(tensor.Shape(wantShape)) {
				t.Fatalf("output shape %v, want %v", shape, wantShape)
			}
			expectClose(t, "forward", got, want, 1e-6)
			expectClose(t, "dx", grads[0], wantDx, 1e-6)
		})
	}
}

func TestPoolMatchesTorch(t *testing.T) {
	job := newTorchJob(t)
	type expect struct{ y, dx int }
	exps := map[int]expect{}
	xs := map[int][]float32{}
	rs := map[int][]float32{}
	for i, pc := range poolCases {
		if !pc.torch {
			continue
		}
		nv := pc.naive()
		x := randData(uint64(2200+i), prod(pc.xs()))
		if pc.max && i%2 == 0 {
			// Few levels: many ties, which go to the first maximum.
			for k := range x {
				x[k] = float32(math.Round(float64(x[k])*2) / 2)
			}
		}
		_, ys, _ := nv.pool(pc.max, x, pc.xs())
		xs[i], rs[i] = x, randData(uint64(2300+i), prod(ys))
		job.line("x, r = %s, %s", job.input(t, x, true, pc.xs()...), job.input(t, rs[i], false, ys...))
		if pc.max {
			job.line("y = F.max_pool2d(x, (%d, %d), stride=(%d, %d), padding=(%d, %d), dilation=(%d, %d), ceil_mode=%s)",
				nv.kh, nv.kw, nv.sh, nv.sw, nv.pads[0], nv.pads[1], nv.dh, nv.dw, pyBool(nv.ceil))
		} else {
			job.line("y = F.avg_pool2d(x, (%d, %d), stride=(%d, %d), padding=(%d, %d), ceil_mode=%s, count_include_pad=%s)",
				nv.kh, nv.kw, nv.sh, nv.sw, nv.pads[0], nv.pads[1], pyBool(nv.ceil), pyBool(nv.countPad))
		}
		job.line("(y * r).sum().backward()")
		exps[i] = expect{y: job.output("y"), dx: job.output("x.grad")}
	}
	res := job.run(t)
	for i, pc := range poolCases {
		if !pc.torch {
			continue
		}
		t.Run(pc.name, func(t *testing.T) {
			y, _, grads := forwardBackward(t, pc.build(), []*tensor.Dense{dense(xs[i], pc.xs()...)}, rs[i])
			expectClose(t, "y", y, res[exps[i].y], 1e-4)
			expectClose(t, "dx", grads[0], res[exps[i].dx], 1e-4)
		})
	}
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func TestPoolGradcheck(t *testing.T) {
	for i, pc := range poolCases {
		t.Run(pc.name, func(t *testing.T) {
			x := distinctData(uint64(2400+i), prod(pc.xs()))
			gradcheck.Check(t, gradcheck.Build(pc.build()), []*tensor.Dense{dense(x, pc.xs()...)},
				gradcheck.Options{Seed: uint64(i), MaxProbe: 64})
		})
	}
}

func TestGlobalPoolsMatchTorch(t *testing.T) {
	shapes := [][]int{{2, 3, 5, 4}, {3, 8, 7, 7}, {1, 2, 1, 1}}
	job := newTorchJob(t)
	type expect struct{ avg, avgDx, max, maxDx int }
	exps := make([]expect, len(shapes))
	xs := make([][]float32, len(shapes))
	rs := make([][]float32, len(shapes))
	for i, s := range shapes {
		xs[i] = distinctData(uint64(2500+i), prod(s))
		rs[i] = randData(uint64(2600+i), s[0]*s[1])
		job.line("x, r = %s, %s", job.input(t, xs[i], true, s...), job.input(t, rs[i], false, s[0], s[1], 1, 1))
		job.line("y = x.mean(dim=(2, 3), keepdim=True)")
		job.line("(y * r).sum().backward()")
		e := expect{avg: job.output("y"), avgDx: job.output("x.grad")}
		job.line("x.grad = None")
		job.line("y = F.adaptive_max_pool2d(x, 1)")
		job.line("(y * r).sum().backward()")
		e.max, e.maxDx = job.output("y"), job.output("x.grad")
		exps[i] = e
	}
	res := job.run(t)
	for i, s := range shapes {
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			in := []*tensor.Dense{dense(xs[i], s...)}
			gap := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				return GlobalAveragePool2D(in[0])
			}
			gmp := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				return GlobalMaxPool2D(in[0])
			}
			y, shape, grads := forwardBackward(t, gap, in, rs[i])
			if !shape.Eq(tensor.Shape{s[0], s[1], 1, 1}) {
				t.Fatalf("GlobalAveragePool shape %v", shape)
			}
			expectClose(t, "GlobalAveragePool", y, res[exps[i].avg], 1e-5)
			expectClose(t, "GlobalAveragePool dx", grads[0], res[exps[i].avgDx], 1e-5)
			y, shape, grads = forwardBackward(t, gmp, in, rs[i])
			if !shape.Eq(tensor.Shape{s[0], s[1], 1, 1}) {
				t.Fatalf("GlobalMaxPool shape %v", shape)
			}
			expectClose(t, "GlobalMaxPool", y, res[exps[i].max], 0)
			expectClose(t, "GlobalMaxPool dx", grads[0], res[exps[i].maxDx], 0)
			gradcheck.Check(t, gradcheck.Build(gap), in, gradcheck.Options{Seed: uint64(i)})
			gradcheck.Check(t, gradcheck.Build(gmp), in, gradcheck.Options{Seed: uint64(i)})
		})
	}
}

// Ties go to the first maximum, padding never wins (even over negative
// numbers), and a NaN wins.
func TestMaxPoolTiesPaddingAndNaN(t *testing.T) {
	x := []float32{
		-5, -3, -3, -9,
		-3, -7, -8, -9,
		-9, -9, -9, -4,
	}
	p := PoolParams{KernelShape: k2, Strides: s2, Pads: p1}
	build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return MaxPool2D(in[0], p) }
	r := []float32{1, 2, 3, 4, 5, 6}
	y, shape, grads := forwardBackward(t, build, []*tensor.Dense{dense(x, 1, 1, 3, 4)}, r)
	if !shape.Eq(tensor.Shape{1, 1, 2, 3}) {
		t.Fatalf("shape %v", shape)
	}
	expectClose(t, "y", y, []float32{-5, -3, -9, -3, -7, -4}, 0)
	// Window (0,1) holds -3 at (0,1) and (0,2): the first gets 2. Window (1,0)
	// holds -3 at (1,0) and -9 at (2,0): -3 gets 4.
	want := []float32{
		1, 2, 0, 3,
		4, 5, 0, 0,
		0, 0, 0, 6,
	}
	expectClose(t, "dx", grads[0], want, 0)

	nan := float32(math.NaN())
	y, _, _ = forwardBackward(t, build, []*tensor.Dense{dense([]float32{1, nan, 3, 4}, 1, 1, 1, 4)}, nil)
	if !math.IsNaN(float64(y[1])) || y[0] != 1 || y[2] != 4 {
		t.Fatalf("NaN not propagated: %v", y)
	}

	gmp := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return GlobalMaxPool2D(in[0])
	}
	_, _, grads = forwardBackward(t, gmp, []*tensor.Dense{dense([]float32{1, 7, 3, 7}, 1, 1, 2, 2)}, []float32{5})
	expectClose(t, "GlobalMaxPool tie dx", grads[0], []float32{0, 5, 0, 0}, 0)
}

func TestPoolErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 2, 6, 6), gorgonia.WithName("x"))
	x3 := gorgonia.NewTensor(g, tensor.Float32, 3, gorgonia.WithShape(2, 6, 6), gorgonia.WithName("x3"))
	cases := []struct {
		name string
		run  func() (*gorgonia.Node, error)
		want string
	}{
		{"no kernel", func() (*gorgonia.Node, error) { return MaxPool2D(x, PoolParams{}) }, "MaxPool: kernel_shape"},
		{"window in the padding", func() (*gorgonia.Node, error) {
			return MaxPool2D(x, PoolParams{KernelShape: k2, Strides: s2, Pads: [4]int{2, 0, 0, 0}})
		}, "MaxPool: output row 0"},
		{"avg window in the padding", func() (*gorgonia.Node, error) {
			return AveragePool2D(x, PoolParams{KernelShape: k2, Pads: [4]int{0, 0, 0, 3}})
		}, "AveragePool: output column"},
		{"count_include_pad on MaxPool", func() (*gorgonia.Node, error) {
			return MaxPool2D(x, PoolParams{KernelShape: k2, CountIncludePad: true})
		}, "MaxPool: count_include_pad"},
		{"kernel too big", func() (*gorgonia.Node, error) { return AveragePool2D(x, PoolParams{KernelShape: [2]int{7, 7}}) }, "AveragePool: window"},
		{"bad auto_pad", func() (*gorgonia.Node, error) { return AveragePool2D(x, PoolParams{KernelShape: k2, AutoPad: "FULL"}) }, "AveragePool: auto_pad"},
		{"negative stride", func() (*gorgonia.Node, error) {
			return AveragePool2D(x, PoolParams{KernelShape: k2, Strides: [2]int{1, -2}})
		}, "AveragePool: strides"},
		{"3-D input", func() (*gorgonia.Node, error) { return MaxPool2D(x3, PoolParams{KernelShape: k2}) }, "MaxPool: input x"},
		{"3-D global", func() (*gorgonia.Node, error) { return GlobalAveragePool2D(x3) }, "GlobalAveragePool: input x"},
		{"nil global", func() (*gorgonia.Node, error) { return GlobalMaxPool2D(nil) }, "GlobalMaxPool: input x is nil"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := c.run()
			if err == nil {
				t.Fatalf("no error; got node %v", n)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
	// With count_include_pad a window in the padding is fine: it averages
	// zeros.
	y, err := AveragePool2D(x, PoolParams{KernelShape: k2, Pads: [4]int{0, 0, 0, 3}, CountIncludePad: true})
	if err != nil || !y.Shape().Eq(tensor.Shape{1, 2, 5, 8}) {
		t.Fatalf("count_include_pad window in the padding: %v %v", y, err)
	}
}

func TestPoolHashDistinguishesParams(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 2, 8, 8), gorgonia.WithName("x"))
	mk := []func() (*gorgonia.Node, error){
		func() (*gorgonia.Node, error) { return AveragePool2D(x, PoolParams{KernelShape: k3, Pads: p1}) },
		func() (*gorgonia.Node, error) {
			return AveragePool2D(x, PoolParams{KernelShape: k3, Pads: p1, CountIncludePad: true})
		},
		func() (*gorgonia.Node, error) { return MaxPool2D(x, PoolParams{KernelShape: k3, Pads: p1}) },
		func() (*gorgonia.Node, error) {
			return AveragePool2D(x, PoolParams{KernelShape: k3, Strides: s2, Pads: p1, CeilMode: true})
		},
		func() (*gorgonia.Node, error) {
			return AveragePool2D(x, PoolParams{KernelShape: k3, Strides: s2, Pads: p1})
		},
		func() (*gorgonia.Node, error) { return GlobalAveragePool2D(x) },
		func() (*gorgonia.Node, error) { return GlobalMaxPool2D(x) },
	}
	seen := map[*gorgonia.Node]int{}
	for i, f := range mk {
		n, err := f()
		if err != nil {
			t.Fatal(err)
		}
		if j, ok := seen[n]; ok {
			t.Fatalf("pools %d and %d were merged into one node", j, i)
		}
		seen[n] = i
	}
}
