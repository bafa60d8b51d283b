package checkpoint

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/trainer/optim"
)

func smallCNN(t *testing.T, classes int) *importer.Model {
	t.Helper()
	mp, err := zoo.Build("smallcnn", zoo.Options{Classes: classes, InChannels: 1, Size: 28, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "smallcnn"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func batch(seed uint64) *tensor.Dense {
	r := rand.New(rand.NewPCG(seed, 9))
	xs := make([]float32, 4*28*28)
	for i := range xs {
		xs[i] = float32(r.NormFloat64())
	}
	return tensor.New(tensor.WithShape(4, 1, 28, 28), tensor.WithBacking(xs))
}

func buildGraph(t *testing.T, m *importer.Model) *importer.Graph {
	t.Helper()
	g, err := m.Build(map[string][]int{m.Inputs[0].Name: {4, 1, 28, 28}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

func forward(t *testing.T, m *importer.Model, g *importer.Graph, training bool, x *tensor.Dense) []float32 {
	t.Helper()
	m.SetTraining(training)
	out, err := g.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Data().([]float32)
}

// trainStep imitates a training step: a training-mode forward pass (which
// updates the BatchNorm running statistics) and an optimizer step on
// gradients drawn from seed.
func trainStep(t *testing.T, m *importer.Model, g *importer.Graph, o optim.Optimizer, seed uint64) {
	t.Helper()
	forward(t, m, g, true, batch(seed))
	r := rand.New(rand.NewPCG(seed, 77))
	var ps []optim.Param
	for _, p := range m.Params {
		v := paramData(t, p)
		grad := make([]float32, len(v))
		for i := range grad {
			grad[i] = float32(r.NormFloat64())
		}
		ps = append(ps, optim.Param{Name: p.Name, Value: v, Grad: grad})
	}
	if err := o.Step(ps, 0.01); err != nil {
		t.Fatal(err)
	}
}

func paramData(t *testing.T, p *importer.Param) []float32 {
	t.Helper()
	f, err := denseFloats(p.Value)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// checkSameModel compares every parameter and BatchNorm statistic bit for bit.
func checkSameModel(t *testing.T, got, want *importer.Model) {
	t.Helper()
	if len(got.Params) != len(want.Params) || len(got.BN) != len(want.BN) {
		t.Fatalf("different models: %d/%d params, %d/%d BN", len(got.Params), len(want.Params), len(got.BN), len(want.BN))
	}
	for i, p := range want.Params {
		if !sameFloats(paramData(t, got.Params[i]), paramData(t, p)) {
			t.Fatalf("parameter %q differs", p.Name)
		}
	}
	for node, bs := range want.BN {
		g := got.BN[node].State
		if !sameFloats(g.RunningMean, bs.State.RunningMean) || !sameFloats(g.RunningVar, bs.State.RunningVar) {
			t.Fatalf("BN %q statistics differ", node)
		}
		if g.BatchesTracked != bs.State.BatchesTracked {
			t.Fatalf("BN %q: %d batches tracked, want %d", node, g.BatchesTracked, bs.State.BatchesTracked)
		}
	}
}

// Train a smallcnn for a few steps, checkpoint it, restore into a freshly
// imported copy whose graph was built before the restore, and resume.
func TestRestoreModelResumesTraining(t *testing.T) {
	a := smallCNN(t, 2)
	if len(a.BN) != 3 {
		t.Fatalf("smallcnn has %d BatchNorm layers, want 3", len(a.BN))
	}
	gA := buildGraph(t, a)
	optA := optim.NewAdam(1e-4)
	for i := range 3 {
		trainStep(t, a, gA, optA, uint64(i))
	}
	fresh := smallCNN(t, 2)
	for node, bs := range a.BN {
		if sameFloats(bs.State.RunningMean, fresh.BN[node].State.RunningMean) || sameFloats(bs.State.RunningVar, fresh.BN[node].State.RunningVar) {
			t.Fatalf("BN %q was not updated by training: the test cannot tell", node)
		}
	}
	s := NewState()
	s.Step = 3
	if err := s.AddModel("cls", a); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOptimizer("cls", optA); err != nil {
		t.Fatal(err)
	}
	path, err := Save(t.TempDir(), s, 2)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}

	b := smallCNN(t, 2)
	gB := buildGraph(t, b) // built before the restore
	xe := batch(100)
	before := forward(t, b, gB, false, xe)
	ptrs := make([]*tensor.Dense, len(b.Params))
	for i, p := range b.Params {
		ptrs[i] = p.Value
	}
	if err := loaded.RestoreModel("cls", b); err != nil {
		t.Fatal(err)
	}
	for i, p := range b.Params {
		if p.Value != ptrs[i] {
			t.Fatalf("RestoreModel replaced the tensor of %q", p.Name)
		}
	}
	checkSameModel(t, b, a)

	after := forward(t, b, gB, false, xe)
	want := forward(t, a, gA, false, xe)
	if sameFloats(before, want) {
		t.Fatal("the fresh model already gives the trained outputs: the test cannot tell")
	}
	if !sameFloats(after, want) {
		t.Fatalf("the graph built before the restore gives %v, the trained model %v", after, want)
	}

	// One more training step on both gives the same model.
	optB := optim.NewAdam(1e-4)
	if err := loaded.RestoreOptimizer("cls", optB); err != nil {
		t.Fatal(err)
	}
	trainStep(t, a, gA, optA, 3)
	trainStep(t, b, gB, optB, 3)
	checkSameModel(t, b, a)
}

func TestRestoreModelErrors(t *testing.T) {
	a := smallCNN(t, 2)
	s := NewState()
	if err := s.AddModel("cls", a); err != nil {
		t.Fatal(err)
	}
	// Mis-shaped: a three-class head.
	c3 := smallCNN(t, 3)
	err := s.RestoreModel("cls", c3)
	if err == nil || !strings.Contains(err.Error(), "fc.weight") || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("three-class model: %v", err)
	}

	// Mis-shaped, missing and unexpected tensors, named; nothing is written.
	b := smallCNN(t, 2)
	snapshot := append([]float32(nil), paramData(t, b.Params[0])...)
	s.Tensors["cls/param/conv1.weight"] = s.Tensors["cls/param/conv2.weight"] // mis-shaped
	delete(s.Tensors, "cls/param/fc.bias")
	var bnNode string
	for n := range a.BN {
		bnNode = n
	}
	delete(s.Tensors, "cls/bn/"+bnNode+"/running_var")
	s.Tensors["cls/param/extra"] = Tensor{Shape: []int{1}, Data: []float32{1}}
	err = s.RestoreModel("cls", b)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"conv1.weight"`, `"fc.bias"`, "running_var", bnNode, `"cls/param/extra"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %s: %v", want, err)
		}
	}
	if !sameFloats(paramData(t, b.Params[0]), snapshot) {
		t.Fatal("a failed restore changed the model")
	}

	// Nothing under the prefix.
	if err := s.RestoreModel("policy", b); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("unknown prefix: %v", err)
	}

	// A second AddModel under the prefix replaces everything.
	if err := s.AddModel("cls", a); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreModel("cls", b); err != nil {
		t.Fatal(err)
	}
	checkSameModel(t, b, a)
}

// Two models under different prefixes in one file (APGA: policy and classifier).
func TestTwoModelsInOneCheckpoint(t *testing.T) {
	a, p := smallCNN(t, 2), smallCNN(t, 2)
	for _, prm := range p.Params {
		f := paramData(t, prm)
		for i := range f {
			f[i] = -f[i] + 0.5
		}
	}
	s := NewState()
	if err := s.AddModel("cls", a); err != nil {
		t.Fatal(err)
	}
	if err := s.AddModel("policy", p); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "best.pgck")
	if err := SaveAs(path, s); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a2, p2 := smallCNN(t, 2), smallCNN(t, 2)
	if err := loaded.RestoreModel("cls", a2); err != nil {
		t.Fatal(err)
	}
	if err := loaded.RestoreModel("policy", p2); err != nil {
		t.Fatal(err)
	}
	checkSameModel(t, a2, a)
	checkSameModel(t, p2, p)
}
