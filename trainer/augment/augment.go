package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// checkBatch validates a batch's dimensions and length.
func checkBatch(what string, x []float32, n, c, h, w int) error {
	if n <= 0 || c <= 0 || h <= 0 || w <= 0 {
		return fmt.Errorf("augment: %s: batch shape %d×%d×%d×%d, want every dimension positive", what, n, c, h, w)
	}
	if len(x) != n*c*h*w {
		return fmt.Errorf("augment: %s: %d values given for a batch of %d×%d×%d×%d, want %d", what, len(x), n, c, h, w, n*c*h*w)
	}
	return nil
}

func checkRNG(what string, rng *rand.Rand) error {
	if rng == nil {
		return fmt.Errorf("augment: %s: nil *rand.Rand (give a seeded source, e.g. rand.New(rand.NewPCG(seed, 0)))", what)
	}
	return nil
}

// Box is a half-open pixel rectangle: rows [Y0, Y1), columns [X0, X1).
type Box struct{ Y0, Y1, X0, X1 int }

// Area is the number of pixels in the box.
func (b Box) Area() int { return (b.Y1 - b.Y0) * (b.X1 - b.X0) }

// Contains says whether pixel (y, x) lies in the box.
func (b Box) Contains(y, x int) bool { return y >= b.Y0 && y < b.Y1 && x >= b.X0 && x < b.X1 }

// clippedBox is a box of side sh×sw whose centre is (cy, cx), clipped to
// the image: rows [cy − sh/2, cy − sh/2 + sh) ∩ [0, h).
func clippedBox(cy, cx, sh, sw, h, w int) Box {
	y0, x0 := cy-sh/2, cx-sw/2
	return Box{Y0: clamp(y0, 0, h), Y1: clamp(y0+sh, 0, h), X0: clamp(x0, 0, w), X1: clamp(x0+sw, 0, w)}
}

func clamp(v, lo, hi int) int { return min(max(v, lo), hi) }

// CutoutBoxes draws the Cutout square of each of n images h×w: a centre
// uniform over the pixels (row, then column, image after image), a square
// of side size around it (rows cy − size/2 to cy − size/2 + size − 1; for an
// even size exactly DeVries & Taylor's box), clipped at the borders, so
// near an edge less than size² pixels are erased.
func CutoutBoxes(n, h, w, size int, rng *rand.Rand) ([]Box, error) {
	if n <= 0 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("augment: cutout: %d images of %d×%d, want positive sizes", n, h, w)
	}
	if size <= 0 {
		return nil, fmt.Errorf("augment: cutout: square side %d, want at least 1", size)
	}
	if err := checkRNG("cutout", rng); err != nil {
		return nil, err
	}
	boxes := make([]Box, n)
	for i := range boxes {
		cy, cx := rng.IntN(h), rng.IntN(w)
		boxes[i] = clippedBox(cy, cx, size, size, h, w)
	}
	return boxes, nil
}

// CutoutMask returns n masks h×w (n×h×w, row-major): 0 inside each image's
// Cutout square, 1 elsewhere. For the same rng state, ApplyMask with these
// masks does exactly what Cutout does.
func CutoutMask(n, h, w, size int, rng *rand.Rand) ([]float32, error) {
	boxes, err := CutoutBoxes(n, h, w, size, rng)
	if err != nil {
		return nil, err
	}
	mask := make([]float32, n*h*w)
	for i := range mask {
		mask[i] = 1
	}
	for i, b := range boxes {
		for y := b.Y0; y < b.Y1; y++ {
			clear(mask[i*h*w+y*w+b.X0 : i*h*w+y*w+b.X1])
		}
	}
	return mask, nil
}

// Cutout sets, in place, one square of side size per image of x (N×C×H×W)
// to 0 in every channel, at a uniformly random centre, clipped at the
// borders (see CutoutBoxes). It returns the squares.
func Cutout(x []float32, n, c, h, w, size int, rng *rand.Rand) ([]Box, error) {
	if err := checkBatch("cutout", x, n, c, h, w); err != nil {
		return nil, err
	}
	boxes, err := CutoutBoxes(n, h, w, size, rng)
	if err != nil {
		return nil, err
	}
	for i, b := range boxes {
		for ch := range c {
			plane := x[(i*c+ch)*h*w:]
			for y := b.Y0; y < b.Y1; y++ {
				clear(plane[y*w+b.X0 : y*w+b.X1])
			}
		}
	}
	return boxes, nil
}

// ApplyMask multiplies x (N×C×H×W) in place by mask (N×H×W), the same mask
// for every channel of an image: x[i,c,y,x] *= mask[i,y,x].
func ApplyMask(x, mask []float32, n, c, h, w int) error {
	if err := checkBatch("apply mask", x, n, c, h, w); err != nil {
		return err
	}
	if len(mask) != n*h*w {
		return fmt.Errorf("augment: apply mask: %d mask values for %d images of %d×%d, want %d (N×H×W)", len(mask), n, h, w, n*h*w)
	}
	hw := h * w
	for i := range n {
		m := mask[i*hw : (i+1)*hw]
		for ch := range c {
			plane := x[(i*c+ch)*hw : (i*c+ch+1)*hw]
			for j, v := range m {
				plane[j] *= v
			}
		}
	}
	return nil
}

