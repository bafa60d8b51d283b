package noisemask

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
	"github.com/pgaug/pgaug/trainer/ops/optest"
	"github.com/pgaug/pgaug/trainer/ops/special"
)

// densityInputs returns a, b (B×N, in [-1.5, 1.5]) and m (in [lo, hi]).
func densityInputs(seed uint64, batch, n int, lo, hi float64) (a, b, m []float32) {
	return optest.Uniform(seed, batch*n, -1.5, 1.5), optest.Uniform(seed+1, batch*n, -1.5, 1.5), optest.Uniform(seed+2, batch*n, lo, hi)
}

func logDensityBuild(model Model) gradcheck.Build {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return model.LogDensity(in[0], in[1], in[2])
	}
}

func TestLogDensityForward(t *testing.T) {
	const batch, n = 3, 16
	a, b, m := densityInputs(1, batch, n, 0.01, 0.99)
	// Include the clamp bounds, where log x or log(1−x) is largest.
	m[0], m[1] = float32(Eps), float32(1-Eps)
	inputs := []*tensor.Dense{optest.Dense(a, batch, n), optest.Dense(b, batch, n), optest.Dense(m, batch, n)}
	for _, model := range []Model{Beta{}, Gaussian{}, Uniform{}} {
		got, _ := optest.RunGraph(t, logDensityBuild(model), inputs, nil)
		if len(got) != batch*n {
			t.Fatalf("%s: %d outputs, want %d", model.Name(), len(got), batch*n)
		}
		for i := range got {
			al, be, x := float64(a[i]), float64(b[i]), float64(m[i])
			var want float64
			switch model.(type) {
			case Beta:
				want = distuv.Beta{Alpha: math.Exp(al), Beta: math.Exp(be)}.LogProb(x)
			case Gaussian:
				want = distuv.Normal{Mu: al, Sigma: math.Exp(be)}.LogProb(x)
			case Uniform:
				// Inside the support the density is 1/(hi−lo) wherever x is.
				want = distuv.Uniform{Min: al - math.Exp(be), Max: al + math.Exp(be)}.LogProb(al)
			}
			if d := math.Abs(float64(got[i]) - want); d > 2e-5+2e-6*math.Abs(want) {
				t.Errorf("%s: logP[%d] (a=%v b=%v m=%v) = %v, want %v (diff %.3g)", model.Name(), i, al, be, x, got[i], want, d)
			}
			if hf := model.LogDensityF64(al, be, x); math.Abs(hf-want) > 1e-9*math.Max(1, math.Abs(want)) && model.Name() != "uniform" {
				t.Errorf("%s: LogDensityF64 = %v, want %v", model.Name(), hf, want)
			}
		}
	}
}

func TestLogDensityGradcheck(t *testing.T) {
	const batch, n = 2, 12
	a, b, m := densityInputs(11, batch, n, 0.05, 0.95)
	for _, model := range []Model{Beta{}, Gaussian{}, Uniform{}} {
		inputs := []*tensor.Dense{optest.Dense(a, batch, n), optest.Dense(b, batch, n), optest.Dense(m, batch, n)}
		r := gradcheck.Check(t, logDensityBuild(model), inputs, gradcheck.Options{WRT: []int{0, 1}, MaxProbe: -1, Eps: 3e-3, Seed: 5})
		t.Logf("%s: %s", model.Name(), r)
	}
}

