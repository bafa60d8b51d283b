package netstep

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/optim"
)

// mlp builds a 2-layer perceptron (Gemm, Relu, Gemm) with seeded weights.
func mlp(t *testing.T, in, hidden, classes int, seed uint64) *importer.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	w := func(n int, scale float64) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(rng.NormFloat64() * scale)
		}
		return d
	}
	b := onnxio.NewGraphBuilder("mlp")
	b.AddInput("x", onnxio.DTypeFloat32, "N", in)
	b.AddOutput("logits", onnxio.DTypeFloat32, "N", classes)
	b.AddInitializer(onnxio.Float32Tensor("fc1.weight", []int64{int64(hidden), int64(in)}, w(hidden*in, 0.5)))
	b.AddInitializer(onnxio.Float32Tensor("fc1.bias", []int64{int64(hidden)}, w(hidden, 0.1)))
	b.AddInitializer(onnxio.Float32Tensor("fc2.weight", []int64{int64(classes), int64(hidden)}, w(classes*hidden, 0.5)))
	b.AddInitializer(onnxio.Float32Tensor("fc2.bias", []int64{int64(classes)}, w(classes, 0.1)))
	b.AddNode("Gemm", []string{"x", "fc1.weight", "fc1.bias"}, []string{"h"}, onnxio.AttrInt("transB", 1))
	b.AddNode("Relu", []string{"h"}, []string{"r"})
	b.AddNode("Gemm", []string{"r", "fc2.weight", "fc2.bias"}, []string{"logits"}, onnxio.AttrInt("transB", 1))
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "mlp"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A separable task: the class is which of the first two features is larger.
func batch(rng *rand.Rand, n, in int) (*tensor.Dense, []int) {
	x := make([]float32, n*in)
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		for j := 0; j < in; j++ {
			x[i*in+j] = float32(rng.NormFloat64())
		}
		if x[i*in] > x[i*in+1] {
			labels[i] = 1
		}
	}
	return tensor.New(tensor.WithShape(n, in), tensor.WithBacking(x)), labels
}

func TestLossFallsOnASeparableTask(t *testing.T) {
	m := mlp(t, 4, 16, 2, 1)
	net := New(m, CrossEntropy)
	defer net.Close()
	rng := rand.New(rand.NewPCG(5, 5))
	opt := &optim.SGD{Momentum: 0.9}
	var first, last float32
	for step := 0; step < 60; step++ {
		x, y := batch(rng, 32, 4)
		tgt, _ := loss.OneHot(y, 2)
		r, err := net.Step(x, opt, 0.05, tgt)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = r.Loss
		}
		last = r.Loss
	}
	if !(last < first*0.5) {
		t.Fatalf("loss went from %v to %v; want it at least halved", first, last)
	}
	// Eval on fresh data: accuracy well above chance.
	x, y := batch(rng, 200, 4)
	out, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	d := out.Data().([]float32)
	correct := 0
	for i, lab := range y {
		pred := 0
		if d[i*2+1] > d[i*2] {
			pred = 1
		}
		if pred == lab {
			correct++
		}
	}
	if correct < 170 {
		t.Fatalf("accuracy %d/200 after training", correct)
	}
}

// Gradients must not accumulate across steps: two ForwardBackward passes on
// the same batch without a step give the same gradients.
func TestGradientsDoNotAccumulate(t *testing.T) {
	m := mlp(t, 3, 5, 2, 2)
	net := New(m, CrossEntropy)
	defer net.Close()
	x, y := batch(rand.New(rand.NewPCG(1, 1)), 4, 3)
	tgt, _ := loss.OneHot(y, 2)
	snapshot := func() [][]float32 {
		if _, err := net.ForwardBackward(x, tgt); err != nil {
			t.Fatal(err)
		}
		ps, err := net.Params(x.Shape())
		if err != nil {
			t.Fatal(err)
		}
		var out [][]float32
		for _, p := range ps {
			out = append(out, append([]float32(nil), p.Grad...))
		}
		return out
	}
	a, b := snapshot(), snapshot()
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("param %d grad %d: %v then %v", i, j, a[i][j], b[i][j])
			}
		}
	}
}
