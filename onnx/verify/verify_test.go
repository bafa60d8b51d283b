package verify

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
)

// convNet writes a small Conv-BN-Relu-GAP-Gemm model with a dynamic batch.
func convNet(t *testing.T, dir string, perturb float32) string {
	t.Helper()
	b := onnxio.NewGraphBuilder("convnet")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 2, 8, 8)
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 3)
	w := make([]float32, 4*2*3*3)
	for i := range w {
		w[i] = float32(i%7)*0.1 - 0.3
	}
	b.AddInitializer(onnxio.Float32Tensor("conv.weight", []int64{4, 2, 3, 3}, w))
	b.AddInitializer(onnxio.Float32Tensor("bn.weight", []int64{4}, []float32{1, 0.5, 2, 1.5}))
	b.AddInitializer(onnxio.Float32Tensor("bn.bias", []int64{4}, []float32{0.1, -0.2, 0, 0.3}))
	b.AddInitializer(onnxio.Float32Tensor("bn.running_mean", []int64{4}, []float32{0.1, 0, -0.1, 0.2}))
	b.AddInitializer(onnxio.Float32Tensor("bn.running_var", []int64{4}, []float32{1, 0.8, 1.2, 0.9}))
	fc := make([]float32, 12)
	for i := range fc {
		fc[i] = float32(i)*0.05 - 0.2
	}
	b.AddInitializer(onnxio.Float32Tensor("fc.weight", []int64{3, 4}, fc))
	b.AddInitializer(onnxio.Float32Tensor("fc.bias", []int64{3}, []float32{0, 0.1, perturb}))
	b.AddNode("Conv", []string{"x", "conv.weight"}, []string{"c"}, onnxio.AttrInts("pads", 1, 1, 1, 1))
	b.AddNode("BatchNormalization", []string{"c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}, []string{"n"})
	b.AddNode("Relu", []string{"n"}, []string{"r"})
	b.AddNode("GlobalAveragePool", []string{"r"}, []string{"g"})
	b.AddNode("Flatten", []string{"g"}, []string{"f"})
	b.AddNode("Gemm", []string{"f", "fc.weight", "fc.bias"}, []string{"y"}, onnxio.AttrInt("transB", 1))
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "convnet.onnx")
	if err := onnxio.Save(p, mp); err != nil {
		t.Fatal(err)
	}
	return p
}

// verifyTol bounds the difference of two float32 evaluations of convNet
// (gorgonia, ONNX Runtime with whatever kernels this CPU gets), relative to
// the output's largest value: 1e-5 is 168u. The sums involved are short (18
// terms per convolution output, 64 in the average pool, 4 in the Gemm), so
// rounding gives each engine a few u in practice; the engines measured 0.5
// to 2u apart (1e-7) for seeds 1 to 5 with OpenBLAS and pure-Go gorgonia.
// A wrong operator is off by 1e-2 or more.
const verifyTol = 1e-5

func TestVerifyAgreesWithONNXRuntime(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := convNet(t, dir, 0)
	rep, err := File(path, Options{Seed: 1, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Diffs) != 1 || rep.Diffs[0].MaxRel > verifyTol {
		t.Fatalf("gorgonia vs ONNX Runtime: %+v", rep)
	}
	if got := rep.Inputs["x"]; len(got) != 4 || got[0] != 3 {
		t.Fatalf("random input shape %v, want batch 3", got)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil || !strings.Contains(buf.String(), "within tolerance") {
		t.Fatalf("report text: %q %v", buf.String(), err)
	}
}

// An expected output that is off must be reported above the tolerance.
func TestVerifyCatchesAWrongExpectation(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := convNet(t, dir, 0)
	in := &onnxio.Tensor{Name: "x", DType: onnxio.DTypeFloat32, Dims: []int64{1, 2, 8, 8}, Float32: make([]float32, 128)}
	for i := range in.Float32 {
		in.Float32[i] = float32(i%5) * 0.2
	}
	// The expectation comes from a model whose third bias differs by 0.5.
	other := convNet(t, t.TempDir(), 0.5)
	ref, err := File(other, Options{Inputs: []*onnxio.Tensor{in}, SkipORT: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = ref
	s, err := ort.NewSession(other, ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(map[string]ort.Tensor{"x": ort.Float32Tensor(in.Dims, in.Float32)})
	if err != nil {
		t.Fatal(err)
	}
	want := &onnxio.Tensor{Name: "y", DType: onnxio.DTypeFloat32, Dims: out["y"].Shape, Float32: out["y"].Float32}
	rep, err := File(path, Options{Inputs: []*onnxio.Tensor{in}, Expect: []*onnxio.Tensor{want}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Fatalf("a wrong expected output passed: %+v", rep.Diffs)
	}
	if rep.Diffs[0].Against != "onnxruntime" || rep.Diffs[0].MaxRel > verifyTol || rep.Diffs[1].Against != "expected" || rep.Diffs[1].MaxAbs < 0.4 {
		t.Fatalf("diffs %+v", rep.Diffs)
	}
}

func TestRoundTripIsExact(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := convNet(t, dir, 0)
	out := filepath.Join(dir, "out.onnx")
	rep, err := RoundTrip(in, out, map[string]string{"pgaug.test": "yes"}, "test", Options{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ParamsEqual || rep.Params != 5 || rep.Statistics != 1 || rep.MaxOutputAbs > 1e-6 || !rep.Against.OK() {
		t.Fatalf("round trip: %+v", rep)
	}
	mp, err := onnxio.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, kv := range mp.GetMetadataProps() {
		found = found || (kv.GetKey() == "pgaug.test" && kv.GetValue() == "yes")
	}
	if !found || mp.GetProducerName() != "pgaug" {
		t.Fatalf("metadata/producer not written: %v %q", mp.GetMetadataProps(), mp.GetProducerName())
	}
}
