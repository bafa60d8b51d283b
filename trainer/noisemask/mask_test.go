package noisemask

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/trainer/ops/optest"
)

// The references are PyTorch's, computed in float64 (optest.RunTorch64): the
// exact values, the same on every CPU. The tolerances are what float32 allows
// the functions under test:
//
//   - nearest up-sampling copies values: exact;
//   - the blur accumulates in float64 and rounds once: u·|y| (plus 1e-13 for
//     float64's own rounding of 169-term sums);
//   - bilinear up-sampling runs in float32 (as PyTorch's float32 kernel
//     does, whose semantics it follows): bilinearTol.

// blurAtol bounds float64's rounding in a blur of values up to 2 in
// magnitude: 169 terms of 2^-53 relative error, times 2, with margin.
const blurAtol = 1e-13

// bilinearTol is the most a float32 bilinear up-sampling of a g×g grid of
// values in [-maxAbs, maxAbs] (as Upsample computes it) can differ from the
// exact one. The source coordinate scale·(d+½) − ½ uses scale = g/out
// rounded to float32, off by up to u·g, and the weight λ and 1 − λ round
// once more each: (g+2)·u per direction, on a difference of up to 2·maxAbs;
// the three blends (a product pair and a sum each) round 7 times on values
// up to maxAbs. Total (4g + 15)·u·maxAbs.
func bilinearTol(g int, maxAbs float64) float64 {
	return float64(4*g+15) * optest.U * maxAbs
}

// TestUpsampleVsTorch compares both modes with F.interpolate (one Python
// run for all cases).
func TestUpsampleVsTorch(t *testing.T) {
	cases := []struct{ b, g, h, w int }{
		{2, 5, 13, 11}, // non-integer scales
		{1, 4, 8, 8},   // exact doubling (PyTorch's special case)
		{2, 7, 7, 7},   // identity
		{2, 64, 224, 224},
		{1, 32, 224, 200},
		{1, 6, 4, 3}, // down-sampling
	}
	inputs := map[string][]float32{}
	var script strings.Builder
	for i, c := range cases {
		inputs[fmt.Sprint("m", i)] = optest.Uniform(uint64(c.g*1000+c.h), c.b*c.g*c.g, 0, 1)
		fmt.Fprintf(&script, "m = load('m%d', %d, 1, %d, %d)\n", i, c.b, c.g, c.g)
		fmt.Fprintf(&script, "save('nearest%d', F.interpolate(m, size=(%d, %d), mode='nearest'))\n", i, c.h, c.w)
		fmt.Fprintf(&script, "save('bilinear%d', F.interpolate(m, size=(%d, %d), mode='bilinear', align_corners=False))\n", i, c.h, c.w)
	}
	res := optest.RunTorch64(t, script.String(), inputs)
	for i, c := range cases {
		for _, mode := range []string{ModeNearest, ModeBilinear} {
			got, err := Upsample(inputs[fmt.Sprint("m", i)], c.b, c.g, c.h, c.w, mode)
			if err != nil {
				t.Fatal(err)
			}
			want := optest.MustGet64(t, res, fmt.Sprint(mode, i), c.b*c.h*c.w)
			tol := 0.0
			if mode == ModeBilinear {
				tol = bilinearTol(c.g, 1) // m in [0, 1)
			}
			optest.AssertClose64(t, fmt.Sprintf("%s %dx%d→%dx%d", mode, c.g, c.g, c.h, c.w), got, want, tol, 0)
		}
	}
}

