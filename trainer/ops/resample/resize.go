package resample

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// Mode is the interpolation of Resize. The zero value is the ONNX default.
type Mode int

// Interpolation modes.
const (
	Nearest Mode = iota // "nearest"
	Linear              // "linear": bilinear on H and W
)

// CoordinateMode maps an output coordinate to an input coordinate (ONNX
// coordinate_transformation_mode). The zero value is the ONNX default.
type CoordinateMode int

// Coordinate transformations, with x the output coordinate, scale the
// output/input length ratio, in and out the lengths.
const (
	HalfPixel        CoordinateMode = iota // (x + 0.5)/scale − 0.5
	PytorchHalfPixel                       // as HalfPixel, but 0 when out = 1
	AlignCorners                           // x·(in − 1)/(out − 1), 0 when out = 1
	Asymmetric                             // x/scale
)

// NearestMode rounds the input coordinate in nearest mode (ONNX
// nearest_mode). The zero value is the ONNX default.
type NearestMode int

// Rounding modes.
const (
	RoundPreferFloor NearestMode = iota // round, halves down
	RoundPreferCeil                     // round, halves up
	Floor
	Ceil
)

var (
	modeNames    = []string{"nearest", "linear"}
	coordNames   = []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"}
	nearestNames = []string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}
)

func name(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("invalid(%d)", i)
}

func (m Mode) String() string           { return name(modeNames, int(m)) }
func (m CoordinateMode) String() string { return name(coordNames, int(m)) }
func (m NearestMode) String() string    { return name(nearestNames, int(m)) }

func parse(what, s string, names []string) (int, error) {
	if s == "" {
		return 0, nil
	}
	for i, n := range names {
		if n == s {
			return i, nil
		}
	}
	return 0, fmt.Errorf("Resize: %s %q is not supported (supported: %v)", what, s, names)
}

// ParseMode parses an ONNX Resize mode attribute ("" gives the default).
// "cubic" is not supported.
func ParseMode(s string) (Mode, error) {
	i, err := parse("mode", s, modeNames)
	return Mode(i), err
}

// ParseCoordinateMode parses an ONNX coordinate_transformation_mode
// attribute ("" gives the default). tf_crop_and_resize, half_pixel_symmetric
// and tf_half_pixel_for_nn are not supported.
func ParseCoordinateMode(s string) (CoordinateMode, error) {
	i, err := parse("coordinate_transformation_mode", s, coordNames)
	return CoordinateMode(i), err
}

// ParseNearestMode parses an ONNX nearest_mode attribute ("" gives the
// default).
func ParseNearestMode(s string) (NearestMode, error) {
	i, err := parse("nearest_mode", s, nearestNames)
	return NearestMode(i), err
}

// ResizeParams are the attributes and inputs of an ONNX Resize (opset 11–19)
// on an N×C×H×W tensor. Exactly one of Scales and Sizes is given, with one
// entry per axis of the input (N, C, H, W), and the N and C entries must
// leave those axes unchanged. The zero value of each mode is the ONNX default.
// roi, cubic interpolation, antialias, axes and keep_aspect_ratio_policy are
// not supported (an importer can expand axes to the full rank).
type ResizeParams struct {
	Mode       Mode
	Coordinate CoordinateMode
	Nearest    NearestMode // used in Nearest mode only
	Scales     []float32   // output length = floor(input length × scale)
	Sizes      []int       // output lengths
}

