package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// data import synthetic → model zoo → train baseline → eval metrics, through the CLI.
func TestTrainBaselineAndEvalCommands(t *testing.T) {
	dir := t.TempDir()
	ds, model, out := filepath.Join(dir, "d.arrow"), filepath.Join(dir, "m.onnx"), filepath.Join(dir, "t.onnx")
	if _, errOut, err := runApp("data", "import", "synthetic", "-o", ds, "--count", "300", "--size", "32", "--classes", "2", "--seed", "4"); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	if _, errOut, err := runApp("model", "zoo", "smallcnn", "--classes", "2", "--in-channels", "1", "--size", "32", "-o", model); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	stdout, errOut, err := runApp("train", "baseline", "--model", model, "--data", ds, "-o", out, "--epochs", "2", "--batch", "16", "--lr", "0.05",
		"--metrics-log", filepath.Join(dir, "m.jsonl"))
	if err != nil || !strings.Contains(stdout, "epoch 2/2") || !strings.Contains(stdout, "wrote "+out) {
		t.Fatalf("train baseline: %v\n%s%s", err, stdout, errOut)
	}
	stdout, errOut, err = runApp("eval", "metrics", "--model", out, "--data", ds, "--split", "test")
	if err != nil || !strings.Contains(stdout, "balanced accuracy") || !strings.Contains(stdout, "AUROC") {
		t.Fatalf("eval metrics: %v\n%s%s", err, stdout, errOut)
	}
	if _, _, err := runApp("train", "baseline", "--model", model, "--data", ds, "-o", out, "--optimizer", "rmsprop"); err == nil || !strings.Contains(err.Error(), "rmsprop") {
		t.Fatalf("an unknown optimizer must be refused clearly: %v", err)
	}
}
