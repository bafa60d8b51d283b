package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// pgaugBinary builds cmd/pgaug once per test run, with the build tags of
// this test binary (so an OpenBLAS test run tests the OpenBLAS binary), as a
// user's `go build` would.
func pgaugBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "pgaug-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "pgaug")
		args := []string{"build", "-o", binPath}
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "-tags" && s.Value != "" {
					args = append(args, "-tags", s.Value)
				}
			}
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go tool is not on PATH: %w", err)
			return
		}
		cmd := exec.Command(goTool, append(args, ".")...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building pgaug: %v", buildErr)
	}
	return binPath
}

// removeBinary deletes what pgaugBinary built (TestMain calls it).
func removeBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// runBinary runs the built pgaug and fails the test when it fails.
func runBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pgaug %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// metricsRecords reads a run's metrics.jsonl, without the fields that
// measure time (which differ between any two runs).
func metricsRecords(t *testing.T, dir string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s/metrics.jsonl: line %d: %v", dir, len(out)+1, err)
		}
		delete(rec, "seconds")
		delete(rec, "images_per_second")
		out = append(out, rec)
	}
	return out
}

// lastLoggedStep is the largest step of a metrics log's records so far (0
// when it has none or does not exist yet).
func lastLoggedStep(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var last int64
	for _, line := range bytes.Split(b, []byte("\n")) {
		var rec struct {
			Step int64 `json:"step"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Step > last {
			last = rec.Step
		}
	}
	return last
}

// killAfterStep starts pgaug and sends it SIGKILL as soon as its metrics
// log shows step `at` (a "step" record, every 10 steps, between the
// evaluations that write checkpoints), and returns the last step it logged.
func killAfterStep(t *testing.T, bin, dir string, at int64, args ...string) int64 {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	log := filepath.Join(dir, "metrics.jsonl")
	deadline := time.After(5 * time.Minute)
	for {
		select {
		case err := <-done:
			t.Fatalf("pgaug %s ended (%v) before step %d was logged; the kill must land mid-run:\n%s", strings.Join(args, " "), err, at, out.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("pgaug %s did not reach step %d in 5 minutes:\n%s", strings.Join(args, " "), at, out.String())
		default:
		}
		if lastLoggedStep(log) >= at {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-done
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("pgaug was not killed by SIGKILL: %v\n%s", err, out.String())
	}
	return lastLoggedStep(log)
}

// Every training command, SIGKILLed at a seeded step between two
// checkpoints and run again with --resume (and another --workers, which
// must not matter), writes the same ONNX files, byte for byte, and the same
// metrics log (but for timings) as an uninterrupted run.
func TestKillAndResumeEveryTrainingCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("trains each command three times through the built binary (about a minute)")
	}
	bin := pgaugBinary(t)
	dir := t.TempDir()
	data, model := filepath.Join(dir, "d.arrow"), filepath.Join(dir, "m.onnx")
	runBinary(t, bin, "data", "import", "synthetic", "-o", data, "--count", "240", "--size", "16", "--classes", "2", "--seed", "5")
	runBinary(t, bin, "model", "zoo", "smallcnn", "--classes", "2", "--in-channels", "1", "--size", "16", "-o", model)

	const epochs, evalEvery = 6, 7
	common := []string{"--data", data, "--epochs", fmt.Sprint(epochs), "--batch", "8", "--eval-every", fmt.Sprint(evalEvery), "--seed", "7", "--workers", "2"}
	cases := []struct {
		name    string
		args    []string
		outputs []string
	}{
		{"baseline", []string{"train", "baseline", "--model", model}, []string{"classifier.onnx"}},
		{"cutout", []string{"train", "baseline", "--model", model, "--aug", "cutout", "--cutout-size", "4"}, []string{"classifier.onnx"}},
		{"gradcam", []string{"train", "baseline", "--model", model, "--aug", "gradcam"}, []string{"classifier.onnx"}},
		{"cutmix", []string{"train", "baseline", "--model", model, "--aug", "cutmix"}, []string{"classifier.onnx"}},
		{"apga", []string{"train", "apga", "--classifier", model, "--policy", "zoo:unet-small", "--lambda-zeros", "0.05", "--grid-images", "2"}, []string{"classifier.onnx", "policy.onnx"}},
		{"noisemask", []string{"train", "noisemask", "--classifier", model, "--policy", "zoo:smallcnn", "--grid", "4", "--blur-kernel", "5", "--blur-sigma", "2", "--lr", "0.01", "--grid-images", "2"},
			[]string{"classifier.onnx", "policy.onnx", "dataset_params.json"}},
		{"finetune", []string{"train", "finetune", "--model", model, "--average-last", "2", "--warmup", "1"}, []string{"classifier.onnx"}},
		// Last, so that the cases above keep their seeded kill steps. S̄ and
		// the bound are part of the state; the chart is drawn from the log.
		{"noisemask-scaled", []string{"train", "noisemask", "--classifier", model, "--policy", "zoo:smallcnn", "--grid", "4", "--blur-kernel", "5", "--blur-sigma", "2", "--lr", "0.01", "--grid-images", "2",
			"--loss", "scaled", "--param-bound", "3"},
			[]string{"classifier.onnx", "policy.onnx", "dataset_params.json", "noise-params.png"}},
	}
	rng := rand.New(rand.NewPCG(2026, 13))
	for _, c := range cases {
		// The kill lands right after a "step" record (every 10 steps) that is
		// neither an evaluation (a checkpoint) nor an epoch's end, seeded.
		var targets []int64
		const perEpoch = 168 / 8
		for s := int64(10); s < 3*perEpoch; s += 10 {
			if s%evalEvery != 0 && s%perEpoch != 0 {
				targets = append(targets, s)
			}
		}
		at := targets[rng.IntN(len(targets))]
		t.Run(c.name, func(t *testing.T) {
			full, killed := filepath.Join(dir, c.name+"-full"), filepath.Join(dir, c.name+"-killed")
			args := func(out string, extra ...string) []string {
				return append(append(append(append([]string(nil), c.args...), common...), "-o", out), extra...)
			}
			runBinary(t, bin, args(full)...)
			if err := os.MkdirAll(killed, 0o755); err != nil {
				t.Fatal(err)
			}
			last := killAfterStep(t, bin, killed, at, args(killed)...)
			for _, f := range c.outputs {
				if _, err := os.Stat(filepath.Join(killed, f)); err == nil {
					t.Fatalf("the killed run already wrote %s: the kill came too late", f)
				}
			}
			out := runBinary(t, bin, args(killed, "--resume", "--workers", "1")...)
			i := strings.Index(out, "resuming from ")
			if i < 0 {
				t.Fatalf("--resume did not resume:\n%s", out)
			}
			var ckptStep int64
			if _, err := fmt.Sscanf(out[i:], "resuming from %s (epoch %d, batch %d, step %d)", new(string), new(int), new(int), &ckptStep); err != nil {
				t.Fatalf("reading the resume line: %v\n%s", err, out)
			}
			if ckptStep >= last || ckptStep%evalEvery != 0 {
				t.Fatalf("resumed from step %d, the killed run had logged step %d: want a checkpoint before the kill", ckptStep, last)
			}
			t.Logf("killed after step %d (target %d), resumed from the checkpoint at step %d", last, at, ckptStep)
			for _, f := range c.outputs {
				a, err := os.ReadFile(filepath.Join(full, f))
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(filepath.Join(killed, f))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Errorf("%s of the killed and resumed run differs from the uninterrupted run's (%d vs %d bytes)", f, len(b), len(a))
				}
			}
			ra, rb := metricsRecords(t, full), metricsRecords(t, killed)
			if len(ra) != len(rb) {
				t.Fatalf("metrics.jsonl: %d records after the resume, %d uninterrupted", len(rb), len(ra))
			}
			for i := range ra {
				if !reflect.DeepEqual(ra[i], rb[i]) {
					t.Fatalf("metrics.jsonl record %d:\nresumed       %v\nuninterrupted %v", i+1, rb[i], ra[i])
				}
			}
		})
	}
}
