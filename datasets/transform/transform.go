package transform

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/pgaug/pgaug/datasets/arrowds"
)

// Image is a float32 image in CHW layout.
type Image struct {
	C, H, W int
	Pix     []float32
	// Scratch buffers reused by the transforms (so that an Image reused
	// across samples, as the loader does, stops allocating).
	spare, tmp []float32
}

// buf returns a scratch slice of n values (contents undefined) that does
// not alias Pix; commit makes it the new Pix.
func (im *Image) buf(n int) []float32 {
	if cap(im.spare) < n {
		im.spare = make([]float32, n)
	}
	return im.spare[:n]
}

func (im *Image) commit(pix []float32, c, h, w int) {
	im.spare = im.Pix
	im.Pix, im.C, im.H, im.W = pix, c, h, w
}

// FromPixels converts dataset pixels (HWC, uint8 or uint16) into dst (CHW,
// values divided by scale, usually the pixel type's maximum), reusing dst's
// buffer when large enough.
func FromPixels(src *arrowds.Image, scale float32, dst *Image) {
	h, w, c := src.Height, src.Width, src.Channels
	dst.C, dst.H, dst.W = c, h, w
	n := h * w * c
	if cap(dst.Pix) < n {
		dst.Pix = make([]float32, n)
	}
	dst.Pix = dst.Pix[:n]
	plane := h * w
	if src.Pix16 != nil {
		for i := 0; i < plane; i++ {
			for k := 0; k < c; k++ {
				dst.Pix[k*plane+i] = float32(src.Pix16[i*c+k]) / scale
			}
		}
		return
	}
	var lut [256]float32
	for v := range lut {
		lut[v] = float32(v) / scale
	}
	if c == 1 {
		for i, v := range src.Pix[:plane] {
			dst.Pix[i] = lut[v]
		}
		return
	}
	for i := 0; i < plane; i++ {
		for k := 0; k < c; k++ {
			dst.Pix[k*plane+i] = lut[src.Pix[i*c+k]]
		}
	}
}

// Transform changes an image in place (it may replace im.Pix).
type Transform interface {
	Apply(im *Image, rng *rand.Rand) error
	String() string
}

// Pipeline applies transforms in order.
type Pipeline []Transform

// Apply runs every transform.
func (p Pipeline) Apply(im *Image, rng *rand.Rand) error {
	for _, t := range p {
		if err := t.Apply(im, rng); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
	}
	return nil
}

// String is the pipeline's spec, as Parse reads it.
func (p Pipeline) String() string {
	s := make([]string, len(p))
	for i, t := range p {
		s[i] = t.String()
	}
	return strings.Join(s, ",")
}

// axisWeights are the filter taps of one output coordinate.
type axisWeights struct {
	start []int     // first source index per output index
	n     []int     // taps per output index
	w     []float32 // taps, stride maxTaps
	taps  int
}

// weights computes bilinear (triangle) taps mapping the source interval
// [x0, x0+span) of an axis of length in onto out samples.
func weights(in int, x0, span float64, out int) axisWeights {
	scale := span / float64(out)
	support := math.Max(scale, 1) // filter radius in source pixels
	taps := int(math.Ceil(support))*2 + 1
	a := axisWeights{start: make([]int, out), n: make([]int, out), w: make([]float32, out*taps), taps: taps}
	for o := 0; o < out; o++ {
		center := x0 + (float64(o)+0.5)*scale
		lo := max(int(math.Floor(center-support)), 0)
		hi := min(int(math.Ceil(center+support)), in)
		sum := 0.0
		k := 0
		tmp := make([]float64, 0, taps)
		for i := lo; i < hi && k < taps; i++ {
			v := 1 - math.Abs((float64(i)+0.5-center)/support)
			if v < 0 {
				v = 0
			}
			tmp = append(tmp, v)
			sum += v
			k++
		}
		if sum == 0 { // outside the image: take the nearest pixel
			lo = min(max(int(center), 0), in-1)
			tmp = []float64{1}
			sum = 1
		}
		a.start[o], a.n[o] = lo, len(tmp)
		for j, v := range tmp {
			a.w[o*taps+j] = float32(v / sum)
		}
	}
	return a
}

