package noisemask

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"gorgonia.org/gorgonia"
)

// Eps bounds every noise sample: samples are clamped into [Eps, 1−Eps] so that
// log x and log(1−x) of the Beta density stay finite and the mask scales each
// pixel by a factor in (0, 1), whatever the noise model.
const Eps = 1e-6

// Model is a noise model: a seeded sampler on the host and the per-pixel
// log-density as a gorgonia graph. a and b are the mixed parameters
// (image-level mixed with dataset-level, see [DatasetParams.Mix]); their
// meaning depends on the model (see [Beta], [Gaussian], [Uniform]).
type Model interface {
	// Name is "beta", "gaussian" or "uniform" ([ParseModel] reads it back).
	Name() string
	// Sample draws out[i] from the model with parameters a[i], b[i]
	// (len(a) == len(b) == len(out)), clamped into [Eps, 1−Eps]. The same rng
	// state gives the same samples. Non-finite parameters are an error.
	Sample(rng *rand.Rand, a, b, out []float32) error
	// LogDensity builds the elementwise log-density of the sample m (a
	// constant: it carries no gradient) under the parameters a and b, all
	// three float32 nodes of one shape (B×G² in the training loop). The
	// result has that shape and is differentiable in a and b.
	LogDensity(a, b, m *gorgonia.Node) (*gorgonia.Node, error)
	// LogDensityF64 is the same log-density on the host, in float64.
	LogDensityF64(a, b, x float64) float64
	// ParamsFor returns the parameters (a, b) of the noise whose mean and
	// standard deviation (before the clamp into [Eps, 1−Eps]) are mean and
	// std, or an error naming the range that model allows.
	ParamsFor(mean, std float64) (a, b float64, err error)
}

// ParseModel returns the noise model named "beta" (the default; "" also
// selects it), "gaussian" or "uniform" (case-insensitive).
func ParseModel(name string) (Model, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "beta":
		return Beta{}, nil
	case "gaussian", "normal":
		return Gaussian{}, nil
	case "uniform":
		return Uniform{}, nil
	}
	return nil, fmt.Errorf("noisemask: unknown noise model %q (want beta, gaussian or uniform)", name)
}

// Models lists the noise model names ParseModel accepts.
func Models() []string { return []string{"beta", "gaussian", "uniform"} }

// Beta is the paper's noise model: α = exp(a), β = exp(b), M ~ Beta(α, β),
// log Beta(x; α, β) = (α−1)·log x + (β−1)·log(1−x) − lnΓ(α) − lnΓ(β) + lnΓ(α+β).
// Its score is d logP/da = α·(log x − ψ(α) + ψ(α+β)) (and likewise for b).
// Samples are X/(X+Y) of two Gamma draws X ~ Γ(α, 1), Y ~ Γ(β, 1)
// (Marsaglia–Tsang; for a shape k < 1 the boost Γ(k) = Γ(k+1)·U^{1/k}),
// computed in log space so that very small α or β do not give 0/0.
type Beta struct{}

// Gaussian is M ~ Normal(μ = a, σ = exp(b)): torch.distributions.Normal(a,
// b.exp()). Only the scale is exponentiated, for the paper's reason for
// exponentiating (eq. 3: to make the parameter positive; a mean needs no such
// constraint). Samples are clamped into [Eps, 1−Eps] like the Beta's, so the
// mask keeps the Beta mask's range; the log-density is the Normal density at
// the clamped value, −(x−a)²/(2σ²) − b − ½·log 2π.
type Gaussian struct{}

// Uniform is M ~ U(a − exp(b), a + exp(b)): centre a, half-width exp(b)
// (the location–scale counterpart of [Gaussian]). Samples are clamped into
// [Eps, 1−Eps]. Its log-density is −log 2 − b inside the support; LogDensity
// returns that value everywhere (a clamped sample can fall outside the
// support, where the true density is 0 and its log −∞ would poison the
// gradient). Note that the score d logP/da is 0: a uniform's density does not
// depend on its location, so the policy gradient only moves b (the width).
type Uniform struct{}

func (Beta) Name() string     { return "beta" }
func (Gaussian) Name() string { return "gaussian" }
func (Uniform) Name() string  { return "uniform" }

func checkSample(name string, a, b, out []float32) error {
	if len(a) != len(b) || len(a) != len(out) {
		return fmt.Errorf("noisemask: %s sample: len(a) = %d, len(b) = %d, len(out) = %d, want all equal", name, len(a), len(b), len(out))
	}
	return nil
}

func checkParam(name string, i int, a, b float32) error {
	if math.IsNaN(float64(a)) || math.IsInf(float64(a), 0) || math.IsNaN(float64(b)) || math.IsInf(float64(b), 0) {
		return fmt.Errorf("noisemask: %s sample: parameter %d is not finite (a = %v, b = %v)", name, i, a, b)
	}
	return nil
}

func clamp01(x float64) float32 {
	if !(x >= Eps) { // also catches NaN
		x = Eps
	}
	if x > 1-Eps {
		x = 1 - Eps
	}
	return float32(x)
}

// Sample implements [Model].
func (Beta) Sample(rng *rand.Rand, a, b, out []float32) error {
	if err := checkSample("beta", a, b, out); err != nil {
		return err
	}
	for i := range out {
		if err := checkParam("beta", i, a[i], b[i]); err != nil {
			return err
		}
		out[i] = clamp01(SampleBetaF64(rng, math.Exp(float64(a[i])), math.Exp(float64(b[i]))))
	}
	return nil
}

