package spatial

import (
	"fmt"
	"strings"
)

// AutoPad is the ONNX auto_pad attribute. The empty string means NOTSET.
type AutoPad string

// The auto_pad modes of ONNX.
const (
	NotSet    AutoPad = "NOTSET"
	SameUpper AutoPad = "SAME_UPPER"
	SameLower AutoPad = "SAME_LOWER"
	Valid     AutoPad = "VALID"
)

func (a AutoPad) normalized() (AutoPad, error) {
	switch AutoPad(strings.ToUpper(string(a))) {
	case "", NotSet:
		return NotSet, nil
	case SameUpper:
		return SameUpper, nil
	case SameLower:
		return SameLower, nil
	case Valid:
		return Valid, nil
	}
	return "", fmt.Errorf("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", string(a))
}

// ConvParams are the attributes of ONNX Conv for 2-D inputs. Zero values mean
// the ONNX defaults.
type ConvParams struct {
	// KernelShape is [kH, kW]. Zero: taken from the weight; when set it must
	// match the weight.
	KernelShape [2]int
	// Strides is [sH, sW] (zero: 1).
	Strides [2]int
	// Dilations is [dH, dW] (zero: 1).
	Dilations [2]int
	// Pads is [top, left, bottom, right], the ONNX order x1_begin, x2_begin,
	// x1_end, x2_end. It must be zero unless AutoPad is NOTSET.
	Pads [4]int
	// AutoPad resolves the pads from the input size at graph construction.
	AutoPad AutoPad
	// Group splits the channels into groups (zero: 1). Depthwise convolution
	// is Group = C.
	Group int
	// NoInputGrad makes the operator non-differentiable with respect to its
	// input x: no gradient node is built for x. It is meant for a network's
	// first convolution, whose input (the data) needs no gradient; gorgonia
	// executes every node of the graph, so an unused gradient would cost a
	// transposed convolution per step. Not an ONNX attribute.
	NoInputGrad bool
}

// ConvTransposeParams are the attributes of ONNX ConvTranspose for 2-D
// inputs. Zero values mean the ONNX defaults.
type ConvTransposeParams struct {
	KernelShape [2]int // [kH, kW]; zero: from the weight
	Strides     [2]int // zero: 1
	Dilations   [2]int // zero: 1
	// Pads is [top, left, bottom, right]. Must be zero when AutoPad is set
	// or OutputShape is given (the pads are then computed).
	Pads    [4]int
	AutoPad AutoPad
	Group   int // zero: 1
	// OutputPadding adds rows/columns at the bottom/right of the output. Each
	// value must be smaller than the stride or the dilation of its axis.
	OutputPadding [2]int
	// OutputShape, when non-zero, is the spatial output size [H, W]; the pads
	// are then derived from it as the ONNX specification says.
	OutputShape [2]int
	// NoInputGrad: see ConvParams.NoInputGrad.
	NoInputGrad bool
}

// PoolParams are the attributes of ONNX MaxPool and AveragePool for 2-D
// inputs. Zero values mean the ONNX defaults; KernelShape is required.
type PoolParams struct {
	KernelShape [2]int // [kH, kW], required
	Strides     [2]int // zero: 1
	// Dilations is [dH, dW] (zero: 1). PyTorch's avg_pool2d has no dilation;
	// for AveragePool a dilated window counts its dilated cells.
	Dilations [2]int
	Pads      [4]int // [top, left, bottom, right]; zero unless AutoPad is NOTSET
	AutoPad   AutoPad
	// CeilMode rounds the output size up. As in ONNX and PyTorch, a window
	// that would start in the bottom/right padding is dropped, and cells past
	// the padded edge never count (not even for CountIncludePad).
	CeilMode bool
	// CountIncludePad (AveragePool only) divides by the number of window
	// cells inside the padded input instead of inside the input.
	CountIncludePad bool
}

// attrs is a resolved 2-D window: everything but the sizes of the images.
type attrs struct {
	kh, kw         int
	sh, sw         int
	dh, dw         int
	pt, pl, pb, pr int
	group          int
}

func (a attrs) effH() int { return (a.kh-1)*a.dh + 1 }
func (a attrs) effW() int { return (a.kw-1)*a.dw + 1 }

func (a attrs) String() string {
	return fmt.Sprintf("k=%dx%d s=%dx%d d=%dx%d pads=[%d %d %d %d] group=%d",
		a.kh, a.kw, a.sh, a.sw, a.dh, a.dw, a.pt, a.pl, a.pb, a.pr, a.group)
}

// convOut is the output size of a convolution (floor mode) along one axis.
func convOut(in, padBegin, padEnd, eff, stride int) int {
	span := in + padBegin + padEnd - eff
	if span < 0 {
		return 0
	}
	return span/stride + 1
}

func defaultOne(v [2]int) [2]int {
	for i := range v {
		if v[i] == 0 {
			v[i] = 1
		}
	}
	return v
}

func checkPositive(op, name string, v [2]int) error {
	if v[0] < 1 || v[1] < 1 {
		return fmt.Errorf("%s: %s %v must be positive", op, name, v)
	}
	return nil
}

