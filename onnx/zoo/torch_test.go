package zoo_test

import (
	"math"
	"slices"
	"testing"

	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/torchref"
	"github.com/pgaug/pgaug/onnx/zoo"
)

type torchCase struct {
	arch                      string
	classes, inChannels, size int
}

// Every zoo network that scripts/export_pretrained.py also builds, at small
// sizes; two with one input channel (the script then averages the RGB
// filters of its first convolution: only that tensor's values differ).
var torchCases = []torchCase{
	{"resnet10t", 4, 3, 64},
	{"resnet18", 5, 1, 64},
	{"resnet50", 3, 3, 64},
	{"densenet121", 2, 3, 64},
	{"densenet169", 2, 1, 32},
	{"ternausnet11", 1, 3, 64},
}

// TestMatchesPyTorch checks each zoo network against the PyTorch original
// exported by scripts/export_pretrained.py with the same classes, channels
// and size:
//   - the parameters have the same names, shapes and order (PyTorch's
//     state_dict), and the inputs and outputs the same shapes;
//   - the zoo's initial values follow the original's distributions (per
//     tensor: standard deviation, tails, exact zeros), and BatchNorm starts
//     at weight 1, bias 0, mean 0, variance 1;
//   - with PyTorch's weights loaded by name, the zoo graph computes what
//     PyTorch computed (eval mode, in ONNX Runtime), so the architecture,
//     not just the names, is the original's.
func TestMatchesPyTorch(t *testing.T) {
	for _, c := range torchCases {
		t.Run(c.arch, func(t *testing.T) {
			tm, x, want, dev := torchExport(t, c.arch, c.classes, c.inChannels, c.size)
			zm, err := zoo.Build(c.arch, zoo.Options{Classes: c.classes, InChannels: c.inChannels, Size: c.size, Seed: 11})
			if err != nil {
				t.Fatal(err)
			}
			checkNamesAndShapes(t, zm, tm)
			checkIO(t, zm, tm)
			checkBatchNormInit(t, zm)
			checkInitDistributions(t, zm, tm, c.inChannels != 3)

			rep, err := modelops.LoadWeights(zm, tm, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Loaded) == 0 || len(rep.Unused) != 0 {
				t.Fatalf("loaded %d tensors, %d of PyTorch's unused: %v", len(rep.Loaded), len(rep.Unused), rep.Unused)
			}
			got := runORT(t, zm, x)
			if !slices.Equal(got.Shape, want.Dims) {
				t.Fatalf("output shape %v, PyTorch's %v", got.Shape, want.Dims)
			}
			// ONNX Runtime computes in float32 with kernels that vary by
			// CPU: it gets the tolerance any float32 computation of this
			// network gets against the float64 reference.
			if e := torchref.RelErr(got.Float32, want.Float64); e > torchref.Tolerance(dev.Output) {
				t.Fatalf("with PyTorch's weights the zoo graph (in ONNX Runtime) is off by %.3g (relative) from PyTorch's output in float64; %s", e, torchref.Explain(dev.Output))
			} else {
				t.Logf("relative error %.3g, %.2f of the %s", e, e/torchref.Tolerance(dev.Output), torchref.Explain(dev.Output))
			}
		})
	}
}

func checkNamesAndShapes(t *testing.T, zm, tm *onnxpb.ModelProto) {
	t.Helper()
	zsd, err := modelops.StateDict(zm)
	if err != nil {
		t.Fatal(err)
	}
	tsd, err := modelops.StateDict(tm)
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range tsd {
		zt, ok := zsd[name]
		if !ok {
			t.Errorf("PyTorch's %s %v is missing from the zoo model", name, tt.Dims)
			continue
		}
		if !slices.Equal(zt.Dims, tt.Dims) {
			t.Errorf("%s: zoo shape %v, PyTorch's %v", name, zt.Dims, tt.Dims)
		}
	}
	for name, zt := range zsd {
		if _, ok := tsd[name]; !ok {
			t.Errorf("the zoo's %s %v is not in PyTorch's state_dict", name, zt.Dims)
		}
	}
	if len(zsd) != len(zm.GetGraph().GetInitializer()) {
		t.Errorf("the zoo model has %d initializers but %d named tensors: it should store every parameter as an initializer", len(zm.GetGraph().GetInitializer()), len(zsd))
	}
	// Same order as PyTorch's initializers (which skip the tensors the
	// exporter aliased through Identity nodes).
	isTorchInit := map[string]bool{}
	var torchOrder, zooOrder []string
	for _, ti := range tm.GetGraph().GetInitializer() {
		isTorchInit[ti.GetName()] = true
		torchOrder = append(torchOrder, ti.GetName())
	}
	for _, zi := range zm.GetGraph().GetInitializer() {
		if isTorchInit[zi.GetName()] {
			zooOrder = append(zooOrder, zi.GetName())
		}
	}
	if !slices.Equal(zooOrder, torchOrder) {
		t.Errorf("initializer order differs from PyTorch's:\nzoo   %v\ntorch %v", zooOrder, torchOrder)
	}
}

