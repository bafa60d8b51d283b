package gradcam_test

import (
	"math"
	"testing"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/zoo"
)

// quadrantModel is a hand-built classifier for N×1×16×16 images:
//
//	feat   = Relu(Conv1x1(x, [+1, −1]))         2×16×16: channel 0 = x⁺, channel 1 = x⁻
//	pooled = MaxPool 2×2 (feat)                 2×8×8 (the default layer)
//	logits = 4 · GlobalAveragePool(pooled)      class 0 sees bright, class 1 dark pixels
func quadrantModel(t testing.TB) *importer.Model {
	t.Helper()
	b := onnxio.NewGraphBuilder("quadrant")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 1, 16, 16)
	b.AddInitializer(onnxio.Float32Tensor("conv.weight", []int64{2, 1, 1, 1}, []float32{1, -1}))
	b.AddInitializer(onnxio.Float32Tensor("conv.bias", []int64{2}, []float32{0, 0}))
	b.AddInitializer(onnxio.Float32Tensor("fc.weight", []int64{2, 2}, []float32{4, 0, 0, 4}))
	b.AddInitializer(onnxio.Float32Tensor("fc.bias", []int64{2}, []float32{0, 0}))
	b.AddNode("Conv", []string{"x", "conv.weight", "conv.bias"}, []string{"conv"}, onnxio.AttrInts("kernel_shape", 1, 1))
	b.AddNode("Relu", []string{"conv"}, []string{"feat"})
	b.AddNode("MaxPool", []string{"feat"}, []string{"pooled"}, onnxio.AttrInts("kernel_shape", 2, 2), onnxio.AttrInts("strides", 2, 2))
	b.AddNode("GlobalAveragePool", []string{"pooled"}, []string{"gap"})
	b.AddNode("Flatten", []string{"gap"}, []string{"flat"}, onnxio.AttrInt("axis", 1))
	b.AddNode("Gemm", []string{"flat", "fc.weight", "fc.bias"}, []string{"logits"}, onnxio.AttrInt("transB", 1))
	b.AddOutput("logits", onnxio.DTypeFloat32, "N", 2)
	mp, err := b.Model(13, "gradcam-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "quadrant"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func zooModel(t testing.TB, name string, classes, channels, size int) *importer.Model {
	t.Helper()
	mp, err := zoo.Build(name, zoo.Options{Classes: classes, InChannels: channels, Size: size, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return importModel(t, mp, name)
}

func importModel(t testing.TB, mp *onnxpb.ModelProto, name string) *importer.Model {
	t.Helper()
	m, err := importer.Import(mp, importer.Options{Source: name})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// snapshot copies every parameter and BatchNorm statistic of m.
func snapshot(m *importer.Model) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range m.Params {
		out["param:"+p.Name] = append([]float32(nil), p.Value.Data().([]float32)...)
	}
	for name, bn := range m.BN {
		mean, v := bn.State.Stats()
		out["mean:"+name] = append([]float32(nil), mean...)
		out["var:"+name] = append([]float32(nil), v...)
	}
	return out
}

func checkUnchanged(t *testing.T, before map[string][]float32, m *importer.Model) {
	t.Helper()
	after := snapshot(m)
	if len(after) != len(before) {
		t.Fatalf("%d tensors after, %d before", len(after), len(before))
	}
	for k, a := range before {
		b := after[k]
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d] changed from %v to %v", k, i, a[i], b[i])
			}
		}
	}
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}
