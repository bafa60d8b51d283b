package optest

import (
	"encoding/binary"
	"math"
	"testing"
)

// U is float32's unit roundoff, 2^-24: rounding a real number to the
// nearest float32 changes it by at most U relative.
const U = 0x1p-24

// Gamma is γ_n = n·u / (1 − n·u), the classic bound on the relative error of
// an n-term float32 sum or dot product (Higham, Accuracy and Stability of
// Numerical Algorithms, §3.1): |fl(Σ xᵢyᵢ) − Σ xᵢyᵢ| ≤ γ_n Σ|xᵢyᵢ| whatever
// the order of summation, FMA or not.
func Gamma(n int) float64 { return float64(n) * U / (1 - float64(n)*U) }

// TorchPrelude64 is TorchPrelude for RunTorch64: load returns float64
// tensors (the float32 inputs widened exactly), float64 is the default dtype
// (torch.zeros, torch.linspace, ... and the kernels built from them), and
// save writes float64.
const TorchPrelude64 = `import os, sys
import numpy as np
import torch
import torch.nn.functional as F
torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
DIR = sys.argv[1]
def load(name, *shape):
    a = np.fromfile(os.path.join(DIR, name + '.in'), dtype='<f4').astype('<f8')
    return torch.from_numpy(a.reshape(shape) if shape else a)
def save(name, t):
    if torch.is_tensor(t):
        t = t.detach().cpu().contiguous().double().numpy()
    np.asarray(t, dtype='<f8').tofile(os.path.join(DIR, name + '.out'))
`

// RunTorch64 is RunTorch computed in float64: the inputs are float32 (what
// the operator under test sees) widened exactly, the script runs after
// TorchPrelude64, and the results come back as float64. They are the exact
// results to about 1e-16, the same on every CPU, so a test can bound the
// operator's error by float32's precision (U, Gamma) instead of by whatever
// PyTorch's float32 kernels did on this machine.
func RunTorch64(t *testing.T, script string, inputs map[string][]float32) map[string][]float64 {
	t.Helper()
	raw := runTorch(t, TorchPrelude64, script, inputs)
	res := make(map[string][]float64, len(raw))
	for name, buf := range raw {
		d := make([]float64, len(buf)/8)
		for i := range d {
			d[i] = math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:]))
		}
		res[name] = d
	}
	return res
}

// MustGet64 is MustGet for RunTorch64's results.
func MustGet64(t *testing.T, res map[string][]float64, name string, n int) []float64 {
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

// AssertClose64 is AssertClose against a float64 reference: it fails when
// got and want differ by more than atol + rtol·|want| anywhere (NaN matches
// NaN, infinities must match exactly), and logs how close to the tolerance
// the largest error came.
func AssertClose64(t *testing.T, what string, got []float32, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	bad, worst, worstAt := 0, 0.0, -1
	for i := range got {
		g, w := float64(got[i]), want[i]
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
				t.Errorf("%s[%d] = %.9g, want %.12g (diff %.3g, allowed %.3g)", what, i, g, w, g-w, tol)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d elements differ", what, bad, len(got))
	}
	if worstAt >= 0 {
		t.Logf("%s: largest error %.3g at [%d], %.2f of its tolerance", what, math.Abs(float64(got[worstAt])-want[worstAt]), worstAt, worst)
	}
}
