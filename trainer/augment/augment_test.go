package augment_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/trainer/augment"
)

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func ramp(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i%251) + 1 // never 0
	}
	return x
}

func TestCutoutZeroesExactlyTheClippedSquare(t *testing.T) {
	const n, c, h, w = 64, 3, 9, 12
	for _, size := range []int{1, 4, 5, 8, 30} {
		x := ramp(n * c * h * w)
		orig := slices.Clone(x)
		boxes, err := augment.Cutout(x, n, c, h, w, size, seeded(uint64(size)))
		if err != nil {
			t.Fatal(err)
		}
		clipped := 0
		for i, b := range boxes {
			// The box is a size×size square around a pixel, clipped.
			if b.Y0 < 0 || b.X0 < 0 || b.Y1 > h || b.X1 > w || b.Y1 <= b.Y0 || b.X1 <= b.X0 {
				t.Fatalf("size %d image %d: box %+v outside the %d×%d image or empty", size, i, b, h, w)
			}
			if b.Y1-b.Y0 > size || b.X1-b.X0 > size {
				t.Fatalf("size %d image %d: box %+v larger than the square", size, i, b)
			}
			if b.Area() < size*size {
				clipped++
			}
			if (b.Y0 > 0 && b.Y1 < h && b.Y1-b.Y0 != size) || (b.X0 > 0 && b.X1 < w && b.X1-b.X0 != size) {
				t.Fatalf("size %d image %d: box %+v is not a size-%d square clipped at a border", size, i, b, size)
			}
			for ch := range c {
				for y := range h {
					for xx := range w {
						j := ((i*c+ch)*h+y)*w + xx
						want := orig[j]
						if b.Contains(y, xx) {
							want = 0
						}
						if x[j] != want {
							t.Fatalf("size %d image %d channel %d (%d,%d): %v, want %v", size, i, ch, y, xx, x[j], want)
						}
					}
				}
			}
		}
		if size > 1 && clipped == 0 {
			t.Fatalf("size %d: no box clipped at a border in %d images", size, n)
		}
	}
}

func TestCutoutSeedAndMask(t *testing.T) {
	const n, c, h, w, size = 8, 2, 16, 16, 6
	a, b, m := ramp(n*c*h*w), ramp(n*c*h*w), ramp(n*c*h*w)
	if _, err := augment.Cutout(a, n, c, h, w, size, seeded(7)); err != nil {
		t.Fatal(err)
	}
	if _, err := augment.Cutout(b, n, c, h, w, size, seeded(7)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave different cutouts")
	}
	mask, err := augment.CutoutMask(n, h, w, size, seeded(7))
	if err != nil {
		t.Fatal(err)
	}
	if err := augment.ApplyMask(m, mask, n, c, h, w); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, m) {
		t.Fatal("ApplyMask(CutoutMask) differs from Cutout with the same seed")
	}
	d := ramp(n * c * h * w)
	if _, err := augment.Cutout(d, n, c, h, w, size, seeded(8)); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a, d) {
		t.Fatal("seeds 7 and 8 gave the same cutouts")
	}
	// Uniform centres: every pixel is erased about equally often away from
	// the borders; the centre pixel's rate is size²/(h·w) = 36/256.
	hits := 0
	const trials = 4000
	for i := range trials {
		mk, _ := augment.CutoutMask(1, h, w, size, seeded(uint64(1000+i)))
		if mk[8*w+8] == 0 {
			hits++
		}
	}
	if rate := float64(hits) / trials; math.Abs(rate-36.0/256) > 0.02 {
		t.Fatalf("centre pixel erased in %.3f of the images, want about %.3f", rate, 36.0/256)
	}
}

