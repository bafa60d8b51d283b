package optest

import (
	"math"
	"testing"
)

// RunTorch64 computes in float64: a sum that float32 cannot hold, a
// default-dtype tensor and the widened inputs come back exact.
func TestRunTorch64IsFloat64(t *testing.T) {
	x := []float32{1 << 24, 1, 0.1}
	res := RunTorch64(t, `x = load('x', 3)
save('sum', x.sum())
save('third', torch.ones(1) / 3)
save('x', x)
`, map[string][]float32{"x": x})
	if got := MustGet64(t, res, "sum", 1)[0]; got != 1<<24+1+float64(float32(0.1)) {
		t.Errorf("sum = %v, want %v (float32 would round 2^24 + 1)", got, 1<<24+1+float64(float32(0.1)))
	}
	if got := MustGet64(t, res, "third", 1)[0]; got != 1.0/3 {
		t.Errorf("torch.ones(1)/3 = %v, want the float64 %v", got, 1.0/3)
	}
	for i, v := range MustGet64(t, res, "x", 3) {
		if v != float64(x[i]) {
			t.Errorf("x[%d] came back as %v, want %v", i, v, float64(x[i]))
		}
	}
	AssertClose64(t, "x", x, []float64{1 << 24, 1, float64(float32(0.1))}, 0, 0)
}

func TestGamma(t *testing.T) {
	if g := Gamma(1); math.Abs(g-U) > 1e-6*U {
		t.Errorf("Gamma(1) = %v, want about u = %v", g, U)
	}
	if g := Gamma(1000); g <= 1000*U || g > 1000*U*1.001 {
		t.Errorf("Gamma(1000) = %v, want just above 1000u = %v", g, 1000*U)
	}
}
