package ort_test

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	onnxruntime "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/ort"
)

// initORT loads the project's ONNX Runtime, failing the test when it is
// missing (scripts/setup.sh installs it).
func initORT(t testing.TB) {
	t.Helper()
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
}

// perceptronModel builds y = Relu(Gemm(x, W, b, transB=1) + c) with
// W = [[1, 0, -1], [0.5, 0.5, 0.5]], b = [0, -1], c = [0.5, 0] and a dynamic
// batch dimension.
func perceptronModel(t testing.TB, opset int64) *onnxpb.ModelProto {
	t.Helper()
	b := onnxio.NewGraphBuilder("perceptron")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 3)
	b.AddInitializer(onnxio.Float32Tensor("W", []int64{2, 3}, []float32{1, 0, -1, 0.5, 0.5, 0.5}))
	b.AddInitializer(onnxio.Float32Tensor("b", []int64{2}, []float32{0, -1}))
	b.AddInitializer(onnxio.Float32Tensor("c", []int64{2}, []float32{0.5, 0}))
	b.AddNode("Gemm", []string{"x", "W", "b"}, []string{"z"}, onnxio.AttrInt("transB", 1))
	b.AddNode("Add", []string{"z", "c"}, []string{"s"})
	b.AddNode("Relu", []string{"s"}, []string{"y"})
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 2)
	m, err := b.Model(opset, "pgaug-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func saveModel(t testing.TB, m *onnxpb.ModelProto, opts ...onnxio.SaveOption) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.onnx")
	if err := onnxio.Save(p, m, opts...); err != nil {
		t.Fatal(err)
	}
	return p
}

// By hand: row [1 2 3] gives Gemm [1-3, 0.5*6-1] = [-2 2], + c = [-1.5 2],
// Relu [0 2]; row [3 1 -1] gives [3+1, 0.5*3-1] = [4 0.5], + c = [4.5 0.5].
var (
	perceptronX = []float32{1, 2, 3, 3, 1, -1}
	perceptronY = []float32{0, 2, 4.5, 0.5}
)

func TestSessionRunsBuiltModel(t *testing.T) {
	initORT(t)
	// Opsets 13, 19 and 21 give IR versions 8, 9 and 10: ORT must take each.
	for _, opset := range []int64{13, 19, 21} {
		s, err := ort.NewSession(saveModel(t, perceptronModel(t, opset)), ort.SessionOptions{Threads: 1})
		if err != nil {
			t.Fatalf("opset %d: %v", opset, err)
		}
		defer s.Close()
		wantIn := []ort.ValueInfo{{Name: "x", ElemType: onnxio.DTypeFloat32, Shape: []int64{-1, 3}}}
		wantOut := []ort.ValueInfo{{Name: "y", ElemType: onnxio.DTypeFloat32, Shape: []int64{-1, 2}}}
		if !reflect.DeepEqual(s.Inputs(), wantIn) || !reflect.DeepEqual(s.Outputs(), wantOut) {
			t.Errorf("opset %d: inputs %+v outputs %+v, want %+v %+v", opset, s.Inputs(), s.Outputs(), wantIn, wantOut)
		}
		out, err := s.Run(map[string]ort.Tensor{"x": ort.Float32Tensor([]int64{2, 3}, perceptronX)})
		if err != nil {
			t.Fatalf("opset %d: %v", opset, err)
		}
		y := out["y"]
		if !reflect.DeepEqual(y.Shape, []int64{2, 2}) || !reflect.DeepEqual(y.Float32, perceptronY) {
			t.Errorf("opset %d: y = %v %v, want [2 2] %v", opset, y.Shape, y.Float32, perceptronY)
		}
	}
}