// Resize resamples the H and W axes of an N×C×H×W float32 tensor as ONNX
// Resize does. The gradient flows to x.
//
// Coordinates are computed in float64 from the exact ratio in/out when Sizes
// are given, and from 1/scale when Scales are (as ONNX specifies, the given
// scale is used even where floor(in·scale)/in differs from it). Linear mode
// clamps the input coordinate to [0, in−1] (the edge value beyond, as ONNX
// Runtime and PyTorch); nearest mode clamps the rounded index.
func Resize(x *gorgonia.Node, p ResizeParams) (*gorgonia.Node, error) {
	if err := opkit.CheckFloat32("Resize", "input", x); err != nil {
		return nil, err
	}
	s := opkit.ShapeOf(x)
	if s.Dims() != 4 {
		return nil, fmt.Errorf("Resize: input %q has shape %v, want N×C×H×W", x.Name(), s)
	}
	op := &resizeOp{mode: p.Mode, coord: p.Coordinate, nearest: p.Nearest}
	if p.Mode < Nearest || p.Mode > Linear {
		return nil, fmt.Errorf("Resize: invalid mode %d", p.Mode)
	}
	if p.Coordinate < HalfPixel || p.Coordinate > Asymmetric {
		return nil, fmt.Errorf("Resize: invalid coordinate transformation mode %d", p.Coordinate)
	}
	if p.Nearest < RoundPreferFloor || p.Nearest > Ceil {
		return nil, fmt.Errorf("Resize: invalid nearest mode %d", p.Nearest)
	}
	switch {
	case len(p.Scales) > 0 && len(p.Sizes) > 0:
		return nil, fmt.Errorf("Resize: both scales %v and sizes %v given, want one", p.Scales, p.Sizes)
	case len(p.Scales) > 0:
		if len(p.Scales) != 4 {
			return nil, fmt.Errorf("Resize: %d scales %v, want 4 (N, C, H, W)", len(p.Scales), p.Scales)
		}
		if p.Scales[0] != 1 || p.Scales[1] != 1 {
			return nil, fmt.Errorf("Resize: scales %v resize N or C, only H and W can be resized", p.Scales)
		}
		for _, v := range p.Scales[2:] {
			if !(v > 0) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("Resize: scales %v, want positive finite H and W scales", p.Scales)
			}
		}
		op.scales = [2]float64{float64(p.Scales[2]), float64(p.Scales[3])}
	case len(p.Sizes) > 0:
		if len(p.Sizes) != 4 {
			return nil, fmt.Errorf("Resize: %d sizes %v, want 4 (N, C, H, W)", len(p.Sizes), p.Sizes)
		}
		if p.Sizes[0] != s[0] || p.Sizes[1] != s[1] {
			return nil, fmt.Errorf("Resize: sizes %v change N or C of input shape %v, only H and W can be resized", p.Sizes, s)
		}
		if p.Sizes[2] < 1 || p.Sizes[3] < 1 {
			return nil, fmt.Errorf("Resize: sizes %v, want positive H and W", p.Sizes)
		}
		op.sizes = [2]int{p.Sizes[2], p.Sizes[3]}
		op.bySize = true
	default:
		return nil, fmt.Errorf("Resize: neither scales nor sizes given")
	}
	if _, err := op.InferShape(s); err != nil {
		return nil, err
	}
	return opkit.Apply("Resize", op, x)
}

type resizeOp struct {
	opkit.Plain
	mode    Mode
	coord   CoordinateMode
	nearest NearestMode
	bySize  bool
	sizes   [2]int
	scales  [2]float64
}

var (
	_ gorgonia.Op              = (*resizeOp)(nil)
	_ gorgonia.SDOp            = (*resizeOp)(nil)
	_ gorgonia.UsePreallocDoer = (*resizeOp)(nil)
)

func (op *resizeOp) outShape(in tensor.Shape) (tensor.Shape, error) {
	if in.Dims() != 4 {
		return nil, fmt.Errorf("Resize: input has shape %v, want N×C×H×W", in)
	}
	out := in.Clone()
	for i := 0; i < 2; i++ {
		if op.bySize {
			out[2+i] = op.sizes[i]
		} else {
			out[2+i] = int(math.Floor(float64(in[2+i]) * op.scales[i]))
		}
		if out[2+i] < 1 {
			return nil, fmt.Errorf("Resize: scales %v give an empty output for input shape %v", op.scales, in)
		}
	}
	return out, nil
}

// axisPlan is the input index (and for linear mode the second index and the
// weights) of each output index along one axis.
type axisPlan struct {
	i0, i1 []int
	w0, w1 []float32
}

