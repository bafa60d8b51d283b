package importer_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/ort"
)

// The inputs of the models below: x in (-2, 2) and p in (0.2, 2.5), both
// (2, 3, 4), and e in (-2, 2), shape (4).
var mathInputs = []struct {
	name   string
	dims   []int64
	lo, hi float64
}{{"x", []int64{2, 3, 4}, -2, 2}, {"p", []int64{2, 3, 4}, 0.2, 2.5}, {"e", []int64{4}, -2, 2}}

func uniform(seed uint64, n int, lo, hi float64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 17))
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return d
}

func tensorOf(dt onnxio.DType, name string, dims []int64, v ...int64) *onnxpb.TensorProto {
	tp, err := (&onnxio.Tensor{Name: name, DType: dt, Dims: dims, Int64: v}).Proto()
	if err != nil {
		panic(err)
	}
	return tp
}

// mathModel builds a model over the inputs x, p, e whose nodes add writes;
// outputs names its outputs and their dims.
func mathModel(t *testing.T, opset int64, add func(b *onnxio.GraphBuilder), outputs map[string][]int64) *onnxpb.ModelProto {
	t.Helper()
	b := onnxio.NewGraphBuilder("math")
	for _, in := range mathInputs {
		dims := make([]any, len(in.dims))
		for i, d := range in.dims {
			dims[i] = d
		}
		b.AddInput(in.name, onnxio.DTypeFloat32, dims...)
	}
	add(b)
	for name, d := range outputs {
		dims := make([]any, len(d))
		for i, v := range d {
			dims[i] = v
		}
		b.AddOutput(name, onnxio.DTypeFloat32, dims...)
	}
	mp, err := b.Model(opset, "pgaug test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return mp
}

// compareWithORT runs mp in the importer's graph and in ONNX Runtime on the
// same inputs and compares every output.
func compareWithORT(t *testing.T, mp *onnxpb.ModelProto, atol, rtol float64) {
	t.Helper()
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "math model"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	feed := map[string]ort.Tensor{}
	var dense []*tensor.Dense
	for i, in := range mathInputs {
		n := 1
		shape := make([]int, len(in.dims))
		for k, d := range in.dims {
			n *= int(d)
			shape[k] = int(d)
		}
		data := uniform(uint64(i+1), n, in.lo, in.hi)
		feed[in.name] = ort.Float32Tensor(in.dims, data)
		if g.InputNames[len(dense)] != in.name {
			t.Fatalf("graph input %d is %q, want %q", len(dense), g.InputNames[len(dense)], in.name)
		}
		dense = append(dense, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), data...))))
	}
	outs, err := g.Forward(dense...)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSessionFromBytes(raw, ort.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Run(feed)
	if err != nil {
		t.Fatal(err)
	}
	for i, spec := range m.Outputs {
		want := res[spec.Name]
		got := outs[i].Data().([]float32)
		if len(got) != len(want.Float32) {
			t.Fatalf("output %q: %d elements, ONNX Runtime %d", spec.Name, len(got), len(want.Float32))
		}
		for k, w := range want.Float32 {
			gv, wv := float64(got[k]), float64(w)
			if math.IsNaN(gv) && math.IsNaN(wv) || gv == wv {
				continue
			}
			if math.IsNaN(gv) || math.IsNaN(wv) || math.Abs(gv-wv) > atol+rtol*math.Abs(wv) {
				t.Errorf("output %q element %d: %v, ONNX Runtime %v", spec.Name, k, gv, wv)
			}
		}
	}
}

var full = []int64{2, 3, 4}

