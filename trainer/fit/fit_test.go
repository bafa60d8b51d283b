package fit

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

// tinyCNN: Conv(1→8, 3×3, stride 2) BN ReLU, Conv(8→16, stride 2) BN ReLU, GAP, Gemm.
func tinyCNN(t *testing.T, classes int) *importer.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	he := func(n, fanIn int) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(rng.NormFloat64() * 1.4 / float64(fanIn))
		}
		return d
	}
	ones := func(n int, v float32) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = v
		}
		return d
	}
	b := onnxio.NewGraphBuilder("tiny")
	b.AddInput("input", onnxio.DTypeFloat32, "N", 1, 32, 32)
	b.AddOutput("logits", onnxio.DTypeFloat32, "N", classes)
	for i, c := range [][2]int{{1, 8}, {8, 16}} {
		p := []string{"c1", "c2"}[i]
		b.AddInitializer(onnxio.Float32Tensor(p+".weight", []int64{int64(c[1]), int64(c[0]), 3, 3}, he(c[1]*c[0]*9, 3*c[0])))
		b.AddInitializer(onnxio.Float32Tensor(p+".bn.weight", []int64{int64(c[1])}, ones(c[1], 1)))
		b.AddInitializer(onnxio.Float32Tensor(p+".bn.bias", []int64{int64(c[1])}, ones(c[1], 0)))
		b.AddInitializer(onnxio.Float32Tensor(p+".bn.running_mean", []int64{int64(c[1])}, ones(c[1], 0)))
		b.AddInitializer(onnxio.Float32Tensor(p+".bn.running_var", []int64{int64(c[1])}, ones(c[1], 1)))
	}
	b.AddInitializer(onnxio.Float32Tensor("fc.weight", []int64{int64(classes), 16}, he(classes*16, 4)))
	b.AddInitializer(onnxio.Float32Tensor("fc.bias", []int64{int64(classes)}, ones(classes, 0)))
	b.AddNode("Conv", []string{"input", "c1.weight"}, []string{"a"}, onnxio.AttrInts("strides", 2, 2), onnxio.AttrInts("pads", 1, 1, 1, 1))
	b.AddNode("BatchNormalization", []string{"a", "c1.bn.weight", "c1.bn.bias", "c1.bn.running_mean", "c1.bn.running_var"}, []string{"an"})
	b.AddNode("Relu", []string{"an"}, []string{"ar"})
	b.AddNode("Conv", []string{"ar", "c2.weight"}, []string{"b"}, onnxio.AttrInts("strides", 2, 2), onnxio.AttrInts("pads", 1, 1, 1, 1))
	b.AddNode("BatchNormalization", []string{"b", "c2.bn.weight", "c2.bn.bias", "c2.bn.running_mean", "c2.bn.running_var"}, []string{"bn"})
	b.AddNode("Relu", []string{"bn"}, []string{"br"})
	b.AddNode("GlobalAveragePool", []string{"br"}, []string{"g"})
	b.AddNode("Flatten", []string{"g"}, []string{"f"})
	b.AddNode("Gemm", []string{"f", "fc.weight", "fc.bias"}, []string{"logits"}, onnxio.AttrInt("transB", 1))
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestClassifierTrainsOnSyntheticData(t *testing.T) {
	dir := t.TempDir()
	cfg := synthetic.Default()
	cfg.Count, cfg.Size, cfg.Classes, cfg.Seed = 240, 32, 2, 3
	out := filepath.Join(dir, "syn.arrow")
	if _, err := convert.Synthetic(cfg, convert.Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	ds, err := arrowds.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	train, err := loader.New(ds, loader.Config{Split: "train", BatchSize: 16, DropLast: true, Shuffle: true, Seed: 1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	val, err := loader.New(ds, loader.Config{Split: "val", BatchSize: 16, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	net := netstep.New(tinyCNN(t, 2), netstep.CrossEntropy)
	defer net.Close()
	var log, jl bytes.Buffer
	res, err := Classifier(context.Background(), net, train, val, Config{
		Epochs: 4, LR: 0.05, Optimizer: &optim.SGD{Momentum: 0.9}, Schedule: Cosine(2), Classes: 2, Log: &log, Metrics: &jl,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 || !(res[3].TrainLoss < res[0].TrainLoss) {
		t.Fatalf("training loss did not fall: %+v", res)
	}
	if res[3].Val == nil || res[3].Val.N != val.Len() {
		t.Fatalf("validation: %+v", res[3].Val)
	}
	lines := strings.Split(strings.TrimSpace(jl.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("metrics log has %d lines", len(lines))
	}
	var rec EpochResult
	if err := json.Unmarshal([]byte(lines[3]), &rec); err != nil || rec.Epoch != 4 || rec.Val == nil {
		t.Fatalf("metrics log line %q: %v", lines[3], err)
	}
	if !strings.Contains(log.String(), "epoch 4/4") {
		t.Fatalf("progress log:\n%s", log.String())
	}
	t.Logf("\n%s", log.String())
}

func TestSchedules(t *testing.T) {
	c := Cosine(2)
	if c(0, 10) != 0.5 || c(1, 10) != 1 || c(2, 10) != 1 || c(10, 10) > 1e-12 {
		t.Fatalf("cosine: %v %v %v %v", c(0, 10), c(1, 10), c(2, 10), c(10, 10))
	}
	s := Step(3, 0.1)
	if s(2, 0) != 1 || s(3, 0) != 0.1 || s(6, 0) < 0.0099 || s(6, 0) > 0.0101 {
		t.Fatal("step schedule")
	}
	if _, err := ParseSchedule("linear", 0, 0, 0); err == nil {
		t.Fatal("unknown schedule must be an error")
	}
}
