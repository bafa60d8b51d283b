package transform

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/pgaug/pgaug/datasets/arrowds"
)

func constant(c, h, w int, v float32) *Image {
	im := &Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)}
	for i := range im.Pix {
		im.Pix[i] = v
	}
	return im
}

func random(c, h, w int, seed uint64) *Image {
	rng := rand.New(rand.NewPCG(seed, 1))
	im := &Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)}
	for i := range im.Pix {
		im.Pix[i] = rng.Float32()
	}
	return im
}

func near(a, b, tol float32) bool { return float32(math.Abs(float64(a-b))) <= tol }

func TestResizeConstantStaysConstant(t *testing.T) {
	for _, sz := range [][4]int{{28, 28, 224, 224}, {224, 224, 28, 28}, {30, 17, 13, 41}, {5, 7, 5, 7}} {
		im := constant(3, sz[0], sz[1], 0.625)
		if err := (Resize{sz[2], sz[3]}).Apply(im, nil); err != nil {
			t.Fatal(err)
		}
		if im.H != sz[2] || im.W != sz[3] || len(im.Pix) != 3*sz[2]*sz[3] {
			t.Fatalf("%v: got %dx%d", sz, im.H, im.W)
		}
		for i, v := range im.Pix {
			if !near(v, 0.625, 1e-6) {
				t.Fatalf("%v: pixel %d = %v, want 0.625", sz, i, v)
			}
		}
	}
}

func TestResizeValues(t *testing.T) {
	// Upsampling [0 1] to 4 pixels with pixel centres: [0 .25 .75 1].
	im := &Image{C: 1, H: 1, W: 2, Pix: []float32{0, 1}}
	Resize{1, 4}.Apply(im, nil)
	for i, w := range []float32{0, 0.25, 0.75, 1} {
		if !near(im.Pix[i], w, 1e-6) {
			t.Errorf("upsampled %v, want [0 .25 .75 1]", im.Pix)
		}
	}
	// Same size: identity.
	r := random(2, 9, 11, 3)
	c := append([]float32(nil), r.Pix...)
	Resize{9, 11}.Apply(r, nil)
	if !reflect.DeepEqual(r.Pix, c) {
		t.Error("resizing to the same size changed the image")
	}
	// Antialiasing: 1-pixel stripes shrunk 4x average to 0.5; sampling
	// without a widened filter would give 0s and 1s.
	st := &Image{C: 1, H: 32, W: 32, Pix: make([]float32, 32*32)}
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x += 2 {
			st.Pix[y*32+x] = 1
		}
	}
	Resize{8, 8}.Apply(st, nil)
	for i, v := range st.Pix {
		if !near(v, 0.5, 0.07) {
			t.Fatalf("shrunk stripes: pixel %d = %v, want about 0.5", i, v)
		}
	}
	// Mean is preserved by an exact 2x reduction of a random image (up to
	// the border renormalisation).
	r = random(1, 64, 64, 4)
	var m0 float64
	for _, v := range r.Pix {
		m0 += float64(v)
	}
	Resize{32, 32}.Apply(r, nil)
	var m1 float64
	for _, v := range r.Pix {
		m1 += float64(v)
	}
	if math.Abs(m0/4096-m1/1024) > 0.01 {
		t.Errorf("mean %v before, %v after a 2x reduction", m0/4096, m1/1024)
	}
}

func TestFlipTwiceIsIdentity(t *testing.T) {
	im := random(3, 5, 7, 1)
	orig := append([]float32(nil), im.Pix...)
	rng := rand.New(rand.NewPCG(1, 1))
	HFlip{P: 1}.Apply(im, rng)
	if reflect.DeepEqual(im.Pix, orig) {
		t.Fatal("a flip with P=1 did nothing")
	}
	if im.Pix[0] != orig[6] || im.Pix[35+6] != orig[35] {
		t.Errorf("flip did not mirror rows")
	}
	HFlip{P: 1}.Apply(im, rng)
	if !reflect.DeepEqual(im.Pix, orig) {
		t.Error("flipping twice is not the identity")
	}
	for i := 0; i < 50; i++ {
		HFlip{P: 0}.Apply(im, rng)
	}
	if !reflect.DeepEqual(im.Pix, orig) {
		t.Error("a flip with P=0 changed the image")
	}
}

func TestCropCutoutChannelsNormalize(t *testing.T) {
	im := &Image{C: 1, H: 4, W: 4}
	for i := 0; i < 16; i++ {
		im.Pix = append(im.Pix, float32(i))
	}
	c := *im
	c.Pix = append([]float32(nil), im.Pix...)
	CenterCrop{2, 2}.Apply(&c, nil)
	if !reflect.DeepEqual(c.Pix, []float32{5, 6, 9, 10}) {
		t.Errorf("centre crop %v", c.Pix)
	}
	CenterCrop{4, 6}.Apply(&c, nil) // pads
	if c.W != 6 || c.Pix[0] != 0 || c.Pix[6+2] != 5 || c.Pix[6+3] != 6 || c.Pix[5] != 0 {
		t.Errorf("padded crop %v", c.Pix)
	}

	cu := constant(2, 20, 20, 1)
	Cutout{Size: 4, Value: 0}.Apply(cu, rand.New(rand.NewPCG(9, 9)))
	zeros := 0
	for _, v := range cu.Pix {
		if v == 0 {
			zeros++
		}
	}
	if zeros == 0 || zeros > 2*16 || zeros%2 != 0 {
		t.Errorf("cutout of 4x4 on 2 channels zeroed %d values", zeros)
	}

	g := &Image{C: 1, H: 1, W: 2, Pix: []float32{0.2, 0.8}}
	Channels{3}.Apply(g, nil)
	if g.C != 3 || !reflect.DeepEqual(g.Pix, []float32{0.2, 0.8, 0.2, 0.8, 0.2, 0.8}) {
		t.Errorf("gray to RGB: %v", g.Pix)
	}
	rgb := &Image{C: 3, H: 1, W: 1, Pix: []float32{1, 0.5, 0}}
	Channels{1}.Apply(rgb, nil)
	if rgb.C != 1 || !near(rgb.Pix[0], 0.299+0.5*0.587, 1e-6) {
		t.Errorf("RGB to gray: %v", rgb.Pix)
	}

	n := &Image{C: 2, H: 1, W: 2, Pix: []float32{0.5, 1, 0.25, 0}}
	if err := (Normalize{Mean: []float32{0.5, 0.25}, Std: []float32{0.25, 0.5}}).Apply(n, nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(n.Pix, []float32{0, 2, 0, -0.5}) {
		t.Errorf("normalize: %v, want [0 2 0 -0.5]", n.Pix)
	}
	if err := (Normalize{Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1}}).Apply(n, nil); err == nil {
		t.Error("3 means for a 2-channel image must fail")
	}
}