// Graph operators, at every opset ONNX defines them in.
func TestMathOperatorsMatchONNXRuntime(t *testing.T) {
	for _, opset := range []int64{7, 9, 12, 13, 15, 18} {
		t.Run(fmt.Sprintf("opset %d", opset), func(t *testing.T) {
			outs := map[string][]int64{"pow_bcast": full, "pow_sq": full, "pow_sqrt": full, "abs": full, "recip": full}
			mp := mathModel(t, opset, func(b *onnxio.GraphBuilder) {
				b.AddInitializer(onnxio.Float32Tensor("three", nil, []float32{3}))
				b.AddInitializer(onnxio.Float32Tensor("half", []int64{1}, []float32{0.5}))
				b.AddNode("Pow", []string{"p", "e"}, []string{"pow_bcast"})
				b.AddNode("Pow", []string{"x", "three"}, []string{"pow_sq"})
				b.AddNode("Pow", []string{"p", "half"}, []string{"pow_sqrt"})
				b.AddNode("Abs", []string{"x"}, []string{"abs"})
				b.AddNode("Reciprocal", []string{"p"}, []string{"recip"})
				if opset >= 8 { // broadcasting Min and Max (Max-6 wants equal shapes)
					b.AddInitializer(onnxio.Float32Tensor("c31", []int64{3, 1}, []float32{-0.5, 0, 0.5}))
					b.AddNode("Max", []string{"x", "p", "e"}, []string{"max3"})
					b.AddNode("Min", []string{"x", "e"}, []string{"min2"})
					b.AddNode("Min", []string{"x", "c31"}, []string{"min_const"})
					b.AddNode("Max", []string{"p"}, []string{"max1"})
					outs["max3"], outs["min2"], outs["min_const"], outs["max1"] = full, full, full, full
				}
				if opset >= 9 {
					b.AddNode("Erf", []string{"x"}, []string{"erf"})
					outs["erf"] = full
				}
				if opset >= 12 { // integer exponents
					b.AddInitializer(onnxio.Int64Tensor("i3", nil, []int64{3}))
					b.AddInitializer(tensorOf(onnxio.DTypeInt32, "i4", []int64{4}, 2, 3, 0, -1))
					b.AddNode("Pow", []string{"x", "i3"}, []string{"pow_int64"})
					b.AddNode("Pow", []string{"x", "i4"}, []string{"pow_int32"})
					outs["pow_int64"], outs["pow_int32"] = full, full
				}
			}, outs)
			compareWithORT(t, mp, 1e-6, 1e-5)
		})
	}
}

// The same operators on constants are folded at import (host operators),
// including the integer arithmetic of shape computations.
func TestFoldedMathOperatorsMatchONNXRuntime(t *testing.T) {
	for _, opset := range []int64{13, 15} {
		t.Run(fmt.Sprintf("opset %d", opset), func(t *testing.T) {
			mp := mathModel(t, opset, func(b *onnxio.GraphBuilder) {
				c := func(name string, dims []int64, v ...float32) string {
					b.AddNode("Constant", nil, []string{name}, onnxio.AttrTensor("value", onnxio.Float32Tensor(name, dims, v)))
					return name
				}
				ci := func(name string, v ...int64) string {
					b.AddNode("Constant", nil, []string{name}, onnxio.AttrTensor("value", onnxio.Int64Tensor(name, []int64{int64(len(v))}, v)))
					return name
				}
				c("b4", []int64{4}, 1.5, -2, 0, 0.3)
				c("b31", []int64{3, 1}, -1, 0.25, 2)
				c("s", nil, 0.1)
				b.AddNode("Pow", []string{"b4", ci("two", 2)}, []string{"f_pow"})
				b.AddNode("Pow", []string{c("pb", []int64{4}, 0.5, 2, 3, 0), c("pe", []int64{4}, 0.5, -1, 1.5, 2)}, []string{"f_pow2"})
				b.AddNode("Max", []string{"b4", "b31", "s"}, []string{"f_max"})
				b.AddNode("Min", []string{"b4", "b31"}, []string{"f_min"})
				b.AddNode("Abs", []string{"b4"}, []string{"f_abs"})
				b.AddNode("Erf", []string{"b31"}, []string{"f_erf"})
				b.AddNode("Reciprocal", []string{"b4"}, []string{"f_recip"})
				// y = x + every folded value (Add is a graph operator).
				acc := "x"
				for i, v := range []string{"f_pow", "f_pow2", "f_max", "f_min", "f_abs", "f_erf"} {
					next := fmt.Sprintf("acc%d", i)
					b.AddNode("Add", []string{acc, v}, []string{next})
					acc = next
				}
				b.AddNode("Mul", []string{acc, "f_recip"}, []string{"y"}) // 1/0 = +Inf
				// Integer shape arithmetic: the target (2, 12) as
				// (Pow(2, 1), Max(Abs(-12), Min(3, 12), Pow(12, 1.0))).
				b.AddNode("Pow", []string{ci("i2", 2), ci("i1", 1)}, []string{"d0"})
				b.AddNode("Abs", []string{ci("im12", -12)}, []string{"a12"})
				b.AddNode("Min", []string{ci("i3", 3), ci("i12", 12)}, []string{"m3"})
				b.AddNode("Pow", []string{"i12", c("f1", []int64{1}, 1)}, []string{"p12"})
				b.AddNode("Max", []string{"a12", "m3", "p12"}, []string{"d1"})
				b.AddNode("Concat", []string{"d0", "d1"}, []string{"target"}, onnxio.AttrInt("axis", 0))
				b.AddNode("Reshape", []string{"x", "target"}, []string{"z"})
			}, map[string][]int64{"y": full, "z": {2, 12}})
			m, err := importer.Import(mp, importer.Options{Source: "folded"})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Params) != 0 {
				t.Errorf("Constant-node values became parameters: %v", m.Params)
			}
			compareWithORT(t, mp, 1e-6, 1e-5)
		})
	}
}

