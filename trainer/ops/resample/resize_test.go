package resample

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/gradcheck"
	"github.com/pgaug/pgaug/trainer/ops/optest"
)

// naiveResize follows the ONNX specification literally, with exact rational
// coordinates (math/big), one output element at a time.
func naiveResize(x []float32, shape []int, p ResizeParams) ([]float32, []int) {
	out := append([]int(nil), shape...)
	scale := make([]*big.Rat, 2) // output/input
	for i := 0; i < 2; i++ {
		if p.Sizes != nil {
			out[2+i] = p.Sizes[2+i]
			scale[i] = big.NewRat(int64(out[2+i]), int64(shape[2+i]))
		} else {
			scale[i] = new(big.Rat).SetFloat64(float64(p.Scales[2+i]))
			v, _ := new(big.Rat).Mul(big.NewRat(int64(shape[2+i]), 1), scale[i]).Float64()
			out[2+i] = int(math.Floor(v))
		}
	}
	half := big.NewRat(1, 2)
	orig := func(axis, o int) *big.Rat {
		in, n := int64(shape[2+axis]), int64(out[2+axis])
		r := new(big.Rat)
		switch p.Coordinate {
		case AlignCorners:
			if n == 1 {
				return r
			}
			return r.SetFrac64(int64(o)*(in-1), n-1)
		case Asymmetric:
			return r.Quo(big.NewRat(int64(o), 1), scale[axis])
		case PytorchHalfPixel:
			if n == 1 {
				return r
			}
		}
		r.Add(big.NewRat(int64(o), 1), half)
		r.Quo(r, scale[axis])
		return r.Sub(r, half)
	}
	floor := func(r *big.Rat) int64 {
		q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floor for a positive denominator
		return q.Int64()
	}
	clampI := func(v int64, n int) int { return int(min(max(v, 0), int64(n-1))) }
	res := make([]float32, out[0]*out[1]*out[2]*out[3])
	ih, iw := shape[2], shape[3]
	for pl := 0; pl < out[0]*out[1]; pl++ {
		src := x[pl*ih*iw:]
		for oy := 0; oy < out[2]; oy++ {
			for ox := 0; ox < out[3]; ox++ {
				cy, cx := orig(0, oy), orig(1, ox)
				var v float64
				if p.Mode == Nearest {
					pick := func(c *big.Rat) int64 {
						f := floor(c)
						frac := new(big.Rat).Sub(c, big.NewRat(f, 1))
						cmp := frac.Cmp(half)
						switch p.Nearest {
						case Floor:
							return f
						case Ceil:
							if frac.Sign() == 0 {
								return f
							}
							return f + 1
						case RoundPreferCeil:
							if cmp >= 0 {
								return f + 1
							}
							return f
						}
						if cmp > 0 {
							return f + 1
						}
						return f
					}
					v = float64(src[clampI(pick(cy), ih)*iw+clampI(pick(cx), iw)])
				} else {
					lin := func(c *big.Rat, n int) (int, int, float64) {
						if c.Sign() < 0 {
							c = new(big.Rat)
						}
						if c.Cmp(big.NewRat(int64(n-1), 1)) > 0 {
							c = big.NewRat(int64(n-1), 1)
						}
						f := floor(c)
						l, _ := new(big.Rat).Sub(c, big.NewRat(f, 1)).Float64()
						return int(f), min(int(f)+1, n-1), l
					}
					y0, y1, ly := lin(cy, ih)
					x0, x1, lx := lin(cx, iw)
					at := func(y, x int) float64 { return float64(src[y*iw+x]) }
					v = (1-ly)*((1-lx)*at(y0, x0)+lx*at(y0, x1)) + ly*((1-lx)*at(y1, x0)+lx*at(y1, x1))
				}
				res[(pl*out[2]+oy)*out[3]+ox] = float32(v)
			}
		}
	}
	return res, out
}

type resizeCase struct {
	shape []int
	p     ResizeParams
}

func (c resizeCase) String() string {
	var size string
	if c.p.Sizes != nil {
		size = fmt.Sprintf("sizes%v", c.p.Sizes[2:])
	} else {
		size = fmt.Sprintf("scales%v", c.p.Scales[2:])
	}
	if c.p.Mode == Nearest {
		return fmt.Sprintf("%v_%v_%v_%v_%s", c.shape, c.p.Mode, c.p.Coordinate, c.p.Nearest, size)
	}
	return fmt.Sprintf("%v_%v_%v_%s", c.shape, c.p.Mode, c.p.Coordinate, size)
}