func checkPads(op string, p [4]int) error {
	for _, v := range p {
		if v < 0 {
			return fmt.Errorf("%s: pads %v must be non-negative", op, p)
		}
	}
	return nil
}

// ResolveAutoPad returns the explicit pads [top, left, bottom, right] that the
// ONNX auto_pad mode gives a Conv or a pooling window over an input of spatial
// size in ([H, W]). For NOTSET it returns pads (checked); for VALID zeros; for
// SAME_UPPER and SAME_LOWER the pads that make the output ceil(in/stride),
// the odd one at the end (SAME_UPPER) or the beginning (SAME_LOWER). Zero
// strides and dilations mean 1.
func ResolveAutoPad(mode AutoPad, in, kernel, strides, dilations [2]int, pads [4]int) ([4]int, error) {
	mode, err := mode.normalized()
	if err != nil {
		return pads, err
	}
	strides, dilations = defaultOne(strides), defaultOne(dilations)
	if err := checkPositive("auto_pad", "kernel", kernel); err != nil {
		return pads, err
	}
	if err := checkPositive("auto_pad", "strides", strides); err != nil {
		return pads, err
	}
	if err := checkPositive("auto_pad", "dilations", dilations); err != nil {
		return pads, err
	}
	if err := checkPads("auto_pad", pads); err != nil {
		return pads, err
	}
	if mode == NotSet {
		return pads, nil
	}
	if pads != [4]int{} {
		return pads, fmt.Errorf("auto_pad %s: pads %v cannot be used together with auto_pad", mode, pads)
	}
	var out [4]int
	if mode == Valid {
		return out, nil
	}
	for i := 0; i < 2; i++ {
		if in[i] < 1 {
			return out, fmt.Errorf("auto_pad %s: input size %v must be positive", mode, in)
		}
		o := (in[i] + strides[i] - 1) / strides[i]
		total := (o-1)*strides[i] + (kernel[i]-1)*dilations[i] + 1 - in[i]
		if total < 0 {
			total = 0
		}
		small, big := total/2, total-total/2
		if mode == SameUpper {
			out[i], out[i+2] = small, big
		} else {
			out[i], out[i+2] = big, small
		}
	}
	return out, nil
}

// resolveConv checks p against the input spatial size and the weight's kernel
// and returns the resolved window.
func resolveConv(op string, p ConvParams, in, kernel [2]int) (attrs, error) {
	if p.KernelShape != [2]int{} && p.KernelShape != kernel {
		return attrs{}, fmt.Errorf("%s: kernel_shape %v does not match the weight's %v", op, p.KernelShape, kernel)
	}
	strides, dil := defaultOne(p.Strides), defaultOne(p.Dilations)
	for _, c := range []struct {
		name string
		v    [2]int
	}{{"kernel", kernel}, {"strides", strides}, {"dilations", dil}} {
		if err := checkPositive(op, c.name, c.v); err != nil {
			return attrs{}, err
		}
	}
	pads, err := ResolveAutoPad(p.AutoPad, in, kernel, strides, dil, p.Pads)
	if err != nil {
		return attrs{}, fmt.Errorf("%s: %w", op, err)
	}
	g := p.Group
	if g == 0 {
		g = 1
	}
	if g < 0 {
		return attrs{}, fmt.Errorf("%s: group %d must be positive", op, g)
	}
	return attrs{kh: kernel[0], kw: kernel[1], sh: strides[0], sw: strides[1], dh: dil[0], dw: dil[1],
		pt: pads[0], pl: pads[1], pb: pads[2], pr: pads[3], group: g}, nil
}

