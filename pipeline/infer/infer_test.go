package infer_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/transform"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/pipeline/infer"
	"github.com/pgaug/pgaug/trainer/metrics"
)

// images reads rows of a dataset as the loader would give them (scaled to
// [0,1], the dataset's normalisation applied), as one N×C×H×W batch.
func images(t *testing.T, data string, rows []int) (x []float32, c, h, w int) {
	t.Helper()
	ds, err := arrowds.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	tf, err := transform.ForDataset("", ds.Meta())
	if err != nil {
		t.Fatal(err)
	}
	var src arrowds.Image
	var im transform.Image
	for _, r := range rows {
		if err := ds.ReadImage(r, &src); err != nil {
			t.Fatal(err)
		}
		transform.FromPixels(&src, ds.Meta().PixelType.Max(), &im)
		if err := tf.Apply(&im, nil); err != nil {
			t.Fatal(err)
		}
		c, h, w = im.C, im.H, im.W
		x = append(x, im.Pix...)
	}
	return x, c, h, w
}

// runDirect runs a model on x with ONNX Runtime and returns its first output.
func runDirect(t *testing.T, model string, x []float32, n, c, h, w int) []float32 {
	t.Helper()
	s, err := ort.NewSession(model, ort.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(map[string]ort.Tensor{s.Inputs()[0].Name: ort.Float32Tensor([]int64{int64(n), int64(c), int64(h), int64(w)}, x)})
	if err != nil {
		t.Fatal(err)
	}
	return out[s.Outputs()[0].Name].Float32
}

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > tol {
			t.Fatalf("%s: value %d is %v, want %v (tolerance %g)", what, i, got[i], want[i], tol)
		}
	}
}