func TestApplyMaskBroadcast(t *testing.T) {
	const n, c, h, w = 2, 3, 2, 3
	x := ramp(n * c * h * w)
	orig := slices.Clone(x)
	mask := []float32{1, 0, 0.5, 0, 1, 1, 0, 0, 0, 1, 1, 1}
	if err := augment.ApplyMask(x, mask, n, c, h, w); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		for ch := range c {
			for p := range h * w {
				j := (i*c+ch)*h*w + p
				if want := orig[j] * mask[i*h*w+p]; x[j] != want {
					t.Fatalf("x[%d,%d,%d] = %v, want %v", i, ch, p, x[j], want)
				}
			}
		}
	}
}

func oneHot(labels []int, k int) []float32 {
	t := make([]float32, len(labels)*k)
	for i, l := range labels {
		t[i*k+l] = 1
	}
	return t
}

// TestCutMixAreaRatio: each image's pixels come from itself and its
// partner, and each target weight is exactly that source's pixel share.
func TestCutMixAreaRatio(t *testing.T) {
	const n, c, h, w, k = 16, 2, 13, 10, 16
	// Image i is filled with the value i+1 (each image distinguishable),
	// and has the one-hot target i (each source distinguishable).
	x := make([]float32, n*c*h*w)
	for i := range n {
		for j := range c * h * w {
			x[i*c*h*w+j] = float32(i + 1)
		}
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i
	}
	targets := oneHot(labels, k)
	xc, tc := slices.Clone(x), slices.Clone(targets)
	nonTrivial := 0
	for trial := range 200 {
		alpha := []float64{0.2, 1, 5}[trial%3]
		mix, err := augment.CutMixDetail(x, targets, n, c, h, w, k, alpha, seeded(uint64(trial)))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x, xc) || !slices.Equal(targets, tc) {
			t.Fatal("CutMix modified its inputs")
		}
		if mix.Lambda < 1 && mix.Lambda > 0 {
			nonTrivial++
		}
		for i := range n {
			counts := make([]float64, n)
			for j := range c * h * w {
				v := mix.X[i*c*h*w+j]
				src := int(v) - 1
				if src != i && src != mix.Perm[i] {
					t.Fatalf("trial %d image %d: pixel from image %d, partner is %d", trial, i, src, mix.Perm[i])
				}
				counts[src]++
			}
			var sum float64
			for q := range k {
				got := float64(mix.Targets[i*k+q])
				want := counts[q] / float64(c*h*w)
				if math.Abs(got-want) > 1e-6 {
					t.Fatalf("trial %d image %d: target %d is %v, pixel share %v", trial, i, q, got, want)
				}
				sum += got
			}
			if math.Abs(sum-1) > 1e-6 {
				t.Fatalf("trial %d image %d: targets sum to %v", trial, i, sum)
			}
		}
		if want := 1 - float64(mix.Box.Area())/float64(h*w); mix.Lambda != want {
			t.Fatalf("trial %d: λ' = %v, box gives %v", trial, mix.Lambda, want)
		}
	}
	if nonTrivial < 100 {
		t.Fatalf("only %d of 200 mixes pasted a non-empty box", nonTrivial)
	}
}

func TestCutMixSeedAndSoftTargets(t *testing.T) {
	const n, c, h, w, k = 5, 1, 8, 8, 3
	x := ramp(n * c * h * w)
	targets := make([]float32, n*k)
	for i := range n {
		targets[i*k], targets[i*k+1], targets[i*k+2] = 0.2, 0.3, 0.5 // soft, sums to 1
	}
	x1, t1, err := augment.CutMix(x, targets, n, c, h, w, k, 1, seeded(3))
	if err != nil {
		t.Fatal(err)
	}
	x2, t2, err := augment.CutMix(x, targets, n, c, h, w, k, 1, seeded(3))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x1, x2) || !slices.Equal(t1, t2) {
		t.Fatal("the same seed gave different mixes")
	}
	for i := range n {
		if s := t1[i*k] + t1[i*k+1] + t1[i*k+2]; math.Abs(float64(s)-1) > 1e-6 {
			t.Fatalf("image %d: soft targets sum to %v", i, s)
		}
	}
}

