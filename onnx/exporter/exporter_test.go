package exporter_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/onnx/verify"
)

func sharedDir(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("module root not found")
		}
		dir = parent
	}
}

// Opset-9 whole networks (Softmax with pre-13 semantics, Dropout,
// BatchNormalization, weights computed by ConstantOfShape) export at opset 13
// with the same outputs in ONNX Runtime and bit-identical parameters.
func TestOldOpsetModelsExportAtOpset13(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"light_shufflenet", "light_inception_v1", "light_resnet50"} {
		in := filepath.Join(sharedDir(t), "onnx-conformance", "light", name+".onnx")
		out := filepath.Join(t.TempDir(), name+".onnx")
		rep, err := verify.RoundTrip(in, out, nil, "test", verify.Options{Seed: 1, Batch: 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !rep.ParamsEqual || rep.MaxOutputAbs > 1e-6 || !rep.Against.OK() {
			t.Fatalf("%s: %+v", name, rep)
		}
		mp, err := onnxio.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := onnxio.DefaultOpset(mp); err != nil || v != 13 {
			t.Fatalf("%s exported at opset %d (%v), want 13", name, v, err)
		}
		for _, n := range mp.GetGraph().GetNode() {
			if n.GetOpType() == "Dropout" || n.GetOpType() == "ConstantOfShape" {
				t.Fatalf("%s: %s left in the exported graph", name, n.GetOpType())
			}
		}
	}
}

// Softmax before opset 13 normalises over all axes from `axis` on; the
// upgrade must keep that meaning (checked with real numbers in ONNX Runtime).
func TestSoftmaxUpgradeKeepsCoercedSemantics(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	b := onnxio.NewGraphBuilder("softmax11")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 3, 2, 2)
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 3, 2, 2)
	w := []float32{0.5, -1, 2, 0.25, 1, 0.1, -0.3, 0.7, 1.5, -2, 0.2, 0.9}
	b.AddInitializer(onnxio.Float32Tensor("scale", []int64{3, 2, 2}, w))
	b.AddNode("Mul", []string{"x", "scale"}, []string{"m"})
	b.AddNode("Softmax", []string{"m"}, []string{"y"}, onnxio.AttrInt("axis", 1))
	mp, err := b.Model(11, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.onnx")
	if err := onnxio.Save(in, mp); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.RoundTrip(in, filepath.Join(dir, "out.onnx"), nil, "test", verify.Options{Seed: 4, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ParamsEqual || rep.MaxOutputAbs > 1e-6 || !rep.Against.OK() {
		t.Fatalf("%+v", rep)
	}
}