func (op *resizeOp) plan(axis, inLen, outLen int) axisPlan {
	// input coordinate = (x + off)·num/den − off2, computed with one rounding
	var num, den float64
	if op.bySize {
		num, den = float64(inLen), float64(outLen)
	} else {
		num, den = 1, op.scales[axis]
	}
	orig := func(x int) float64 {
		switch op.coord {
		case PytorchHalfPixel:
			if outLen == 1 {
				return 0
			}
			fallthrough
		case HalfPixel:
			return (float64(x)+0.5)*num/den - 0.5
		case AlignCorners:
			if outLen == 1 {
				return 0
			}
			return float64(x) * float64(inLen-1) / float64(outLen-1)
		}
		return float64(x) * num / den
	}
	p := axisPlan{i0: make([]int, outLen)}
	if op.mode == Linear {
		p.i1 = make([]int, outLen)
		p.w0 = make([]float32, outLen)
		p.w1 = make([]float32, outLen)
	}
	last := float64(inLen - 1)
	for x := 0; x < outLen; x++ {
		v := orig(x)
		if op.mode == Nearest {
			var r float64
			switch op.nearest {
			case Floor:
				r = math.Floor(v)
			case Ceil:
				r = math.Ceil(v)
			default:
				f := math.Floor(v)
				switch d := v - f; {
				case d < 0.5:
					r = f
				case d > 0.5:
					r = f + 1
				case op.nearest == RoundPreferCeil:
					r = f + 1
				default:
					r = f
				}
			}
			p.i0[x] = int(math.Max(0, math.Min(r, last)))
			continue
		}
		v = math.Max(0, math.Min(v, last))
		i0 := int(math.Floor(v))
		lambda := v - float64(i0)
		p.i0[x], p.i1[x] = i0, min(i0+1, inLen-1)
		p.w0[x], p.w1[x] = float32(1-lambda), float32(lambda)
	}
	return p
}

func (op *resizeOp) Arity() int { return 1 }

func (op *resizeOp) Type() hm.Type {
	r := 4
	return opkit.FnType(r, r)
}

func (op *resizeOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := opkit.UnaryShape("Resize", in)
	if err != nil {
		return nil, err
	}
	return op.outShape(s)
}

func (op *resizeOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *resizeOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, shape, _, err := opkit.UnaryData("Resize", in)
	if err != nil {
		return nil, err
	}
	os, err := op.outShape(shape)
	if err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, os, false, x)
	y := out.Data
	planes, ih, iw, oh, ow := shape[0]*shape[1], shape[2], shape[3], os[2], os[3]
	ph, pw := op.plan(0, ih, oh), op.plan(1, iw, ow)
	opkit.ParallelFor(planes, planes*oh*ow*4, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := x[pl*ih*iw : (pl+1)*ih*iw]
			dst := y[pl*oh*ow : (pl+1)*oh*ow]
			for oy := 0; oy < oh; oy++ {
				drow := dst[oy*ow : (oy+1)*ow]
				if op.mode == Nearest {
					srow := src[ph.i0[oy]*iw : (ph.i0[oy]+1)*iw]
					for ox, ix := range pw.i0 {
						drow[ox] = srow[ix]
					}
					continue
				}
				r0 := src[ph.i0[oy]*iw : (ph.i0[oy]+1)*iw]
				r1 := src[ph.i1[oy]*iw : (ph.i1[oy]+1)*iw]
				wy0, wy1 := ph.w0[oy], ph.w1[oy]
				for ox := range drow {
					x0, x1, wx0, wx1 := pw.i0[ox], pw.i1[ox], pw.w0[ox], pw.w1[ox]
					drow[ox] = wy0*(wx0*r0[x0]+wx1*r0[x1]) + wy1*(wx0*r1[x0]+wx1*r1[x1])
				}
			}
		}
	})
	return out.Value(), nil
}

