package infer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/onnx/zoo"
)

// initORT loads the project's ONNX Runtime (scripts/setup.sh installs it
// into .deps/onnxruntime), skipping the test when it is not there.
func initORT(t testing.TB) {
	t.Helper()
	if _, _, err := ort.Locate(""); err != nil {
		t.Skipf("ONNX Runtime is not installed: %v", err)
	}
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
}

// syntheticData writes a seeded synthetic dataset (1 channel, labelled).
func syntheticData(t testing.TB, dir string, count, size, classes int) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("synthetic-%d-%d-%d.arrow", count, size, classes))
	cfg := synthetic.Default()
	cfg.Count, cfg.Size, cfg.Classes, cfg.Seed = count, size, classes, 7
	if _, err := convert.Synthetic(cfg, convert.Options{Out: p}); err != nil {
		t.Fatal(err)
	}
	return p
}

// multilabelData writes a small multilabel dataset: no single label per row.
func multilabelData(t testing.TB, dir string, count, size int) string {
	t.Helper()
	p := filepath.Join(dir, "multilabel.arrow")
	w, err := arrowds.Create(p, arrowds.WriterOptions{Meta: arrowds.Metadata{
		Name: "ml", Task: arrowds.Multilabel, Classes: []string{"a", "b", "c"}, Channels: 1, PixelType: arrowds.Uint8,
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < count; i++ {
		pix := make([]uint8, size*size)
		for j := range pix {
			pix[j] = uint8((i*31 + j*7) % 256)
		}
		s := &arrowds.Sample{ID: fmt.Sprintf("ml-%03d", i), Split: "test", Label: -1, Labels: []int32{int32(i % 2), 1, 0},
			Image: arrowds.Image{Height: size, Width: size, Channels: 1, Pix: pix}}
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func saveModel(t testing.TB, dir, name string, m *onnxpb.ModelProto) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := onnxio.Save(p, m); err != nil {
		t.Fatal(err)
	}
	return p
}

// zooModel builds and saves a zoo classifier.
func zooModel(t testing.TB, dir, arch string, classes, inChannels, size int) string {
	t.Helper()
	m, err := zoo.Build(arch, zoo.Options{Classes: classes, InChannels: inChannels, Size: size, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return saveModel(t, dir, fmt.Sprintf("%s-%d-%d-%d.onnx", arch, classes, inChannels, size), m)
}

// tinyClassifier is Conv 1×1 (1 → classes channels) → GlobalAveragePool →
// Flatten, with a batch dimension of batch (0: dynamic) and, with softmax, a
// final Softmax.
func tinyClassifier(t testing.TB, dir string, classes, size, batch int, softmax bool) string {
	t.Helper()
	b := onnxio.NewGraphBuilder("tiny")
	var n any = "N"
	if batch > 0 {
		n = batch
	}
	b.AddInput("image", onnxio.DTypeFloat32, n, 1, size, size)
	w := make([]float32, classes)
	bias := make([]float32, classes)
	for i := range w {
		w[i] = float32(i+1) * 1.5
		bias[i] = -float32(i) * 0.4
	}
	b.AddInitializer(onnxio.Float32Tensor("W", []int64{int64(classes), 1, 1, 1}, w))
	b.AddInitializer(onnxio.Float32Tensor("B", []int64{int64(classes)}, bias))
	b.AddNode("Conv", []string{"image", "W", "B"}, []string{"c"})
	b.AddNode("GlobalAveragePool", []string{"c"}, []string{"g"})
	out := "logits"
	if softmax {
		out = "z"
	}
	b.AddNode("Flatten", []string{"g"}, []string{out})
	if softmax {
		b.AddNode("Softmax", []string{"z"}, []string{"probs"}, onnxio.AttrInt("axis", 1))
		out = "probs"
	}
	b.AddOutput(out, onnxio.DTypeFloat32, n, classes)
	m, err := b.Model(13, "pgaug-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("tiny-%d-%d-%d-%v.onnx", classes, size, batch, softmax)
	return saveModel(t, dir, name, m)
}

// The tiny policy keeps pixel v where Sigmoid(policyW*v + policyB) > 0.5,
// that is where v > 0.3.
const (
	policyW = 2
	policyB = -0.6
)

// tinyPolicy is Conv 1×1 (1 → outChannels) → Sigmoid, optionally followed by
// a 2×2 max pool (halving the resolution).
func tinyPolicy(t testing.TB, dir string, outChannels int, pool bool) string {
	t.Helper()
	b := onnxio.NewGraphBuilder("policy")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 1, -1, -1)
	w := make([]float32, outChannels)
	bias := make([]float32, outChannels)
	for i := range w {
		w[i], bias[i] = policyW, policyB
	}
	b.AddInitializer(onnxio.Float32Tensor("W", []int64{int64(outChannels), 1, 1, 1}, w))
	b.AddInitializer(onnxio.Float32Tensor("B", []int64{int64(outChannels)}, bias))
	b.AddNode("Conv", []string{"x", "W", "B"}, []string{"c"})
	out := "mask"
	if pool {
		out = "s"
	}
	b.AddNode("Sigmoid", []string{"c"}, []string{out})
	if pool {
		b.AddNode("MaxPool", []string{"s"}, []string{"mask"}, onnxio.AttrInts("kernel_shape", 2, 2), onnxio.AttrInts("strides", 2, 2))
	}
	b.AddOutput("mask", onnxio.DTypeFloat32, "N", outChannels, -1, -1)
	m, err := b.Model(13, "pgaug-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return saveModel(t, dir, fmt.Sprintf("policy-%d-%v.onnx", outChannels, pool), m)
}

// dirEntries lists the names in dir.
func dirEntries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
