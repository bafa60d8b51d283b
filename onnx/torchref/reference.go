package torchref

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/onnx/onnxio"
)

// U is float32's unit roundoff, 2^-24: the largest relative error of
// rounding a real number to the nearest float32.
const U = 0x1p-24

// ProbeFactor is how far beyond the float32 probes' deviation (see
// Deviation) a float32 result may lie. Measured against the float64
// references of the networks these tests use, pgaug's pure-Go and OpenBLAS
// builds (OPENBLAS_CORETYPE Prescott, Sandybridge, Haswell, SkylakeX) and
// PyTorch's float32 kernels (ONEDNN_MAX_CPU_ISA SSE41, AVX2, AVX-512) came
// within 2.2 times the probes' deviation (plus u), a ReLU flipped by float32
// rounding included (the deep TernausNet biases: the probes flip it too); 8
// leaves a margin of more than 3. A wrong operator is off by far more (1e-2
// to 1 relative), and so was PyTorch's oneDNN AVX2 training step, the
// AMD EPYC case: one convolution's input gradient 20% off, the loss after a
// step 65 times the probes' deviation.
const ProbeFactor = 8

// Deviation is the reference directory's float32_deviation.json, written by
// scripts/export_pretrained.py --precision float64 --float32-probe-pairs N:
// for each reference quantity, the largest relative deviation from the exact
// (float64) result of 2N float64 runs under Monte Carlo arithmetic at float32
// precision (every computed value multiplied by 1 ± 8u·ξ, every stored one
// by 1 ± u·ξ, ξ uniform in [-1, 1]; see Float32Probe in the script). It is
// the deviation a float32 computation has to expect, whatever its kernels:
// it grows with depth and accumulation length, and it is large where the
// quantity is ill-conditioned, for instance where a ReLU input or max-pool
// tie sits within float32's rounding of the threshold and a float32 run may
// route the gradient differently.
type Deviation struct {
	UnitRoundoff float64 `json:"unit_roundoff"`
	Amplitude    float64 `json:"amplitude"`
	Probes       int     `json:"probes"`
	// Output is max|y' − y| / max|y| of the eval-mode output.
	Output float64 `json:"output"`
	// Losses are |l' − l| / |l| per training step.
	Losses []float64 `json:"losses"`
	// State is ‖w' − w‖₂ / ‖w − w₀‖₂ per state_dict tensor after the
	// training steps: relative to what the steps changed (w₀ the initial
	// value). The 2-norm, not the largest element: a flipped ReLU changes
	// one channel's gradient, a wrong operator all of them.
	State map[string]float64 `json:"state"`
}

// ReadDeviation reads ref/float32_deviation.json.
func ReadDeviation(ref string) (*Deviation, error) {
	raw, err := os.ReadFile(filepath.Join(ref, "float32_deviation.json"))
	if err != nil {
		return nil, fmt.Errorf("float32 probes: %w (export with --precision float64 --float32-probe-pairs N)", err)
	}
	var d Deviation
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(ref, "float32_deviation.json"), err)
	}
	if d.UnitRoundoff != U || d.Probes < 2 {
		return nil, fmt.Errorf("%s: unit roundoff %g and %d probes, want %g and at least 2", filepath.Join(ref, "float32_deviation.json"), d.UnitRoundoff, d.Probes, U)
	}
	return &d, nil
}

// Tolerance is the relative error a float32 result may have for a
// quantity whose probe deviation is dev: ProbeFactor·dev, plus one rounding
// of the result itself (u).
func Tolerance(dev float64) float64 { return ProbeFactor*dev + U }

// Explain says how Tolerance(dev) came about, for failure messages.
func Explain(dev float64) string {
	return fmt.Sprintf("tolerance %.3g = %d × %.3g (the deviation of float64 runs perturbed at float32's precision, u = 2^-24) + u", Tolerance(dev), ProbeFactor, dev)
}

// ReadFloat64s reads a floating-point .npy file as float64 (float32 and
// float16 data widened exactly).
func ReadFloat64s(path string) ([]float64, error) {
	t, err := onnxio.ReadNPY(path)
	if err != nil {
		return nil, err
	}
	switch t.DType {
	case onnxio.DTypeFloat64:
		return t.Float64, nil
	case onnxio.DTypeFloat32, onnxio.DTypeFloat16, onnxio.DTypeBFloat16:
		out := make([]float64, len(t.Float32))
		for i, v := range t.Float32 {
			out[i] = float64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: %v data, want floating point", path, t.DType)
}

// RelErr is max|got − want| / max|want|, the metric of Deviation.Output.
func RelErr(got []float32, want []float64) float64 {
	var d, m float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-want[i]))
		m = math.Max(m, math.Abs(want[i]))
	}
	if m == 0 {
		return d
	}
	return d / m
}

// UpdateErr is ‖got − want‖₂ / ‖want − initial‖₂, the metric of
// Deviation.State: a trained tensor's error relative to what training
// changed (‖got − want‖₂ when it changed nothing).
func UpdateErr(got []float32, want []float64, initial []float32) float64 {
	var d, m float64
	for i := range want {
		d += (float64(got[i]) - want[i]) * (float64(got[i]) - want[i])
		m += (want[i] - float64(initial[i])) * (want[i] - float64(initial[i]))
	}
	if m == 0 {
		return math.Sqrt(d)
	}
	return math.Sqrt(d / m)
}
