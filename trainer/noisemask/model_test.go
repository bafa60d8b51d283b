package noisemask

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func TestParseModel(t *testing.T) {
	for name, want := range map[string]string{"": "beta", "beta": "beta", "Gaussian": "gaussian", " uniform ": "uniform", "normal": "gaussian"} {
		m, err := ParseModel(name)
		if err != nil {
			t.Fatalf("ParseModel(%q): %v", name, err)
		}
		if m.Name() != want {
			t.Errorf("ParseModel(%q) = %s, want %s", name, m.Name(), want)
		}
	}
	for _, name := range Models() {
		if m, err := ParseModel(name); err != nil || m.Name() != name {
			t.Errorf("ParseModel(%q) = %v, %v: does not round-trip", name, m, err)
		}
	}
	if _, err := ParseModel("poisson"); err == nil || !strings.Contains(err.Error(), "poisson") {
		t.Errorf("ParseModel(poisson): err = %v, want an error naming it", err)
	}
}

// momentsOf returns the mean and the (population) variance, in float64.
func momentsOf(x []float32) (mean, variance float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		d := float64(v) - mean
		variance += d * d
	}
	return mean, variance / float64(len(x))
}

func TestBetaSamplerMoments(t *testing.T) {
	const n = 200000
	for i, c := range [][2]float64{{0.5, 0.5}, {0.3, 2}, {2, 0.2}, {1, 1}, {2.5, 4}, {30, 10}, {0.08, 0.15}} {
		al, be := c[0], c[1]
		a := slices.Repeat([]float32{float32(math.Log(al))}, n)
		b := slices.Repeat([]float32{float32(math.Log(be))}, n)
		out := make([]float32, n)
		if err := (Beta{}).Sample(rand.New(rand.NewPCG(uint64(i), 7)), a, b, out); err != nil {
			t.Fatal(err)
		}
		// The parameters went through float32 logs: use those for the reference.
		al, be = math.Exp(float64(a[0])), math.Exp(float64(b[0]))
		wantMean := al / (al + be)
		wantVar := al * be / ((al + be) * (al + be) * (al + be + 1))
		mean, variance := momentsOf(out)
		// Standard error of the mean is sqrt(var/n); allow 5 of them.
		if d := math.Abs(mean - wantMean); d > 5*math.Sqrt(wantVar/n) {
			t.Errorf("Beta(%g, %g): mean %.5f, want %.5f (off by %.3g, %.1f standard errors)", al, be, mean, wantMean, d, d/math.Sqrt(wantVar/n))
		}
		if d := math.Abs(variance - wantVar); d > 0.02*wantVar {
			t.Errorf("Beta(%g, %g): variance %.6f, want %.6f (relative error %.3g)", al, be, variance, wantVar, d/wantVar)
		}
		for k, v := range out {
			if !(v >= float32(Eps) && v <= float32(1-Eps)) {
				t.Fatalf("Beta(%g, %g): sample %d = %v outside [Eps, 1−Eps]", al, be, k, v)
			}
		}
	}
}

// TestBetaSamplerKS compares the empirical distribution with gonum's CDF
// (Kolmogorov–Smirnov; the 0.1% critical value is 1.95/sqrt(n)).
func TestBetaSamplerKS(t *testing.T) {
	const n = 20000
	for i, c := range [][2]float64{{0.4, 0.7}, {3, 1.5}} {
		a := slices.Repeat([]float32{float32(math.Log(c[0]))}, n)
		b := slices.Repeat([]float32{float32(math.Log(c[1]))}, n)
		out := make([]float32, n)
		if err := (Beta{}).Sample(rand.New(rand.NewPCG(100+uint64(i), 1)), a, b, out); err != nil {
			t.Fatal(err)
		}
		ref := distuv.Beta{Alpha: math.Exp(float64(a[0])), Beta: math.Exp(float64(b[0]))}
		slices.Sort(out)
		var d float64
		for k, v := range out {
			f := ref.CDF(float64(v))
			d = math.Max(d, math.Max(math.Abs(f-float64(k)/n), math.Abs(f-float64(k+1)/n)))
		}
		if crit := 1.95 / math.Sqrt(n); d > crit {
			t.Errorf("Beta(%g, %g): KS distance %.4f > %.4f", c[0], c[1], d, crit)
		}
	}
}

