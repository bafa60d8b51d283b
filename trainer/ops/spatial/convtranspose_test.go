package spatial

import (
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
)

type convTCase struct {
	name          string
	n, c, h, w, m int // m: output channels
	kh, kw        int
	p             ConvTransposeParams
	bias          bool
	native        bool   // PyTorch's conv_transpose2d takes these pads and output_padding as they are
	pads          [4]int // resolved by hand, for the references
	out           [2]int
}

func (cc convTCase) group() int {
	if cc.p.Group == 0 {
		return 1
	}
	return cc.p.Group
}

func (cc convTCase) shapes() (xs, ws []int) {
	return []int{cc.n, cc.c, cc.h, cc.w}, []int{cc.c, cc.m / cc.group(), cc.kh, cc.kw}
}

func (cc convTCase) naive() naiveConv {
	s, d := defaultOne(cc.p.Strides), defaultOne(cc.p.Dilations)
	return naiveConv{kh: cc.kh, kw: cc.kw, sh: s[0], sw: s[1], dh: d[0], dw: d[1], pads: cc.pads, group: cc.group()}
}

func (cc convTCase) build() builder {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		if cc.bias {
			return ConvTranspose2DBias(in[0], in[1], in[2], cc.p)
		}
		return ConvTranspose2D(in[0], in[1], cc.p)
	}
}

func (cc convTCase) inputs(seed uint64) []*tensor.Dense {
	xs, ws := cc.shapes()
	in := []*tensor.Dense{dense(randData(seed, prod(xs)), xs...), dense(randData(seed+1, prod(ws)), ws...)}
	if cc.bias {
		in = append(in, dense(randData(seed+2, cc.m), cc.m))
	}
	return in
}

var s2 = [2]int{2, 2}

var convTCases = []convTCase{
	{name: "k3 s2 p1 op1", n: 2, c: 4, h: 4, w: 5, m: 3, kh: 3, kw: 3, native: true,
		p: ConvTransposeParams{Strides: s2, Pads: [4]int{1, 1, 1, 1}, OutputPadding: [2]int{1, 1}}, pads: [4]int{1, 1, 1, 1}, out: [2]int{8, 10}},
	{name: "k4 s2 p1", n: 2, c: 6, h: 5, w: 5, m: 4, kh: 4, kw: 4, native: true,
		p: ConvTransposeParams{Strides: s2, Pads: [4]int{1, 1, 1, 1}}, pads: [4]int{1, 1, 1, 1}, out: [2]int{10, 10}},
	{name: "group2 dilation2 stride3 op", n: 2, c: 4, h: 3, w: 4, m: 6, kh: 3, kw: 3, native: true,
		p:    ConvTransposeParams{Group: 2, Strides: [2]int{3, 3}, Dilations: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, OutputPadding: [2]int{2, 1}},
		pads: [4]int{1, 1, 1, 1}, out: [2]int{11, 13}},
	{name: "stride1 dilation2 op1", n: 2, c: 3, h: 4, w: 4, m: 2, kh: 3, kw: 3, native: true,
		p: ConvTransposeParams{Dilations: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, OutputPadding: [2]int{1, 1}}, pads: [4]int{1, 1, 1, 1}, out: [2]int{7, 7}},
	{name: "asymmetric pads", n: 2, c: 3, h: 4, w: 5, m: 2, kh: 3, kw: 3,
		p: ConvTransposeParams{Strides: s2, Pads: [4]int{1, 0, 0, 2}, OutputPadding: [2]int{1, 0}}, pads: [4]int{1, 0, 0, 2}, out: [2]int{9, 9}},
	{name: "output_shape", n: 2, c: 2, h: 3, w: 3, m: 3, kh: 3, kw: 3,
		p: ConvTransposeParams{Strides: s2, OutputShape: [2]int{8, 6}}, pads: [4]int{0, 1, 0, 0}, out: [2]int{8, 6}},
	{name: "SAME_UPPER", n: 2, c: 3, h: 3, w: 4, m: 2, kh: 3, kw: 3,
		p: ConvTransposeParams{Strides: s2, AutoPad: SameUpper}, pads: [4]int{0, 0, 1, 1}, out: [2]int{6, 8}},
	{name: "SAME_LOWER", n: 2, c: 3, h: 3, w: 4, m: 2, kh: 3, kw: 3,
		p: ConvTransposeParams{Strides: s2, AutoPad: SameLower}, pads: [4]int{1, 1, 0, 0}, out: [2]int{6, 8}},
	{name: "VALID", n: 1, c: 2, h: 3, w: 3, m: 2, kh: 3, kw: 3, native: true,
		p: ConvTransposeParams{Strides: s2, AutoPad: Valid}, out: [2]int{7, 7}},
	{name: "1x1 bias", n: 2, c: 8, h: 5, w: 5, m: 6, kh: 1, kw: 1, native: true, bias: true, out: [2]int{5, 5}},
	{name: "depthwise", n: 2, c: 4, h: 4, w: 4, m: 4, kh: 3, kw: 3, native: true,
		p: ConvTransposeParams{Group: 4, Strides: s2, Pads: [4]int{1, 1, 1, 1}, OutputPadding: [2]int{1, 1}}, pads: [4]int{1, 1, 1, 1}, out: [2]int{8, 8}},
	{name: "k2 s2 32->16 bias", n: 2, c: 32, h: 7, w: 7, m: 16, kh: 2, kw: 2, native: true, bias: true,
		p: ConvTransposeParams{Strides: s2}, out: [2]int{14, 14}},
}

