package zoo_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/exporter"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

// small variants of the networks, for the import, export and training
// tests.
var smallCases = []struct {
	name                      string
	classes, inChannels, size int
}{
	{"smallcnn", 3, 3, 16},
	{"resnet10t", 2, 1, 32},
	{"resnet18", 3, 3, 32},
	{"resnet50", 2, 3, 32},
	{"densenet121", 2, 1, 32},
	{"ternausnet11", 1, 3, 32},
	{"unet-small", 1, 1, 16},
	// densenet169 differs from densenet121 in block lengths only; it is
	// checked once, against PyTorch, in TestMatchesPyTorch.
}

func importModel(t *testing.T, m *onnxpb.ModelProto, source string) *importer.Model {
	t.Helper()
	im, err := importer.Import(m, importer.Options{Source: source})
	if err != nil {
		t.Fatalf("importing %s: %v", source, err)
	}
	return im
}

// TestImportRunExportRoundTrip: every zoo network imports, runs forward
// (eval mode) as ONNX Runtime runs it, and survives onnx/exporter: the
// parameters come back bit for bit and the output is unchanged.
func TestImportRunExportRoundTrip(t *testing.T) {
	for _, c := range smallCases {
		t.Run(c.name, func(t *testing.T) {
			m, err := zoo.Build(c.name, zoo.Options{Classes: c.classes, InChannels: c.inChannels, Size: c.size, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			im := importModel(t, m, c.name)
			all, trainable := im.NumParams()
			want, err := zoo.ParamCount(c.name, zoo.Options{Classes: c.classes, InChannels: c.inChannels, Size: c.size})
			if err != nil {
				t.Fatal(err)
			}
			if int64(trainable) != want || all != trainable {
				t.Errorf("imported %d parameters (%d trainable), ParamCount says %d", all, trainable, want)
			}
			x := randomInput(5, 2, int64(c.inChannels), int64(c.size), int64(c.size))
			net := netstep.New(im, netstep.CrossEntropy)
			defer net.Close()
			got, err := net.Forward(dense(x))
			if err != nil {
				t.Fatal(err)
			}
			wantShape := []int{2, c.classes}
			if isSeg(c.name) {
				wantShape = []int{2, 1, c.size, c.size}
			}
			if !slices.Equal([]int(got.Shape()), wantShape) {
				t.Fatalf("output shape %v, want %v", got.Shape(), wantShape)
			}
			gv := got.Data().([]float32)
			ref := runORT(t, m, x)
			// Two float32 evaluations: onnx/torchref's float32 probes put
			// each within ProbeFactor·δ + u ≤ 3.6e-5 of the exact output for
			// these architectures (δ ≤ 4.4e-6), whatever the CPU's kernels,
			// so they differ by less than 1e-4; a wrong operator by 1e-2 or
			// more.
			if e := relErr(gv, ref.Float32); e > 1e-4 {
				t.Fatalf("gorgonia and ONNX Runtime differ by %.3g (relative)", e)
			}
			for i, v := range gv {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || (isSeg(c.name) && (v <= 0 || v >= 1)) {
					t.Fatalf("output %d is %v", i, v)
				}
			}

			out, err := exporter.Export(im, exporter.Options{})
			if err != nil {
				t.Fatal(err)
			}
			m2 := importModel(t, out, c.name+" (exported)")
			if len(m2.Params) != len(im.Params) {
				t.Fatalf("%d parameters after export, %d before", len(m2.Params), len(im.Params))
			}
			for _, p := range im.Params {
				q := m2.Param(p.Name)
				if q == nil {
					t.Fatalf("parameter %q lost in the export", p.Name)
				}
				a, b := p.Value.Data().([]float32), q.Value.Data().([]float32)
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
						t.Fatalf("parameter %q element %d: %v exported as %v", p.Name, i, a[i], b[i])
					}
				}
			}
			net2 := netstep.New(m2, netstep.CrossEntropy)
			defer net2.Close()
			got2, err := net2.Forward(dense(x))
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(got2.Data().([]float32), gv); e > 1e-6 {
				t.Fatalf("the exported model's output differs by %.3g", e)
			}
		})
	}
}

