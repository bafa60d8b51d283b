package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/onnx/onnxio"
)

// gemmModel writes y = relu(x·Wᵀ + b) with a dynamic batch.
func gemmModel(t *testing.T, dir string) string {
	t.Helper()
	b := onnxio.NewGraphBuilder("gemm")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 3)
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 2)
	b.AddInitializer(onnxio.Float32Tensor("w", []int64{2, 3}, []float32{1, -1, 0.5, 0.25, 2, -0.5}))
	b.AddInitializer(onnxio.Float32Tensor("b", []int64{2}, []float32{0.1, -0.2}))
	b.AddNode("Gemm", []string{"x", "w", "b"}, []string{"h"}, onnxio.AttrInt("transB", 1))
	b.AddNode("Relu", []string{"h"}, []string{"y"})
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "gemm.onnx")
	if err := onnxio.Save(p, mp); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestModelVerifyAndRoundtrip(t *testing.T) {
	dir := t.TempDir()
	m := gemmModel(t, dir)
	out, _, err := runApp("model", "verify", m, "--seed", "3", "--batch", "4")
	if err != nil || !strings.Contains(out, "within tolerance") || !strings.Contains(out, "4x3") {
		t.Fatalf("verify: %v\n%s", err, out)
	}

	// An expected output that is wrong: exit status 1.
	x := &onnxio.Tensor{Name: "x", DType: onnxio.DTypeFloat32, Dims: []int64{1, 3}, Float32: []float32{1, 2, 3}}
	// relu([1-2+1.5+0.1, 0.25+4-1.5-0.2]) = [0.6, 2.55]; claim [0.6, 9].
	y := &onnxio.Tensor{Name: "y", DType: onnxio.DTypeFloat32, Dims: []int64{1, 2}, Float32: []float32{0.6, 9}}
	xp, yp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.pb")
	if err := onnxio.WriteTensorFile(xp, x); err != nil {
		t.Fatal(err)
	}
	if err := onnxio.WriteTensorFile(yp, y); err != nil {
		t.Fatal(err)
	}
	out, _, err = runApp("model", "verify", m, "--input", xp, "--expect", yp)
	if err == nil || !strings.Contains(out, "ABOVE TOLERANCE") {
		t.Fatalf("a wrong expectation must fail: %v\n%s", err, out)
	}
	y.Float32[1] = 2.55
	if err := onnxio.WriteTensorFile(yp, y); err != nil {
		t.Fatal(err)
	}
	if out, _, err = runApp("model", "verify", m, "--input", xp, "--expect", yp); err != nil {
		t.Fatalf("the right expectation must pass: %v\n%s", err, out)
	}

	rt := filepath.Join(dir, "rt.onnx")
	out, _, err = runApp("model", "roundtrip", m, "-o", rt)
	if err != nil || !strings.Contains(out, "bit-identical: true") {
		t.Fatalf("roundtrip: %v\n%s", err, out)
	}
}
