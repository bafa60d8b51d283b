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

// torchImports opens TorchPrelude and TorchPrelude64: the modules the
// scripts use, and one thread (for repeatable results).
const torchImports = `import os, sys
import numpy as np
import torch
import torch.nn.functional as F
torch.set_num_threads(1)
`

// TorchPrelude is what RunTorch runs before a script: load(name, *shape)
// reads an input as a float32 tensor, save(name, t) writes a result as
// float32.
const TorchPrelude = torchImports + `DIR = sys.argv[1]
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
	return decode(runTorch(t, TorchPrelude, script, inputs), 4, func(b []byte) float32 {
		return math.Float32frombits(binary.LittleEndian.Uint32(b))
	})
}

// decode turns each file runTorch read into its elements, of size bytes
// each, read by elem.
func decode[T any](raw map[string][]byte, size int, elem func([]byte) T) map[string][]T {
	res := make(map[string][]T, len(raw))
	for name, buf := range raw {
		d := make([]T, len(buf)/size)
		for i := range d {
			d[i] = elem(buf[size*i:])
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
	return mustGet(t, res, name, n)
}

// mustGet is MustGet and MustGet64.
func mustGet[T any](t *testing.T, res map[string][]T, name string, n int) []T {
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
	assertClose(t, what, got, want, atol, rtol, func(i int, g, w, _ float64) {
		t.Errorf("%s[%d] = %.8g, want %.8g (diff %.3g)", what, i, g, w, g-w)
	})
}

// assertClose is AssertClose and AssertClose64: it fails when got and want
// differ by more than atol + rtol·|want| anywhere (NaN matches NaN,
// infinities must match exactly), reporting the first five finite elements
// that do with report (given the tolerance tol), and returns the largest
// ratio of a finite element's error to its tolerance and its index (-1 when
// there is none).
func assertClose[W float32 | float64](t *testing.T, what string, got []float32, want []W, atol, rtol float64,
	report func(i int, g, w, tol float64)) (worst float64, worstAt int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	bad := 0
	worstAt = -1
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) || math.IsNaN(g) || math.IsInf(w, 0) || math.IsInf(g, 0) {
			if !(math.IsNaN(w) && math.IsNaN(g)) && g != w {
				bad++
				if bad <= 5 {
					t.Errorf("%s[%d] = %v, want %v", what, i, g, w)
				}
			}
			continue
		}
		tol := atol + rtol*math.Abs(w)
		if r := math.Abs(g-w) / tol; r > worst || (tol == 0 && g != w) {
			worst, worstAt = r, i
		}
		if math.Abs(g-w) > tol {
			bad++
			if bad <= 5 {
				report(i, g, w, tol)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d elements differ", what, bad, len(got))
	}
	return worst, worstAt
}