// TestBetaScoreClosedForm compares the gradients with
// d logP/da = α·(log x − ψ(α) + ψ(α+β)) and d logP/db = β·(log(1−x) − ψ(β) + ψ(α+β)).
func TestBetaScoreClosedForm(t *testing.T) {
	const batch, n = 3, 10
	a, b, m := densityInputs(21, batch, n, 0.001, 0.999)
	m[0], m[n] = float32(Eps), float32(1-Eps)
	a[1] = -4 // α ≈ 0.018
	b[2] = 3  // β ≈ 20
	inputs := []*tensor.Dense{optest.Dense(a, batch, n), optest.Dense(b, batch, n), optest.Dense(m, batch, n)}
	dy := optest.Uniform(4, batch*n, -1, 1)
	_, grads := optest.RunGraph(t, logDensityBuild(Beta{}), inputs, dy, 0, 1)
	for i := range dy {
		al, be, x := math.Exp(float64(a[i])), math.Exp(float64(b[i])), float64(m[i])
		pab := special.DigammaF64(al + be)
		wantA := float64(dy[i]) * al * (math.Log(x) - special.DigammaF64(al) + pab)
		wantB := float64(dy[i]) * be * (math.Log1p(-x) - special.DigammaF64(be) + pab)
		if d := math.Abs(float64(grads[0][i]) - wantA); d > 1e-4+1e-4*math.Abs(wantA) {
			t.Errorf("dlogP/da[%d] (α=%.4g β=%.4g x=%.4g) = %v, want %v", i, al, be, x, grads[0][i], wantA)
		}
		if d := math.Abs(float64(grads[1][i]) - wantB); d > 1e-4+1e-4*math.Abs(wantB) {
			t.Errorf("dlogP/db[%d] (α=%.4g β=%.4g x=%.4g) = %v, want %v", i, al, be, x, grads[1][i], wantB)
		}
	}
}

// TestGaussianUniformScoreClosedForm: Normal(a, e^b): d/da = z/σ, d/db = z² − 1;
// Uniform: d/da = 0, d/db = −1.
func TestGaussianUniformScoreClosedForm(t *testing.T) {
	const batch, n = 2, 9
	a, b, m := densityInputs(31, batch, n, 0.01, 0.99)
	inputs := []*tensor.Dense{optest.Dense(a, batch, n), optest.Dense(b, batch, n), optest.Dense(m, batch, n)}
	dy := optest.Uniform(6, batch*n, -1, 1)
	_, gg := optest.RunGraph(t, logDensityBuild(Gaussian{}), inputs, dy, 0, 1)
	_, gu := optest.RunGraph(t, logDensityBuild(Uniform{}), inputs, dy, 0, 1)
	for i := range dy {
		s := math.Exp(float64(b[i]))
		z := (float64(m[i]) - float64(a[i])) / s
		w := float64(dy[i])
		if d := math.Abs(float64(gg[0][i]) - w*z/s); d > 1e-4+1e-4*math.Abs(w*z/s) {
			t.Errorf("Gaussian dlogP/da[%d] = %v, want %v", i, gg[0][i], w*z/s)
		}
		if d := math.Abs(float64(gg[1][i]) - w*(z*z-1)); d > 1e-4+1e-4*math.Abs(w*(z*z-1)) {
			t.Errorf("Gaussian dlogP/db[%d] = %v, want %v", i, gg[1][i], w*(z*z-1))
		}
		if gu[0][i] != 0 || math.Abs(float64(gu[1][i])+w) > 1e-6 {
			t.Errorf("Uniform gradients [%d] = %v, %v, want 0, %v", i, gu[0][i], gu[1][i], -w)
		}
	}
}

func TestLogDensityErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 4), gorgonia.WithName("x"))
	y := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 5), gorgonia.WithName("y"))
	z := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(2, 4), gorgonia.WithName("z"))
	for _, model := range []Model{Beta{}, Gaussian{}, Uniform{}} {
		if _, err := model.LogDensity(x, x, y); err == nil {
			t.Errorf("%s: no error for mismatched shapes", model.Name())
		}
		if _, err := model.LogDensity(x, z, x); err == nil {
			t.Errorf("%s: no error for a float64 node", model.Name())
		}
		if _, err := model.LogDensity(x, nil, x); err == nil {
			t.Errorf("%s: no error for a nil node", model.Name())
		}
	}
	v := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(4), gorgonia.WithName("v"))
	if _, err := PaperObjective(v); err == nil {
		t.Error("PaperObjective: no error for a rank-1 logP")
	}
	if _, err := ReinforceObjective(nil); err == nil {
		t.Error("ReinforceObjective: no error for nil")
	}
}

func hostLSE(row []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}