// resample maps the source rectangle (x0, y0, w, h) of im onto an outH x
// outW image, replacing im's pixels.
func resample(im *Image, x0, y0, w, h float64, outH, outW int) {
	wx := weights(im.W, x0, w, outW)
	wy := weights(im.H, y0, h, outH)
	// Source rows the vertical pass reads.
	r0, r1 := im.H, 0
	for o := 0; o < outH; o++ {
		r0 = min(r0, wy.start[o])
		r1 = max(r1, wy.start[o]+wy.n[o])
	}
	rows := r1 - r0
	if cap(im.tmp) < im.C*rows*outW {
		im.tmp = make([]float32, im.C*rows*outW)
	}
	tmp := im.tmp[:im.C*rows*outW]
	for c := 0; c < im.C; c++ {
		plane := im.Pix[c*im.H*im.W:]
		for y := 0; y < rows; y++ {
			in := plane[(r0+y)*im.W : (r0+y+1)*im.W]
			outRow := tmp[(c*rows+y)*outW : (c*rows+y+1)*outW]
			for o := range outRow {
				s, n := wx.start[o], wx.n[o]
				ws := wx.w[o*wx.taps : o*wx.taps+n]
				px := in[s : s+n]
				var acc float32
				for k, wt := range ws {
					acc += wt * px[k]
				}
				outRow[o] = acc
			}
		}
	}
	out := im.buf(im.C * outH * outW)
	for c := 0; c < im.C; c++ {
		tp := tmp[c*rows*outW:]
		op := out[c*outH*outW:]
		for o := 0; o < outH; o++ {
			s, n := wy.start[o]-r0, wy.n[o]
			ws := wy.w[o*wy.taps : o*wy.taps+n]
			dst := op[o*outW : (o+1)*outW]
			row := tp[s*outW : (s+1)*outW]
			w0 := ws[0]
			for x := range dst {
				dst[x] = w0 * row[x]
			}
			for k := 1; k < len(ws); k++ {
				wt := ws[k]
				row := tp[(s+k)*outW : (s+k+1)*outW]
				for x := range dst {
					dst[x] += wt * row[x]
				}
			}
		}
	}
	im.commit(out, im.C, outH, outW)
}

// Resize scales the image to H x W (bilinear, antialiased when shrinking).
type Resize struct{ H, W int }

// Apply implements Transform.
func (t Resize) Apply(im *Image, _ *rand.Rand) error {
	if t.H < 1 || t.W < 1 {
		return fmt.Errorf("size %dx%d", t.H, t.W)
	}
	if im.H == t.H && im.W == t.W {
		return nil
	}
	resample(im, 0, 0, float64(im.W), float64(im.H), t.H, t.W)
	return nil
}

func (t Resize) String() string { return fmt.Sprintf("resize=%dx%d", t.H, t.W) }

// CenterCrop cuts the central H x W region; an image smaller than that is
// padded with zeros around it.
type CenterCrop struct{ H, W int }

// Apply implements Transform.
func (t CenterCrop) Apply(im *Image, _ *rand.Rand) error {
	if t.H < 1 || t.W < 1 {
		return fmt.Errorf("size %dx%d", t.H, t.W)
	}
	if im.H == t.H && im.W == t.W {
		return nil
	}
	top := int(math.Round(float64(im.H-t.H) / 2))
	left := int(math.Round(float64(im.W-t.W) / 2))
	crop(im, top, left, t.H, t.W)
	return nil
}

func (t CenterCrop) String() string { return fmt.Sprintf("centercrop=%dx%d", t.H, t.W) }