// Which constants become trainable parameters: operands of Min and Max and
// Pow's base, not Pow's exponent.
func TestMathOperatorParameters(t *testing.T) {
	mp := mathModel(t, 13, func(b *onnxio.GraphBuilder) {
		b.AddInitializer(onnxio.Float32Tensor("w", []int64{4}, []float32{0.5, -1, 0, 2}))
		b.AddInitializer(onnxio.Float32Tensor("base", []int64{4}, []float32{1.5, 2, 0.5, 3}))
		b.AddInitializer(onnxio.Float32Tensor("expo", []int64{4}, []float32{2, 3, 0.5, 1}))
		b.AddNode("Max", []string{"x", "w"}, []string{"a"})
		b.AddNode("Pow", []string{"base", "e"}, []string{"c"})
		b.AddNode("Pow", []string{"p", "expo"}, []string{"d"})
	}, map[string][]int64{"a": full, "c": {4}, "d": full})
	m, err := importer.Import(mp, importer.Options{Source: "params"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range m.Params {
		if p.Trainable {
			names = append(names, p.Name)
		}
	}
	if got := strings.Join(names, ","); got != "w,base" {
		t.Errorf("trainable parameters %q, want w,base", got)
	}
	compareWithORT(t, mp, 1e-6, 1e-5)
}

// The gradient of an imported graph reaches the parameters through Max and
// Pow, and every input through Abs, Erf, Min, Reciprocal: checked against
// finite differences of the imported graph's forward pass.
func TestImportedMathGradients(t *testing.T) {
	mp := mathModel(t, 13, func(b *onnxio.GraphBuilder) {
		b.AddInitializer(onnxio.Float32Tensor("w", []int64{4}, []float32{0.45, -1.05, 0.05, 1.55}))
		b.AddInitializer(onnxio.Float32Tensor("base", []int64{4}, []float32{1.5, 2, 0.5, 3}))
		b.AddInitializer(onnxio.Int64Tensor("i2", nil, []int64{2}))
		b.AddNode("Max", []string{"x", "w"}, []string{"a"})        // (2, 3, 4)
		b.AddNode("Pow", []string{"base", "e"}, []string{"c"})     // (4)
		b.AddNode("Pow", []string{"x", "i2"}, []string{"sq"})      // x²
		b.AddNode("Erf", []string{"sq"}, []string{"erf"})          //
		b.AddNode("Abs", []string{"x"}, []string{"ab"})            //
		b.AddNode("Min", []string{"ab", "p", "e"}, []string{"mn"}) //
		b.AddNode("Reciprocal", []string{"p"}, []string{"r"})      //
		b.AddNode("Mul", []string{"a", "c"}, []string{"t1"})
		b.AddNode("Add", []string{"t1", "erf"}, []string{"t2"})
		b.AddNode("Add", []string{"t2", "mn"}, []string{"t3"})
		b.AddNode("Add", []string{"t3", "r"}, []string{"y"})
	}, map[string][]int64{"y": full})
	m, err := importer.Import(mp, importer.Options{Source: "grad"})
	if err != nil {
		t.Fatal(err)
	}
	var inputs []*tensor.Dense
	for i, in := range mathInputs {
		shape := make([]int, len(in.dims))
		n := 1
		for k, d := range in.dims {
			shape[k] = int(d)
			n *= int(d)
		}
		data := uniform(uint64(i+1), n, in.lo, in.hi)
		// Values on a grid of step 0.25, shifted so that |x| (0.1 or 0.15
		// modulo 0.25), p (0.15) and e (0.2) keep away from the kinks of Abs
		// and Max(x, w) and from three-way ties of Min(|x|, p, e) by more
		// than the finite-difference step (two-way ties split the gradient
		// as central differences measure it).
		shift := map[string]float64{"x": 0.1, "p": 0.15, "e": 0.2}[in.name]
		for k := range data {
			data[k] = float32(math.Round(float64(data[k])*4)/4 + shift)
		}
		inputs = append(inputs, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)))
	}
	weights := uniform(9, 24, -1, 1)

	// Symbolic: L = Σ y ⊙ R, gradients with respect to x, p, e, w and base.
	g, err := m.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := gorgonia.NewTensor(g.G, tensor.Float32, 3, gorgonia.WithShape(2, 3, 4), gorgonia.WithName("R"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(2, 3, 4), tensor.WithBacking(append([]float32(nil), weights...)))))
	prod, err := gorgonia.HadamardProd(g.Outputs[0], r)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	targets := append(append(gorgonia.Nodes{}, g.Inputs...), g.ParamNodes["w"], g.ParamNodes["base"])
	if _, err := gorgonia.Grad(loss, targets...); err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		if err := gorgonia.Let(g.Inputs[i], in.Clone().(*tensor.Dense)); err != nil {
			t.Fatal(err)
		}
	}
	vm := gorgonia.NewTapeMachine(g.G, gorgonia.BindDualValues(targets...))
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	symbolic := make([][]float32, len(targets))
	for k, n := range targets {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		symbolic[k] = append([]float32(nil), gv.Data().([]float32)...)
	}
	vm.Close()

	// Numeric: central differences of the forward pass of a second graph.
	fg, err := m.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fg.Close()
	lossAt := func() float64 {
		outs, err := fg.Forward(inputs...)
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for k, v := range outs[0].Data().([]float32) {
			s += float64(v) * float64(weights[k])
		}
		return s
	}
	values := [][]float32{inputs[0].Float32s(), inputs[1].Float32s(), inputs[2].Float32s(),
		m.Param("w").Value.Float32s(), m.Param("base").Value.Float32s()}
	names := []string{"x", "p", "e", "w", "base"}
	const eps = 1e-2
	for k, data := range values {
		for i := range data {
			orig := data[i]
			data[i] = orig + eps
			plus := lossAt()
			data[i] = orig - eps
			minus := lossAt()
			data[i] = orig
			step := float64(orig+eps) - float64(orig-eps)
			num, sym := (plus-minus)/step, float64(symbolic[k][i])
			if math.Abs(num-sym) > 2e-3+2e-2*math.Max(math.Abs(num), math.Abs(sym)) {
				t.Errorf("∂L/∂%s[%d]: numeric %.6g, symbolic %.6g", names[k], i, num, sym)
			}
		}
	}
}

