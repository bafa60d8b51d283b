package transfer_test

import (
	"path/filepath"
	"testing"

	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/onnx/zoo"
)

// initORT loads ONNX Runtime, skipping the test when the library is not
// installed (scripts/setup.sh installs it).
func initORT(t testing.TB) {
	t.Helper()
	if _, _, err := ort.Locate(""); err != nil {
		t.Skipf("ONNX Runtime is not installed: %v", err)
	}
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
}

func saveModel(t testing.TB, m *onnxpb.ModelProto) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.onnx")
	if err := onnxio.Save(p, m); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyModel is x (N×1×2×2) → Conv 1×1 with weights [1, −2] and biases
// [0, 0.5] → "conv" (N×2×2×2) → Relu → "relu" → GlobalAveragePool →
// Flatten → "flat" (N×2) → Gemm with W = I → "logits".
func tinyModel(t testing.TB) *onnxpb.ModelProto {
	t.Helper()
	b := onnxio.NewGraphBuilder("tiny")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 1, 2, 2)
	b.AddInitializer(onnxio.Float32Tensor("w", []int64{2, 1, 1, 1}, []float32{1, -2}))
	b.AddInitializer(onnxio.Float32Tensor("cb", []int64{2}, []float32{0, 0.5}))
	b.AddInitializer(onnxio.Float32Tensor("fw", []int64{2, 2}, []float32{1, 0, 0, 1}))
	b.AddInitializer(onnxio.Float32Tensor("fb", []int64{2}, []float32{0, 0}))
	b.AddNode("Conv", []string{"x", "w", "cb"}, []string{"conv"})
	b.AddNode("Relu", []string{"conv"}, []string{"relu"})
	b.AddNode("GlobalAveragePool", []string{"relu"}, []string{"gap"})
	b.AddNode("Flatten", []string{"gap"}, []string{"flat"}, onnxio.AttrInt("axis", 1))
	b.AddNode("Gemm", []string{"flat", "fw", "fb"}, []string{"logits"}, onnxio.AttrInt("transB", 1))
	b.AddOutput("logits", onnxio.DTypeFloat32, "N", 2)
	m, err := b.Model(13, "pgaug-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fixture writes a synthetic two-class dataset of 28×28 images and an
// untrained smallcnn for it.
func fixture(t testing.TB, count int) (data, model string) {
	t.Helper()
	dir := t.TempDir()
	data = filepath.Join(dir, "synth")
	cfg := synthetic.Default()
	cfg.Count, cfg.Size, cfg.Seed = count, 28, 3
	cfg.Fractions = [3]float64{0.6, 0.1, 0.3}
	if _, err := convert.Synthetic(cfg, convert.Options{Out: data}); err != nil {
		t.Fatal(err)
	}
	m, err := zoo.Build("smallcnn", zoo.Options{Classes: 2, InChannels: 1, Size: 28, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	model = filepath.Join(dir, "smallcnn.onnx")
	if err := onnxio.Save(model, m); err != nil {
		t.Fatal(err)
	}
	return data, model
}