// crop replaces the image by its h x w region at (top, left); outside
// pixels are zero.
func crop(im *Image, top, left, h, w int) {
	out := im.buf(im.C * h * w)
	clear(out)
	for c := 0; c < im.C; c++ {
		for y := 0; y < h; y++ {
			sy := top + y
			if sy < 0 || sy >= im.H {
				continue
			}
			x0, x1 := max(0, -left), min(w, im.W-left)
			if x0 >= x1 {
				continue
			}
			copy(out[(c*h+y)*w+x0:(c*h+y)*w+x1], im.Pix[(c*im.H+sy)*im.W+left+x0:(c*im.H+sy)*im.W+left+x1])
		}
	}
	im.commit(out, im.C, h, w)
}

// RandomResizedCrop crops a random region of random area and aspect ratio
// and resizes it to H x W (torchvision's algorithm: ten tries, then a
// centre crop of the clamped ratio).
type RandomResizedCrop struct {
	H, W               int
	ScaleMin, ScaleMax float64 // fraction of the area (default 0.08, 1)
	RatioMin, RatioMax float64 // width/height (default 3/4, 4/3)
}

// Apply implements Transform.
func (t RandomResizedCrop) Apply(im *Image, rng *rand.Rand) error {
	if t.H < 1 || t.W < 1 {
		return fmt.Errorf("size %dx%d", t.H, t.W)
	}
	smin, smax, rmin, rmax := t.ScaleMin, t.ScaleMax, t.RatioMin, t.RatioMax
	if smax == 0 {
		smin, smax = 0.08, 1
	}
	if rmax == 0 {
		rmin, rmax = 3.0/4, 4.0/3
	}
	if smin <= 0 || smin > smax || smax > 1 || rmin <= 0 || rmin > rmax {
		return fmt.Errorf("scale %v..%v, ratio %v..%v", smin, smax, rmin, rmax)
	}
	area := float64(im.H * im.W)
	for try := 0; try < 10; try++ {
		target := area * (smin + (smax-smin)*rng.Float64())
		ratio := math.Exp(math.Log(rmin) + (math.Log(rmax)-math.Log(rmin))*rng.Float64())
		w := int(math.Round(math.Sqrt(target * ratio)))
		h := int(math.Round(math.Sqrt(target / ratio)))
		if w > 0 && h > 0 && w <= im.W && h <= im.H {
			top := rng.IntN(im.H - h + 1)
			left := rng.IntN(im.W - w + 1)
			resample(im, float64(left), float64(top), float64(w), float64(h), t.H, t.W)
			return nil
		}
	}
	ratio := float64(im.W) / float64(im.H)
	w, h := im.W, im.H
	if ratio < rmin {
		h = int(math.Round(float64(w) / rmin))
	} else if ratio > rmax {
		w = int(math.Round(float64(h) * rmax))
	}
	top, left := (im.H-h)/2, (im.W-w)/2
	resample(im, float64(left), float64(top), float64(w), float64(h), t.H, t.W)
	return nil
}

func (t RandomResizedCrop) String() string {
	s := fmt.Sprintf("randomresizedcrop=%dx%d", t.H, t.W)
	if t.ScaleMax != 0 {
		s += fmt.Sprintf(":%g-%g", t.ScaleMin, t.ScaleMax)
	}
	return s
}

// HFlip mirrors the image left-right with probability P.
type HFlip struct{ P float64 }