func TestRunWritesPredictionsMatchingORT(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	data := syntheticData(t, dir, 50, 16, 3)
	model := zooModel(t, dir, "smallcnn", 3, 1, 16)
	out := filepath.Join(dir, "pred.arrow")
	var bar bytes.Buffer
	res, err := infer.Run(context.Background(), infer.Config{Model: model, Data: data, Output: out, Batch: 8, Threads: 1, Workers: 2, Progress: &bar, Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 50 || res.Output != out || res.ImagesPerSec <= 0 || res.ModelGivesProbabilities {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(bar.String(), "50/50 img") || !strings.Contains(bar.String(), "img/s") {
		t.Errorf("progress output %q lacks the count and the rate", bar.String())
	}
	p, err := infer.ReadPredictions(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Model != model || p.Data != data || p.Split != "" || p.Version != "1.2.3" || p.Policy != "" ||
		!slices.Equal(p.Classes, []string{"normal", "ring", "streak"}) || p.Len() != 50 {
		t.Fatalf("header %q %q %q %q %q %v, %d rows", p.Model, p.Data, p.Split, p.Version, p.Policy, p.Classes, p.Len())
	}
	ds, err := arrowds.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	rows := make([]int, 50)
	var labels []int
	for i := range rows {
		rows[i] = i
		r := ds.Row(i)
		if p.Rows[i] != int64(i) || p.IDs[i] != r.ID || p.Labels[i] != int64(r.Label) {
			t.Fatalf("prediction %d: row %d id %q label %d, want %d %q %d", i, p.Rows[i], p.IDs[i], p.Labels[i], i, r.ID, r.Label)
		}
		labels = append(labels, int(r.Label))
	}
	// The same images in one batch, straight through ONNX Runtime.
	x, c, h, w := images(t, data, rows)
	want := metrics.Softmax(runDirect(t, model, x, 50, c, h, w), 3)
	closeTo(t, "probabilities", p.Probs, want, 1e-5)
	for i := 0; i < p.Len(); i++ {
		pr := p.Prob(i)
		best := 0
		for k := range pr {
			if pr[k] > pr[best] {
				best = k
			}
		}
		if int(p.Preds[i]) != best {
			t.Fatalf("prediction %d: pred %d, argmax of %v is %d", i, p.Preds[i], pr, best)
		}
	}
	if res.Metrics == nil {
		t.Fatal("a labelled dataset gives metrics")
	}
	wantReport, err := metrics.Compute(p.Probs, labels, 3)
	if err != nil {
		t.Fatal(err)
	}
	if res.Metrics.N != 50 || res.Metrics.Accuracy != wantReport.Accuracy || !slices.EqualFunc(res.Metrics.ConfusionMatrix, wantReport.ConfusionMatrix, slices.Equal) {
		t.Errorf("metrics %+v, want %+v", *res.Metrics, wantReport)
	}
	if names := dirEntries(t, dir); len(names) != 3 {
		t.Errorf("directory holds %v; want the dataset, the model and the predictions only", names)
	}
}

func TestRunSplitKeepsDatasetOrder(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	data := syntheticData(t, dir, 60, 16, 2)
	model := zooModel(t, dir, "smallcnn", 2, 1, 16)
	out := filepath.Join(dir, "pred.arrow")
	if err := os.WriteFile(out, []byte("an older file"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := infer.Run(context.Background(), infer.Config{Model: model, Data: data, Output: out, Split: "test", Batch: 4, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := arrowds.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	want := ds.Indices("test")
	ds.Close()
	p, err := infer.ReadPredictions(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != len(want) || p.Len() != len(want) || p.Split != "test" {
		t.Fatalf("%d rows (result %d, split %q), want %d", p.Len(), res.Rows, p.Split, len(want))
	}
	for i, r := range want {
		if p.Rows[i] != int64(r) {
			t.Fatalf("rows %v, want %v", p.Rows, want)
		}
	}
	x, c, h, w := images(t, data, want)
	closeTo(t, "probabilities", p.Probs, metrics.Softmax(runDirect(t, model, x, len(want), c, h, w), 2), 1e-5)
}

func TestRunKeepsProbabilitiesAndPadsFixedBatches(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	data := syntheticData(t, dir, 10, 16, 3)
	rows := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	x, c, h, w := images(t, data, rows)
	for _, batch := range []int{0, 4} { // dynamic, and fixed at 4 (10 rows: the last batch is padded)
		model := tinyClassifier(t, dir, 3, 16, batch, true)
		out := filepath.Join(dir, "pred.arrow")
		res, err := infer.Run(context.Background(), infer.Config{Model: model, Data: data, Output: out, Threads: 1})
		if err != nil {
			t.Fatalf("fixed batch %d: %v", batch, err)
		}
		if !res.ModelGivesProbabilities {
			t.Errorf("fixed batch %d: a model ending in Softmax gives probabilities", batch)
		}
		p, err := infer.ReadPredictions(out)
		if err != nil {
			t.Fatal(err)
		}
		var want []float32
		if batch == 0 {
			want = runDirect(t, model, x, 10, c, h, w)
		} else {
			padded := make([]float32, 12*c*h*w)
			copy(padded, x)
			for i := 0; i < 12; i += 4 {
				want = append(want, runDirect(t, model, padded[i*c*h*w:(i+4)*c*h*w], 4, c, h, w)...)
			}
			want = want[:30]
		}
		closeTo(t, "probabilities", p.Probs, want, 1e-6)
		if batch > 0 {
			_, err := infer.Run(context.Background(), infer.Config{Model: model, Data: data, Output: out, Batch: 8})
			if err == nil || !strings.Contains(err.Error(), "at most 4") {
				t.Errorf("batch 8 on a model taking 4: %v", err)
			}
		}
	}
}

func TestRunWithoutLabelsHasNoMetrics(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	data := multilabelData(t, dir, 7, 8)
	model := tinyClassifier(t, dir, 3, 8, 0, false)
	out := filepath.Join(dir, "pred.arrow")
	res, err := infer.Run(context.Background(), infer.Config{Model: model, Data: data, Output: out, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Metrics != nil || res.Rows != 7 {
		t.Errorf("a dataset without single labels gives no metrics: %+v", res)
	}
	p, err := infer.ReadPredictions(out)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range p.Labels {
		if l != -1 || p.IDs[i] != "ml-00"+string(rune('0'+i)) {
			t.Fatalf("prediction %d: label %d id %q; want a null label and id ml-00%d", i, l, p.IDs[i], i)
		}
	}
}

func TestTTAIsTheMeanOfTwoSoftmaxes(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	data := syntheticData(t, dir, 20, 16, 2)
	model := tinyClassifier(t, dir, 2, 16, 0, false)
	policy := tinyPolicy(t, dir, 1, false)
	out := filepath.Join(dir, "pred.arrow")
	res, err := infer.Run(context.Background(), infer.Config{Model: model, Data: data, Output: out, Batch: 6, TTA: true, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	p, err := infer.ReadPredictions(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Policy != policy || res.Rows != 20 || res.Metrics == nil {
		t.Fatalf("policy %q, result %+v", p.Policy, res)
	}
	rows := make([]int, 20)
	for i := range rows {
		rows[i] = i
	}
	x, c, h, w := images(t, data, rows)
	masked := make([]float32, len(x))
	kept := 0
	for i, v := range x {
		if 1/(1+math.Exp(-(policyW*float64(v)+policyB))) > 0.5 {
			masked[i] = v
			kept++
		}
	}
	if kept == 0 || kept == len(x) {
		t.Fatalf("the policy keeps %d of %d pixels; the test needs a mask that changes the image", kept, len(x))
	}
	plain := metrics.Softmax(runDirect(t, model, x, 20, c, h, w), 2)
	onMasked := metrics.Softmax(runDirect(t, model, masked, 20, c, h, w), 2)
	want := make([]float32, len(plain))
	differ := false
	for i := range want {
		want[i] = (plain[i] + onMasked[i]) / 2
		differ = differ || math.Abs(float64(plain[i]-onMasked[i])) > 1e-3
	}
	if !differ {
		t.Fatal("masking does not change the predictions; the test proves nothing")
	}
	closeTo(t, "TTA probabilities", p.Probs, want, 1e-6)
}

func TestErrorsAreClearAndLeaveNoFile(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	data := syntheticData(t, dir, 12, 16, 2)
	model := tinyClassifier(t, dir, 2, 16, 0, false)
	out := filepath.Join(dir, "pred.arrow")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		cfg  infer.Config
		want []string
	}{
		{"channels", nil, infer.Config{Model: zooModel(t, dir, "smallcnn", 2, 3, 16)}, []string{"takes images of C×H×W = 3×16×16", "1×16×16", "channels=3", data}},
		{"size", nil, infer.Config{Model: zooModel(t, dir, "smallcnn", 2, 1, 32)}, []string{"1×32×32", "gives 1×16×16", "resize=32x32"}},
		{"classes", nil, infer.Config{Model: zooModel(t, dir, "smallcnn", 5, 1, 16)}, []string{"gives 5 values per image", "has 2 classes (normal, ring)"}},
		{"classes (dynamic output)", nil, infer.Config{Model: flattenModel(t, dir)}, []string{"shape [12 256] for 12 images; want 12×2"}},
		{"tta without policy", nil, infer.Config{Model: model, TTA: true}, []string{"--policy"}},
		{"policy without tta", nil, infer.Config{Model: model, Policy: tinyPolicy(t, dir, 1, false)}, []string{"--tta"}},
		{"policy channels", nil, infer.Config{Model: model, TTA: true, Policy: tinyPolicy(t, dir, 2, false)}, []string{"want 12×1×16×16", "one sigmoid channel"}},
		{"policy resolution", nil, infer.Config{Model: model, TTA: true, Policy: tinyPolicy(t, dir, 1, true)}, []string{"shape [12 1 8 8]", "want 12×1×16×16"}},
		{"missing model", nil, infer.Config{Model: filepath.Join(dir, "nope.onnx")}, []string{"nope.onnx"}},
		{"missing data", nil, infer.Config{Model: model, Data: filepath.Join(dir, "nope.arrow")}, []string{"nope.arrow"}},
		{"bad split", nil, infer.Config{Model: model, Split: "holdout"}, []string{`split "holdout"`}},
		{"bad transform", nil, infer.Config{Model: model, Transform: "wobble=3"}, []string{"wobble"}},
		{"output is the data", nil, infer.Config{Model: model, Output: data}, []string{"would replace an input"}},
		{"cancelled", cancelled, infer.Config{Model: model}, []string{"context canceled"}},
	}
	before := dirEntries(t, dir)
	for _, tc := range cases {
		cfg := tc.cfg
		if cfg.Data == "" {
			cfg.Data = data
		}
		if cfg.Output == "" {
			cfg.Output = out
		}
		cfg.Batch = 12
		ctx := tc.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		_, err := infer.Run(ctx, cfg)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
		if _, statErr := os.Stat(out); statErr == nil {
			t.Fatalf("%s: an output file was left behind", tc.name)
		}
		if got := dirEntries(t, dir); !slices.Equal(got, before) {
			t.Fatalf("%s: directory holds %v, want %v", tc.name, got, before)
		}
	}
}

// flattenModel flattens its N×1×H×W input into N×(H·W) "logits": an output
// whose width ONNX Runtime only knows once it runs.
func flattenModel(t *testing.T, dir string) string {
	t.Helper()
	b := onnxio.NewGraphBuilder("flatten")
	b.AddInput("image", onnxio.DTypeFloat32, "N", 1, "H", "W")
	b.AddNode("Flatten", []string{"image"}, []string{"logits"})
	b.AddOutput("logits", onnxio.DTypeFloat32, "N", -1)
	m, err := b.Model(13, "pgaug-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return saveModel(t, dir, "flatten.onnx", m)
}

func TestCUDAWithoutProviderIsClear(t *testing.T) {
	initORT(t)
	if _, err := os.Stat(filepath.Join(filepath.Dir(ort.LoadedLibrary()), ort.CUDAProviderLib)); err == nil {
		t.Skip("the loaded ONNX Runtime has a CUDA provider")
	}
	dir := t.TempDir()
	data := syntheticData(t, dir, 8, 16, 2)
	out := filepath.Join(dir, "pred.arrow")
	_, err := infer.Run(context.Background(), infer.Config{Model: tinyClassifier(t, dir, 2, 16, 0, false), Data: data, Output: out, Device: "cuda"})
	if err == nil || !strings.Contains(err.Error(), ort.CUDAProviderLib) || !strings.Contains(err.Error(), "--device cpu") {
		t.Fatalf("--device cuda with a CPU-only ONNX Runtime: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("an output file was left behind")
	}
}

func TestReadPredictionsRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	data := syntheticData(t, dir, 4, 16, 2)
	if _, err := infer.ReadPredictions(data); err == nil || !strings.Contains(err.Error(), "not a pgaug predictions file") {
		t.Errorf("reading a dataset as predictions: %v", err)
	}
	junk := filepath.Join(dir, "junk.arrow")
	os.WriteFile(junk, []byte("not arrow"), 0o644)
	if _, err := infer.ReadPredictions(junk); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("reading junk: %v", err)
	}
}

// Rows with study ids get study-level metrics: the mean probability of each
// study's images against the study's label, checked by hand-aggregating the
// written predictions.
func TestStudyMetrics(t *testing.T) {
	initORT(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "studies.arrow")
	w, err := arrowds.Create(data, arrowds.WriterOptions{Columns: arrowds.Columns{Group: true}, Meta: arrowds.Metadata{
		Name: "studies", Task: arrowds.Binary, Classes: []string{"negative", "positive"}, Channels: 1, PixelType: arrowds.Uint8,
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 24; i++ {
		pix := make([]uint8, 8*8)
		for j := range pix {
			pix[j] = uint8((i*37 + j*11) % 256)
		}
		study := i / 3 // three images per study, one label per study
		s := &arrowds.Sample{ID: fmt.Sprintf("img-%02d", i), Split: "test", Label: int32(study % 2), Group: fmt.Sprintf("study-%d", study),
			Image: arrowds.Image{Height: 8, Width: 8, Channels: 1, Pix: pix}}
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	model := tinyClassifier(t, dir, 2, 8, 0, false)
	out := filepath.Join(dir, "pred.arrow")
	res, err := infer.Run(context.Background(), infer.Config{Model: model, Data: data, Output: out, Batch: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.StudyMetrics == nil || res.StudyMetrics.N != 8 {
		t.Fatalf("study metrics: %+v", res.StudyMetrics)
	}
	p, err := infer.ReadPredictions(out)
	if err != nil {
		t.Fatal(err)
	}
	var probs []float32
	var labels []int
	for s := 0; s < 8; s++ {
		var a, b float32
		for i := 3 * s; i < 3*s+3; i++ {
			a += p.Prob(i)[0] / 3
			b += p.Prob(i)[1] / 3
		}
		probs = append(probs, a, b)
		labels = append(labels, s%2)
	}
	want, err := metrics.Compute(probs, labels, 2)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(want.AUROC-res.StudyMetrics.AUROC) > 1e-9 || want.Accuracy != res.StudyMetrics.Accuracy {
		t.Fatalf("study metrics %+v, by hand %+v", res.StudyMetrics, want)
	}
	// Without group ids there are none.
	res, err = infer.Run(context.Background(), infer.Config{Model: tinyClassifier(t, dir, 2, 16, 0, false), Data: syntheticData(t, dir, 20, 16, 2), Output: filepath.Join(dir, "p2.arrow")})
	if err != nil || res.StudyMetrics != nil {
		t.Fatalf("no groups: %v, %+v", err, res.StudyMetrics)
	}
}