func TestConvTransposeMatchesNaive(t *testing.T) {
	for i, cc := range convTCases {
		t.Run(cc.name, func(t *testing.T) {
			in := cc.inputs(uint64(1000 + 10*i))
			xs, _ := cc.shapes()
			want, wantShape := cc.naive().convTranspose(in[0].Data().([]float32), xs, in[1].Data().([]float32), cc.m, cc.out, biasData(in, cc.bias))
			expectForward(t, cc.build(), in, want, wantShape)
		})
	}
}

func TestConvTransposeMatchesTorch(t *testing.T) {
	job := newTorchJob(t)
	exps := make([]torchGrads, len(convTCases))
	ins := make([][]*tensor.Dense, len(convTCases))
	rs := make([][]float32, len(convTCases))
	for i, cc := range convTCases {
		in := cc.inputs(uint64(1100 + 10*i))
		ins[i] = in
		xs, ws := cc.shapes()
		nv := cc.naive()
		rs[i] = randData(uint64(1200+i), cc.n*cc.m*cc.out[0]*cc.out[1])
		x := job.input(t, in[0].Data().([]float32), true, xs...)
		w := job.input(t, in[1].Data().([]float32), true, ws...)
		r := job.input(t, rs[i], false, cc.n, cc.m, cc.out[0], cc.out[1])
		job.line("x, w, r = %s, %s, %s", x, w, r)
		bias := "None"
		if cc.bias {
			job.line("b = %s", job.input(t, in[2].Data().([]float32), true, cc.m))
			bias = "b"
		}
		p := cc.pads
		if cc.native {
			op := cc.p.OutputPadding
			job.line("y = F.conv_transpose2d(x, w, %s, stride=(%d, %d), padding=(%d, %d), output_padding=(%d, %d), groups=%d, dilation=(%d, %d))",
				bias, nv.sh, nv.sw, p[0], p[1], op[0], op[1], nv.group, nv.dh, nv.dw)
		} else {
			// ONNX: the full transposed convolution, zero-extended at the end,
			// rows [pt, pt+out) and columns [pl, pl+out).
			job.line("yf = F.conv_transpose2d(x, w, None, stride=(%d, %d), groups=%d, dilation=(%d, %d))", nv.sh, nv.sw, nv.group, nv.dh, nv.dw)
			job.line("yf = F.pad(yf, (0, max(0, %d - yf.shape[3]), 0, max(0, %d - yf.shape[2])))", p[1]+cc.out[1], p[0]+cc.out[0])
			job.line("y = yf[:, :, %d:%d, %d:%d]", p[0], p[0]+cc.out[0], p[1], p[1]+cc.out[1])
			if cc.bias {
				job.line("y = y + b.view(1, -1, 1, 1)")
			}
		}
		exps[i] = backwardOutputs(job, cc.bias)
	}
	res := job.run(t)
	for i, cc := range convTCases {
		t.Run(cc.name, func(t *testing.T) { exps[i].check(t, cc.build(), ins[i], rs[i], res) })
	}
}

