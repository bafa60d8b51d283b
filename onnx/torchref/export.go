package torchref

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// Python is the interpreter with torch and torchvision (Debian's python3-torch).
const Python = "/usr/bin/python3"

// Export runs scripts/export_pretrained.py for arch into dir and returns the
// ONNX path and the reference directory (input.npy, output.npy, and with
// trainSteps > 0 train_*.npy, train_losses.json, trained.onnx and
// trained/NAME.npy). extra goes to the script, for instance
// Float64Reference(1).
func Export(repoRoot, dir, arch string, classes, inChannels, size, batch, trainSteps int, extra ...string) (model, ref string, err error) {
	model = filepath.Join(dir, arch+".onnx")
	ref = filepath.Join(dir, arch+"-ref")
	args := []string{filepath.Join(repoRoot, "scripts", "export_pretrained.py"), arch,
		"-o", model, "--reference", ref, "--num-classes", strconv.Itoa(classes),
		"--in-channels", strconv.Itoa(inChannels), "--size", strconv.Itoa(size),
		"--batch", strconv.Itoa(batch), "--train-steps", strconv.Itoa(trainSteps), "--threads", "2"}
	args = append(args, extra...)
	cmd := exec.Command(Python, args...)
	cmd.Env = append(os.Environ(), "PYTHONWARNINGS=ignore")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("%s %v: %w\n%s", Python, args, err, out)
	}
	return model, ref, nil
}

// Float64Reference returns the script's flags for references computed in
// float64 (output.npy and trained/NAME.npy float64, float64 losses) with
// pairs pairs of float32 probes (float32_deviation.json, see Deviation).
// A float32 reference would carry the rounding of whichever float32 kernels
// PyTorch picked on the machine (oneDNN, OpenBLAS and ATen differ between
// AVX2, AVX-512 and AMD CPUs); the float64 one is the same everywhere. (The
// seeded weights and batches themselves come from PyTorch's random
// generator, whose vectorised normal sampling changes in the last bits with
// ATEN_CPU_CAPABILITY; the tests read them from the exported files, so the
// reference is always of what pgaug computes.)
func Float64Reference(pairs int) []string {
	return []string{"--precision", "float64", "--float32-probe-pairs", strconv.Itoa(pairs)}
}

// Require fails the test, saying how to install them, when Python, PyTorch,
// torchvision, NumPy or onnx are missing (scripts/setup.sh --test-deps
// installs them: the references are part of the test suite, not optional),
// and skips it with -short (the exports take seconds to minutes).
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("PyTorch reference: skipped with -short")
	}
	requireOnce.Do(func() {
		out, err := exec.Command(Python, "-c", "import torch, torchvision, numpy, onnx").CombinedOutput()
		if err != nil {
			requireErr = fmt.Errorf("%s cannot import torch, torchvision, numpy and onnx (scripts/setup.sh --test-deps installs python3-torch, python3-torchvision, python3-numpy and python3-onnx): %v\n%s", Python, err, out)
		}
	})
	if requireErr != nil {
		t.Fatal(requireErr)
	}
}

var (
	requireOnce sync.Once
	requireErr  error
)

// RepoRoot finds the module root (the directory holding go.mod) above the
// working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the working directory")
		}
		dir = parent
	}
}
