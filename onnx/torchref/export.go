package torchref

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// Python is the interpreter with torch and torchvision (Debian's python3-torch).
const Python = "/usr/bin/python3"

// Export runs scripts/export_pretrained.py for arch into dir and returns the
// ONNX path and the reference directory (input.npy, output.npy, and with
// trainSteps > 0 train_*.npy, train_losses.json, trained.onnx).
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