func TestConvTransposeGradcheck(t *testing.T) {
	for i, cc := range convTCases {
		if cc.c*cc.h*cc.w > 200 {
			continue
		}
		t.Run(cc.name, func(t *testing.T) {
			in := cc.inputs(uint64(1300 + 10*i))
			gradcheck.Check(t, gradcheck.Build(cc.build()), in, gradcheck.Options{Seed: uint64(i), MaxProbe: 64})
		})
	}
}

// The examples of the ONNX specification's ConvTranspose backend tests.
func TestConvTransposeONNXExamples(t *testing.T) {
	x := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8}
	w := make([]float32, 18)
	for i := range w {
		w[i] = 1
	}
	plane := func(rows ...[]float32) []float32 {
		var p []float32
		for _, r := range rows {
			p = append(p, r...)
		}
		return append(p, p...) // both output channels are equal
	}
	basic := plane(
		[]float32{0, 1, 3, 3, 2}, []float32{3, 8, 15, 12, 7}, []float32{9, 21, 36, 27, 15},
		[]float32{9, 20, 33, 24, 13}, []float32{6, 13, 21, 15, 8})
	r1, r2, r3, zero := []float32{0, 0, 1, 1, 3, 2, 2, 0}, []float32{3, 3, 7, 4, 9, 5, 5, 0}, []float32{6, 6, 13, 7, 15, 8, 8, 0}, make([]float32, 8)
	tenByEight := plane(r1, r1, r1, r2, r2, r2, r3, r3, r3, zero)
	pads := plane([]float32{1, 1, 3}, []float32{1, 1, 3}, []float32{7, 4, 9}, []float32{7, 4, 9}, []float32{7, 4, 9},
		[]float32{13, 7, 15}, []float32{13, 7, 15})
	cases := []struct {
		name  string
		p     ConvTransposeParams
		shape []int
		want  []float32
	}{
		{"test_convtranspose", ConvTransposeParams{}, []int{1, 2, 5, 5}, basic},
		{"test_convtranspose_output_shape", ConvTransposeParams{Strides: [2]int{3, 2}, OutputShape: [2]int{10, 8}}, []int{1, 2, 10, 8}, tenByEight},
		{"test_convtranspose_pad", ConvTransposeParams{Strides: [2]int{3, 2}, OutputPadding: [2]int{1, 1}}, []int{1, 2, 10, 8}, tenByEight},
		{"test_convtranspose_kernel_shape", ConvTransposeParams{Strides: [2]int{3, 2}, OutputShape: [2]int{10, 8}, KernelShape: [2]int{3, 3}, OutputPadding: [2]int{1, 1}},
			[]int{1, 2, 10, 8}, tenByEight},
		{"test_convtranspose_pads", ConvTransposeParams{Strides: [2]int{3, 2}, Pads: [4]int{1, 2, 1, 2}}, []int{1, 2, 7, 3}, pads},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				return ConvTranspose2D(in[0], in[1], c.p)
			}
			got, shape, _ := forwardBackward(t, build, []*tensor.Dense{dense(x, 1, 1, 3, 3), dense(w, 1, 2, 3, 3)}, nil)
			if !shape.Eq(tensor.Shape(c.shape)) {
				t.Fatalf("shape %v, want %v", shape, c.shape)
			}
			expectClose(t, c.name, got, c.want, 0)
		})
	}
}