// Mix describes one CutMix: the mixed batch and targets, the permutation
// (image i received the box from image Perm[i]), the box (the same for the
// whole batch), and Lambda, the share of each image that is its own
// (1 − box area / (H·W)), which is the weight of its own target.
type Mix struct {
	X, Targets []float32
	Perm       []int
	Box        Box
	Lambda     float64
}

// CutMix mixes a batch as Yun et al. (2019) and timm do: λ ~ Beta(α, α); a
// box of sides ⌊H·√(1−λ)⌋ × ⌊W·√(1−λ)⌋ centred at a uniformly random
// pixel, clipped at the borders; every image i gets that box from image
// perm[i] of a random permutation of the batch; its targets become
// λ'·t[i] + (1−λ')·t[perm[i]] where λ' = 1 − (clipped box area)/(H·W), so
// the target mass of each source equals its share of the pixels exactly.
// x (N×C×H×W) and targets (N×K) are not modified; new slices are returned.
func CutMix(x, targets []float32, n, c, h, w, k int, alpha float64, rng *rand.Rand) (xOut, tOut []float32, err error) {
	m, err := CutMixDetail(x, targets, n, c, h, w, k, alpha, rng)
	if err != nil {
		return nil, nil, err
	}
	return m.X, m.Targets, nil
}

// CutMixDetail is CutMix returning the permutation, box and λ' as well.
// Random draws, in order: λ, the centre row and column, the permutation.
func CutMixDetail(x, targets []float32, n, c, h, w, k int, alpha float64, rng *rand.Rand) (*Mix, error) {
	if err := checkBatch("cutmix", x, n, c, h, w); err != nil {
		return nil, err
	}
	if k <= 0 || len(targets) != n*k {
		return nil, fmt.Errorf("augment: cutmix: %d target values for %d images and %d classes, want %d (N×K, K ≥ 1)", len(targets), n, k, n*k)
	}
	if !(alpha > 0) || math.IsInf(alpha, 0) {
		return nil, fmt.Errorf("augment: cutmix: alpha %v, want a finite value > 0", alpha)
	}
	if err := checkRNG("cutmix", rng); err != nil {
		return nil, err
	}
	lam := Beta(rng, alpha, alpha)
	cut := math.Sqrt(1 - lam)
	ch, cw := int(float64(h)*cut), int(float64(w)*cut)
	cy, cx := rng.IntN(h), rng.IntN(w)
	// timm: bbx1 = clip(cx − cw//2), bbx2 = clip(cx + cw//2); the same for
	// even sides as clippedBox, which keeps odd sides exact too.
	box := clippedBox(cy, cx, ch, cw, h, w)
	perm := rng.Perm(n)

	out := &Mix{X: append([]float32(nil), x...), Targets: make([]float32, n*k), Perm: perm, Box: box}
	out.Lambda = 1 - float64(box.Area())/float64(h*w)
	hw := h * w
	for i, j := range perm {
		for ch := range c {
			dst := out.X[(i*c+ch)*hw:]
			src := x[(j*c+ch)*hw:]
			for y := box.Y0; y < box.Y1; y++ {
				copy(dst[y*w+box.X0:y*w+box.X1], src[y*w+box.X0:y*w+box.X1])
			}
		}
		for q := range k {
			out.Targets[i*k+q] = float32(out.Lambda*float64(targets[i*k+q]) + (1-out.Lambda)*float64(targets[j*k+q]))
		}
	}
	return out, nil
}

// Beta draws from the Beta(a, b) distribution (a, b > 0) as X/(X+Y) with
// X ~ Gamma(a), Y ~ Gamma(b), in log space so that tiny shapes (mass near
// 0 and 1) neither underflow nor give NaN.
func Beta(rng *rand.Rand, a, b float64) float64 {
	lx, ly := logGamma(rng, a), logGamma(rng, b)
	// X/(X+Y) = 1/(1 + exp(ly − lx)).
	return 1 / (1 + math.Exp(ly-lx))
}

// logGamma returns the log of a Gamma(shape, 1) draw (Marsaglia & Tsang
// 2000; for shape < 1, Gamma(shape) = Gamma(shape+1)·U^(1/shape)).
func logGamma(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		u := 1 - rng.Float64() // (0, 1]
		return logGamma(rng, shape+1) + math.Log(u)/shape
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		z := rng.NormFloat64()
		v := 1 + c*z
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := 1 - rng.Float64()
		if math.Log(u) < 0.5*z*z+d-d*v+d*math.Log(v) {
			return math.Log(d) + math.Log(v)
		}
	}
}
