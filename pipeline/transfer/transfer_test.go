package transfer_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/pipeline/transfer"
)

// Two 2×2 images: the first all ones, the second [−1, 2, 3, −4].
var tinyX = []float32{1, 1, 1, 1, -1, 2, 3, -4}

// tinyConv is the hand computation of the tiny model's conv and relu
// values for tinyX, channel c = w[c]·x + b[c].
func tinyConv(relu bool) [][]float64 {
	w, b := []float64{1, -2}, []float64{0, 0.5}
	var out [][]float64
	for n := 0; n < 2; n++ {
		var row []float64
		for c := 0; c < 2; c++ {
			var s float64
			for _, x := range tinyX[n*4 : n*4+4] {
				v := w[c]*float64(x) + b[c]
				if relu {
					v = math.Max(v, 0)
				}
				s += v
			}
			row = append(row, s/4)
		}
		out = append(out, row)
	}
	return out
}

func TestFeaturesMatchHandComputation(t *testing.T) {
	initORT(t)
	path := saveModel(t, tinyModel(t))
	for _, c := range []struct {
		layer string
		want  [][]float64
		shape []int64
	}{
		{"", tinyConv(true), []int64{-1, 2}}, // default: the input of the Gemm, "flat"
		{"flat", tinyConv(true), []int64{-1, 2}},
		{"relu", tinyConv(true), []int64{-1, 2, 2, 2}}, // pooled by hand = by the model's GAP
		{"conv", tinyConv(false), []int64{-1, 2, 2, 2}},
		{"logits", tinyConv(true), []int64{-1, 2}}, // W = I, b = 0
	} {
		e, err := transfer.NewExtractor(path, c.layer, ort.SessionOptions{Threads: 1})
		if err != nil {
			t.Fatalf("layer %q: %v", c.layer, err)
		}
		if c.layer == "" && e.Layer() != "flat" {
			t.Errorf("default layer %q, want the Gemm's input \"flat\"", e.Layer())
		}
		if !reflect.DeepEqual(e.Shape(), c.shape) {
			t.Errorf("layer %q: shape %v, want %v", e.Layer(), e.Shape(), c.shape)
		}
		got, d, err := e.Features(tinyX, 2, 1, 2, 2)
		e.Close()
		if err != nil {
			t.Fatalf("layer %q: %v", c.layer, err)
		}
		if d != 2 || len(got) != 4 {
			t.Fatalf("layer %q: %d features, %d values", c.layer, d, len(got))
		}
		for n := 0; n < 2; n++ {
			for k := 0; k < 2; k++ {
				if math.Abs(float64(got[n*2+k])-c.want[n][k]) > 1e-6 {
					t.Errorf("layer %q image %d feature %d: %v, by hand %v", c.layer, n, k, got[n*2+k], c.want[n][k])
				}
			}
		}
	}
}

func TestDefaultLayerMatMul(t *testing.T) {
	b := onnxio.NewGraphBuilder("mm")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 3)
	b.AddInitializer(onnxio.Float32Tensor("a", []int64{3, 3}, make([]float32, 9)))
	b.AddInitializer(onnxio.Float32Tensor("b", []int64{3, 2}, make([]float32, 6)))
	b.AddNode("MatMul", []string{"x", "a"}, []string{"h"})
	b.AddNode("Relu", []string{"h"}, []string{"r"})
	b.AddNode("MatMul", []string{"r", "b"}, []string{"y"})
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 2)
	m, err := b.Model(13, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := transfer.DefaultLayer(m); err != nil || l != "r" {
		t.Errorf("default layer %q, %v; want \"r\"", l, err)
	}
	if got := transfer.Layers(m); !reflect.DeepEqual(got, []string{"h", "r", "y"}) {
		t.Errorf("layers %v", got)
	}
}