func (op *resizeOp) String() string {
	var size string
	if op.bySize {
		size = fmt.Sprintf("sizes=%v", op.sizes)
	} else {
		size = fmt.Sprintf("scales=%v", op.scales)
	}
	if op.mode == Nearest {
		return fmt.Sprintf("Resize(%v, %v, %v, %s)", op.mode, op.coord, op.nearest, size)
	}
	return fmt.Sprintf("Resize(%v, %v, %s)", op.mode, op.coord, size)
}

func (op *resizeOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pgaug.resample.resize/%d/%d/%d/%t/%v/%x/%x", op.mode, op.coord, op.nearest, op.bySize, op.sizes,
		math.Float64bits(op.scales[0]), math.Float64bits(op.scales[1]))
}

func (op *resizeOp) Hashcode() uint32 { return opkit.Hashcode(op) }

func (op *resizeOp) DiffWRT(int) []bool { return []bool{true} }

func (op *resizeOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return opkit.UnaryGrad("Resize", inputs, grad, &resizeGradOp{fwd: *op})
}

// resizeGradOp scatters the output gradient back: (x, dy) → dx, x giving
// the shape.
type resizeGradOp struct {
	opkit.Plain
	fwd resizeOp
}

var (
	_ gorgonia.Op              = (*resizeGradOp)(nil)
	_ gorgonia.UsePreallocDoer = (*resizeGradOp)(nil)
)

func (op *resizeGradOp) Arity() int { return 2 }

func (op *resizeGradOp) Type() hm.Type {
	r := 4
	return opkit.FnType(r, r, r)
}

func (op *resizeGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, g, err := opkit.GradShapes("Resize gradient", in)
	if err != nil {
		return nil, err
	}
	want, err := op.fwd.outShape(s)
	if err != nil {
		return nil, err
	}
	if err := opkit.CheckGradShape("Resize gradient", g, want); err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

func (op *resizeGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *resizeGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	// x gives the shape; its data only guards against writing over it.
	x, dy, shape, gs, err := opkit.GradValues("Resize gradient", in)
	if err != nil {
		return nil, err
	}
	os, err := op.fwd.outShape(shape)
	if err != nil {
		return nil, err
	}
	if err := opkit.CheckGradShape("Resize gradient", gs, os); err != nil {
		return nil, err
	}
	out := opkit.NewOutput(prealloc, shape, false, x, dy)
	dx := out.Data
	planes, ih, iw, oh, ow := shape[0]*shape[1], shape[2], shape[3], os[2], os[3]
	ph, pw := op.fwd.plan(0, ih, oh), op.fwd.plan(1, iw, ow)
	linear := op.fwd.mode == Linear
	opkit.ParallelFor(planes, planes*(oh*ow*4+ih*iw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dst := dx[pl*ih*iw : (pl+1)*ih*iw]
			clear(dst)
			src := dy[pl*oh*ow : (pl+1)*oh*ow]
			for oy := 0; oy < oh; oy++ {
				grow := src[oy*ow : (oy+1)*ow]
				if !linear {
					drow := dst[ph.i0[oy]*iw : (ph.i0[oy]+1)*iw]
					for ox, ix := range pw.i0 {
						drow[ix] += grow[ox]
					}
					continue
				}
				r0 := dst[ph.i0[oy]*iw : (ph.i0[oy]+1)*iw]
				r1 := dst[ph.i1[oy]*iw : (ph.i1[oy]+1)*iw]
				wy0, wy1 := ph.w0[oy], ph.w1[oy]
				for ox, g := range grow {
					x0, x1, wx0, wx1 := pw.i0[ox], pw.i1[ox], pw.w0[ox], pw.w1[ox]
					g0, g1 := wy0*g, wy1*g
					r0[x0] += wx0 * g0
					r0[x1] += wx1 * g0
					r1[x0] += wx0 * g1
					r1[x1] += wx1 * g1
				}
			}
		}
	})
	return out.Value(), nil
}

func (op *resizeGradOp) String() string { return op.fwd.String() + "'" }

func (op *resizeGradOp) WriteHash(h hash.Hash) {
	h.Write([]byte("grad:"))
	op.fwd.WriteHash(h)
}

func (op *resizeGradOp) Hashcode() uint32 { return opkit.Hashcode(op) }
