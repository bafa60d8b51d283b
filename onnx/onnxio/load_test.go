package onnxio_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// TestLoadAllConformanceModels loads every conformance model and checks the
// IR versions met cover the supported range, and that every initializer
// and Constant value of a supported type decodes.
func TestLoadAllConformanceModels(t *testing.T) {
	dir := conformanceDir(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "node", "*", "model.onnx"))
	light, _ := filepath.Glob(filepath.Join(dir, "light", "*.onnx"))
	paths = append(paths, light...)
	if len(paths) < 100 {
		t.Fatalf("found only %d conformance models under %s", len(paths), dir)
	}
	irs := map[int64]int{}
	tensors := 0
	for _, p := range paths {
		m, err := onnxio.Load(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		irs[m.GetIrVersion()]++
		for _, init := range m.GetGraph().GetInitializer() {
			if !onnxio.DType(init.GetDataType()).Supported() {
				continue
			}
			if _, err := onnxio.TensorFromProto(init); err != nil {
				t.Errorf("%s: %v", p, err)
			}
			tensors++
		}
		for _, n := range m.GetGraph().GetNode() {
			if n.GetOpType() != "Constant" {
				continue
			}
			tp, err := onnxio.ConstantValue(n)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if _, err := onnxio.TensorFromProto(tp); err != nil && onnxio.DType(tp.GetDataType()).Supported() {
				t.Errorf("%s: %v", p, err)
			}
			tensors++
		}
	}
	for _, ir := range []int64{3, 7, 10} {
		if irs[ir] == 0 {
			t.Errorf("no conformance model of IR version %d loaded (loaded: %v)", ir, irs)
		}
	}
	if tensors == 0 {
		t.Error("no initializer or Constant tensor decoded")
	}
}

func TestLoadTruncatedAndCorruptFiles(t *testing.T) {
	src := filepath.Join(nodeTest(t, "test_conv_with_strides_padding"), "model.onnx")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range []int{0, 1, 7, len(data) / 3, len(data) / 2, len(data) - 1} {
		p := filepath.Join(dir, "truncated.onnx")
		if err := os.WriteFile(p, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := onnxio.Load(p)
		if err == nil {
			t.Errorf("truncated to %d of %d bytes: no error", n, len(data))
			continue
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("truncated to %d bytes: error %q does not name the file", n, err)
		}
	}
	p := filepath.Join(dir, "text.onnx")
	os.WriteFile(p, []byte("this is not a protobuf\n"), 0o644)
	if _, err := onnxio.Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("text file: error %v", err)
	}
	if _, err := onnxio.Load(filepath.Join(dir, "missing.onnx")); err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("missing file: error %v", err)
	}
}

func TestDecodeChecksIRVersionAndGraph(t *testing.T) {
	m := mustBuildAddModel(t)
	for _, c := range []struct {
		ir   int64
		want string
	}{{2, "IR version 2 is not supported (want 3 to 13"}, {14, "IR version 14"}} {
		bad := proto.Clone(m).(*onnxpb.ModelProto)
		bad.IrVersion = proto.Int64(c.ir)
		data, _ := proto.Marshal(bad)
		if _, err := onnxio.Decode(data, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("IR %d: error %v, want %q", c.ir, err, c.want)
		}
	}
	noGraph := proto.Clone(m).(*onnxpb.ModelProto)
	noGraph.Graph = nil
	data, _ := proto.Marshal(noGraph)
	if _, err := onnxio.Decode(data, ""); err == nil || !strings.Contains(err.Error(), "no graph") {
		t.Errorf("model without graph: error %v", err)
	}
}

// TestLoadExternalDataWrittenByONNX loads a model the ONNX Python package
// saved with its tensors in weights.bin (testdata/gen_fixtures.py).
func TestLoadExternalDataWrittenByONNX(t *testing.T) {
	m, err := onnxio.Load(filepath.Join("testdata", "external", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float32{}
	for _, init := range m.GetGraph().GetInitializer() {
		if init.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(init.GetExternalData()) > 0 {
			t.Errorf("initializer %s still refers to external data", init.GetName())
		}
		data, _, err := onnxio.TensorToFloat32(init)
		if err != nil {
			t.Fatal(err)
		}
		got[init.GetName()] = data
	}
	w := make([]float32, 16)
	for i := range w {
		w[i] = float32(i) * 0.5 // numpy.arange(16) * 0.5
	}
	want := map[string][]float32{"w": w, "b": {1, -1, 2, -2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("initializers %v, want %v", got, want)
	}
}

// externalModel returns a model whose initializer "w" (4 float32) is stored
// as external data with the given key/value pairs.
func externalModel(t *testing.T, kv ...string) []byte {
	t.Helper()
	m := mustBuildAddModel(t)
	w := m.GetGraph().GetInitializer()[0]
	w.RawData = nil
	w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	for i := 0; i < len(kv); i += 2 {
		w.ExternalData = append(w.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeExternalDataRefusesBadLocations(t *testing.T) {
	root := t.TempDir()
	modelDir := filepath.Join(root, "model")
	os.Mkdir(modelDir, 0o755)
	os.WriteFile(filepath.Join(root, "secret.bin"), make([]byte, 16), 0o644)
	os.WriteFile(filepath.Join(modelDir, "w.bin"), make([]byte, 20), 0o644)
	if err := os.Symlink(filepath.Join(root, "secret.bin"), filepath.Join(modelDir, "link.bin")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		kv   []string
		want string
	}{
		{"parent dir", []string{"location", "../secret.bin"}, "not a relative path inside the model's directory"},
		{"absolute", []string{"location", filepath.Join(root, "secret.bin")}, "not a relative path inside"},
		{"symlink out", []string{"location", "link.bin"}, "outside the model's directory"},
		{"no location", []string{"offset", "0"}, `no "location" key`},
		{"missing file", []string{"location", "nothere.bin"}, "nothere.bin"},
		{"bad offset", []string{"location", "w.bin", "offset", "x"}, `offset = "x"`},
		{"offset past end", []string{"location", "w.bin", "offset", "21", "length", "16"}, "past the end"},
		{"length past end", []string{"location", "w.bin", "offset", "8", "length", "16"}, "run past the end"},
		{"wrong length", []string{"location", "w.bin", "offset", "0", "length", "12"}, "12 bytes, want 16"},
		{"implicit length wrong", []string{"location", "w.bin"}, "20 bytes, want 16"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := onnxio.Decode(externalModel(t, c.kv...), modelDir)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `tensor "w"`) {
				t.Errorf("error %q, want it to name tensor \"w\" and say %q", err, c.want)
			}
		})
	}
	if _, err := onnxio.Decode(externalModel(t, "location", "w.bin", "offset", "4", "length", "16"), ""); err == nil ||
		!strings.Contains(err.Error(), "directory is unknown") {
		t.Errorf("Decode without baseDir: error %v", err)
	}
	m, err := onnxio.Decode(externalModel(t, "location", "w.bin", "offset", "4", "length", "16"), modelDir)
	if err != nil {
		t.Fatalf("valid external reference: %v", err)
	}
	if got := len(m.GetGraph().GetInitializer()[0].GetRawData()); got != 16 {
		t.Errorf("resolved raw_data has %d bytes, want 16", got)
	}
}
