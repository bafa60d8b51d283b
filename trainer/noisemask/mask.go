package noisemask

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Up-sampling modes (PyTorch's F.interpolate).
const (
	ModeNearest  = "nearest"  // src = min(floor(dst·in/out), in−1), PyTorch's legacy "nearest"
	ModeBilinear = "bilinear" // align_corners=False, half-pixel centres, edges clamped
)

// The noise-mask paper's mask settings: a 64×64 noise grid, up-sampled and
// blurred with a 13-pixel Gaussian kernel of σ 6.
const (
	DefaultGrid   = 64
	DefaultKernel = 13
	DefaultSigma  = 6.0
)

// MaskConfig describes how a G×G noise matrix becomes an image-sized mask.
type MaskConfig struct {
	Grid   int     // G, the side of the noise matrix (see [ParseGrid])
	Mode   string  // up-sampling: [ModeNearest] (default when empty) or [ModeBilinear]
	Kernel int     // Gaussian blur kernel size (odd); 0 turns the blur off
	Sigma  float64 // Gaussian blur standard deviation, > 0 when Kernel > 0
}

// DefaultMaskConfig is the paper's setting: G = 64, nearest up-sampling,
// Gaussian blur with kernel 13 and σ = 6.
func DefaultMaskConfig() MaskConfig {
	return MaskConfig{Grid: DefaultGrid, Mode: ModeNearest, Kernel: DefaultKernel, Sigma: DefaultSigma}
}

// ParseGrid reads a grid size: "32", "64" (the paper's values; any positive
// integer is accepted) or "pure" (one noise value per pixel: G = imageSize,
// for square images). imageSize must be positive.
func ParseGrid(s string, imageSize int) (int, error) {
	if imageSize < 1 {
		return 0, fmt.Errorf("noisemask: image size %d, want >= 1", imageSize)
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "pure" {
		return imageSize, nil
	}
	g, err := strconv.Atoi(s)
	if err != nil || g < 1 {
		return 0, fmt.Errorf("noisemask: grid %q: want a positive integer (32, 64) or \"pure\"", s)
	}
	return g, nil
}

// Upsample resizes b planes of g×g values (m, row-major) to h×w with PyTorch's
// F.interpolate semantics for mode "nearest" or "bilinear" (align_corners =
// False). It returns a new b×h×w slice.
func Upsample(m []float32, b, g, h, w int, mode string) ([]float32, error) {
	if b < 1 || g < 1 || h < 1 || w < 1 {
		return nil, fmt.Errorf("noisemask: Upsample: sizes b=%d g=%d h=%d w=%d, want all >= 1", b, g, h, w)
	}
	if len(m) != b*g*g {
		return nil, fmt.Errorf("noisemask: Upsample: len(m) = %d, want b·g·g = %d", len(m), b*g*g)
	}
	out := make([]float32, b*h*w)
	switch mode {
	case ModeNearest, "":
		ys, xs := nearestIndex(g, h), nearestIndex(g, w)
		for p := 0; p < b; p++ {
			src, dst := m[p*g*g:(p+1)*g*g], out[p*h*w:(p+1)*h*w]
			for y := 0; y < h; y++ {
				row := src[ys[y]*g : ys[y]*g+g]
				for x := 0; x < w; x++ {
					dst[y*w+x] = row[xs[x]]
				}
			}
		}
	case ModeBilinear:
		y0, y1, ly := linearIndex(g, h)
		x0, x1, lx := linearIndex(g, w)
		for p := 0; p < b; p++ {
			src, dst := m[p*g*g:(p+1)*g*g], out[p*h*w:(p+1)*h*w]
			for y := 0; y < h; y++ {
				r0, r1, fy := src[y0[y]*g:], src[y1[y]*g:], ly[y]
				for x := 0; x < w; x++ {
					fx := lx[x]
					top := (1-fx)*r0[x0[x]] + fx*r0[x1[x]]
					bot := (1-fx)*r1[x0[x]] + fx*r1[x1[x]]
					dst[y*w+x] = (1-fy)*top + fy*bot
				}
			}
		}
	default:
		return nil, fmt.Errorf("noisemask: Upsample: mode %q, want %q or %q", mode, ModeNearest, ModeBilinear)
	}
	return out, nil
}

// nearestIndex is PyTorch's nearest_idx: identity for equal sizes, dst/2 for
// an exact doubling, else min(floor(dst·scale), in−1) with scale = in/out in
// float32.
func nearestIndex(in, out int) []int {
	idx := make([]int, out)
	scale := float32(in) / float32(out)
	for d := range idx {
		switch {
		case in == out:
			idx[d] = d
		case out == 2*in:
			idx[d] = d >> 1
		default:
			idx[d] = min(int(float32(math.Floor(float64(float32(d)*scale)))), in-1)
		}
	}
	return idx
}

// linearIndex is PyTorch's source index for align_corners=False:
// src = max((dst+0.5)·scale − 0.5, 0) with scale = in/out rounded to float32
// and the rest in float64 (C++ promotes dst+0.5 to double), the weight
// λ = src − floor(src) rounded to float32 (measured against PyTorch 1.13).
func linearIndex(in, out int) (i0, i1 []int, lambda []float32) {
	i0, i1, lambda = make([]int, out), make([]int, out), make([]float32, out)
	scale := float64(float32(in) / float32(out))
	for d := 0; d < out; d++ {
		src := scale*(float64(d)+0.5) - 0.5
		if src < 0 {
			src = 0
		}
		k := int(src)
		if k > in-1 {
			k = in - 1
		}
		i0[d] = k
		if k < in-1 {
			i1[d] = k + 1
		} else {
			i1[d] = k
		}
		lambda[d] = float32(min(max(src-float64(k), 0), 1))
	}
	return i0, i1, lambda
}

// GaussianKernel1D is torchvision's 1-D Gaussian kernel: exp(−x²/(2σ²)) at
// x = −(k−1)/2 … (k−1)/2, normalised to sum 1.
func GaussianKernel1D(kernel int, sigma float64) ([]float64, error) {
	if kernel < 1 || kernel%2 == 0 {
		return nil, fmt.Errorf("noisemask: blur kernel size %d, want a positive odd number (0 turns the blur off)", kernel)
	}
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		return nil, fmt.Errorf("noisemask: blur sigma %v, want > 0", sigma)
	}
	k := make([]float64, kernel)
	half := float64(kernel-1) / 2
	var s float64
	for i := range k {
		x := (-half + float64(i)) / sigma
		k[i] = math.Exp(-0.5 * x * x)
		s += k[i]
	}
	for i := range k {
		k[i] /= s
	}
	return k, nil
}

// GaussianBlur blurs b planes of h×w values (row-major) as
// torchvision.transforms.functional.gaussian_blur(x, [kernel, kernel],
// [sigma, sigma]): a separable Gaussian with reflect padding of kernel/2 on
// every side (which needs h and w larger than kernel/2), accumulated in
// float64. kernel 0 turns the blur off and returns a copy. It returns a new
// slice.
func GaussianBlur(x []float32, b, h, w, kernel int, sigma float64) ([]float32, error) {
	if b < 1 || h < 1 || w < 1 {
		return nil, fmt.Errorf("noisemask: GaussianBlur: sizes b=%d h=%d w=%d, want all >= 1", b, h, w)
	}
	if len(x) != b*h*w {
		return nil, fmt.Errorf("noisemask: GaussianBlur: len(x) = %d, want b·h·w = %d", len(x), b*h*w)
	}
	if kernel == 0 {
		return append([]float32(nil), x...), nil
	}
	k, err := GaussianKernel1D(kernel, sigma)
	if err != nil {
		return nil, err
	}
	pad := kernel / 2
	if pad >= h || pad >= w {
		return nil, fmt.Errorf("noisemask: GaussianBlur: reflect padding %d needs an image larger than %d×%d, got %d×%d", pad, pad, pad, h, w)
	}
	reflect := func(i, n int) int {
		if i < 0 {
			return -i
		}
		if i >= n {
			return 2*(n-1) - i
		}
		return i
	}
	out := make([]float32, len(x))
	tmp := make([]float64, h*w)
	for p := 0; p < b; p++ {
		src, dst := x[p*h*w:(p+1)*h*w], out[p*h*w:(p+1)*h*w]
		// Horizontal pass.
		for y := 0; y < h; y++ {
			row := src[y*w : (y+1)*w]
			for xx := 0; xx < w; xx++ {
				var s float64
				for j, kv := range k {
					s += kv * float64(row[reflect(xx+j-pad, w)])
				}
				tmp[y*w+xx] = s
			}
		}
		// Vertical pass.
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				var s float64
				for j, kv := range k {
					s += kv * tmp[reflect(y+j-pad, h)*w+xx]
				}
				dst[y*w+xx] = float32(s)
			}
		}
	}
	return out, nil
}

