package optest

// PyTorch reference harness. Tests fail, never skip, when Python or PyTorch is missing: the
// test dependencies (scripts/setup.sh --test-deps) include Debian's
// python3-torch.

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const TorchPrelude = `import os, sys
import numpy as np
import torch
import torch.nn.functional as F
torch.set_num_threads(1)
DIR = sys.argv[1]
def load(name, *shape):
    a = np.fromfile(os.path.join(DIR, name + '.in'), dtype='<f4')
    return torch.from_numpy(a.reshape(shape) if shape else a)
def save(name, t):
    if torch.is_tensor(t):
        t = t.detach().cpu().contiguous().numpy()
    np.asarray(t, dtype='<f4').tofile(os.path.join(DIR, name + '.out'))
`

// PythonWithTorch is the interpreter the reference scripts run under:
// $PGAUG_PYTHON, else Debian's /usr/bin/python3 (which has python3-torch),
// else python3 from PATH.
func PythonWithTorch() string {
	if p := os.Getenv("PGAUG_PYTHON"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// RunTorch writes inputs as raw little-endian float32 files, runs script
// (after TorchPrelude, which defines load(name, *shape) and save(name, t)) and
// returns every array the script saved, by name. PyTorch computes in float32:
// its results carry the rounding of whichever kernels it picked on this CPU
// (vectorised ATen, oneDNN, OpenBLAS differ between AVX2, AVX-512 and AMD
// machines), so compare with tolerances wider than those kernels'
// differences, or use RunTorch64.
func RunTorch(t *testing.T, script string, inputs map[string][]float32) map[string][]float32 {
	t.Helper()
	raw := runTorch(t, TorchPrelude, script, inputs)
	res := make(map[string][]float32, len(raw))
	for name, buf := range raw {
		d := make([]float32, len(buf)/4)
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		res[name] = d
	}
	return res
}

// runTorch writes inputs as raw little-endian float32 files, runs prelude +
// script with the directory as its argument and returns the bytes of every
// NAME.out file, by name.
func runTorch(t *testing.T, prelude, script string, inputs map[string][]float32) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	for name, data := range inputs {
		buf := make([]byte, 4*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if err := os.WriteFile(filepath.Join(dir, name+".in"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	full := prelude + script
	cmd := exec.Command(PythonWithTorch(), "-c", full, dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var b strings.Builder
		for i, line := range strings.Split(full, "\n") {
			fmt.Fprintf(&b, "%4d  %s\n", i+1, line)
		}
		t.Fatalf("PyTorch reference failed (%s): %v\n%s\nscript:\n%s", PythonWithTorch(), err, out, b.String())
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.out"))
	if err != nil {
		t.Fatal(err)
	}
	res := make(map[string][]byte, len(files))
	for _, f := range files {
		buf, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res[strings.TrimSuffix(filepath.Base(f), ".out")] = buf
	}
	return res
}

// MustGet returns the saved array name, failing when it is missing or has the
// wrong length.
func MustGet(t *testing.T, res map[string][]float32, name string, n int) []float32 {
	t.Helper()
	d, ok := res[name]
	if !ok {
		t.Fatalf("the PyTorch script saved no %q", name)
	}
	if len(d) != n {
		t.Fatalf("PyTorch %q has %d elements, want %d", name, len(d), n)
	}
	return d
}

// AssertClose fails when got and want differ by more than atol + rtol·|want|
// anywhere (NaN matches NaN, infinities must match exactly).
func AssertClose(t *testing.T, what string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) || math.IsNaN(g) {
			if math.IsNaN(w) != math.IsNaN(g) {
				bad++
				if bad <= 5 {
					t.Errorf("%s[%d] = %v, want %v", what, i, g, w)
				}
			}
			continue
		}
		if math.IsInf(w, 0) || math.IsInf(g, 0) {
			if g != w {
				bad++
				if bad <= 5 {
					t.Errorf("%s[%d] = %v, want %v", what, i, g, w)
				}
			}
			continue
		}
		if math.Abs(g-w) > atol+rtol*math.Abs(w) {
			bad++
			if bad <= 5 {
				t.Errorf("%s[%d] = %.8g, want %.8g (diff %.3g)", what, i, g, w, g-w)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d elements differ", what, bad, len(got))
	}
}