// Apply implements Transform. It draws one number whatever P is, so that
// changing P does not shift the random stream of later transforms.
func (t HFlip) Apply(im *Image, rng *rand.Rand) error {
	if rng.Float64() >= t.P {
		return nil
	}
	for r := 0; r < im.C*im.H; r++ {
		row := im.Pix[r*im.W : (r+1)*im.W]
		for i, j := 0, len(row)-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
	return nil
}

func (t HFlip) String() string { return fmt.Sprintf("hflip=%g", t.P) }

// Cutout sets N square holes of side Size to Value, each with probability
// P (DeVries & Taylor 2017: the centre is uniform over the image and the
// hole is clipped at the borders).
type Cutout struct {
	Size  int
	N     int     // holes (default 1)
	P     float64 // probability per hole (default 1)
	Value float32
}

// Apply implements Transform.
func (t Cutout) Apply(im *Image, rng *rand.Rand) error {
	if t.Size < 1 {
		return fmt.Errorf("hole size %d", t.Size)
	}
	n, p := max(t.N, 1), t.P
	if p == 0 {
		p = 1
	}
	for k := 0; k < n; k++ {
		cy, cx, u := rng.IntN(im.H), rng.IntN(im.W), rng.Float64()
		if u >= p {
			continue
		}
		y0, y1 := max(0, cy-t.Size/2), min(im.H, cy-t.Size/2+t.Size)
		x0, x1 := max(0, cx-t.Size/2), min(im.W, cx-t.Size/2+t.Size)
		for c := 0; c < im.C; c++ {
			for y := y0; y < y1; y++ {
				row := im.Pix[(c*im.H+y)*im.W:]
				for x := x0; x < x1; x++ {
					row[x] = t.Value
				}
			}
		}
	}
	return nil
}

func (t Cutout) String() string {
	s := fmt.Sprintf("cutout=%d", t.Size)
	if t.N > 1 {
		s += fmt.Sprintf("x%d", t.N)
	}
	if t.P != 0 && t.P != 1 {
		s += fmt.Sprintf("@%g", t.P)
	}
	return s
}

// Channels converts to C channels: gray to RGB repeats the plane; RGB to
// gray takes the ITU-R 601 luma (0.299, 0.587, 0.114).
type Channels struct{ C int }

// Apply implements Transform.
func (t Channels) Apply(im *Image, _ *rand.Rand) error {
	if im.C == t.C {
		return nil
	}
	plane := im.H * im.W
	switch {
	case im.C == 1 && t.C == 3:
		out := im.buf(3 * plane)
		copy(out, im.Pix[:plane])
		copy(out[plane:], im.Pix[:plane])
		copy(out[2*plane:], im.Pix[:plane])
		im.commit(out, 3, im.H, im.W)
	case im.C == 3 && t.C == 1:
		out := im.buf(plane)
		for i := range out {
			out[i] = 0.299*im.Pix[i] + 0.587*im.Pix[plane+i] + 0.114*im.Pix[2*plane+i]
		}
		im.commit(out, 1, im.H, im.W)
	default:
		return fmt.Errorf("cannot convert %d channels to %d", im.C, t.C)
	}
	return nil
}

func (t Channels) String() string { return fmt.Sprintf("channels=%d", t.C) }

// Normalize maps each channel to (x - Mean[c]) / Std[c]; one value applies to
// every channel.
type Normalize struct{ Mean, Std []float32 }

// Apply implements Transform.
func (t Normalize) Apply(im *Image, _ *rand.Rand) error {
	if len(t.Mean) != len(t.Std) || (len(t.Mean) != 1 && len(t.Mean) != im.C) {
		return fmt.Errorf("%d means and %d stds for a %d-channel image", len(t.Mean), len(t.Std), im.C)
	}
	plane := im.H * im.W
	for c := 0; c < im.C; c++ {
		k := min(c, len(t.Mean)-1)
		if !(t.Std[k] > 0) {
			return fmt.Errorf("std %v is not positive", t.Std[k])
		}
		m, inv := t.Mean[k], 1/t.Std[k]
		p := im.Pix[c*plane : (c+1)*plane]
		for i, v := range p {
			p[i] = (v - m) * inv
		}
	}
	return nil
}

func (t Normalize) String() string {
	f := func(v []float32) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
		}
		return strings.Join(s, "/")
	}
	return "normalize=" + f(t.Mean) + ":" + f(t.Std)
}

// Parse reads a pipeline spec: comma-separated transforms, e.g.
//
//	resize=32,randomresizedcrop=28:0.5-1,hflip=0.5,cutout=8x2@0.5,channels=3,normalize=0.5:0.25
//
// Sizes are N or HxW. randomresizedcrop takes an optional :MIN-MAX area
// range; cutout SIZE[xN][@P]; normalize MEAN:STD with per-channel values
// separated by '/'. An empty spec is an empty pipeline.
func Parse(spec string) (Pipeline, error) {
	var p Pipeline
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, arg, _ := strings.Cut(part, "=")
		t, err := parseOne(strings.ToLower(name), arg)
		if err != nil {
			return nil, fmt.Errorf("transform %q: %w", part, err)
		}
		p = append(p, t)
	}
	return p, nil
}