// classTask is a learnable two-class batch: class 1 images are brighter in
// channel 0 than class 0 images.
func classTask(rng *rand.Rand, n, c, size, classes int) (*tensor.Dense, *tensor.Dense) {
	x := make([]float32, n*c*size*size)
	labels := make([]int, n)
	plane := size * size
	for i := range labels {
		labels[i] = i % 2
		shift := float32(-0.75)
		if labels[i] == 1 {
			shift = 0.75
		}
		for j := 0; j < c*plane; j++ {
			x[i*c*plane+j] = float32(rng.NormFloat64())
			if j < plane {
				x[i*c*plane+j] += shift
			}
		}
	}
	t, _ := loss.OneHot(labels, classes)
	return tensor.New(tensor.WithShape(n, c, size, size), tensor.WithBacking(x)), t
}

// segTask is a per-pixel task: the target is 1 where channel 0 is positive.
func segTask(rng *rand.Rand, n, c, size int) (*tensor.Dense, *tensor.Dense) {
	x := make([]float32, n*c*size*size)
	y := make([]float32, n*size*size)
	plane := size * size
	for i := 0; i < n; i++ {
		for j := 0; j < c*plane; j++ {
			x[i*c*plane+j] = float32(rng.NormFloat64())
		}
		for j := 0; j < plane; j++ {
			if x[i*c*plane+j] > 0 {
				y[i*plane+j] = 1
			}
		}
	}
	return tensor.New(tensor.WithShape(n, c, size, size), tensor.WithBacking(x)), tensor.New(tensor.WithShape(n, 1, size, size), tensor.WithBacking(y))
}

// TestTrains: a few SGD steps (training mode, BatchNorm on batch
// statistics) on a fixed, seeded batch lower every network's loss on it:
// the graph, its gradients and the initialisation work together.
func TestTrains(t *testing.T) {
	for _, c := range smallCases {
		t.Run(c.name, func(t *testing.T) {
			m, err := zoo.Build(c.name, zoo.Options{Classes: c.classes, InChannels: c.inChannels, Size: c.size, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(8, 8))
			kind, lr, steps := netstep.CrossEntropy, 0.01, 6
			var opt optim.Optimizer = &optim.SGD{Momentum: 0.9}
			var x, y *tensor.Dense
			if isSeg(c.name) {
				// No BatchNorm: a VGG U-Net starts slowly under SGD.
				kind, lr, opt, steps = netstep.BinaryCrossEntropy, 3e-3, optim.NewAdam(0), 8
				x, y = segTask(rng, 2, c.inChannels, c.size)
			} else {
				x, y = classTask(rng, 4, c.inChannels, c.size, c.classes)
			}
			switch c.name {
			case "smallcnn":
				steps = 20
			case "resnet50":
				// With batch 4 PyTorch's ResNet-50 also overshoots at 0.01.
				lr = 1e-3
			case "unet-small":
				steps = 20
			}
			net := netstep.New(importModel(t, m, c.name), kind)
			defer net.Close()
			var losses []float32
			for i := 0; i < steps; i++ {
				r, err := net.Step(x, opt, lr, y)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				losses = append(losses, r.Loss)
			}
			// The loss after the steps, measured by one more pass.
			r, err := net.ForwardBackward(x, y)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, r.Loss)
			first, last := losses[0], losses[len(losses)-1]
			t.Logf("losses %v", losses)
			if !(last < 0.8*first) {
				t.Fatalf("loss went from %.4g to %.4g over %d steps (%v); want it down by at least 20%%", first, last, steps, losses)
			}
		})
	}
}