// ConvTransposeGeometry resolves ConvTranspose attributes for an input of
// spatial size in ([H, W]) and a kernel [kH, kW]: it returns the explicit pads
// [top, left, bottom, right], the output padding, and the output size, as
// the ONNX specification defines them:
//
//   - OutputShape given (or AutoPad SAME_*, where the output is in·stride):
//     total = stride·(in−1) + output_padding + (k−1)·dilation + 1 − out, split
//     with the odd pad at the end for SAME_UPPER and at the beginning
//     otherwise. A negative total (an output larger than the kernel covers)
//     becomes zero pads and extra zero rows at the end, as ONNX Runtime does.
//   - otherwise out = stride·(in−1) + output_padding + (k−1)·dilation + 1 −
//     pad_begin − pad_end, with pads zero for VALID.
func ConvTransposeGeometry(p ConvTransposeParams, in, kernel [2]int) (pads [4]int, outPad [2]int, out [2]int, err error) {
	const op = "ConvTranspose"
	mode, err := p.AutoPad.normalized()
	if err != nil {
		return pads, outPad, out, fmt.Errorf("%s: %w", op, err)
	}
	strides, dil := defaultOne(p.Strides), defaultOne(p.Dilations)
	for _, c := range []struct {
		name string
		v    [2]int
	}{{"kernel", kernel}, {"strides", strides}, {"dilations", dil}, {"input size", in}} {
		if err = checkPositive(op, c.name, c.v); err != nil {
			return
		}
	}
	if err = checkPads(op, p.Pads); err != nil {
		return
	}
	for i := 0; i < 2; i++ {
		op := p.OutputPadding[i]
		if op < 0 || (op >= strides[i] && op >= dil[i]) {
			err = fmt.Errorf("ConvTranspose: output_padding %v must be non-negative and smaller than the stride %v or the dilation %v",
				p.OutputPadding, strides, dil)
			return
		}
		if p.OutputShape[i] < 0 {
			err = fmt.Errorf("ConvTranspose: output_shape %v must be non-negative", p.OutputShape)
			return
		}
	}
	outPad = p.OutputPadding
	computed := p.OutputShape != [2]int{} || mode == SameUpper || mode == SameLower
	if computed {
		if p.Pads != [4]int{} {
			err = fmt.Errorf("ConvTranspose: pads %v cannot be used together with output_shape or auto_pad %s", p.Pads, mode)
			return
		}
		target := p.OutputShape
		if target == [2]int{} {
			target = [2]int{in[0] * strides[0], in[1] * strides[1]}
		} else if target[0] == 0 || target[1] == 0 {
			err = fmt.Errorf("ConvTranspose: output_shape %v must be positive", p.OutputShape)
			return
		}
		for i := 0; i < 2; i++ {
			total := strides[i]*(in[i]-1) + outPad[i] + (kernel[i]-1)*dil[i] + 1 - target[i]
			if total < 0 {
				outPad[i] -= total
				total = 0
			}
			small, big := total/2, total-total/2
			if mode == SameUpper {
				pads[i], pads[i+2] = small, big
			} else {
				pads[i], pads[i+2] = big, small
			}
			out[i] = target[i]
		}
		return
	}
	if mode == Valid {
		if p.Pads != [4]int{} {
			err = fmt.Errorf("ConvTranspose: pads %v cannot be used together with auto_pad VALID", p.Pads)
			return
		}
	} else {
		pads = p.Pads
	}
	for i := 0; i < 2; i++ {
		out[i] = strides[i]*(in[i]-1) + outPad[i] + (kernel[i]-1)*dil[i] + 1 - pads[i] - pads[i+2]
		if out[i] < 1 {
			err = fmt.Errorf("ConvTranspose: the pads %v leave an empty output (size %v) for input %v", pads, out, in)
			return
		}
	}
	return
}

// resolvePool checks p for an input of spatial size in and returns the window
// and the output size.
func resolvePool(op string, p PoolParams, in [2]int) (a attrs, ceil bool, out [2]int, err error) {
	if p.KernelShape == [2]int{} {
		return a, false, out, fmt.Errorf("%s: kernel_shape is required", op)
	}
	strides, dil := defaultOne(p.Strides), defaultOne(p.Dilations)
	for _, c := range []struct {
		name string
		v    [2]int
	}{{"kernel_shape", p.KernelShape}, {"strides", strides}, {"dilations", dil}, {"input size", in}} {
		if err = checkPositive(op, c.name, c.v); err != nil {
			return
		}
	}
	mode, err := p.AutoPad.normalized()
	if err != nil {
		return a, false, out, fmt.Errorf("%s: %w", op, err)
	}
	pads, err := ResolveAutoPad(mode, in, p.KernelShape, strides, dil, p.Pads)
	if err != nil {
		return a, false, out, fmt.Errorf("%s: %w", op, err)
	}
	a = attrs{kh: p.KernelShape[0], kw: p.KernelShape[1], sh: strides[0], sw: strides[1], dh: dil[0], dw: dil[1],
		pt: pads[0], pl: pads[1], pb: pads[2], pr: pads[3], group: 1}
	// With auto_pad the ONNX output sizes (ceil_mode or not) equal the floor
	// formula over the resolved pads.
	ceil = p.CeilMode && mode == NotSet
	out = [2]int{
		poolOut(in[0], a.pt, a.pb, a.effH(), a.sh, ceil),
		poolOut(in[1], a.pl, a.pr, a.effW(), a.sw, ceil),
	}
	if out[0] < 1 || out[1] < 1 {
		return a, ceil, out, fmt.Errorf("%s: window %s does not fit the padded input %v", op, a, in)
	}
	return a, ceil, out, nil
}

// poolOut is the ONNX/PyTorch pooling output size along one axis.
func poolOut(in, padBegin, padEnd, eff, stride int, ceil bool) int {
	span := in + padBegin + padEnd - eff
	if span < 0 {
		return 0
	}
	if !ceil {
		return span/stride + 1
	}
	out := (span+stride-1)/stride + 1
	// A window must start inside the input or the beginning padding.
	if (out-1)*stride >= in+padBegin {
		out--
	}
	return out
}

// emptyWindow reports the first output index (along one axis) whose window
// has no cell inside [0, in), or -1.
func emptyWindow(in, out, padBegin, k, d, s int) int {
	for o := 0; o < out; o++ {
		start := o*s - padBegin
		found := false
		for i := 0; i < k; i++ {
			if c := start + i*d; c >= 0 && c < in {
				found = true
				break
			}
		}
		if !found {
			return o
		}
	}
	return -1
}