func TestSessionFromBytesAndExternalData(t *testing.T) {
	initORT(t)
	m := perceptronModel(t, 13)
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	fromBytes, err := ort.NewSessionFromBytes(data, ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer fromBytes.Close()
	// The same model with its weights in an external data file, as
	// onnxio.Save writes it.
	path := saveModel(t, m, onnxio.WithExternalData(8))
	if _, err := os.Stat(path + ".data"); err != nil {
		t.Fatalf("external data file not written: %v", err)
	}
	external, err := ort.NewSession(path, ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer external.Close()
	for _, s := range []*ort.Session{fromBytes, external} {
		out, err := s.Run(map[string]ort.Tensor{"x": ort.Float32Tensor([]int64{2, 3}, perceptronX)})
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if !reflect.DeepEqual(out["y"].Float32, perceptronY) {
			t.Errorf("%s: y = %v, want %v", s.Name(), out["y"].Float32, perceptronY)
		}
	}
}

func TestSessionRunIntoReusesBuffers(t *testing.T) {
	initORT(t)
	s, err := ort.NewSession(saveModel(t, perceptronModel(t, 13)), ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x := make([]float32, 3)
	y := make([]float32, 2)
	in := map[string]ort.Tensor{"x": ort.Float32Tensor([]int64{1, 3}, x)}
	out := map[string]ort.Tensor{"y": ort.Float32Tensor([]int64{1, 2}, y)}
	for row := 0; row < 2; row++ {
		copy(x, perceptronX[3*row:])
		if err := s.RunInto(in, out); err != nil {
			t.Fatal(err)
		}
		if want := perceptronY[2*row : 2*row+2]; !reflect.DeepEqual(y, want) {
			t.Errorf("row %d: y = %v, want %v (written into the caller's slice)", row, y, want)
		}
	}
	bad := map[string]ort.Tensor{"y": ort.Float32Tensor([]int64{1, 3}, make([]float32, 3))}
	if err := s.RunInto(in, bad); err == nil || !strings.Contains(err.Error(), `output "y": got shape [1 3], the model wants [-1 2]`) {
		t.Errorf("RunInto with a wrong output shape: error %v", err)
	}
}

func TestSessionInt64AndScalarOutputs(t *testing.T) {
	initORT(t)
	b := onnxio.NewGraphBuilder("ints")
	b.AddInput("i", onnxio.DTypeInt64, 3)
	b.AddInput("f", onnxio.DTypeFloat32, 2, 2)
	b.AddNode("Add", []string{"i", "i"}, []string{"twice"})
	b.AddNode("ReduceSum", []string{"f"}, []string{"total"}, onnxio.AttrInt("keepdims", 0))
	b.AddOutput("twice", onnxio.DTypeInt64, 3)
	b.AddOutput("total", onnxio.DTypeFloat32)
	m, err := b.Model(13, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSession(saveModel(t, m), ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := map[string]ort.Tensor{
		"i": ort.Int64Tensor([]int64{3}, []int64{-4, 1 << 40, 7}),
		"f": ort.Float32Tensor([]int64{2, 2}, []float32{1, 2, 3, 4.5}),
	}
	out, err := s.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := out["twice"]; !reflect.DeepEqual(got.Int64, []int64{-8, 1 << 41, 14}) {
		t.Errorf("twice = %+v", got)
	}
	if got := out["total"]; len(got.Shape) != 0 || !reflect.DeepEqual(got.Float32, []float32{10.5}) {
		t.Errorf("total = %+v, want the scalar 10.5", got)
	}
	total := []float32{0}
	twice := make([]int64, 3)
	if err := s.RunInto(in, map[string]ort.Tensor{"twice": ort.Int64Tensor([]int64{3}, twice), "total": ort.Float32Tensor(nil, total)}); err != nil {
		t.Fatal(err)
	}
	if total[0] != 10.5 || twice[1] != 1<<41 {
		t.Errorf("RunInto: total %v twice %v", total, twice)
	}
}

func TestSessionInputErrors(t *testing.T) {
	initORT(t)
	s, err := ort.NewSession(saveModel(t, perceptronModel(t, 13)), ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		inputs map[string]ort.Tensor
		want   string
	}{
		{"missing", map[string]ort.Tensor{}, `no input "x" given (the model's inputs: "x")`},
		{"unknown", map[string]ort.Tensor{"x": ort.Float32Tensor([]int64{1, 3}, make([]float32, 3)), "z": ort.Float32Tensor([]int64{1}, []float32{1})},
			`the model has no input "z"`},
		{"int64 for float", map[string]ort.Tensor{"x": ort.Int64Tensor([]int64{1, 3}, make([]int64, 3))}, `input "x": got int64 data, the model wants float32`},
		{"fixed dim", map[string]ort.Tensor{"x": ort.Float32Tensor([]int64{1, 4}, make([]float32, 4))}, `input "x": got shape [1 4], the model wants [-1 3]`},
		{"rank", map[string]ort.Tensor{"x": ort.Float32Tensor([]int64{3}, make([]float32, 3))}, `got shape [3], the model wants rank 2`},
		{"length", map[string]ort.Tensor{"x": ort.Float32Tensor([]int64{2, 3}, make([]float32, 5))}, `input "x": has 5 values, shape [2 3] wants 6`},
		{"both types", map[string]ort.Tensor{"x": {Shape: []int64{1, 3}, Float32: make([]float32, 3), Int64: make([]int64, 3)}}, "set exactly one of Float32 and Int64"},
	}
	for _, c := range cases {
		_, err := s.Run(c.inputs)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), s.Name()) {
			t.Errorf("%s: error %v, want it to name the model and say %q", c.name, err, c.want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Run(map[string]ort.Tensor{"x": ort.Float32Tensor([]int64{1, 3}, make([]float32, 3))}); err == nil || !strings.Contains(err.Error(), "session is closed") {
		t.Errorf("Run after Close: error %v", err)
	}
}

func TestNewSessionErrors(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(garbage, []byte("not a model"), 0o644)
	for _, c := range []struct {
		path string
		opts ort.SessionOptions
		want string
	}{
		{filepath.Join(dir, "missing.onnx"), ort.SessionOptions{}, "missing.onnx"},
		{garbage, ort.SessionOptions{}, "ONNX Runtime cannot load it"},
		{saveModel(t, perceptronModel(t, 13)), ort.SessionOptions{Device: "tpu"}, `device "tpu" is not supported`},
		{saveModel(t, perceptronModel(t, 13)), ort.SessionOptions{Threads: -2}, "threads = -2"},
	} {
		_, err := ort.NewSession(c.path, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("NewSession(%s, %+v): error %v, want it to name the file and say %q", c.path, c.opts, err, c.want)
		}
	}
	if _, err := ort.NewSessionFromBytes(nil, ort.SessionOptions{}); err == nil || !strings.Contains(err.Error(), "empty model") {
		t.Errorf("NewSessionFromBytes(nil): error %v", err)
	}
}

// TestCUDAUnavailableErrorIsClear asks for CUDA from the bundled CPU-only
// ONNX Runtime: the error must say what is missing and how to fix it.
func TestCUDAUnavailableErrorIsClear(t *testing.T) {
	initORT(t)
	provider := filepath.Join(filepath.Dir(ort.LoadedLibrary()), ort.CUDAProviderLib)
	if _, err := os.Stat(provider); err == nil {
		t.Skipf("%s exists: this ONNX Runtime is a CUDA build", provider)
	}
	s, err := ort.NewSession(saveModel(t, perceptronModel(t, 13)), ort.SessionOptions{Device: "cuda", DeviceID: 0, GPUMemLimit: 1 << 30})
	if err == nil {
		s.Close()
		t.Fatal("CUDA session from a CPU-only ONNX Runtime: no error")
	}
	t.Log(err)
	for _, want := range []string{"--device cuda", provider + " is missing", "CPU-only", "CUDA 12 and cuDNN 9", "onnxruntime-gpu", "--device cpu"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

// TestSessionConcurrentRuns runs one session from several goroutines (ONNX
// Runtime sessions are thread-safe) while checking every result.
func TestSessionConcurrentRuns(t *testing.T) {
	initORT(t)
	s, err := ort.NewSession(saveModel(t, perceptronModel(t, 13)), ort.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				out, err := s.Run(map[string]ort.Tensor{"x": ort.Float32Tensor([]int64{2, 3}, append([]float32(nil), perceptronX...))})
				if err == nil && !reflect.DeepEqual(out["y"].Float32, perceptronY) {
					err = os.ErrInvalid
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestConformanceModelsThroughORT runs conformance node models and compares
// ONNX Runtime's outputs with the expected outputs stored beside them.
// test_flatten_axis1 is IR version 13 (opset 25), newer than the vendored
// schema: ONNX Runtime 1.30 runs it.
func TestConformanceModelsThroughORT(t *testing.T) {
	initORT(t)
	dir := conformanceDir(t)
	for _, name := range []string{"test_conv_with_strides_padding", "test_basic_conv_with_padding", "test_relu",
		"test_gemm_all_attributes", "test_gemm_default_scalar_bias", "test_globalaveragepool", "test_maxpool_2d_pads", "test_batchnorm_example", "test_flatten_axis1"} {
		t.Run(name, func(t *testing.T) {
			test := filepath.Join(dir, "node", name)
			s, err := ort.NewSession(filepath.Join(test, "model.onnx"), ort.SessionOptions{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			inputs := map[string]ort.Tensor{}
			for i, in := range s.Inputs() {
				inputs[in.Name] = readORTTensor(t, filepath.Join(test, "test_data_set_0", "input_"+itoa(i)+".pb"))
			}
			out, err := s.Run(inputs)
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range s.Outputs() {
				want := readORTTensor(t, filepath.Join(test, "test_data_set_0", "output_"+itoa(i)+".pb"))
				got := out[o.Name]
				if !reflect.DeepEqual(got.Shape, want.Shape) {
					t.Fatalf("output %s shape %v, want %v", o.Name, got.Shape, want.Shape)
				}
				// The node cases sum at most a few dozen terms: float32
				// rounding, whatever kernels ONNX Runtime picks on this
				// CPU, stays within about 1e-6 of the stored outputs,
				// two orders below this tolerance; a wrong operator is
				// off by 1e-2 or more.
				for j := range want.Float32 {
					if d := math.Abs(float64(got.Float32[j] - want.Float32[j])); d > 1e-4*(1+math.Abs(float64(want.Float32[j]))) {
						t.Fatalf("output %s[%d] = %g, want %g", o.Name, j, got.Float32[j], want.Float32[j])
					}
				}
			}
		})
	}
}

func readORTTensor(t *testing.T, path string) ort.Tensor {
	t.Helper()
	v, err := onnxio.ReadTensorFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if v.DType != onnxio.DTypeFloat32 {
		t.Fatalf("%s: %s tensor, this test compares float32", path, v.DType)
	}
	return ort.Float32Tensor(v.Dims, v.Float32)
}

func itoa(i int) string { return string(rune('0' + i)) }

// conformanceDir returns shared/onnx-conformance beside or inside the
// checkout, skipping the test when it is absent.
func conformanceDir(t *testing.T) string {
	t.Helper()
	if p := conformanceDirOrEmpty(); p != "" {
		return p
	}
	t.Skip("ONNX conformance data (shared/onnx-conformance) not found beside or inside the checkout")
	return ""
}

// The session describes its inputs and outputs from the ONNX graph (to
// avoid a second ONNX Runtime session); that description must be ONNX
// Runtime's own, for graphs with initializers among their inputs (IR < 4)
// and with symbolic and fixed dimensions.
func TestSessionDescriptionMatchesORT(t *testing.T) {
	initORT(t)
	paths := []string{saveModel(t, perceptronModel(t, 13)), saveModel(t, perceptronModel(t, 7))}
	if dir := conformanceDirOrEmpty(); dir != "" {
		for _, name := range []string{"test_conv_with_strides_padding", "test_gemm_all_attributes", "test_batchnorm_example", "test_maxpool_2d_pads"} {
			paths = append(paths, filepath.Join(dir, "node", name, "model.onnx"))
		}
	}
	for _, p := range paths {
		s, err := ort.NewSession(p, ort.SessionOptions{Threads: 1})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		ins, outs, err := onnxruntime.GetInputOutputInfo(p)
		if err != nil {
			t.Fatal(err)
		}
		check := func(kind string, got []ort.ValueInfo, want []onnxruntime.InputOutputInfo) {
			if len(got) != len(want) {
				t.Fatalf("%s: %d %ss, ONNX Runtime says %d", p, len(got), kind, len(want))
			}
			for i := range want {
				if got[i].Name != want[i].Name || int(got[i].ElemType) != int(want[i].DataType) || !slices.Equal(got[i].Shape, []int64(want[i].Dimensions)) {
					t.Fatalf("%s: %s %d is %+v, ONNX Runtime says %v", p, kind, i, got[i], want[i])
				}
			}
		}
		check("input", s.Inputs(), ins)
		check("output", s.Outputs(), outs)
		s.Close()
	}
}

func conformanceDirOrEmpty() string {
	for _, c := range []string{filepath.Join("..", "..", "..", "shared"), filepath.Join("..", "..", "shared")} {
		if st, err := os.Stat(filepath.Join(c, "onnx-conformance")); err == nil && st.IsDir() {
			return filepath.Join(c, "onnx-conformance")
		}
	}
	return ""
}