func TestPaperObjective(t *testing.T) {
	const batch, n = 3, 7
	logP := optest.Uniform(41, batch*n, -4, 4)
	// Values whose exp overflows float32 (and float64) if not stabilised.
	for i := n; i < 2*n; i++ {
		logP[i] += 1000
	}
	logP[2*n] = -900
	build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return PaperObjective(in[0]) }
	out, grads := optest.RunGraph(t, build, []*tensor.Dense{optest.Dense(logP, batch, n)}, []float32{1})
	var want float64
	for r := 0; r < batch; r++ {
		want += hostLSE(logP[r*n:(r+1)*n]) / batch
	}
	if len(out) != 1 || math.Abs(float64(out[0])-want) > 1e-4*math.Abs(want) {
		t.Fatalf("PaperObjective = %v, want %v", out, want)
	}
	// The gradient is the softmax of each row, over B.
	for r := 0; r < batch; r++ {
		row := logP[r*n : (r+1)*n]
		lse := hostLSE(row)
		for i, v := range row {
			w := math.Exp(float64(v)-lse) / batch
			if g := float64(grads[0][r*n+i]); math.Abs(g-w) > 1e-6 {
				t.Errorf("d/dlogP[%d,%d] = %v, want softmax/B = %v", r, i, g, w)
			}
		}
	}
	// And finite differences, on moderate values.
	small := optest.Uniform(42, batch*n, -3, 3)
	gradcheck.Check(t, build, []*tensor.Dense{optest.Dense(small, batch, n)}, gradcheck.Options{MaxProbe: -1, Eps: 3e-3, Seed: 1})
}

func TestReinforceObjective(t *testing.T) {
	const batch, n = 4, 5
	logP := optest.Uniform(51, batch*n, -6, 2)
	build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return ReinforceObjective(in[0])
	}
	out, grads := optest.RunGraph(t, build, []*tensor.Dense{optest.Dense(logP, batch, n)}, []float32{1})
	var want float64
	for _, v := range logP {
		want += float64(v)
	}
	want /= batch
	if math.Abs(float64(out[0])-want) > 1e-5*math.Max(1, math.Abs(want)) {
		t.Fatalf("ReinforceObjective = %v, want %v", out[0], want)
	}
	for i, g := range grads[0] {
		if math.Abs(float64(g)-1.0/batch) > 1e-7 {
			t.Fatalf("d/dlogP[%d] = %v, want 1/B = %v", i, g, 1.0/batch)
		}
	}
	gradcheck.Check(t, build, []*tensor.Dense{optest.Dense(logP, batch, n)}, gradcheck.Options{MaxProbe: -1, Seed: 2})
}

// TestEndToEndGradient chains mix → Beta log-density → PaperObjective ×
// advantage and checks d/da_img, d/db_img against finite differences.
func TestEndToEndGradient(t *testing.T) {
	const batch, grid = 2, 2
	p, err := NewDatasetParams(grid, 3)
	if err != nil {
		t.Fatal(err)
	}
	aImg, bImg, m := densityInputs(61, batch, grid*grid, 0.05, 0.95)
	for _, obj := range []func(*gorgonia.Node) (*gorgonia.Node, error){PaperObjective, ReinforceObjective} {
		build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			mg, err := p.MixNode(in[0], in[1], 0.6)
			if err != nil {
				return nil, err
			}
			lp, err := Beta{}.LogDensity(mg.A, mg.B, in[2])
			if err != nil {
				return nil, err
			}
			o, err := obj(lp)
			if err != nil {
				return nil, err
			}
			adv := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("adv"), gorgonia.WithValue(float32(0.7)))
			return Advantage(o, adv)
		}
		inputs := []*tensor.Dense{optest.Dense(aImg, batch, grid*grid), optest.Dense(bImg, batch, grid*grid), optest.Dense(m, batch, grid*grid)}
		gradcheck.Check(t, build, inputs, gradcheck.Options{WRT: []int{0, 1}, MaxProbe: -1, Eps: 3e-3, Seed: 3})
	}
}
