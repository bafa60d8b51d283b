package cli

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/onnx/onnxio"
)

// data import synthetic → model zoo → train baseline → eval metrics, through the CLI.
func TestTrainBaselineAndEvalCommands(t *testing.T) {
	dir := t.TempDir()
	ds, model, run := filepath.Join(dir, "d.arrow"), filepath.Join(dir, "m.onnx"), filepath.Join(dir, "run")
	out := filepath.Join(run, "classifier.onnx")
	if _, errOut, err := runApp("data", "import", "synthetic", "-o", ds, "--count", "300", "--size", "32", "--classes", "2", "--seed", "4"); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	if _, errOut, err := runApp("model", "zoo", "smallcnn", "--classes", "2", "--in-channels", "1", "--size", "32", "-o", model); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	stdout, errOut, err := runApp("train", "baseline", "--model", model, "--data", ds, "-o", run, "--epochs", "2", "--batch", "16", "--lr", "0.05")
	if err != nil || !strings.Contains(stdout, "epoch 2/2") || !strings.Contains(stdout, "wrote "+out) {
		t.Fatalf("train baseline: %v\n%s%s", err, stdout, errOut)
	}
	stdout, errOut, err = runApp("eval", "metrics", "--model", out, "--data", ds, "--split", "test")
	if err != nil || !strings.Contains(stdout, "balanced accuracy") || !strings.Contains(stdout, "AUROC") {
		t.Fatalf("eval metrics: %v\n%s%s", err, stdout, errOut)
	}
	if _, _, err := runApp("train", "baseline", "--model", model, "--data", ds, "-o", run, "--optimizer", "rmsprop"); err == nil || !strings.Contains(err.Error(), "rmsprop") {
		t.Fatalf("an unknown optimizer must be refused clearly: %v", err)
	}
}

// tinyDataAndModel makes, through the CLI, 120 synthetic 16×16 images
// (2 classes) and the zoo's small CNN for them, in dir.
func tinyDataAndModel(t *testing.T, dir string) (data, model string) {
	t.Helper()
	data, model = filepath.Join(dir, "d.arrow"), filepath.Join(dir, "m.onnx")
	if _, errOut, err := runApp("data", "import", "synthetic", "-o", data, "--count", "120", "--size", "16", "--classes", "2", "--seed", "5"); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	if _, errOut, err := runApp("model", "zoo", "smallcnn", "--classes", "2", "--in-channels", "1", "--size", "16", "-o", model); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	return data, model
}