// TestGaussianBlurVsTorchvision compares with
// torchvision.transforms.functional.gaussian_blur.
func TestGaussianBlurVsTorchvision(t *testing.T) {
	cases := []struct {
		b, h, w, k int
		sigma      float64
	}{
		{2, 20, 17, 13, 6},
		{1, 9, 12, 5, 1.3},
		{1, 7, 7, 13, 6}, // padding 6 on a 7×7 image: the largest reflect allows
		{3, 10, 8, 3, 0.5},
		{1, 11, 16, 1, 2},
	}
	inputs := map[string][]float32{}
	var script strings.Builder
	script.WriteString("import torchvision.transforms.functional as TF\n")
	for i, c := range cases {
		inputs[fmt.Sprint("x", i)] = optest.Uniform(uint64(c.h*c.w+c.k), c.b*c.h*c.w, -1, 2)
		fmt.Fprintf(&script, "save('y%d', TF.gaussian_blur(load('x%d', %d, 1, %d, %d), [%d, %d], [float(%v), float(%v)]))\n",
			i, i, c.b, c.h, c.w, c.k, c.k, c.sigma, c.sigma)
	}
	res := optest.RunTorch64(t, script.String(), inputs)
	for i, c := range cases {
		x := inputs[fmt.Sprint("x", i)]
		got, err := GaussianBlur(x, c.b, c.h, c.w, c.k, c.sigma)
		if err != nil {
			t.Fatal(err)
		}
		optest.AssertClose64(t, fmt.Sprintf("blur %dx%d k%d σ%g", c.h, c.w, c.k, c.sigma), got, optest.MustGet64(t, res, fmt.Sprint("y", i), len(x)), blurAtol, optest.U)
	}
}

// TestBuildMaskVsTorch runs the paper's pipeline (64×64 → 224×224 nearest,
// blur 13/6) and the bilinear variant against PyTorch.
func TestBuildMaskVsTorch(t *testing.T) {
	const b, g, h, w = 2, 64, 224, 224
	m := optest.Uniform(77, b*g*g, 0, 1)
	script := fmt.Sprintf(`import torchvision.transforms.functional as TF
m = load('m', %d, 1, %d, %d)
save('nearest', TF.gaussian_blur(F.interpolate(m, size=(%d, %d), mode='nearest'), [13, 13], [6.0, 6.0]))
save('bilinear', TF.gaussian_blur(F.interpolate(m, size=(%d, %d), mode='bilinear', align_corners=False), [13, 13], [6.0, 6.0]))
`, b, g, g, h, w, h, w)
	res := optest.RunTorch64(t, script, map[string][]float32{"m": m})
	for _, mode := range []string{ModeNearest, ModeBilinear} {
		cfg := DefaultMaskConfig()
		cfg.Mode = mode
		got, err := BuildMask(m, b, h, w, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// The blur averages (its kernel sums to 1): an up-sampling error
		// passes through it no larger.
		atol := blurAtol
		if mode == ModeBilinear {
			atol += bilinearTol(g, 1)
		}
		optest.AssertClose64(t, mode, got, optest.MustGet64(t, res, mode, b*h*w), atol, optest.U)
	}
}

func TestBlurProperties(t *testing.T) {
	// A constant stays constant (the kernel sums to 1, reflect padding).
	x := slices.Repeat([]float32{0.37}, 2*15*15)
	y, err := GaussianBlur(x, 2, 15, 15, 13, 6)
	if err != nil {
		t.Fatal(err)
	}
	optest.AssertClose(t, "blurred constant", y, x, 1e-6, 0)
	// Kernel 0 is a copy, not an alias.
	z, err := GaussianBlur(x, 2, 15, 15, 0, 0)
	if err != nil || !slices.Equal(z, x) || &z[0] == &x[0] {
		t.Errorf("kernel 0: want an equal copy (err %v)", err)
	}
	k, err := GaussianKernel1D(13, 6)
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for i := range k {
		s += k[i]
		if k[i] != k[len(k)-1-i] {
			t.Errorf("kernel not symmetric at %d", i)
		}
	}
	if math.Abs(s-1) > 1e-15 {
		t.Errorf("kernel sums to %v", s)
	}
	for _, bad := range []struct {
		h, w, k int
		sigma   float64
		n       int
	}{{15, 15, 12, 6, 225}, {15, 15, -3, 6, 225}, {15, 15, 13, 0, 225}, {6, 15, 13, 6, 90}, {15, 15, 13, 6, 224}} {
		if _, err := GaussianBlur(make([]float32, bad.n), 1, bad.h, bad.w, bad.k, bad.sigma); err == nil {
			t.Errorf("GaussianBlur(%d×%d, k %d, σ %v, len %d): no error", bad.h, bad.w, bad.k, bad.sigma, bad.n)
		}
	}
}

func TestUpsampleErrors(t *testing.T) {
	if _, err := Upsample(make([]float32, 8), 2, 2, 4, 4, "bicubic"); err == nil {
		t.Error("no error for mode bicubic")
	}
	if _, err := Upsample(make([]float32, 7), 2, 2, 4, 4, ModeNearest); err == nil {
		t.Error("no error for a short input")
	}
	if _, err := Upsample(make([]float32, 8), 2, 2, 0, 4, ModeNearest); err == nil {
		t.Error("no error for h = 0")
	}
	// Nearest 2×2 → 4×4 by hand.
	got, err := Upsample([]float32{1, 2, 3, 4}, 1, 2, 4, 4, ModeNearest)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}
	if !slices.Equal(got, want) {
		t.Errorf("nearest 2×2 → 4×4 = %v, want %v", got, want)
	}
}

