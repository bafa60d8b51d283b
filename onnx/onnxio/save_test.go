package onnxio_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	m := mustBuildAddModel(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(p, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := onnxio.Save(p, m); err != nil {
		t.Fatal(err)
	}
	back, err := onnxio.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back, m) {
		t.Error("loaded model differs from the saved one")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Save, want only m.onnx (temporary files left?)", len(entries))
	}
}

func TestSaveErrorNamesFileAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "missing-dir", "m.onnx")
	err := onnxio.Save(p, mustBuildAddModel(t))
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("Save into a missing directory: error %v, want it to name %s", err, p)
	}
	if err := onnxio.Save(filepath.Join(dir, "nil.onnx"), nil); err == nil {
		t.Error("Save(nil model): no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d entries left in %s after failed saves", len(entries), dir)
	}
}

// TestSaveExternalData saves with a threshold that moves only the large
// tensor (the 64-element weight, stored in float_data to exercise
// re-encoding) to the data file, checks the file layout, that the caller's
// model is unchanged, and that Load restores identical values.
func TestSaveExternalData(t *testing.T) {
	b := onnxio.NewGraphBuilder("ext")
	b.AddInput("x", onnxio.DTypeFloat32, 1, 64)
	big := make([]float32, 64)
	for i := range big {
		big[i] = float32(i) - 10
	}
	w := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{64}, FloatData: big}
	b.AddInitializer(w)
	b.AddInitializer(onnxio.Int64Tensor("small", []int64{2}, []int64{1, 64}))
	b.AddNode("Mul", []string{"x", "w"}, []string{"xw"})
	b.AddNode("Reshape", []string{"xw", "small"}, []string{"y"})
	b.AddOutput("y", onnxio.DTypeFloat32, 1, 64)
	m, err := b.Model(13, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := proto.Clone(m)

	dir := t.TempDir()
	p := filepath.Join(dir, "big.onnx")
	if err := onnxio.Save(p, m, onnxio.WithExternalData(100)); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, before) {
		t.Error("Save changed the caller's model")
	}
	data, err := os.ReadFile(p + ".data")
	if err != nil {
		t.Fatalf("external data file: %v", err)
	}
	if len(data) != 256 {
		t.Errorf("data file has %d bytes, want 256 (the one 64-float tensor)", len(data))
	}
	raw, _ := os.ReadFile(p)
	var stored onnxpb.ModelProto
	if err := proto.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	for _, init := range stored.GetGraph().GetInitializer() {
		external := init.GetDataLocation() == onnxpb.TensorProto_EXTERNAL
		if external != (init.GetName() == "w") {
			t.Errorf("initializer %s stored externally: %v", init.GetName(), external)
		}
	}

	back, err := onnxio.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for i, init := range back.GetGraph().GetInitializer() {
		got, err := onnxio.TensorFromProto(init)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := onnxio.TensorFromProto(m.GetGraph().GetInitializer()[i])
		if got.Name != want.Name || got.Len() != want.Len() || !equalValues(got, want) {
			t.Errorf("initializer %s after external round trip: %+v, want %+v", init.GetName(), got, want)
		}
	}
}

func equalValues(a, b *onnxio.Tensor) bool {
	for i := range a.Float32 {
		if a.Float32[i] != b.Float32[i] {
			return false
		}
	}
	for i := range a.Int64 {
		if a.Int64[i] != b.Int64[i] {
			return false
		}
	}
	return len(a.Float32) == len(b.Float32) && len(a.Int64) == len(b.Int64)
}

func TestSaveExternalDataAlignsTensors(t *testing.T) {
	b := onnxio.NewGraphBuilder("align")
	b.AddInput("x", onnxio.DTypeFloat32, 3)
	b.AddInitializer(onnxio.Float32Tensor("a", []int64{3}, []float32{1, 2, 3}))
	b.AddInitializer(onnxio.Float32Tensor("b", []int64{3}, []float32{4, 5, 6}))
	b.AddNode("Add", []string{"x", "a"}, []string{"xa"})
	b.AddNode("Add", []string{"xa", "b"}, []string{"y"})
	b.AddOutput("y", onnxio.DTypeFloat32, 3)
	m, err := b.Model(13, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "m.onnx")
	if err := onnxio.Save(p, m, onnxio.WithExternalData(1), onnxio.WithExternalDataFile("weights.bin")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(p), "weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 4096+12 {
		t.Errorf("data file has %d bytes, want 4108 (second tensor at offset 4096)", len(data))
	}
	back, err := onnxio.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := onnxio.TensorToFloat32(back.GetGraph().GetInitializer()[1]); len(got) != 3 || got[0] != 4 || got[2] != 6 {
		t.Errorf("second tensor after round trip: %v", got)
	}
	if err := onnxio.Save(p, m, onnxio.WithExternalData(1), onnxio.WithExternalDataFile("../escape.bin")); err == nil {
		t.Error("external data file outside the model's directory: no error")
	}
}