func TestMathUnsupported(t *testing.T) {
	for _, c := range []struct {
		name, what string
		add        func(b *onnxio.GraphBuilder)
	}{
		{"integer base with a graph exponent", "with an integer base \"ib\" and an exponent \"e\" computed in the graph", func(b *onnxio.GraphBuilder) {
			b.AddInitializer(onnxio.Int64Tensor("ib", []int64{4}, []int64{1, 2, 3, 4}))
			b.AddNode("Pow", []string{"ib", "e"}, []string{"y"})
		}},
		{"Reciprocal of integers", "of the integer tensor \"ib\"", func(b *onnxio.GraphBuilder) {
			b.AddInitializer(onnxio.Int64Tensor("ib", []int64{4}, []int64{1, 2, 3, 4}))
			b.AddNode("Reciprocal", []string{"ib"}, []string{"r"})
			b.AddNode("Add", []string{"e", "r"}, []string{"y"})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			mp := mathModel(t, 13, c.add, map[string][]int64{"y": {4}})
			m, err := importer.Import(mp, importer.Options{Source: "unsupported"})
			if err == nil {
				_, err = m.Build(nil)
			}
			var ue *importer.UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v, want an *UnsupportedError", err)
			}
			if ue.Opset != 13 || ue.Node == "" || ue.What != c.what || ue.Supported == "" {
				t.Errorf("UnsupportedError %+v, want opset 13, a node, what %q", *ue, c.what)
			}
			if !strings.Contains(err.Error(), ue.Op) {
				t.Errorf("the message %q does not name the operator %s", err, ue.Op)
			}
		})
	}
}