// TestCutMixStatistics: Beta(α, α) λ; the pasted share is 1 − λ before
// clipping, less after. Small α mixes little or almost everything; α = 1
// gives a uniform λ.
func TestCutMixStatistics(t *testing.T) {
	rng := seeded(11)
	const draws = 20000
	for _, alpha := range []float64{0.05, 1, 10} {
		var mean, m2 float64
		extreme := 0
		for range draws {
			l := augment.Beta(rng, alpha, alpha)
			if math.IsNaN(l) || l < 0 || l > 1 {
				t.Fatalf("α=%v: Beta draw %v", alpha, l)
			}
			mean += l / draws
			m2 += l * l / draws
			if l < 0.05 || l > 0.95 {
				extreme++
			}
		}
		variance := m2 - mean*mean
		wantVar := 1 / (4 * (2*alpha + 1)) // Beta(α, α): mean 1/2, variance 1/(4(2α+1))
		if math.Abs(mean-0.5) > 0.01 || math.Abs(variance-wantVar) > 0.01 {
			t.Fatalf("α=%v: mean %.4f variance %.4f, want 0.5 and %.4f", alpha, mean, variance, wantVar)
		}
		frac := float64(extreme) / draws
		switch {
		case alpha < 1 && frac < 0.8:
			t.Fatalf("α=%v: only %.2f of λ within 0.05 of 0 or 1", alpha, frac)
		case alpha > 1 && frac > 0.01:
			t.Fatalf("α=%v: %.2f of λ within 0.05 of 0 or 1", alpha, frac)
		}
	}
	// The own-image share λ' of CutMix at α = 1: at least λ (clipping only
	// shrinks the box), so its mean lies above 1/2.
	const n, c, h, w, k = 2, 1, 32, 32, 2
	x := ramp(n * c * h * w)
	tg := oneHot([]int{0, 1}, k)
	var mean float64
	const trials = 3000
	for i := range trials {
		m, err := augment.CutMixDetail(x, tg, n, c, h, w, k, 1, seeded(uint64(i)))
		if err != nil {
			t.Fatal(err)
		}
		mean += m.Lambda / trials
	}
	if mean < 0.55 || mean > 0.8 {
		t.Fatalf("mean own share %.3f at α = 1, want in (0.55, 0.8)", mean)
	}
}

func TestErrors(t *testing.T) {
	rng := seeded(1)
	x := make([]float32, 2*3*4*4)
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"cutout length", func() error { _, err := augment.Cutout(x[:5], 2, 3, 4, 4, 2, rng); return err }(), "want 96"},
		{"cutout size", func() error { _, err := augment.Cutout(x, 2, 3, 4, 4, 0, rng); return err }(), "at least 1"},
		{"cutout rng", func() error { _, err := augment.Cutout(x, 2, 3, 4, 4, 2, nil); return err }(), "rand.Rand"},
		{"cutout mask shape", func() error { _, err := augment.CutoutMask(0, 4, 4, 2, rng); return err }(), "positive"},
		{"mask length", augment.ApplyMask(x, make([]float32, 3), 2, 3, 4, 4), "want 32"},
		{"mask batch", augment.ApplyMask(x, make([]float32, 32), 2, -3, 4, 4), "positive"},
		{"cutmix targets", func() error { _, _, err := augment.CutMix(x, make([]float32, 3), 2, 3, 4, 4, 2, 1, rng); return err }(), "want 4"},
		{"cutmix alpha", func() error { _, _, err := augment.CutMix(x, make([]float32, 4), 2, 3, 4, 4, 2, 0, rng); return err }(), "alpha"},
		{"cutmix NaN alpha", func() error {
			_, _, err := augment.CutMix(x, make([]float32, 4), 2, 3, 4, 4, 2, math.NaN(), rng)
			return err
		}(), "alpha"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, c.err, c.want)
		}
	}
}