func TestRandomResizedCrop(t *testing.T) {
	im := constant(1, 50, 40, 0.3)
	rrc := RandomResizedCrop{H: 24, W: 24}
	if err := rrc.Apply(im, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	if im.H != 24 || im.W != 24 {
		t.Fatalf("size %dx%d", im.H, im.W)
	}
	for _, v := range im.Pix {
		if !near(v, 0.3, 1e-6) {
			t.Fatalf("constant image gave %v", v)
		}
	}
	a, b := random(1, 40, 40, 5), random(1, 40, 40, 5)
	rrc.Apply(a, rand.New(rand.NewPCG(7, 7)))
	rrc.Apply(b, rand.New(rand.NewPCG(7, 7)))
	if !reflect.DeepEqual(a.Pix, b.Pix) {
		t.Error("the same random stream must give the same crop")
	}
	c := random(1, 40, 40, 5)
	rrc.Apply(c, rand.New(rand.NewPCG(8, 8)))
	if reflect.DeepEqual(a.Pix, c.Pix) {
		t.Error("another random stream should give another crop")
	}
	// Full area, square ratio: the whole image, resized.
	full, ref := random(2, 30, 30, 6), random(2, 30, 30, 6)
	RandomResizedCrop{H: 12, W: 12, ScaleMin: 1, ScaleMax: 1, RatioMin: 1, RatioMax: 1}.Apply(full, rand.New(rand.NewPCG(1, 1)))
	Resize{12, 12}.Apply(ref, nil)
	if !reflect.DeepEqual(full.Pix, ref.Pix) {
		t.Error("a full-area crop should equal a resize")
	}
}

func TestFromPixels(t *testing.T) {
	src := arrowds.Image{Height: 1, Width: 2, Channels: 3, Pix: []uint8{255, 0, 51, 0, 255, 102}}
	var im Image
	FromPixels(&src, 255, &im)
	want := []float32{1, 0, 0, 1, 0.2, 0.4}
	for i := range want {
		if !near(im.Pix[i], want[i], 1e-6) {
			t.Fatalf("CHW %v, want %v", im.Pix, want)
		}
	}
	src16 := arrowds.Image{Height: 1, Width: 1, Channels: 1, Pix16: []uint16{65535}}
	FromPixels(&src16, 65535, &im)
	if im.Pix[0] != 1 || len(im.Pix) != 1 {
		t.Errorf("16-bit: %v", im.Pix)
	}
}

func TestParse(t *testing.T) {
	spec := "resize=32,randomresizedcrop=28:0.5-1,hflip=0.5,cutout=8x2@0.5,channels=3,normalize=0.5/0.4/0.3:0.25/0.2/0.1,centercrop=20x24"
	p, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := Pipeline{Resize{32, 32}, RandomResizedCrop{H: 28, W: 28, ScaleMin: 0.5, ScaleMax: 1}, HFlip{0.5},
		Cutout{Size: 8, N: 2, P: 0.5}, Channels{3}, Normalize{[]float32{0.5, 0.4, 0.3}, []float32{0.25, 0.2, 0.1}}, CenterCrop{20, 24}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("parsed %#v", p)
	}
	again, err := Parse(p.String())
	if err != nil || !reflect.DeepEqual(again, p) {
		t.Errorf("String/Parse round trip: %v %v", again, err)
	}
	for _, bad := range []string{"resize=0", "spin=3", "normalize=1:0", "hflip=2", "cutout=x", "randomresizedcrop=8:0-1"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q should not parse", bad)
		}
	}
	// A full pipeline on a 28x28 gray image.
	im := random(1, 28, 28, 1)
	if err := p.Apply(im, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	if im.C != 3 || im.H != 20 || im.W != 24 {
		t.Errorf("pipeline output %dx%dx%d", im.C, im.H, im.W)
	}
}

func TestForDataset(t *testing.T) {
	meta := arrowds.Metadata{NormMean: []float64{0.5}, NormStd: []float64{0.25}}
	p, err := ForDataset("", meta)
	if err != nil || p.String() != "normalize=0.5:0.25" {
		t.Fatalf("default: %v, %v", p, err)
	}
	if p, err := ForDataset("none", meta); err != nil || p != nil {
		t.Fatalf("none: %v, %v", p, err)
	}
	if p, err := ForDataset("", arrowds.Metadata{}); err != nil || p != nil {
		t.Fatalf("no statistics: %v, %v", p, err)
	}
	if p, err := ForDataset("hflip=0.5", meta); err != nil || p.String() != "hflip=0.5" {
		t.Fatalf("explicit: %v, %v", p, err)
	}
}