func TestGammaSamplerMean(t *testing.T) {
	const n = 100000
	rng := rand.New(rand.NewPCG(3, 3))
	for _, k := range []float64{0.1, 0.6, 1, 3.3, 50} {
		var s, s2 float64
		for i := 0; i < n; i++ {
			x := SampleGammaF64(rng, k)
			s += x
			s2 += x * x
		}
		mean := s / n
		variance := s2/n - mean*mean
		if math.Abs(mean-k) > 5*math.Sqrt(k/n) {
			t.Errorf("Γ(%g): mean %.4f, want %g", k, mean, k)
		}
		// The variance's standard error is k·sqrt((2 + 6/k)/n) (excess kurtosis 6/k).
		if math.Abs(variance-k) > 5*k*math.Sqrt((2+6/k)/n) {
			t.Errorf("Γ(%g): variance %.4f, want %g", k, variance, k)
		}
	}
}

// TestBetaSamplerTinyShapes checks that α, β far below 1 (Γ draws that
// underflow as numbers) give samples almost all at the clamp bounds (the mass
// inside (ε, 1−ε) is about 2α·log(1/ε) ≈ 2e-4), never NaN.
func TestBetaSamplerTinyShapes(t *testing.T) {
	const n = 10000
	a := slices.Repeat([]float32{-12}, n)
	b := slices.Repeat([]float32{-12}, n)
	out := make([]float32, n)
	if err := (Beta{}).Sample(rand.New(rand.NewPCG(5, 5)), a, b, out); err != nil {
		t.Fatal(err)
	}
	lo, inside := 0, 0
	for i, v := range out {
		switch {
		case v == float32(Eps):
			lo++
		case v == float32(1-Eps):
		case v > float32(Eps) && v < float32(1-Eps):
			inside++
		default:
			t.Fatalf("sample %d = %v, outside [Eps, 1−Eps]", i, v)
		}
	}
	if inside > n/100 {
		t.Errorf("%d of %d samples inside (Eps, 1−Eps), want almost none for α = β = e^-12", inside, n)
	}
	if frac := float64(lo) / n; math.Abs(frac-0.5) > 0.03 {
		t.Errorf("fraction at the lower bound %.3f, want about 0.5 (α = β)", frac)
	}
}

func TestSamplersReproducible(t *testing.T) {
	const n = 257
	a := make([]float32, n)
	b := make([]float32, n)
	for i := range a {
		a[i] = float32(i%13)/6 - 1
		b[i] = float32(i%7)/3 - 1
	}
	for _, name := range Models() {
		m, _ := ParseModel(name)
		x1, x2, x3 := make([]float32, n), make([]float32, n), make([]float32, n)
		if err := m.Sample(rand.New(rand.NewPCG(42, 1)), a, b, x1); err != nil {
			t.Fatal(err)
		}
		if err := m.Sample(rand.New(rand.NewPCG(42, 1)), a, b, x2); err != nil {
			t.Fatal(err)
		}
		if err := m.Sample(rand.New(rand.NewPCG(43, 1)), a, b, x3); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x1, x2) {
			t.Errorf("%s: the same seed gave different samples", name)
		}
		if slices.Equal(x1, x3) {
			t.Errorf("%s: different seeds gave the same samples", name)
		}
	}
}