func TestApply(t *testing.T) {
	const b, c, h, w = 2, 3, 2, 2
	x := make([]float32, b*c*h*w)
	for i := range x {
		x[i] = float32(i + 1)
	}
	mask := []float32{0, 0.5, 1, 2, 1, 1, 0.25, 0}
	orig := slices.Clone(x)
	if err := Apply(x, mask, b, c, h, w); err != nil {
		t.Fatal(err)
	}
	for i := range x {
		p, pix := i/(c*h*w), i%(h*w)
		if want := orig[i] * mask[p*h*w+pix]; x[i] != want {
			t.Fatalf("x'[%d] = %v, want %v", i, x[i], want)
		}
	}
	if err := Apply(x, mask[:7], b, c, h, w); err == nil {
		t.Error("no error for a short mask")
	}
	if err := Apply(x[:5], mask, b, c, h, w); err == nil {
		t.Error("no error for a short image")
	}
}

func TestBuildMaskComposes(t *testing.T) {
	m := optest.Uniform(5, 2*8*8, 0, 1)
	cfg := MaskConfig{Grid: 8, Mode: ModeBilinear, Kernel: 5, Sigma: 1.5}
	got, err := BuildMask(m, 2, 20, 24, cfg)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := Upsample(m, 2, 8, 20, 24, ModeBilinear)
	want, _ := GaussianBlur(up, 2, 20, 24, 5, 1.5)
	if !slices.Equal(got, want) {
		t.Error("BuildMask differs from Upsample then GaussianBlur")
	}
	cfg.Kernel = 0
	got, _ = BuildMask(m, 2, 20, 24, cfg)
	if !slices.Equal(got, up) {
		t.Error("BuildMask with kernel 0 differs from Upsample")
	}
	if _, err := BuildMask(m, 2, 20, 24, MaskConfig{Grid: 7, Kernel: 0}); err == nil {
		t.Error("no error for a grid that does not match the input")
	}
	if _, err := BuildMask(m, 2, 20, 24, MaskConfig{Grid: 8, Kernel: -1}); err == nil {
		t.Error("no error for kernel -1")
	}
}

func TestParseGrid(t *testing.T) {
	for s, want := range map[string]int{"32": 32, "64": 64, "pure": 224, " Pure ": 224, "7": 7} {
		g, err := ParseGrid(s, 224)
		if err != nil || g != want {
			t.Errorf("ParseGrid(%q) = %d, %v, want %d", s, g, err, want)
		}
	}
	for _, s := range []string{"", "0", "-3", "64x64", "big"} {
		if _, err := ParseGrid(s, 224); err == nil {
			t.Errorf("ParseGrid(%q): no error", s)
		}
	}
	if _, err := ParseGrid("pure", 0); err == nil {
		t.Error("ParseGrid with image size 0: no error")
	}
}