// The three policy-gradient trainers through the CLI on a tiny synthetic
// dataset: APGA (unet-small policy), noise-mask heating, then fine-tuning of
// the heated model; each writes its run directory and records its method.
func TestTrainAPGANoiseMaskFinetuneCommands(t *testing.T) {
	dir := t.TempDir()
	ds, model := tinyDataAndModel(t, dir)
	apgaDir := filepath.Join(dir, "apga")
	stdout, errOut, err := runApp("train", "apga", "--classifier", model, "--policy", "zoo:unet-small", "--data", ds, "-o", apgaDir,
		"--epochs", "1", "--batch", "8", "--eval-every", "4", "--grid-images", "3", "--lambda-zeros", "0.05", "--preset", "paper")
	if err != nil {
		t.Fatalf("train apga: %v\n%s%s", err, stdout, errOut)
	}
	for _, f := range []string{"classifier.onnx", "policy.onnx", "metrics.jsonl", "summary.json", "grids/step-0000004.png", "checkpoints/best.pgck"} {
		if _, err := os.Stat(filepath.Join(apgaDir, f)); err != nil {
			t.Errorf("train apga did not write %s: %v", f, err)
		}
	}
	if !strings.Contains(stdout, "test_tta") || !strings.Contains(stdout, "wrote "+filepath.Join(apgaDir, "policy.onnx")) {
		t.Errorf("train apga output:\n%s", stdout)
	}
	mp, err := onnxio.Load(filepath.Join(apgaDir, "classifier.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if got := onnxio.MetadataValue(mp, "pgaug.apga"); !strings.Contains(got, "preset=paper") || !strings.Contains(got, "lambda_zeros=0.05") {
		t.Errorf("pgaug.apga metadata %q", got)
	}

	nmDir := filepath.Join(dir, "nm")
	stdout, errOut, err = runApp("train", "noisemask", "--classifier", model, "--data", ds, "-o", nmDir, "--epochs", "1", "--batch", "8",
		"--policy", "zoo:smallcnn", "--grid", "4", "--blur-kernel", "5", "--blur-sigma", "2", "--lr", "0.01", "--grid-images", "2", "--loss", "paper")
	if err != nil {
		t.Fatalf("train noisemask: %v\n%s%s", err, stdout, errOut)
	}
	for _, f := range []string{"classifier.onnx", "policy.onnx", "dataset_params.json", "histogram.png", "grids", "noise-params.png"} {
		if _, err := os.Stat(filepath.Join(nmDir, f)); err != nil {
			t.Errorf("train noisemask did not write %s: %v", f, err)
		}
	}
	heated := filepath.Join(nmDir, "classifier.onnx")
	if mp, err = onnxio.Load(heated); err != nil {
		t.Fatal(err)
	}
	if onnxio.MetadataValue(mp, "pgaug.heated") != "true" || !strings.Contains(onnxio.MetadataValue(mp, "pgaug.heating"), "noise=beta grid=4") {
		t.Errorf("heated model metadata: %q", onnxio.MetadataValue(mp, "pgaug.heating"))
	}

	if h := onnxio.MetadataValue(mp, "pgaug.heating"); !strings.HasPrefix(h, "loss=paper ") || strings.Contains(h, "param_bound") {
		t.Errorf("paper heating metadata %q: want loss=paper and no bound", h)
	}

	// The scaled loss with its default bound: a short run stays finite and
	// logs S̄, the multiplier and the noise parameters' means.
	scDir := filepath.Join(dir, "scaled")
	stdout, errOut, err = runApp("train", "noisemask", "--classifier", model, "--data", ds, "-o", scDir, "--epochs", "2", "--batch", "8",
		"--policy", "zoo:smallcnn", "--grid", "4", "--blur-kernel", "5", "--blur-sigma", "2", "--lr", "0.05", "--policy-lr", "0.05", "--grid-images", "2", "--loss", "scaled")
	if err != nil {
		t.Fatalf("train noisemask --loss scaled: %v\n%s%s", err, stdout, errOut)
	}
	if mp, err = onnxio.Load(filepath.Join(scDir, "classifier.onnx")); err != nil {
		t.Fatal(err)
	}
	if h := onnxio.MetadataValue(mp, "pgaug.heating"); !strings.HasPrefix(h, "loss=scaled ") || !strings.Contains(h, "param_bound=3") || !strings.Contains(h, "s_bar_decay=0.9") {
		t.Errorf("scaled heating metadata %q: want loss=scaled, param_bound=3 (the default) and s_bar_decay=0.9", h)
	}
	steps := 0
	for _, rec := range readJSONL(t, filepath.Join(scDir, "metrics.jsonl")) {
		if rec["kind"] != "step" {
			continue
		}
		steps++
		vals, _ := rec["values"].(map[string]any)
		for _, k := range []string{"s_bar", "classifier_grad_scale", "objective", "a_img_mean", "b_img_mean", "a_dataset_mean", "b_dataset_mean", "a_img_raw_mean"} {
			v, ok := vals[k].(float64)
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("step record %v: %s = %v", rec["step"], k, vals[k])
			}
		}
		for _, k := range []string{"a_img_mean", "b_img_mean", "a_dataset_mean", "b_dataset_mean"} {
			if v := vals[k].(float64); math.Abs(v) > 3 {
				t.Fatalf("step record %v: %s = %v beyond the bound 3", rec["step"], k, v)
			}
		}
	}
	if steps == 0 {
		t.Fatal("the scaled run logged no steps")
	}
	if _, err := os.Stat(filepath.Join(scDir, "noise-params.png")); err != nil {
		t.Errorf("train noisemask --loss scaled did not write noise-params.png: %v", err)
	}
	if _, _, err := runApp("train", "noisemask", "--classifier", model, "--data", ds, "-o", filepath.Join(dir, "bad"), "--param-bound", "-1"); err == nil || !strings.Contains(err.Error(), "param-bound") {
		t.Errorf("--param-bound -1: error %v, want one naming the flag", err)
	}

	ftDir := filepath.Join(dir, "ft")
	stdout, errOut, err = runApp("train", "finetune", "--model", heated, "--data", ds, "-o", ftDir, "--epochs", "3", "--warmup", "1", "--average-last", "2", "--batch", "8")
	if err != nil || !strings.Contains(stdout, "averaged the weights of the last 2 epochs") {
		t.Fatalf("train finetune: %v\n%s%s", err, stdout, errOut)
	}
	if mp, err = onnxio.Load(filepath.Join(ftDir, "classifier.onnx")); err != nil {
		t.Fatal(err)
	}
	if onnxio.MetadataValue(mp, "pgaug.method") != "finetune" || onnxio.MetadataValue(mp, "pgaug.heating") == "" {
		t.Errorf("fine-tuned model metadata: method %q, heating %q", onnxio.MetadataValue(mp, "pgaug.method"), onnxio.MetadataValue(mp, "pgaug.heating"))
	}
	if _, _, err := runApp("train", "apga", "--classifier", model, "--data", ds, "-o", apgaDir, "--preset", "textbook"); err == nil || !strings.Contains(err.Error(), "textbook") {
		t.Errorf("an unknown preset must be refused clearly: %v", err)
	}
}