func TestGaussianUniformSamplers(t *testing.T) {
	const n = 200000
	rng := rand.New(rand.NewPCG(9, 9))
	// Parameters well inside (0, 1) so the clamp does not matter.
	mu, sd := 0.5, 0.08
	a := slices.Repeat([]float32{float32(mu)}, n)
	b := slices.Repeat([]float32{float32(math.Log(sd))}, n)
	out := make([]float32, n)
	if err := (Gaussian{}).Sample(rng, a, b, out); err != nil {
		t.Fatal(err)
	}
	sd = math.Exp(float64(b[0]))
	mean, variance := momentsOf(out)
	if math.Abs(mean-mu) > 5*sd/math.Sqrt(n) || math.Abs(variance-sd*sd) > 0.02*sd*sd {
		t.Errorf("Gaussian(%g, %g): mean %.5f variance %.6f, want %g and %.6f", mu, sd, mean, variance, mu, sd*sd)
	}
	half := 0.2
	b = slices.Repeat([]float32{float32(math.Log(half))}, n)
	if err := (Uniform{}).Sample(rng, a, b, out); err != nil {
		t.Fatal(err)
	}
	half = math.Exp(float64(b[0]))
	mean, variance = momentsOf(out)
	wantVar := half * half / 3
	if math.Abs(mean-mu) > 5*math.Sqrt(wantVar/n) || math.Abs(variance-wantVar) > 0.02*wantVar {
		t.Errorf("Uniform(%g ± %g): mean %.5f variance %.6f, want %g and %.6f", mu, half, mean, variance, mu, wantVar)
	}
	for _, v := range out {
		if float64(v) < mu-half-1e-6 || float64(v) > mu+half+1e-6 {
			t.Fatalf("Uniform sample %v outside [%g, %g]", v, mu-half, mu+half)
		}
	}
	// Wide distributions are clamped into [Eps, 1−Eps].
	a = slices.Repeat([]float32{0}, 1000)
	b = slices.Repeat([]float32{2}, 1000)
	for _, m := range []Model{Gaussian{}, Uniform{}} {
		x := make([]float32, 1000)
		if err := m.Sample(rng, a, b, x); err != nil {
			t.Fatal(err)
		}
		if lo, hi := slices.Min(x), slices.Max(x); lo != float32(Eps) || hi != float32(1-Eps) {
			t.Errorf("%s: samples span [%v, %v], want clamped to exactly [Eps, 1−Eps]", m.Name(), lo, hi)
		}
	}
}

func TestSampleErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, m := range []Model{Beta{}, Gaussian{}, Uniform{}} {
		if err := m.Sample(rng, make([]float32, 3), make([]float32, 3), make([]float32, 4)); err == nil {
			t.Errorf("%s: no error for mismatched sizes", m.Name())
		}
		if err := m.Sample(rng, []float32{float32(math.NaN())}, []float32{0}, make([]float32, 1)); err == nil {
			t.Errorf("%s: no error for a NaN parameter", m.Name())
		}
		if err := m.Sample(rng, []float32{0}, []float32{float32(math.Inf(1))}, make([]float32, 1)); err == nil {
			t.Errorf("%s: no error for an infinite parameter", m.Name())
		}
	}
}

func TestLogDensityF64(t *testing.T) {
	for _, c := range [][3]float64{{-1, 0.5, 0.3}, {0.7, -2, 1e-6}, {1.2, 1.5, 1 - 1e-6}, {-0.3, -0.4, 0.5}} {
		a, b, x := c[0], c[1], c[2]
		if got, want := (Beta{}).LogDensityF64(a, b, x), (distuv.Beta{Alpha: math.Exp(a), Beta: math.Exp(b)}).LogProb(x); math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("Beta(%v,%v) at %v: %v, want %v", a, b, x, got, want)
		}
		if got, want := (Gaussian{}).LogDensityF64(a, b, x), (distuv.Normal{Mu: a, Sigma: math.Exp(b)}).LogProb(x); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("Gaussian(%v,%v) at %v: %v, want %v", a, b, x, got, want)
		}
		u := distuv.Uniform{Min: a - math.Exp(b), Max: a + math.Exp(b)}
		if got, want := (Uniform{}).LogDensityF64(a, b, a), u.LogProb(a); math.Abs(got-want) > 1e-12 {
			t.Errorf("Uniform(%v,%v): %v, want %v", a, b, got, want)
		}
	}
}

