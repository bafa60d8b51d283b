package special

import "math"

// MaxOrder is the highest derivative order of ψ that Polygamma evaluates (so
// LnGamma can be differentiated MaxOrder+1 times).
const MaxOrder = 10

// DigammaF64 is ψ(x) = d/dx ln Γ(x) in float64. For x > 0 it shifts x up to
// 10 with ψ(x) = ψ(x+1) − 1/x and then uses the asymptotic series; for x < 0
// the reflection ψ(x) = ψ(1−x) − π/tan(πx). Like PyTorch it gives −Inf at +0,
// +Inf at −0, NaN at the negative integers and at −Inf, +Inf at +Inf.
func DigammaF64(x float64) float64 {
	switch {
	case math.IsNaN(x) || math.IsInf(x, -1):
		return math.NaN()
	case math.IsInf(x, 1):
		return x
	case x == 0:
		if math.Signbit(x) {
			return math.Inf(1)
		}
		return math.Inf(-1)
	case x < 0:
		if x == math.Trunc(x) {
			return math.NaN()
		}
		// tan has period π: reduce the argument to keep it exact.
		r := x - math.Round(x)
		return DigammaF64(1-x) - math.Pi/math.Tan(math.Pi*r)
	}
	var shift float64
	for x < 10 {
		shift += 1 / x
		x++
	}
	inv := 1 / x
	inv2 := inv * inv
	// −Σ B_2k / (2k x^2k), k = 1..7
	series := inv2 * (1.0/12 - inv2*(1.0/120-inv2*(1.0/252-inv2*(1.0/240-inv2*(1.0/132-inv2*(691.0/32760-inv2*(1.0/12)))))))
	return math.Log(x) - 0.5*inv - series - shift
}

// TrigammaF64 is ψ₁(x) = ψ'(x) in float64 (see [PolygammaF64]).
func TrigammaF64(x float64) float64 { return PolygammaF64(1, x) }

// bernoulli2k holds B_2, B_4, ..., B_20.
var bernoulli2k = [...]float64{1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66, -691.0 / 2730, 7.0 / 6, -3617.0 / 510, 43867.0 / 798, -174611.0 / 330}

// PolygammaF64 is ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function, for
// 0 ≤ n ≤ MaxOrder (NaN for other n). For x > 0 it shifts x up to 25 with
// ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x+1) − (−1)ⁿ n!/xⁿ⁺¹ and then uses the asymptotic series; for
// n = 1 and x < 0 the reflection ψ₁(x) = π²/sin²(πx) − ψ₁(1−x), for n ≥ 2 and
// x < 0 the recurrence. At the poles (x = 0, −1, −2, ...) it gives +Inf for
// odd n; for even n, ±Inf at ±0 and NaN at the negative integers. At +Inf it
// gives 0.
func PolygammaF64(n int, x float64) float64 {
	if n == 0 {
		return DigammaF64(x)
	}
	if n < 0 || n > MaxOrder || math.IsNaN(x) || math.IsInf(x, -1) {
		return math.NaN()
	}
	sign := 1.0 // (−1)^(n+1)
	if n%2 == 0 {
		sign = -1
	}
	if math.IsInf(x, 1) {
		return sign * 0
	}
	if x <= 0 && x == math.Trunc(x) {
		switch {
		case n%2 == 1:
			return math.Inf(1)
		case x == 0 && !math.Signbit(x):
			return math.Inf(-1)
		case x == 0:
			return math.Inf(1)
		}
		return math.NaN()
	}
	if x < 0 && n == 1 {
		r := x - math.Round(x)
		s := math.Sin(math.Pi * r)
		return math.Pi*math.Pi/(s*s) - PolygammaF64(1, 1-x)
	}
	nfact := 1.0
	for i := 2; i <= n; i++ {
		nfact *= float64(i)
	}
	// ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x+k) + (−1)^(n+1) n! Σ_{j<k} 1/(x+j)^(n+1)
	var shift float64
	for x < 25 {
		shift += powInt(1/x, n+1)
		x++
	}
	inv := 1 / x
	inv2 := inv * inv
	// (n−1)!/xⁿ + n!/(2xⁿ⁺¹) + Σ B_2k (2k+n−1)!/(2k)! / x^(2k+n)
	sum := nfact/float64(n) + nfact*0.5*inv
	ratio := 1.0 // (2k+n−1)!/((2k)! (n−1)!) built incrementally, times (n−1)!
	pk := 1.0    // inv^(2k)
	for k := 1; k <= len(bernoulli2k); k++ {
		// (2k+n−1)!/(2k)! = (2k−2+n−1)!/(2k−2)! · (2k+n−2)(2k+n−1)/((2k−1)(2k))
		ratio *= float64((2*k+n-2)*(2*k+n-1)) / float64((2*k-1)*(2*k))
		pk *= inv2
		term := bernoulli2k[k-1] * ratio * pk * nfact / float64(n)
		sum += term
		if math.Abs(term) < 1e-17*math.Abs(sum) {
			break
		}
	}
	return sign * (sum*powInt(inv, n) + nfact*shift)
}

func powInt(b float64, e int) float64 {
	r := 1.0
	for e > 0 {
		if e&1 == 1 {
			r *= b
		}
		b *= b
		e >>= 1
	}
	return r
}

// LnGammaF64 is ln|Γ(x)| (math.Lgamma without the sign).
func LnGammaF64(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}