// Sample implements [Model].
func (Gaussian) Sample(rng *rand.Rand, a, b, out []float32) error {
	if err := checkSample("gaussian", a, b, out); err != nil {
		return err
	}
	for i := range out {
		if err := checkParam("gaussian", i, a[i], b[i]); err != nil {
			return err
		}
		out[i] = clamp01(float64(a[i]) + math.Exp(float64(b[i]))*rng.NormFloat64())
	}
	return nil
}

// Sample implements [Model].
func (Uniform) Sample(rng *rand.Rand, a, b, out []float32) error {
	if err := checkSample("uniform", a, b, out); err != nil {
		return err
	}
	for i := range out {
		if err := checkParam("uniform", i, a[i], b[i]); err != nil {
			return err
		}
		out[i] = clamp01(float64(a[i]) + math.Exp(float64(b[i]))*(2*rng.Float64()-1))
	}
	return nil
}

// LogDensityF64 implements [Model]: log Beta(x; exp(a), exp(b)).
func (Beta) LogDensityF64(a, b, x float64) float64 {
	al, be := math.Exp(a), math.Exp(b)
	return (al-1)*math.Log(x) + (be-1)*math.Log1p(-x) - lgamma(al) - lgamma(be) + lgamma(al+be)
}

// LogDensityF64 implements [Model]: log Normal(x; a, exp(b)).
func (Gaussian) LogDensityF64(a, b, x float64) float64 {
	z := (x - a) * math.Exp(-b)
	return -0.5*z*z - b - 0.5*math.Log(2*math.Pi)
}

// LogDensityF64 implements [Model]: −log(2·exp(b)), regardless of x (see
// [Uniform]).
func (Uniform) LogDensityF64(a, b, x float64) float64 { return -math.Ln2 - b }

// ParamsFor implements [Model]: Beta(α, β) with mean m = α/(α+β) and
// variance s² = m(1−m)/(α+β+1), so α+β = m(1−m)/s² − 1; it needs
// 0 < m < 1 and 0 < s² < m(1−m).
func (Beta) ParamsFor(mean, std float64) (a, b float64, err error) {
	if !(mean > 0 && mean < 1) {
		return 0, 0, fmt.Errorf("noisemask: beta noise with mean %v: want a mean in (0, 1)", mean)
	}
	if !(std > 0 && std*std < mean*(1-mean)) {
		return 0, 0, fmt.Errorf("noisemask: beta noise with mean %v and std %v: want 0 < std < √(mean·(1−mean)) = %.4g", mean, std, math.Sqrt(mean*(1-mean)))
	}
	c := mean*(1-mean)/(std*std) - 1
	return math.Log(c * mean), math.Log(c * (1 - mean)), nil
}

// ParamsFor implements [Model]: a = mean, b = log std.
func (Gaussian) ParamsFor(mean, std float64) (a, b float64, err error) {
	if err := locationScale("gaussian", mean, std); err != nil {
		return 0, 0, err
	}
	return mean, math.Log(std), nil
}

// ParamsFor implements [Model]: a = mean, b = log(√3·std) (the half-width
// of a uniform with that standard deviation).
func (Uniform) ParamsFor(mean, std float64) (a, b float64, err error) {
	if err := locationScale("uniform", mean, std); err != nil {
		return 0, 0, err
	}
	return mean, math.Log(math.Sqrt(3) * std), nil
}

func locationScale(name string, mean, std float64) error {
	if math.IsNaN(mean) || math.IsInf(mean, 0) || !(std > 0) || math.IsInf(std, 0) {
		return fmt.Errorf("noisemask: %s noise with mean %v and std %v: want a finite mean and a finite std > 0", name, mean, std)
	}
	return nil
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// SampleBetaF64 draws one Beta(α, β) variate (α, β > 0) as X/(X+Y) with
// X ~ Γ(α), Y ~ Γ(β), without clamping. The result may be exactly 0 or 1 when
// α or β is tiny; the model samplers clamp it.
func SampleBetaF64(rng *rand.Rand, alpha, beta float64) float64 {
	lx := logGamma(rng, alpha)
	ly := logGamma(rng, beta)
	// X/(X+Y) = 1/(1 + exp(log Y − log X)).
	d := ly - lx
	if d > 0 {
		e := math.Exp(-d)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(d))
}

// SampleGammaF64 draws one Γ(k, 1) variate (k > 0) by Marsaglia and Tsang's
// method, with the boost Γ(k) = Γ(k+1)·U^{1/k} for k < 1.
func SampleGammaF64(rng *rand.Rand, k float64) float64 { return math.Exp(logGamma(rng, k)) }

// logGamma returns the log of a Γ(k, 1) draw.
func logGamma(rng *rand.Rand, k float64) float64 {
	if k < 1 {
		// Γ(k) = Γ(k+1)·U^{1/k}; in logs, U^{1/k} does not underflow.
		u := 1 - rng.Float64() // (0, 1]
		return logGamma(rng, k+1) + math.Log(u)/k
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := 1 - rng.Float64() // (0, 1]
		x2 := x * x
		if u < 1-0.0331*x2*x2 || math.Log(u) < 0.5*x2+d*(1-v+math.Log(v)) {
			return math.Log(d) + math.Log(v)
		}
	}
}
