package zoo_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/onnx/torchref"
)

// torchExport runs scripts/export_pretrained.py for arch (seeded
// torchvision-style initialisation, BatchNorm statistics randomised by the
// script) and returns the model with the script's eval-mode reference
// input, its output computed in float64, and the float32 probes' deviation
// of that output (torchref.Deviation). It fails the test when Python or
// torch is missing.
func torchExport(t *testing.T, arch string, classes, inChannels, size int) (*onnxpb.ModelProto, *onnxio.Tensor, *onnxio.Tensor, *torchref.Deviation) {
	t.Helper()
	torchref.Require(t)
	root, err := torchref.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path, ref, err := torchref.Export(root, t.TempDir(), arch, classes, inChannels, size, 2, 0, torchref.Float64Reference(1)...) // forward only: one pair of probes (see onnx/torchref)
	if err != nil {
		t.Fatalf("exporting %s with PyTorch: %v", arch, err)
	}
	m, err := onnxio.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	x, err := onnxio.ReadNPY(filepath.Join(ref, "input.npy"))
	if err != nil {
		t.Fatal(err)
	}
	y, err := onnxio.ReadNPY(filepath.Join(ref, "output.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if y.DType != onnxio.DTypeFloat64 {
		t.Fatalf("PyTorch's reference output is %v, want float64", y.DType)
	}
	dev, err := torchref.ReadDeviation(ref)
	if err != nil {
		t.Fatal(err)
	}
	return m, x, y, dev
}

// initORT loads ONNX Runtime (scripts/setup.sh installs it), failing the test
// when it is missing.
func initORT(t *testing.T) {
	t.Helper()
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
}

// runORT runs m in ONNX Runtime on x and returns its only output.
func runORT(t *testing.T, m *onnxpb.ModelProto, x *onnxio.Tensor) ort.Tensor {
	t.Helper()
	initORT(t)
	raw, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSessionFromBytes(raw, ort.SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Run(map[string]ort.Tensor{"input": ort.Float32Tensor(x.Dims, x.Float32)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("ONNX Runtime gave %d outputs, want 1", len(res))
	}
	for _, v := range res {
		return v
	}
	panic("unreachable")
}

// randomInput returns a seeded N(0, 1) batch.
func randomInput(seed uint64, dims ...int64) *onnxio.Tensor {
	rng := rand.New(rand.NewPCG(seed, 99))
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	x := &onnxio.Tensor{Name: "input", DType: onnxio.DTypeFloat32, Dims: dims, Float32: make([]float32, n)}
	for i := range x.Float32 {
		x.Float32[i] = float32(rng.NormFloat64())
	}
	return x
}

func dense(x *onnxio.Tensor) *tensor.Dense {
	shape := make([]int, len(x.Dims))
	for i, d := range x.Dims {
		shape[i] = int(d)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), x.Float32...)))
}

// relErr is max|got − want| / max|want|.
func relErr(got, want []float32) float64 {
	var d, m float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
		m = math.Max(m, math.Abs(float64(want[i])))
	}
	if m == 0 {
		return d
	}
	return d / m
}

// ioDims returns a value_info's dims, symbolic ones as -1 with their name.
func ioDims(vi *onnxpb.ValueInfoProto) ([]int64, []string) {
	var dims []int64
	var names []string
	for _, d := range vi.GetType().GetTensorType().GetShape().GetDim() {
		if p := d.GetDimParam(); p != "" {
			dims = append(dims, -1)
			names = append(names, p)
			continue
		}
		dims = append(dims, d.GetDimValue())
		names = append(names, "")
	}
	return dims, names
}

type stats struct {
	n                int
	mean, std, maxAb float64
	tail             float64 // fraction of |x| above 2 standard deviations
	allZero, allOne  bool
}

func summarize(d []float32) stats {
	s := stats{n: len(d), allZero: true, allOne: true}
	for _, v := range d {
		s.mean += float64(v)
		s.allZero = s.allZero && v == 0
		s.allOne = s.allOne && v == 1
		s.maxAb = math.Max(s.maxAb, math.Abs(float64(v)))
	}
	s.mean /= float64(len(d))
	for _, v := range d {
		s.std += (float64(v) - s.mean) * (float64(v) - s.mean)
	}
	s.std = math.Sqrt(s.std / float64(len(d)))
	for _, v := range d {
		if math.Abs(float64(v)) > 2*s.std {
			s.tail++
		}
	}
	s.tail /= float64(len(d))
	return s
}
