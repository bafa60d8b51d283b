package torchref

import (
	"encoding/json"
	"fmt"
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
// (eval mode) and compares their output with PyTorch's, computed in float64,
// within Tolerance of the float32 probes' deviation; then checks that import
// → export is exact.
func TestTorchvisionNetworksMatchPyTorch(t *testing.T) {
	Require(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range evalCases {
		t.Run(c.arch, func(t *testing.T) {
			// One pair of probes: a forward pass is continuous in its ReLU
			// and max-pool decisions, so the probes need not find flips.
			modelPath, ref, err := Export(root, dir, c.arch, c.classes, 3, c.size, 2, 0, Float64Reference(1)...)
			if err != nil {
				t.Fatal(err)
			}
			dev, err := ReadDeviation(ref)
			if err != nil {
				t.Fatal(err)
			}
			m, err := importer.ImportFile(modelPath)
			if err != nil {
				t.Fatal(err)
			}
			x := toDense(t, readNPY(t, filepath.Join(ref, "input.npy")))
			want, err := ReadFloat64s(filepath.Join(ref, "output.npy"))
			if err != nil {
				t.Fatal(err)
			}
			net := netstep.New(m, netstep.CrossEntropy)
			defer net.Close()
			got, err := net.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			if e := RelErr(got.Data().([]float32), want); e > Tolerance(dev.Output) {
				t.Fatalf("relative error %.3g against PyTorch in float64; %s", e, Explain(dev.Output))
			} else {
				t.Logf("relative error %.3g against PyTorch in float64, %.2f of the %s", e, e/Tolerance(dev.Output), Explain(dev.Output))
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
// and BatchNorm statistics with PyTorch's own steps on the same batch,
// computed in float64. Each quantity gets Tolerance of its float32 probes'
// deviation (Deviation): tight where training is well-conditioned, wider
// where float32's rounding can legitimately flip a ReLU or max-pool decision
// (the deep TernausNet biases, whose gradients are 1e-8 of the decoder's).
// Trained tensors are compared by what the steps changed: ‖w − w*‖₂ /
// ‖w* − w₀‖₂.
func TestTrainingStepsMatchPyTorch(t *testing.T) {
	Require(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []archCase{{"resnet18", 4, 64}, {"ternausnet11", 1, 32}} {
		t.Run(c.arch, func(t *testing.T) {
			const steps = 3
			modelPath, ref, err := Export(root, dir, c.arch, c.classes, 3, c.size, 4, steps, append(Float64Reference(2), "--lr", "0.01")...)
			if err != nil {
				t.Fatal(err)
			}
			dev, err := ReadDeviation(ref)
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
			if len(wantLosses) != steps || len(dev.Losses) != steps {
				t.Fatalf("%d reference losses and %d probe deviations, want %d", len(wantLosses), len(dev.Losses), steps)
			}

			// The compared state: every parameter and BatchNorm statistic,
			// with its initial value.
			type tensorRef struct {
				name    string
				value   func() []float32
				initial []float32
			}
			var state []*tensorRef
			for _, p := range m.Params {
				v := p.Value
				state = append(state, &tensorRef{name: p.Name, value: func() []float32 { return v.Data().([]float32) }})
			}
			for _, bn := range m.BN {
				s := bn.State
				state = append(state,
					&tensorRef{name: bn.MeanName, value: func() []float32 { mean, _ := s.Stats(); return mean }},
					&tensorRef{name: bn.VarName, value: func() []float32 { _, v := s.Stats(); return v }})
			}
			for _, r := range state {
				r.initial = append([]float32(nil), r.value()...)
			}

			net := netstep.New(m, kind)
			defer net.Close()
			opt := &optim.SGD{Momentum: 0.9}
			worst, worstWhat := 0.0, ""
			check := func(what string, e, d float64) {
				if e > Tolerance(d) {
					t.Errorf("%s: relative error %.3g against PyTorch in float64; %s", what, e, Explain(d))
				}
				if r := e / Tolerance(d); r > worst {
					worst, worstWhat = r, fmt.Sprintf("%s (error %.3g, %s)", what, e, Explain(d))
				}
			}
			for s := 0; s < steps; s++ {
				r, err := net.Step(x, opt, 0.01, target)
				if err != nil {
					t.Fatal(err)
				}
				check(fmt.Sprintf("step %d loss %v (PyTorch %v)", s, r.Loss, wantLosses[s]), math.Abs(float64(r.Loss)-wantLosses[s])/math.Abs(wantLosses[s]), dev.Losses[s])
			}
			for _, r := range state {
				d, ok := dev.State[r.name]
				if !ok {
					t.Fatalf("the float32 probes did not measure %q", r.name)
				}
				want, err := ReadFloat64s(filepath.Join(ref, "trained", r.name+".npy"))
				if err != nil {
					t.Fatalf("PyTorch's trained state has no %q: %v", r.name, err)
				}
				got := r.value()
				if len(got) != len(want) {
					t.Fatalf("%q: %d values, PyTorch's %d", r.name, len(got), len(want))
				}
				check(fmt.Sprintf("%q after %d steps (‖error‖₂ / ‖update‖₂)", r.name, steps), UpdateErr(got, want, r.initial), d)
			}
			t.Logf("closest to its tolerance: %s at %.2f of it", worstWhat, worst)
		})
	}
}