func TestConvTransposeGeometry(t *testing.T) {
	cases := []struct {
		name   string
		p      ConvTransposeParams
		in, k  [2]int
		pads   [4]int
		outPad [2]int
		out    [2]int
	}{
		{"explicit", ConvTransposeParams{Strides: s2, Pads: [4]int{1, 0, 2, 1}, OutputPadding: [2]int{1, 0}}, [2]int{4, 5}, [2]int{3, 3},
			[4]int{1, 0, 2, 1}, [2]int{1, 0}, [2]int{7, 10}},
		// total 1: SAME_UPPER puts it at the end, SAME_LOWER (and NOTSET
		// with output_shape) at the beginning.
		{"SAME_UPPER", ConvTransposeParams{Strides: s2, AutoPad: SameUpper}, [2]int{3, 4}, [2]int{3, 3}, [4]int{0, 0, 1, 1}, [2]int{}, [2]int{6, 8}},
		{"SAME_LOWER", ConvTransposeParams{Strides: s2, AutoPad: SameLower}, [2]int{3, 4}, [2]int{3, 3}, [4]int{1, 1, 0, 0}, [2]int{}, [2]int{6, 8}},
		{"output_shape odd total", ConvTransposeParams{Strides: s2, OutputShape: [2]int{6, 5}}, [2]int{3, 3}, [2]int{3, 3}, [4]int{1, 1, 0, 1}, [2]int{}, [2]int{6, 5}},
		{"output_shape SAME_UPPER", ConvTransposeParams{Strides: s2, OutputShape: [2]int{6, 5}, AutoPad: SameUpper}, [2]int{3, 3}, [2]int{3, 3},
			[4]int{0, 1, 1, 1}, [2]int{}, [2]int{6, 5}},
		{"output_shape beyond the kernel", ConvTransposeParams{Strides: [2]int{3, 2}, OutputShape: [2]int{10, 8}}, [2]int{3, 3}, [2]int{3, 3},
			[4]int{}, [2]int{1, 1}, [2]int{10, 8}},
		{"VALID", ConvTransposeParams{Strides: s2, AutoPad: Valid, OutputPadding: [2]int{1, 0}}, [2]int{3, 3}, [2]int{3, 3}, [4]int{}, [2]int{1, 0}, [2]int{8, 7}},
		{"output_padding below dilation", ConvTransposeParams{Dilations: [2]int{3, 1}, OutputPadding: [2]int{2, 0}}, [2]int{3, 3}, [2]int{3, 3},
			[4]int{}, [2]int{2, 0}, [2]int{11, 5}},
	}
	for _, c := range cases {
		pads, outPad, out, err := ConvTransposeGeometry(c.p, c.in, c.k)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if pads != c.pads || outPad != c.outPad || out != c.out {
			t.Errorf("%s: pads %v outPad %v out %v, want %v %v %v", c.name, pads, outPad, out, c.pads, c.outPad, c.out)
		}
	}
	for _, p := range []ConvTransposeParams{
		{Strides: s2, OutputPadding: [2]int{2, 0}},              // not below stride or dilation
		{OutputShape: [2]int{5, 0}},                             // half an output_shape
		{AutoPad: SameUpper, Pads: [4]int{1, 1, 1, 1}},          // pads with auto_pad
		{AutoPad: "same"},                                       // not an ONNX mode
		{Pads: [4]int{2, 2, 2, 2}, OutputShape: [2]int{1, 1}},   // pads with output_shape
		{Pads: [4]int{3, 0, 3, 0}},                              // empty output
		{Strides: [2]int{0, -1}, OutputShape: [2]int{100, 100}}, // bad strides
	} {
		if _, _, _, err := ConvTransposeGeometry(p, [2]int{3, 3}, [2]int{3, 3}); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}