// resizeCases covers every mode, coordinate transformation and rounding with
// up- and down-sampling by integer, fractional and size-derived factors.
func resizeCases() []resizeCase {
	var cs []resizeCase
	sizings := []struct {
		shape  []int
		scales []float32
		sizes  []int
	}{
		{[]int{2, 3, 4, 5}, []float32{1, 1, 2, 2}, nil},
		{[]int{1, 2, 5, 4}, []float32{1, 1, 1.5, 0.5}, nil},
		{[]int{1, 2, 6, 7}, []float32{1, 1, 0.6, 3}, nil},
		{[]int{2, 1, 5, 6}, nil, []int{2, 1, 7, 3}},
		{[]int{1, 1, 7, 4}, nil, []int{1, 1, 3, 9}},
		{[]int{1, 2, 4, 3}, nil, []int{1, 2, 1, 6}}, // output length 1
	}
	for _, s := range sizings {
		for coord := HalfPixel; coord <= Asymmetric; coord++ {
			p := ResizeParams{Mode: Linear, Coordinate: coord, Scales: s.scales, Sizes: s.sizes}
			cs = append(cs, resizeCase{s.shape, p})
			for nm := RoundPreferFloor; nm <= Ceil; nm++ {
				p := ResizeParams{Mode: Nearest, Coordinate: coord, Nearest: nm, Scales: s.scales, Sizes: s.sizes}
				cs = append(cs, resizeCase{s.shape, p})
			}
		}
	}
	return cs
}

func resizeBuild(p ResizeParams) gradcheck.Build {
	return func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return Resize(in[0], p) }
}

func TestResizeAgainstNaive(t *testing.T) {
	for i, c := range resizeCases() {
		t.Run(c.String(), func(t *testing.T) {
			x := optest.Uniform(uint64(i), optest.Numel(c.shape), -2, 2)
			want, wantShape := naiveResize(x, c.shape, c.p)
			tol := 0.0
			if c.p.Mode == Linear {
				tol = 1e-6
			}
			expectNaive(t, "Resize", resizeBuild(c.p), x, c.shape, want, wantShape, tol)
		})
	}
}

func TestResizeGradients(t *testing.T) {
	for i, c := range resizeCases() {
		t.Run(c.String(), func(t *testing.T) {
			x := optest.Uniform(uint64(i), optest.Numel(c.shape), -2, 2)
			gradcheck.Check(t, resizeBuild(c.p), []*tensor.Dense{optest.Dense(x, c.shape...)}, gradcheck.Options{MaxProbe: 60, Seed: uint64(i)})
		})
	}
}

func TestResizeAgainstPyTorch(t *testing.T) {
	type tc struct {
		name  string
		shape []int
		p     ResizeParams
		torch string
	}
	shape := []int{2, 3, 5, 6}
	sizes := func(h, w int) []int { return []int{2, 3, h, w} }
	cases := []tc{
		{"nearest_x2", shape, ResizeParams{Mode: Nearest, Coordinate: Asymmetric, Nearest: Floor, Scales: []float32{1, 1, 2, 2}},
			"F.interpolate(x, scale_factor=2, mode='nearest')"},
		{"nearest_size", shape, ResizeParams{Mode: Nearest, Coordinate: Asymmetric, Nearest: Floor, Sizes: sizes(7, 4)},
			"F.interpolate(x, size=(7, 4), mode='nearest')"},
		{"nearest_exact_size", shape, ResizeParams{Mode: Nearest, Coordinate: HalfPixel, Nearest: RoundPreferCeil, Sizes: sizes(9, 4)},
			"F.interpolate(x, size=(9, 4), mode='nearest-exact')"},
		{"nearest_exact_x3", shape, ResizeParams{Mode: Nearest, Coordinate: HalfPixel, Nearest: RoundPreferCeil, Scales: []float32{1, 1, 3, 3}},
			"F.interpolate(x, scale_factor=3, mode='nearest-exact')"},
		{"bilinear_x2", shape, ResizeParams{Mode: Linear, Coordinate: HalfPixel, Scales: []float32{1, 1, 2, 2}},
			"F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)"},
		{"bilinear_pytorch_half_pixel", shape, ResizeParams{Mode: Linear, Coordinate: PytorchHalfPixel, Sizes: sizes(8, 3)},
			"F.interpolate(x, size=(8, 3), mode='bilinear', align_corners=False)"},
		{"bilinear_down", shape, ResizeParams{Mode: Linear, Coordinate: HalfPixel, Sizes: sizes(3, 4)},
			"F.interpolate(x, size=(3, 4), mode='bilinear', align_corners=False)"},
		{"bilinear_align_corners", shape, ResizeParams{Mode: Linear, Coordinate: AlignCorners, Sizes: sizes(11, 7)},
			"F.interpolate(x, size=(11, 7), mode='bilinear', align_corners=True)"},
		{"bilinear_align_corners_down", shape, ResizeParams{Mode: Linear, Coordinate: AlignCorners, Sizes: sizes(2, 4)},
			"F.interpolate(x, size=(2, 4), mode='bilinear', align_corners=True)"},
	}
	tcs := make([]torchCase, len(cases))
	for i, c := range cases {
		tcs[i] = torchCase{name: c.name, shape: c.shape, torch: c.torch, build: resizeBuild(c.p),
			out: func(s []int) []int { _, o := naiveResize(make([]float32, optest.Numel(s)), s, c.p); return o }}
	}
	compareWithTorch(t, tcs, 50, 70, torchTolerances{forward: 1e-6, gradient: 1e-5})
}

func TestResizeErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 2, 3, 4), gorgonia.WithName("x"))
	x3 := gorgonia.NewTensor(g, tensor.Float32, 3, gorgonia.WithShape(2, 3, 4), gorgonia.WithName("x3"))
	for _, c := range []struct {
		want string
		x    *gorgonia.Node
		p    ResizeParams
	}{
		{"Resize: input \"x3\" has shape (2, 3, 4), want N×C×H×W", x3, ResizeParams{Scales: []float32{1, 1, 2}}},
		{"Resize: neither scales nor sizes given", x, ResizeParams{}},
		{"Resize: both scales", x, ResizeParams{Scales: []float32{1, 1, 2, 2}, Sizes: []int{1, 2, 6, 8}}},
		{"Resize: 2 scales [2 2], want 4", x, ResizeParams{Scales: []float32{2, 2}}},
		{"only H and W can be resized", x, ResizeParams{Scales: []float32{1, 2, 2, 2}}},
		{"only H and W can be resized", x, ResizeParams{Sizes: []int{2, 2, 6, 8}}},
		{"want positive finite H and W scales", x, ResizeParams{Scales: []float32{1, 1, 0, 2}}},
		{"give an empty output", x, ResizeParams{Scales: []float32{1, 1, 0.2, 2}}},
		{"want positive H and W", x, ResizeParams{Sizes: []int{1, 2, 0, 8}}},
		{"Resize: invalid mode 7", x, ResizeParams{Mode: 7, Scales: []float32{1, 1, 2, 2}}},
	} {
		_, err := Resize(c.x, c.p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
	if _, err := ParseMode("cubic"); err == nil || !strings.Contains(err.Error(), `mode "cubic" is not supported`) {
		t.Errorf("ParseMode(cubic): %v", err)
	}
	if m, err := ParseCoordinateMode("align_corners"); err != nil || m != AlignCorners {
		t.Errorf("ParseCoordinateMode(align_corners) = %v, %v", m, err)
	}
	if m, err := ParseNearestMode(""); err != nil || m != RoundPreferFloor {
		t.Errorf("ParseNearestMode(\"\") = %v, %v", m, err)
	}
	if _, err := ParseCoordinateMode("tf_crop_and_resize"); err == nil {
		t.Error("tf_crop_and_resize accepted")
	}
}

// Different modes on the same input stay distinct operators.
func TestResizeOpsDistinct(t *testing.T) {
	y, _ := optest.RunGraph(t, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		a, err := Resize(in[0], ResizeParams{Mode: Nearest, Nearest: Floor, Coordinate: Asymmetric, Sizes: []int{1, 1, 1, 3}})
		if err != nil {
			return nil, err
		}
		b, err := Resize(in[0], ResizeParams{Mode: Nearest, Nearest: Ceil, Coordinate: Asymmetric, Sizes: []int{1, 1, 1, 3}})
		if err != nil {
			return nil, err
		}
		c, err := Resize(in[0], ResizeParams{Mode: Linear, Coordinate: Asymmetric, Sizes: []int{1, 1, 1, 3}})
		if err != nil {
			return nil, err
		}
		return gorgonia.Concat(3, a, b, c)
	}, []*tensor.Dense{optest.Dense([]float32{0, 3}, 1, 1, 1, 2)}, nil)
	// Input coordinates 0, 2/3, 4/3.
	optest.AssertClose(t, "floor | ceil | linear", y, []float32{0, 0, 3, 0, 3, 3, 0, 2, 3}, 1e-6, 0)
}
