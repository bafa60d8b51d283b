package transform

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// A mask moved by ApplyMask stays on the pixels of the image that the full
// pipeline moved: a bright 4×4 block and its mask through resize, crop and a
// (seeded) flip, with normalisation and channels in between.
func TestApplyMaskFollowsTheImage(t *testing.T) {
	const h, w = 20, 24
	for _, spec := range []string{
		"resize=10x12,centercrop=8",
		"hflip=1,resize=40x48,channels=3,normalize=0.5:0.25",
		"randomresizedcrop=16:0.5-1,hflip=0.5,normalize=0.2:2",
	} {
		p, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		mask := make([]uint8, h*w)
		im := &Image{C: 1, H: h, W: w, Pix: make([]float32, h*w)}
		for y := 4; y < 12; y++ {
			for x := 2; x < 10; x++ {
				mask[y*w+x] = 1
				im.Pix[y*w+x] = 1
			}
		}
		seed := uint64(len(spec))
		if err := p.Apply(im, rand.New(rand.NewPCG(seed, 1))); err != nil {
			t.Fatal(err)
		}
		got, oh, ow, err := p.ApplyMask(mask, h, w, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if oh != im.H || ow != im.W {
			t.Fatalf("%s: mask %d×%d, image %d×%d", spec, oh, ow, im.H, im.W)
		}
		// The block is the brightest part of the (first channel of the)
		// image; the mask must cover the pixels above its mid level.
		lo, hi := im.Pix[0], im.Pix[0]
		for _, v := range im.Pix[:oh*ow] {
			lo, hi = min(lo, v), max(hi, v)
		}
		bad, inside := 0, 0
		for i, v := range im.Pix[:oh*ow] {
			bright := v > (lo+hi)/2
			if got[i] == 1 {
				inside++
			}
			if bright != (got[i] == 1) {
				bad++
			}
		}
		if inside == 0 || bad > 0 {
			t.Fatalf("%s: %d of %d mask pixels disagree with the image (%d inside)", spec, bad, oh*ow, inside)
		}
	}
	cut, _ := Parse("cutout=4,hflip=0.5")
	if _, _, _, err := cut.ApplyMask(make([]uint8, 16), 4, 4, rand.New(rand.NewPCG(1, 1))); err == nil || !strings.Contains(err.Error(), "cutout") {
		t.Fatalf("a draw before a random flip must be refused: %v", err)
	}
}

func TestBlackLevel(t *testing.T) {
	p, err := Parse("resize=8,channels=3,normalize=0.5/0.25/0:0.25/0.5/2")
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.BlackLevel(1)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{-2, -0.5, 0}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("black level %v, want %v", got, want)
	}
	if got, _ := (Pipeline{}).BlackLevel(2); len(got) != 2 || got[0] != 0 || got[1] != 0 {
		t.Fatalf("no value transform: %v, want zeros", got)
	}
}
