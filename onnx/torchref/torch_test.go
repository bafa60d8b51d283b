package torchref

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/exporter"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

func readNPY(t *testing.T, path string) *onnxio.Tensor {
	t.Helper()
	x, err := onnxio.ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func toDense(t *testing.T, x *onnxio.Tensor) *tensor.Dense {
	t.Helper()
	shape := make([]int, len(x.Dims))
	for i, d := range x.Dims {
		shape[i] = int(d)
	}
	if x.DType != onnxio.DTypeFloat32 {
		t.Fatalf("%s is %v, want float32", x.Name, x.DType)
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

type archCase struct {
	arch          string
	classes, size int
}

var evalCases = []archCase{
	{"resnet18", 5, 64},
	{"resnet50", 3, 64},
	{"densenet121", 2, 64},
	{"densenet169", 2, 64},
	{"ternausnet11", 1, 64},
	{"resnet10t", 4, 64},
}

// TestTorchvisionNetworksMatchPyTorch imports seeded torchvision networks
// (eval mode) and compares their output with PyTorch's (rel. error ≤ 1e-4),
// then checks that import → export is exact.
func TestTorchvisionNetworksMatchPyTorch(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range evalCases {
		t.Run(c.arch, func(t *testing.T) {
			modelPath, ref, err := Export(root, dir, c.arch, c.classes, 3, c.size, 2, 0)
			if err != nil {
				t.Fatal(err)
			}
			m, err := importer.ImportFile(modelPath)
			if err != nil {
				t.Fatal(err)
			}
			x := toDense(t, readNPY(t, filepath.Join(ref, "input.npy")))
			want := readNPY(t, filepath.Join(ref, "output.npy"))
			net := netstep.New(m, netstep.CrossEntropy)
			defer net.Close()
			got, err := net.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(got.Data().([]float32), want.Float32); e > 1e-4 {
				t.Fatalf("relative error %.3g against PyTorch, want ≤ 1e-4", e)
			}

			// Round trip: weights bit-identical, outputs within 1e-5.
			out, err := exporter.Export(m, exporter.Options{})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, c.arch+"-roundtrip.onnx")
			if err := onnxio.Save(path, out); err != nil {
				t.Fatal(err)
			}
			m2, err := importer.ImportFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(m2.Params) != len(m.Params) {
				t.Fatalf("%d parameters after the round trip, %d before", len(m2.Params), len(m.Params))
			}
			for _, p := range m.Params {
				q := m2.Param(p.Name)
				if q == nil {
					t.Fatalf("parameter %q lost in the round trip", p.Name)
				}
				a, b := p.Value.Data().([]float32), q.Value.Data().([]float32)
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
						t.Fatalf("parameter %q element %d: %v became %v", p.Name, i, a[i], b[i])
					}
				}
			}
			net2 := netstep.New(m2, netstep.CrossEntropy)
			defer net2.Close()
			got2, err := net2.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			a, b := got.Data().([]float32), got2.Data().([]float32)
			for i := range a {
				if math.Abs(float64(a[i]-b[i])) > 1e-5 {
					t.Fatalf("round-trip output %d: %v vs %v", i, a[i], b[i])
				}
			}
		})
	}
}

// TestTrainingStepsMatchPyTorch runs SGD steps (momentum 0.9) in training
// mode on the imported graph and compares the losses and the trained weights
// and BatchNorm statistics with PyTorch's own steps on the same batch.
func TestTrainingStepsMatchPyTorch(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []archCase{{"resnet18", 4, 64}, {"ternausnet11", 1, 32}} {
		t.Run(c.arch, func(t *testing.T) {
			const steps = 3
			modelPath, ref, err := Export(root, dir, c.arch, c.classes, 3, c.size, 4, steps, "--lr", "0.01")
			if err != nil {
				t.Fatal(err)
			}
			m, err := importer.ImportFile(modelPath)
			if err != nil {
				t.Fatal(err)
			}
			x := toDense(t, readNPY(t, filepath.Join(ref, "train_input.npy")))
			labels := readNPY(t, filepath.Join(ref, "train_labels.npy"))
			var target *tensor.Dense
			kind := netstep.CrossEntropy
			if c.arch == "ternausnet11" {
				kind = netstep.BinaryCrossEntropy
				target = toDense(t, labels)
			} else {
				ys := make([]int, len(labels.Int64))
				for i, v := range labels.Int64 {
					ys[i] = int(v)
				}
				if target, err = loss.OneHot(ys, c.classes); err != nil {
					t.Fatal(err)
				}
			}
			var wantLosses []float64
			raw, err := os.ReadFile(filepath.Join(ref, "train_losses.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &wantLosses); err != nil {
				t.Fatal(err)
			}
			net := netstep.New(m, kind)
			defer net.Close()
			opt := &optim.SGD{Momentum: 0.9}
			for s := 0; s < steps; s++ {
				r, err := net.Step(x, opt, 0.01, target)
				if err != nil {
					t.Fatal(err)
				}
				if d := math.Abs(float64(r.Loss) - wantLosses[s]); d > 1e-4*math.Max(1, math.Abs(wantLosses[s])) {
					t.Fatalf("step %d: loss %v, PyTorch %v", s, r.Loss, wantLosses[s])
				}
			}
			trained, err := importer.ImportFile(filepath.Join(ref, "trained.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			worst, worstName := 0.0, ""
			for _, p := range trained.Params {
				q := m.Param(p.Name)
				if q == nil {
					t.Fatalf("PyTorch's trained model has parameter %q that the import lacks", p.Name)
				}
				if e := relErr(q.Value.Data().([]float32), p.Value.Data().([]float32)); e > worst {
					worst, worstName = e, p.Name
				}
			}
			for name, bn := range trained.BN {
				mine := m.BN[name]
				if mine == nil {
					t.Fatalf("no BatchNormalization %q in the import", name)
				}
				mineMean, mineVar := mine.State.Stats()
				bnMean, bnVar := bn.State.Stats()
				if e := relErr(mineMean, bnMean); e > worst {
					worst, worstName = e, bn.MeanName
				}
				if e := relErr(mineVar, bnVar); e > worst {
					worst, worstName = e, bn.VarName
				}
			}
			if worst > 1e-3 {
				t.Fatalf("after %d steps, %q differs from PyTorch by relative error %.3g", steps, worstName, worst)
			}
			t.Logf("after %d steps the largest relative difference from PyTorch is %.3g (%s)", steps, worst, worstName)
		})
	}
}