// TestParamsForMoments samples each model at the parameters ParamsFor gives
// and compares the samples' mean and standard deviation with what was asked.
func TestParamsForMoments(t *testing.T) {
	const n = 200000
	for i, c := range []struct {
		model     Model
		mean, std float64
	}{
		{Beta{}, 0.8, 0.1}, {Beta{}, 0.5, 0.2}, {Beta{}, 0.95, 0.03}, {Beta{}, 0.2, 0.3},
		{Gaussian{}, 0.6, 0.1}, {Uniform{}, 0.5, 0.1}, {Uniform{}, 0.7, 0.05},
	} {
		a, b, err := c.model.ParamsFor(c.mean, c.std)
		if err != nil {
			t.Fatalf("%s.ParamsFor(%g, %g): %v", c.model.Name(), c.mean, c.std, err)
		}
		as := slices.Repeat([]float32{float32(a)}, n)
		bs := slices.Repeat([]float32{float32(b)}, n)
		out := make([]float32, n)
		if err := c.model.Sample(rand.New(rand.NewPCG(uint64(i), 11)), as, bs, out); err != nil {
			t.Fatal(err)
		}
		mean, variance := momentsOf(out)
		if d := math.Abs(mean - c.mean); d > 5*c.std/math.Sqrt(n) {
			t.Errorf("%s at ParamsFor(%g, %g) = (%.4f, %.4f): sample mean %.5f", c.model.Name(), c.mean, c.std, a, b, mean)
		}
		if d := math.Abs(math.Sqrt(variance) - c.std); d > 0.01*c.std {
			t.Errorf("%s at ParamsFor(%g, %g) = (%.4f, %.4f): sample std %.5f", c.model.Name(), c.mean, c.std, a, b, math.Sqrt(variance))
		}
	}
}

func TestParamsForErrors(t *testing.T) {
	for _, c := range []struct {
		model     Model
		mean, std float64
		want      string
	}{
		{Beta{}, 1, 0.1, "mean in (0, 1)"}, {Beta{}, 0, 0.1, "mean in (0, 1)"}, {Beta{}, math.NaN(), 0.1, "mean in (0, 1)"},
		{Beta{}, 0.8, 0.4, "std < √(mean·(1−mean)) = 0.4"}, {Beta{}, 0.8, 0, "0 < std"},
		{Gaussian{}, 0.5, -1, "std > 0"}, {Uniform{}, math.Inf(1), 0.1, "finite mean"},
	} {
		if _, _, err := c.model.ParamsFor(c.mean, c.std); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s.ParamsFor(%v, %v): err = %v, want one saying %q", c.model.Name(), c.mean, c.std, err, c.want)
		}
	}
}

func TestNewDatasetParamsAt(t *testing.T) {
	p, err := NewDatasetParamsAt(3, 2.5, -0.5)
	if err != nil {
		t.Fatal(err)
	}
	if p.Cells() != 9 || len(p.A) != 9 || len(p.B) != 9 {
		t.Fatalf("grid 3: %d cells, %d/%d values", p.Cells(), len(p.A), len(p.B))
	}
	for i := range p.A {
		if p.A[i] != 2.5 || p.B[i] != -0.5 {
			t.Fatalf("cell %d: a = %v, b = %v, want 2.5, -0.5", i, p.A[i], p.B[i])
		}
	}
	if _, err := NewDatasetParamsAt(0, 1, 1); err == nil {
		t.Error("grid 0: no error")
	}
	if _, err := NewDatasetParamsAt(2, float32(math.NaN()), 1); err == nil || !strings.Contains(err.Error(), "finite") {
		t.Errorf("a = NaN: err = %v", err)
	}
}