func parseSize(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "x")
	h, err := strconv.Atoi(a)
	if err != nil || h < 1 {
		return 0, 0, fmt.Errorf("size %q: want N or HxW", s)
	}
	if !ok {
		return h, h, nil
	}
	w, err := strconv.Atoi(b)
	if err != nil || w < 1 {
		return 0, 0, fmt.Errorf("size %q: want N or HxW", s)
	}
	return h, w, nil
}

func parseFloats(s string) ([]float32, error) {
	var out []float32
	for _, f := range strings.Split(s, "/") {
		v, err := strconv.ParseFloat(f, 32)
		if err != nil {
			return nil, fmt.Errorf("number %q", f)
		}
		out = append(out, float32(v))
	}
	return out, nil
}

func parseOne(name, arg string) (Transform, error) {
	switch name {
	case "resize", "centercrop":
		h, w, err := parseSize(arg)
		if err != nil {
			return nil, err
		}
		if name == "resize" {
			return Resize{h, w}, nil
		}
		return CenterCrop{h, w}, nil
	case "randomresizedcrop", "rrc":
		size, scale, hasScale := strings.Cut(arg, ":")
		h, w, err := parseSize(size)
		if err != nil {
			return nil, err
		}
		t := RandomResizedCrop{H: h, W: w}
		if hasScale {
			a, b, ok := strings.Cut(scale, "-")
			lo, err1 := strconv.ParseFloat(a, 64)
			hi, err2 := strconv.ParseFloat(b, 64)
			if !ok || err1 != nil || err2 != nil || lo <= 0 || lo > hi || hi > 1 {
				return nil, fmt.Errorf("area range %q: want MIN-MAX within (0,1]", scale)
			}
			t.ScaleMin, t.ScaleMax = lo, hi
		}
		return t, nil
	case "hflip":
		p := 0.5
		if arg != "" {
			var err error
			if p, err = strconv.ParseFloat(arg, 64); err != nil || p < 0 || p > 1 {
				return nil, fmt.Errorf("probability %q", arg)
			}
		}
		return HFlip{p}, nil
	case "cutout":
		t := Cutout{N: 1, P: 1}
		rest, pr, hasP := strings.Cut(arg, "@")
		sz, n, hasN := strings.Cut(rest, "x")
		var err error
		if t.Size, err = strconv.Atoi(sz); err != nil || t.Size < 1 {
			return nil, fmt.Errorf("hole size %q", sz)
		}
		if hasN {
			if t.N, err = strconv.Atoi(n); err != nil || t.N < 1 {
				return nil, fmt.Errorf("hole count %q", n)
			}
		}
		if hasP {
			if t.P, err = strconv.ParseFloat(pr, 64); err != nil || t.P < 0 || t.P > 1 {
				return nil, fmt.Errorf("probability %q", pr)
			}
		}
		return t, nil
	case "channels", "gray2rgb", "rgb2gray":
		c := map[string]int{"gray2rgb": 3, "rgb2gray": 1}[name]
		if name == "channels" {
			var err error
			if c, err = strconv.Atoi(arg); err != nil || (c != 1 && c != 3) {
				return nil, fmt.Errorf("channels %q: want 1 or 3", arg)
			}
		}
		return Channels{c}, nil
	case "normalize", "normalise":
		m, s, ok := strings.Cut(arg, ":")
		if !ok {
			return nil, fmt.Errorf("want MEAN:STD")
		}
		mean, err := parseFloats(m)
		if err != nil {
			return nil, err
		}
		std, err := parseFloats(s)
		if err != nil {
			return nil, err
		}
		if len(mean) != len(std) {
			return nil, fmt.Errorf("%d means, %d stds", len(mean), len(std))
		}
		for _, v := range std {
			if !(v > 0) {
				return nil, fmt.Errorf("std %v is not positive", v)
			}
		}
		return Normalize{mean, std}, nil
	}
	return nil, fmt.Errorf("unknown transform %q (known: resize, centercrop, randomresizedcrop, hflip, cutout, channels, gray2rgb, rgb2gray, normalize)", name)
}