func TestUnknownLayerListsCandidates(t *testing.T) {
	initORT(t)
	path := saveModel(t, tinyModel(t))
	_, err := transfer.NewExtractor(path, "fc7", ort.SessionOptions{})
	if err == nil {
		t.Fatal("an unknown layer was accepted")
	}
	for _, want := range []string{path, `no layer "fc7"`, `candidate layers: "conv", "relu", "gap", "flat", "logits"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := transfer.NewExtractor(path, "x", ort.SessionOptions{}); err == nil || !strings.Contains(err.Error(), "graph input") {
		t.Errorf("the input as a layer: %v", err)
	}
	if _, err := transfer.NewExtractor(filepath.Join(t.TempDir(), "missing.onnx"), "", ort.SessionOptions{}); err == nil {
		t.Error("a missing model was accepted")
	}
	e, err := transfer.NewExtractor(path, "", ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, _, err := e.Features(tinyX[:5], 2, 1, 2, 2); err == nil {
		t.Error("a short batch was accepted")
	}
}

func TestPool(t *testing.T) {
	got, d, err := transfer.Pool([]int64{1, 2, 3}, []float32{1, 2, 3, 4, 5, 9})
	if err != nil || d != 2 || !reflect.DeepEqual(got, []float32{2, 6}) {
		t.Errorf("Pool: %v %d %v", got, d, err)
	}
	if _, _, err := transfer.Pool([]int64{4}, make([]float32, 4)); err == nil {
		t.Error("a rank-1 tensor was pooled")
	}
	if _, _, err := transfer.Pool([]int64{2, 2, 2}, make([]float32, 7)); err == nil {
		t.Error("a short tensor was pooled")
	}
}

// End to end on a synthetic dataset with an untrained smallcnn: its
// penultimate features already separate the two classes well above chance.
func TestRunEndToEnd(t *testing.T) {
	initORT(t)
	data, model := fixture(t, 600)
	out := filepath.Join(t.TempDir(), "report.json")
	cfg := transfer.Config{
		Model: model, Data: data, Shots: []int{4, 16, 1000}, Trials: 4, Seed: 7, Probe: transfer.ProbeBoth,
		Batch: 32, Threads: 1, Output: out,
	}
	cfg.MLP.Epochs = 30
	res, err := transfer.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Layer != "/Flatten_output_0" || res.Features != 64 || res.TrainN+res.TestN < 500 {
		t.Errorf("layer %q, %d features, %d+%d images", res.Layer, res.Features, res.TrainN, res.TestN)
	}
	if res.LogReg == nil || res.MLP == nil {
		t.Fatal("a probe is missing")
	}
	if res.LogReg.Accuracy < 0.7 || res.MLP.Accuracy < 0.7 {
		t.Errorf("probe accuracy: logistic regression %.3f, MLP %.3f; want well above chance (0.5)", res.LogReg.Accuracy, res.MLP.Accuracy)
	}
	if len(res.FewShot) != 3 || res.FewShot[2].Skipped == "" || res.FewShot[1].Accuracy == nil || res.FewShot[1].Accuracy.Mean < 0.62 {
		t.Errorf("few-shot: %+v", res.FewShot)
	}
	found := false
	for _, n := range res.Notes {
		found = found || strings.Contains(n, "k = 1000 skipped")
	}
	if !found {
		t.Errorf("no note on the skipped k: %v", res.Notes)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var back transfer.Result
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.FewShot[1].Accuracy.Mean != res.FewShot[1].Accuracy.Mean || back.MLP.Accuracy != res.MLP.Accuracy {
		t.Error("the JSON report differs from the result")
	}
	// The same seed gives the same numbers.
	cfg.Output = ""
	again, err := transfer.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.FewShot, res.FewShot) || again.MLP.Accuracy != res.MLP.Accuracy || again.LogReg.Accuracy != res.LogReg.Accuracy {
		t.Error("two runs with the same seed differ")
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  transfer.Config
		want string
	}{
		{transfer.Config{Model: "m", Data: "d", Probe: "svm"}, `probe "svm"`},
		{transfer.Config{Model: "m", Data: "d", Trials: 1}, "at least 2"},
		{transfer.Config{Model: "m", Data: "d", Shots: []int{8, 0}}, "k = 0"},
		{transfer.Config{Model: "m"}, "required"},
	} {
		if _, err := transfer.Run(context.Background(), c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error with %q", c.cfg, err, c.want)
		}
	}
}
