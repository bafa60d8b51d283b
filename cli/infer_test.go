package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/pipeline/infer"
)

// inferFixture makes a synthetic dataset and an untrained smallcnn through the CLI.
func inferFixture(t *testing.T) (dir, data, model string) {
	t.Helper()
	if _, _, err := ort.Locate(""); err != nil {
		t.Skipf("ONNX Runtime is not installed: %v", err)
	}
	dir = t.TempDir()
	data, model = filepath.Join(dir, "d.arrow"), filepath.Join(dir, "m.onnx")
	if _, errOut, err := runApp("data", "import", "synthetic", "-o", data, "--count", "60", "--size", "16", "--classes", "2", "--seed", "4"); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	if _, errOut, err := runApp("model", "zoo", "smallcnn", "--classes", "2", "--in-channels", "1", "--size", "16", "-o", model); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	return dir, data, model
}

func TestInferCommand(t *testing.T) {
	dir, data, model := inferFixture(t)
	out := filepath.Join(dir, "pred.arrow")
	stdout, errOut, err := runApp("infer", "--model", model, "--data", data, "-o", out, "--split", "test", "--batch", "4", "--threads", "1", "--workers", "2")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout, errOut)
	}
	p, err := infer.ReadPredictions(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"wrote " + strconv.Itoa(p.Len()) + " predictions to " + out, "images/s", "balanced accuracy", "AUROC", "confusion"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(errOut, "img/s") {
		t.Errorf("no progress bar with images/s on stderr: %q", errOut)
	}
	if p.Len() == 0 || p.Split != "test" || p.Model != model || p.Version != Version || len(p.Classes) != 2 {
		t.Errorf("predictions: %d rows, split %q, model %q, version %q, classes %v", p.Len(), p.Split, p.Model, p.Version, p.Classes)
	}
	stdout, _, err = runApp("infer", "--model", model, "--data", data, "-o", out, "--json", "-q")
	if err != nil || !strings.Contains(stdout, `"rows": 60`) || !strings.Contains(stdout, `"accuracy"`) {
		t.Fatalf("infer --json: %v\n%s", err, stdout)
	}
}

func TestInferCommandErrors(t *testing.T) {
	dir, data, model := inferFixture(t)
	out := filepath.Join(dir, "pred.arrow")
	rgb := filepath.Join(dir, "rgb.onnx")
	if _, errOut, err := runApp("model", "zoo", "smallcnn", "--classes", "2", "--in-channels", "3", "--size", "16", "-o", rgb); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
		code int
	}{
		{"cuda", []string{"--device", "cuda"}, []string{"--device cuda", ort.CUDAProviderLib, "--device cpu"}, 0},
		{"tta without policy", []string{"--tta"}, []string{"--tta needs --policy"}, 2},
		{"policy without tta", []string{"--policy", model}, []string{"add --tta"}, 0},
		{"channels", []string{"--model", rgb}, []string{rgb, "3×16×16", "channels=3"}, 0},
		{"gpu memory", []string{"--gpu-mem-limit", "lots"}, []string{"--gpu-mem-limit", "lots"}, 2},
		{"missing data", []string{"--data", filepath.Join(dir, "none.arrow")}, []string{"none.arrow"}, 0},
	} {
		args := []string{"infer", "--model", model, "--data", data, "-o", out, "-q"}
		_, _, err := runApp(append(args, tc.args...)...)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
		if ec, ok := err.(cli.ExitCoder); tc.code != 0 && (!ok || ec.ExitCode() != tc.code) {
			t.Errorf("%s: want exit code %d, got %v", tc.name, tc.code, err)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%s: an output file was left behind", tc.name)
		}
	}
}

func TestInferHelpShowsFlags(t *testing.T) {
	stdout, _, err := runApp("infer", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--model", "--data", "--output value, -o value", "--split", "--batch", "--device", "--device-id", "--gpu-mem-limit", "--threads", "--transform", "--tta", "--policy", "--workers"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, stdout)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "0": 0, "1048576": 1 << 20, "4GiB": 4 << 30, "4g": 4 << 30, "512MB": 512e6, "1.5 KiB": 1536, "10B": 10} {
		got, err := parseByteSize(in)
		if err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"lots", "-1", "1e30GiB", "GiB"} {
		if _, err := parseByteSize(in); err == nil {
			t.Errorf("parseByteSize(%q) accepted", in)
		}
	}
}

