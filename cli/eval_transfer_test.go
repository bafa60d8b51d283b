package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/pipeline/transfer"
)

// transferFixture writes a synthetic two-class dataset of 28×28 images and
// an untrained smallcnn for it.
func transferFixture(t *testing.T) (dir, data, model string) {
	t.Helper()
	if _, _, err := ort.Locate(""); err != nil {
		t.Skipf("ONNX Runtime is not installed: %v", err)
	}
	dir = t.TempDir()
	data, model = filepath.Join(dir, "synth"), filepath.Join(dir, "m.onnx")
	cfg := synthetic.Default()
	cfg.Count, cfg.Size, cfg.Seed = 300, 28, 5
	cfg.Fractions = [3]float64{0.6, 0.1, 0.3}
	if _, err := convert.Synthetic(cfg, convert.Options{Out: data}); err != nil {
		t.Fatal(err)
	}
	m, err := zoo.Build("smallcnn", zoo.Options{Classes: 2, InChannels: 1, Size: 28, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := onnxio.Save(model, m); err != nil {
		t.Fatal(err)
	}
	return dir, data, model
}

func TestEvalTransfer(t *testing.T) {
	dir, data, model := transferFixture(t)
	report := filepath.Join(dir, "report.json")
	stdout, errOut, err := runApp("eval", "transfer", "--model", model, "--data", data, "--shots", "4,16,500",
		"--trials", "3", "--seed", "2", "--epochs", "10", "--threads", "1", "-o", report)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout, errOut)
	}
	for _, want := range []string{`layer "/Flatten_output_0": 64 features`, "logistic regression", "MLP", "95% CI",
		"few-shot logistic regression (3 trials per k", "500  skipped", "note: few-shot k = 500 skipped", "wrote " + report} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(errOut, "few-shot") {
		t.Errorf("no progress on stderr: %q", errOut)
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r transfer.Result
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.Features != 64 || len(r.FewShot) != 3 || r.FewShot[0].Accuracy == nil || len(r.FewShot[0].Accuracy.Values) != 3 ||
		r.MLP == nil || r.LogReg == nil || r.Seed != 2 {
		t.Errorf("report: %s", raw)
	}

	// A named layer (a 4-D map, pooled) and logistic regression alone.
	stdout, errOut, err = runApp("eval", "transfer", "--model", model, "--data", data, "--layer", "/relu2/Relu_output_0",
		"--probe", "logreg", "--shots", "none", "-q")
	if err != nil || !strings.Contains(stdout, "32 features (shape [-1 32 14 14])") || strings.Contains(stdout, "MLP") || errOut != "" {
		t.Errorf("--layer relu2: %v\n%s%s", err, stdout, errOut)
	}

	stdout, _, err = runApp("eval", "transfer", "--model", model, "--list-layers")
	if err != nil || !strings.Contains(stdout, "/Flatten_output_0  (default)") || !strings.Contains(stdout, "/relu3/Relu_output_0") {
		t.Errorf("--list-layers: %v\n%s", err, stdout)
	}
}

func TestEvalTransferErrors(t *testing.T) {
	dir, data, model := transferFixture(t)
	_, _, err := runApp("eval", "transfer", "--model", model, "--data", data, "--layer", "fc9")
	if err == nil || !strings.Contains(err.Error(), `no layer "fc9"`) || !strings.Contains(err.Error(), "/Flatten_output_0") {
		t.Errorf("unknown layer: %v", err)
	}
	if _, _, err := runApp("eval", "transfer", "--model", model, "--data", data, "--shots", "8,x"); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("bad --shots: %v", err)
	}
	if _, _, err := runApp("eval", "transfer", "--model", model); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("no --data: %v", err)
	}
	if _, _, err := runApp("eval", "transfer", "--model", model, "--data", data, "--probe", "svm", "--shots", "none"); err == nil || !strings.Contains(err.Error(), "svm") {
		t.Errorf("bad --probe: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err == nil {
		t.Error("a failed run wrote a report")
	}
}

// eval transfer compare summarises reports over seeds, through the binary's
// commands: two reports per group, one table with intervals.
func TestEvalTransferCompare(t *testing.T) {
	dir, data, model := transferFixture(t)
	var reports []string
	for _, seed := range []string{"1", "2", "3"} {
		r := filepath.Join(dir, "r"+seed+".json")
		if _, errOut, err := runApp("eval", "transfer", "--model", model, "--data", data, "--shots", "4,8", "--trials", "2",
			"--seed", seed, "--epochs", "5", "--threads", "1", "-q", "-o", r); err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		reports = append(reports, r)
	}
	table := filepath.Join(dir, "table.md")
	stdout, errOut, err := runApp("eval", "transfer", "compare", "a="+reports[0]+","+reports[1], "b="+reports[1]+","+reports[2], "-o", table)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout, errOut)
	}
	for _, want := range []string{"| model | reports | MLP probe | logistic regression | 4-shot | 8-shot |", "| a | 2 | 0.", "| b | 2 | 0."} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if b, err := os.ReadFile(table); err != nil || string(b) != stdout {
		t.Errorf("-o wrote %q (%v), want the printed table", b, err)
	}
	if _, _, err := runApp("eval", "transfer", "compare", "a="+reports[0]); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Errorf("one report: %v", err)
	}
	if _, _, err := runApp("eval", "transfer", "compare", "a"); err == nil || !strings.Contains(err.Error(), "NAME=") {
		t.Errorf("no NAME=: %v", err)
	}
	if _, _, err := runApp("eval", "transfer", "--data", data); err == nil || !strings.Contains(err.Error(), "--model is required") {
		t.Errorf("no --model: %v", err)
	}
}