func checkIO(t *testing.T, zm, tm *onnxpb.ModelProto) {
	t.Helper()
	zg, tg := zm.GetGraph(), tm.GetGraph()
	if len(zg.GetInput()) != 1 || len(zg.GetOutput()) != 1 {
		t.Fatalf("zoo model has %d inputs and %d outputs, want 1 and 1", len(zg.GetInput()), len(zg.GetOutput()))
	}
	for _, pair := range [][2]*onnxpb.ValueInfoProto{{zg.GetInput()[0], tg.GetInput()[0]}, {zg.GetOutput()[0], tg.GetOutput()[0]}} {
		z, tt := pair[0], pair[1]
		if z.GetName() != tt.GetName() {
			t.Errorf("zoo value %q, PyTorch's %q", z.GetName(), tt.GetName())
		}
		zd, zn := ioDims(z)
		td, _ := ioDims(tt)
		if !slices.Equal(zd, td) || zn[0] != zoo.BatchDim {
			t.Errorf("%s: zoo dims %v %v, PyTorch's %v (batch symbolic, called %q)", z.GetName(), zd, zn, td, zoo.BatchDim)
		}
	}
}

// checkBatchNormInit: every BatchNormalization starts at scale 1, bias 0,
// mean 0, variance 1, with PyTorch's epsilon and momentum.
func checkBatchNormInit(t *testing.T, zm *onnxpb.ModelProto) {
	t.Helper()
	sd, err := modelops.StateDict(zm)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range zm.GetGraph().GetNode() {
		if n.GetOpType() != "BatchNormalization" {
			continue
		}
		want := []float32{1, 0, 0, 1}
		for i, in := range n.GetInput()[1:] {
			for _, v := range sd[in].Float32 {
				if v != want[i] {
					t.Fatalf("%s: %s holds %v, want %v everywhere", n.GetName(), in, v, want[i])
				}
			}
		}
		for _, a := range n.GetAttribute() {
			if (a.GetName() == "epsilon" && a.GetF() != 1e-5) || (a.GetName() == "momentum" && a.GetF() != 0.9) {
				t.Errorf("%s: %s = %v", n.GetName(), a.GetName(), a.GetF())
			}
		}
	}
}

// checkInitDistributions compares, tensor by tensor, the zoo's initial
// values with PyTorch's (which come from the original's own init code):
// the same standard deviation within 10%, the same share of values beyond
// 2σ (about 4.6% for a normal, none for a uniform), and zeros where
// PyTorch has zeros. BatchNorm tensors are skipped (the export script
// randomises them). With adaptedFirstConv the script has averaged the
// first convolution's RGB filters, so that tensor is skipped too.
func checkInitDistributions(t *testing.T, zm, tm *onnxpb.ModelProto, adaptedFirstConv bool) {
	t.Helper()
	zsd, _ := modelops.StateDict(zm)
	tsd, _ := modelops.StateDict(tm)
	skip := map[string]bool{}
	for _, n := range zm.GetGraph().GetNode() {
		if n.GetOpType() == "BatchNormalization" {
			for _, in := range n.GetInput()[1:] {
				skip[in] = true
			}
		}
	}
	if adaptedFirstConv {
		for _, n := range zm.GetGraph().GetNode() {
			if n.GetOpType() == "Conv" {
				skip[n.GetInput()[1]] = true
				break
			}
		}
	}
	checked := 0
	for name, tt := range tsd {
		zt := zsd[name]
		if skip[name] || zt == nil {
			continue
		}
		zs, ts := summarize(zt.Float32), summarize(tt.Float32)
		if ts.allZero || zs.allZero {
			if ts.allZero != zs.allZero {
				t.Errorf("%s: all zero in PyTorch: %v, in the zoo: %v", name, ts.allZero, zs.allZero)
			}
			continue
		}
		if tt.Dims[0] == 1 && len(tt.Float32) == 1 {
			// A single value (TernausNet's final bias): only its range says anything.
			continue
		}
		if len(tt.Float32) < 500 {
			// Too few values for a tight comparison: the same scale.
			if zs.maxAb > 2*ts.maxAb || ts.maxAb > 2*zs.maxAb {
				t.Errorf("%s: zoo values reach %.3g, PyTorch's %.3g", name, zs.maxAb, ts.maxAb)
			}
			continue
		}
		checked++
		if r := zs.std / ts.std; r < 0.9 || r > 1.1 {
			t.Errorf("%s %v: zoo std %.4g, PyTorch's %.4g (ratio %.3f)", name, tt.Dims, zs.std, ts.std, r)
		}
		if math.Abs(zs.tail-ts.tail) > 0.02 {
			t.Errorf("%s %v: %.3f of the zoo's values lie beyond 2σ, %.3f of PyTorch's (normal vs uniform?)", name, tt.Dims, zs.tail, ts.tail)
		}
		if math.Abs(zs.mean) > 0.2*zs.std {
			t.Errorf("%s: zoo mean %.3g with std %.3g", name, zs.mean, zs.std)
		}
	}
	if checked < 5 {
		t.Fatalf("only %d tensors were large enough to compare", checked)
	}
}
