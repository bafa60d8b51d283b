package onnxio_test

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
)

// FuzzDecode feeds arbitrary bytes to Decode, which must return a model or
// an error and never panic; a model it accepts must also survive Inspect,
// tensor conversion and a re-encode. The seed corpus is small conformance
// models (when present), the external-data fixture and a built model.
func FuzzDecode(f *testing.F) {
	if m, err := proto.Marshal(mustBuildAddModel(f)); err == nil {
		f.Add(m)
	}
	if data, err := os.ReadFile(filepath.Join("testdata", "external", "model.onnx")); err == nil {
		f.Add(data)
	}
	if dir := findConformanceDir(); dir != "" {
		for _, name := range []string{"test_relu", "test_gemm_default_no_bias", "test_conv_with_strides_padding", "test_constant_pad", "test_relu_expanded_ver18", "test_cast_FLOAT_to_DOUBLE"} {
			if data, err := os.ReadFile(filepath.Join(dir, "node", name, "model.onnx")); err == nil {
				f.Add(data)
			}
		}
	}
	baseDir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnxio.Decode(data, baseDir)
		if err != nil {
			return
		}
		s := onnxio.Inspect(m)
		if s.IRVersion < onnxio.MinIRVersion || s.IRVersion > onnxio.MaxIRVersion {
			t.Fatalf("accepted IR version %d", s.IRVersion)
		}
		for _, init := range m.GetGraph().GetInitializer() {
			onnxio.TensorFromProto(init) // may fail, must not panic
		}
		for _, n := range m.GetGraph().GetNode() {
			if n.GetOpType() == "Constant" {
				if tp, err := onnxio.ConstantValue(n); err == nil {
					onnxio.TensorFromProto(tp)
				}
			}
		}
		again, err := proto.Marshal(m)
		if err != nil {
			t.Fatalf("re-encoding an accepted model: %v", err)
		}
		if _, err := onnxio.Decode(again, baseDir); err != nil {
			t.Fatalf("re-encoded model no longer decodes: %v", err)
		}
	})
}