// ForDataset parses spec; an empty spec gives the dataset's recorded
// normalisation (none when it has no statistics), "none" no transform.
func ForDataset(spec string, meta arrowds.Metadata) (Pipeline, error) {
	if spec == "" && len(meta.NormMean) > 0 {
		spec = NormalizeSpec(meta.NormMean, meta.NormStd)
	}
	if spec == "" || spec == "none" {
		return nil, nil
	}
	return Parse(spec)
}

// NormalizeSpec returns the spec "normalize=m1/m2…:s1/s2…".
func NormalizeSpec(mean, std []float64) string {
	m := make([]string, len(mean))
	s := make([]string, len(std))
	for i := range mean {
		m[i] = strconv.FormatFloat(mean[i], 'g', 6, 64)
	}
	for i := range std {
		s[i] = strconv.FormatFloat(std[i], 'g', 6, 64)
	}
	return "normalize=" + strings.Join(m, "/") + ":" + strings.Join(s, "/")
}

// Geometric is the part of the pipeline that moves pixels (Resize,
// CenterCrop, RandomResizedCrop, HFlip), without the transforms that only
// change values (Normalize, Channels, Cutout): what a mask of the image
// must go through to stay aligned with it. With the same generator state,
// the random draws match the full pipeline's as long as no value transform
// that draws (Cutout) comes before a geometric one that draws; otherwise
// Geometric is an error.
func (p Pipeline) Geometric() (Pipeline, error) {
	var out Pipeline
	var drawn string
	for _, t := range p {
		switch t.(type) {
		case Resize, CenterCrop:
			out = append(out, t)
		case RandomResizedCrop, HFlip:
			if drawn != "" {
				return nil, fmt.Errorf("transform %s: masks cannot follow the image after %s draws random numbers before it", t, drawn)
			}
			out = append(out, t)
		case Cutout:
			drawn = t.String()
		}
	}
	return out, nil
}

// ApplyMask moves a region mask (h×w, non-zero inside) as the pipeline's
// geometric transforms move the image's pixels (see Geometric), drawing
// from rng as the image's transforms did, and returns it at the output
// size: a pixel is inside when at least half of it was.
func (p Pipeline) ApplyMask(mask []uint8, h, w int, rng *rand.Rand) (out []uint8, oh, ow int, err error) {
	if len(mask) != h*w {
		return nil, 0, 0, fmt.Errorf("a %d×%d mask needs %d values, got %d", h, w, h*w, len(mask))
	}
	g, err := p.Geometric()
	if err != nil {
		return nil, 0, 0, err
	}
	im := &Image{C: 1, H: h, W: w, Pix: make([]float32, h*w)}
	for i, v := range mask {
		if v != 0 {
			im.Pix[i] = 1
		}
	}
	if err := g.Apply(im, rng); err != nil {
		return nil, 0, 0, err
	}
	out = make([]uint8, im.H*im.W)
	for i, v := range im.Pix[:im.H*im.W] {
		if v >= 0.5 {
			out[i] = 1
		}
	}
	return out, im.H, im.W, nil
}

// BlackLevel is what a black pixel (0 in every one of the dataset's
// channels) becomes through the pipeline's value transforms (Channels,
// Normalize): the value per output channel that erases a pixel to black in
// the network's input space.
func (p Pipeline) BlackLevel(channels int) ([]float32, error) {
	if channels < 1 {
		return nil, fmt.Errorf("black level of %d channels", channels)
	}
	im := &Image{C: channels, H: 1, W: 1, Pix: make([]float32, channels)}
	for _, t := range p {
		switch t.(type) {
		case Channels, Normalize:
			if err := t.Apply(im, nil); err != nil {
				return nil, fmt.Errorf("%s: %w", t, err)
			}
		}
	}
	return append([]float32(nil), im.Pix[:im.C]...), nil
}
