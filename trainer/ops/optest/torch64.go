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
const TorchPrelude64 = torchImports + `torch.set_default_dtype(torch.float64)
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
	return decode(runTorch(t, TorchPrelude64, script, inputs), 8, func(b []byte) float64 {
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	})
}

// MustGet64 is MustGet for RunTorch64's results.
func MustGet64(t *testing.T, res map[string][]float64, name string, n int) []float64 {
	t.Helper()
	return mustGet(t, res, name, n)
}

// AssertClose64 is AssertClose against a float64 reference: it fails when
// got and want differ by more than atol + rtol·|want| anywhere (NaN matches
// NaN, infinities must match exactly), and logs how close to the tolerance
// the largest error came.
func AssertClose64(t *testing.T, what string, got []float32, want []float64, atol, rtol float64) {
	t.Helper()
	worst, worstAt := assertClose(t, what, got, want, atol, rtol, func(i int, g, w, tol float64) {
		t.Errorf("%s[%d] = %.9g, want %.12g (diff %.3g, allowed %.3g)", what, i, g, w, g-w, tol)
	})
	if worstAt >= 0 {
		t.Logf("%s: largest error %.3g at [%d], %.2f of its tolerance", what, math.Abs(float64(got[worstAt])-want[worstAt]), worstAt, worst)
	}
}