// Apply multiplies mask (b×h×w) into every channel of x (b×c×h×w), in place:
// x' = x ⊙ M.
func Apply(x, mask []float32, b, c, h, w int) error {
	if b < 1 || c < 1 || h < 1 || w < 1 {
		return fmt.Errorf("noisemask: Apply: sizes b=%d c=%d h=%d w=%d, want all >= 1", b, c, h, w)
	}
	if len(x) != b*c*h*w {
		return fmt.Errorf("noisemask: Apply: len(x) = %d, want b·c·h·w = %d", len(x), b*c*h*w)
	}
	if len(mask) != b*h*w {
		return fmt.Errorf("noisemask: Apply: len(mask) = %d, want b·h·w = %d", len(mask), b*h*w)
	}
	hw := h * w
	for p := 0; p < b; p++ {
		m := mask[p*hw : (p+1)*hw]
		for ch := 0; ch < c; ch++ {
			plane := x[(p*c+ch)*hw : (p*c+ch+1)*hw]
			for i := range plane {
				plane[i] *= m[i]
			}
		}
	}
	return nil
}

// BuildMask turns b noise matrices (b×G×G, G = cfg.Grid) into b masks of
// h×w: up-sampling with cfg.Mode, then the Gaussian blur of cfg.Kernel and
// cfg.Sigma (skipped when cfg.Kernel is 0). Multiply the result into the
// images with [Apply].
func BuildMask(m []float32, b, h, w int, cfg MaskConfig) ([]float32, error) {
	if cfg.Grid < 1 {
		return nil, fmt.Errorf("noisemask: BuildMask: grid %d, want >= 1", cfg.Grid)
	}
	if cfg.Kernel < 0 {
		return nil, fmt.Errorf("noisemask: BuildMask: kernel %d, want >= 0", cfg.Kernel)
	}
	up, err := Upsample(m, b, cfg.Grid, h, w, cfg.Mode)
	if err != nil {
		return nil, err
	}
	if cfg.Kernel == 0 {
		return up, nil
	}
	return GaussianBlur(up, b, h, w, cfg.Kernel, cfg.Sigma)
}