func TestInferShardsAndMerge(t *testing.T) {
	dir, data, model := inferFixture(t)
	whole := filepath.Join(dir, "whole.arrow")
	wantOut, errOut, err := runApp("infer", "--model", model, "--data", data, "-o", whole, "-q")
	if err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	var shards []string
	for k := 1; k <= 2; k++ {
		out := filepath.Join(dir, "shard"+strconv.Itoa(k)+".arrow")
		stdout, errOut, err := runApp("infer", "--model", model, "--data", data, "-o", out, "-q", "--shard", strconv.Itoa(k)+"/2")
		if err != nil || !strings.Contains(stdout, "(shard "+strconv.Itoa(k)+"/2)") {
			t.Fatalf("shard %d: %v %s%s", k, err, stdout, errOut)
		}
		shards = append(shards, out)
	}
	merged := filepath.Join(dir, "merged.arrow")
	if _, errOut, err := runApp("infer", "merge", "-o", merged, shards[0]); err == nil || !strings.Contains(err.Error()+errOut, "missing shard 2/2") {
		t.Fatalf("merging one of two shards: %v %s", err, errOut)
	}
	stdout, errOut, err := runApp("infer", "merge", "-o", merged, shards[1], shards[0])
	if err != nil || !strings.Contains(stdout, "merged 2 shards: 60 predictions") {
		t.Fatalf("%v %s%s", err, stdout, errOut)
	}
	a, _ := os.ReadFile(whole)
	b, _ := os.ReadFile(merged)
	if string(a) != string(b) {
		t.Error("the merged shards are not the unsharded run's file")
	}
	// The same metrics as the unsharded run printed.
	if i, j := strings.Index(wantOut, "accuracy"), strings.Index(stdout, "accuracy"); i < 0 || j < 0 || wantOut[i:] != stdout[j:] {
		t.Errorf("merged metrics differ:\n%s\nagainst\n%s", stdout, wantOut)
	}
	if _, _, err := runApp("infer", "--model", model, "--data", data, "-o", merged, "--shard", "3/2"); err == nil || !strings.Contains(err.Error(), "1 <= K <= N") {
		t.Errorf("--shard 3/2: %v", err)
	}
}

func TestExperimentClusterFiles(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(conf, []byte("dir = \""+filepath.Join(dir, "run")+"\"\nmethods = [\"baseline\", \"apga\"]\nseeds = [3, 4, 5]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, errOut, err := runApp("experiment", conf, "--cells", "--seeds", "3,4")
	if err != nil || stdout != "0\tseed 3\tbaseline\n1\tseed 3\tapga\n2\tseed 4\tbaseline\n3\tseed 4\tapga\n" {
		t.Fatalf("--cells: %v %q %s", err, stdout, errOut)
	}
	sl := filepath.Join(dir, "slurm")
	if _, errOut, err := runApp("experiment", conf, "--slurm", sl, "--cpus", "3", "--apga.epochs", "7"); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	cells, err := os.ReadFile(filepath.Join(sl, "cells.sbatch"))
	if err != nil || !strings.Contains(string(cells), "--array=0-5") || !strings.Contains(string(cells), "--cpus-per-task=3") {
		t.Fatalf("cells.sbatch: %v\n%s", err, cells)
	}
	// --reuse-from reaches the tasks, relative directories made absolute
	// against --workdir.
	sl2 := filepath.Join(dir, "slurm-reuse")
	if _, errOut, err := runApp("experiment", conf, "--slurm", sl2, "--workdir", "/shared/work", "--reuse-from", "runs/paper", "--reuse-from", "/abs/other"); err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	if cells, err := os.ReadFile(filepath.Join(sl2, "cells.sbatch")); err != nil || !strings.Contains(string(cells), "'--reuse-from' '/shared/work/runs/paper' '--reuse-from' '/abs/other'") {
		t.Errorf("cells.sbatch with --reuse-from: %v\n%s", err, cells)
	}
	saved, err := os.ReadFile(filepath.Join(sl, "experiment.toml"))
	if err != nil || !strings.Contains(string(saved), "epochs = 7") {
		t.Fatalf("the scripts' configuration lacks the override: %v\n%s", err, saved)
	}
	if _, _, err := runApp("experiment", conf, "--cell", "1", "--collect"); err == nil || !strings.Contains(err.Error(), "exclude one another") {
		t.Errorf("--cell with --collect: %v", err)
	}
	if _, errOut, err := runApp("experiment", conf, "--k8s", filepath.Join(dir, "k8s"), "--image", "pgaug:1", "--volume", "runs"); err != nil {
		t.Fatalf("--k8s: %v %s", err, errOut)
	}
}