// TestSeeds: the same seed gives the same model bit for bit; another seed
// other weights but the same BatchNorm start; another class count changes
// the classifier only.
func TestSeeds(t *testing.T) {
	build := func(o zoo.Options) *onnxpb.ModelProto {
		t.Helper()
		m, err := zoo.Build("resnet18", o)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	base := zoo.Options{Classes: 4, Size: 32, Seed: 42}
	a, b := build(base), build(base)
	if !proto.Equal(a, b) {
		t.Fatal("two builds with seed 42 differ")
	}
	other := base
	other.Seed = 43
	c := build(other)
	fewer := base
	fewer.Classes = 2
	d := build(fewer)
	sa, _ := modelops.StateDict(a)
	sc, _ := modelops.StateDict(c)
	sd, _ := modelops.StateDict(d)
	for name, ta := range sa {
		same := slices.Equal(ta.Float32, sc[name].Float32)
		constant := strings.Contains(name, "bn") || strings.Contains(name, "downsample.1")
		if same != constant {
			t.Errorf("%s: equal across seeds 42 and 43: %v, want %v", name, same, constant)
		}
		if strings.HasPrefix(name, "fc.") {
			if slices.Equal(ta.Dims, sd[name].Dims) {
				t.Errorf("%s: shape %v with 4 and with 2 classes", name, ta.Dims)
			}
			continue
		}
		if !slices.Equal(ta.Float32, sd[name].Float32) {
			t.Errorf("%s changed with the class count", name)
		}
	}
	for _, meta := range a.GetMetadataProps() {
		if meta.GetKey() == zoo.MetaSeed && meta.GetValue() != "42" {
			t.Errorf("metadata %s = %q", zoo.MetaSeed, meta.GetValue())
		}
	}
}

func TestOptionErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		o    zoo.Options
		want string
	}{
		{"resnet19", zoo.Options{}, `no network "resnet19"`},
		{"ternausnet11", zoo.Options{Size: 48}, "not a multiple of 32"},
		{"ternausnet11", zoo.Options{Classes: 3}, "classes must be 1"},
		{"resnet18", zoo.Options{Size: 16}, "want at least 32"},
		{"resnet18", zoo.Options{Classes: -1}, "want at least 1"},
		{"smallcnn", zoo.Options{InChannels: -3}, "want at least 1"},
	} {
		_, err := zoo.Build(c.name, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Build(%q, %+v): error %v, want one containing %q", c.name, c.o, err, c.want)
		}
		if _, err2 := zoo.ParamCount(c.name, c.o); err2 == nil {
			t.Errorf("ParamCount(%q, %+v) accepted what Build refuses", c.name, c.o)
		}
	}
}

// TestList: every network is listed with the parameter count of the model
// Build makes at the defaults (counted from its initializers).
func TestList(t *testing.T) {
	infos := zoo.List()
	if !slices.Equal(zoo.Names(), []string{"smallcnn", "resnet10t", "resnet18", "resnet50", "densenet121", "densenet169", "ternausnet11", "unet-small"}) {
		t.Fatalf("names %v", zoo.Names())
	}
	for _, info := range infos {
		if info.Description == "" || info.Origin == "" || info.Params <= 0 || !strings.Contains(info.Input(), "N×C×S×S") {
			t.Errorf("%+v", info)
		}
		// The count does not depend on the input size: build small.
		m, err := zoo.Build(info.Name, zoo.Options{Size: 32})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		stats := map[string]bool{}
		for _, node := range m.GetGraph().GetNode() {
			if node.GetOpType() == "BatchNormalization" {
				stats[node.GetInput()[3]], stats[node.GetInput()[4]] = true, true
			}
		}
		for _, ti := range m.GetGraph().GetInitializer() {
			if !stats[ti.GetName()] {
				k, _ := onnxio.NumElements(ti.GetDims())
				n += k
			}
		}
		if n != info.Params {
			t.Errorf("%s: List says %d parameters, the built model has %d", info.Name, info.Params, n)
		}
		got, err := zoo.Lookup(info.Name)
		if err != nil || got != info {
			t.Errorf("Lookup(%q) = %+v, %v", info.Name, got, err)
		}
		if info.Name == "smallcnn" && (n < 1000 || n > 100000) {
			t.Errorf("smallcnn has %d parameters, want a few thousand to 100k", n)
		}
	}
}

// TestOperatorsAreImportable: every operator a zoo model uses is one the
// importer supports.
func TestOperatorsAreImportable(t *testing.T) {
	supported := map[string]bool{}
	for _, op := range importer.SupportedOperators() {
		supported[op] = true
	}
	for _, name := range zoo.Names() {
		m, err := zoo.Build(name, zoo.Options{Size: 32, Classes: 1})
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := onnxio.DefaultOpset(m); v != zoo.Opset {
			t.Errorf("%s: opset %d", name, v)
		}
		for _, n := range m.GetGraph().GetNode() {
			if !supported[n.GetOpType()] {
				t.Errorf("%s: node %s uses %s, which the importer does not support", name, n.GetName(), n.GetOpType())
			}
		}
	}
}

func isSeg(name string) bool { return name == "ternausnet11" || name == "unet-small" }