// --noise-start-mean/--noise-start-std start every cell's noise at that
// mean and spread: the first step samples noise of that mean, the
// dataset-level parameters start at the Beta's (log α, log β), and starts
// the bound cannot hold, or that no Beta has, are refused naming the flag's
// values.
func TestTrainNoiseMaskNoiseStart(t *testing.T) {
	dir := t.TempDir()
	ds, model := tinyDataAndModel(t, dir)
	args := func(out string, extra ...string) []string {
		return append([]string{"train", "noisemask", "--classifier", model, "--data", ds, "-o", out, "--epochs", "1", "--batch", "8",
			"--policy", "zoo:smallcnn", "--grid", "4", "--blur-kernel", "0", "--grid-images", "-1"}, extra...)
	}
	run := filepath.Join(dir, "start")
	if stdout, errOut, err := runApp(args(run, "--noise-start-mean", "0.8", "--noise-start-std", "0.1")...); err != nil {
		t.Fatalf("train noisemask --noise-start-mean 0.8: %v\n%s%s", err, stdout, errOut)
	}
	// Beta with mean 0.8, std 0.1: α+β = 0.16/0.01 − 1 = 15, α = 12, β = 3.
	wantA, wantB := math.Log(12), math.Log(3)
	var first map[string]any
	for _, rec := range readJSONL(t, filepath.Join(run, "metrics.jsonl")) {
		if rec["kind"] == "step" {
			first, _ = rec["values"].(map[string]any)
			break
		}
	}
	if first == nil {
		t.Fatal("no step record")
	}
	for k, want := range map[string]float64{"a_dataset_mean": wantA, "b_dataset_mean": wantB, "mask_mean": 0.8} {
		if v, ok := first[k].(float64); !ok || math.Abs(v-want) > 0.05 {
			t.Errorf("first step: %s = %v, want %.3f ± 0.05", k, first[k], want)
		}
	}
	mp, err := onnxio.Load(filepath.Join(run, "classifier.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if h := onnxio.MetadataValue(mp, "pgaug.heating"); !strings.Contains(h, "noise_start=0.8/0.1") {
		t.Errorf("heating metadata %q: want noise_start=0.8/0.1", h)
	}
	// Without the flags: the paper's random start, mask mean near 0.5.
	plain := filepath.Join(dir, "plain")
	if stdout, errOut, err := runApp(args(plain)...); err != nil {
		t.Fatalf("train noisemask: %v\n%s%s", err, stdout, errOut)
	}
	for _, rec := range readJSONL(t, filepath.Join(plain, "metrics.jsonl")) {
		if rec["kind"] == "step" {
			if v, _ := rec["values"].(map[string]any)["mask_mean"].(float64); math.Abs(v-0.5) > 0.15 {
				t.Errorf("the random start's first mask mean is %v, want about 0.5", v)
			}
			break
		}
	}
	for _, c := range []struct{ mean, std, want string }{
		{"0.95", "0.02", "outside the bound ±3"},
		{"0.8", "0.5", "std < √(mean·(1−mean))"},
		{"1.5", "0.1", "mean in (0, 1)"},
	} {
		_, _, err := runApp(args(filepath.Join(dir, "bad"), "--noise-start-mean", c.mean, "--noise-start-std", c.std)...)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "noise start (mean "+c.mean) {
			t.Errorf("--noise-start-mean %s --noise-start-std %s: err = %v, want one naming the start and saying %q", c.mean, c.std, err, c.want)
		}
	}
}

// The reference preset feeds a classifier what it takes: the transform a
// pgaug-trained classifier records, the published code's 3-channel input
// only to a 3-channel classifier, the dataset's input otherwise.
func TestReferencePresetFitsTheClassifier(t *testing.T) {
	dir := t.TempDir()
	one, three := filepath.Join(dir, "one.onnx"), filepath.Join(dir, "three.onnx")
	for _, m := range []struct{ path, ch string }{{one, "1"}, {three, "3"}} {
		if _, errOut, err := runApp("model", "zoo", "smallcnn", "--classes", "2", "--in-channels", m.ch, "--size", "16", "-o", m.path); err != nil {
			t.Fatalf("%v %s", err, errOut)
		}
	}
	if spec, _, err := referenceTransform(three); err != nil || spec != "channels=3" {
		t.Errorf("a 3-channel classifier: %q, %v", spec, err)
	}
	if spec, why, err := referenceTransform(one); err != nil || spec != "" || !strings.Contains(why, "does not take 3 channels") {
		t.Errorf("a 1-channel classifier: %q (%s), %v", spec, why, err)
	}
	ds, run := filepath.Join(dir, "d.arrow"), filepath.Join(dir, "run")
	if _, errOut, err := runApp("data", "import", "synthetic", "-o", ds, "--count", "60", "--size", "16", "--classes", "2", "--seed", "4"); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	if _, errOut, err := runApp("train", "baseline", "--model", one, "--data", ds, "-o", run, "--epochs", "1", "--batch", "8", "--train-transform", "normalize=0.4:0.2", "--eval-transform", "normalize=0.4:0.2"); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	if spec, why, err := referenceTransform(filepath.Join(run, "classifier.onnx")); err != nil || spec != "normalize=0.4:0.2" || !strings.Contains(why, "trained on") {
		t.Errorf("a pgaug-trained classifier: %q (%s), %v", spec, why, err)
	}
}

func readJSONL(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
