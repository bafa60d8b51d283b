package synthetic

import (
	"reflect"
	"testing"
)

func TestDeterministicAndSeeded(t *testing.T) {
	cfg := Default()
	cfg.Count, cfg.Classes = 40, 5
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(cfg)
	for _, i := range []int{0, 7, 39} {
		if !reflect.DeepEqual(a.Sample(i), b.Sample(i)) {
			t.Errorf("image %d differs between two generators of one config", i)
		}
	}
	// Order does not matter.
	late := a.Sample(9)
	for i := 0; i < 9; i++ {
		a.Sample(i)
	}
	if !reflect.DeepEqual(late, a.Sample(9)) {
		t.Error("an image depends on what was generated before")
	}
	cfg.Seed = 99
	c, _ := New(cfg)
	if reflect.DeepEqual(a.Sample(3).Pix, c.Sample(3).Pix) {
		t.Error("another seed gave the same pixels")
	}
}

// The label is carried by the structure: inside its mask, the class-k image
// is brighter than the same place of a structure-free image would be.
func TestStructureMarksTheLabel(t *testing.T) {
	cfg := Default()
	cfg.Count, cfg.Classes, cfg.Noise = 200, 5, 0
	g, _ := New(cfg)
	for i := 0; i < cfg.Count; i++ {
		s := g.Sample(i)
		if int(s.Label) != i%5 {
			t.Fatalf("image %d label %d", i, s.Label)
		}
		marked := 0
		for _, v := range s.Mask {
			marked += int(v)
		}
		if s.Label == 0 {
			if marked != 0 || s.BBox != nil {
				t.Fatalf("normal image %d has a structure", i)
			}
			continue
		}
		if marked < 4 || marked > 120 {
			t.Fatalf("image %d (class %d): %d structure pixels, want a small local structure", i, s.Label, marked)
		}
		bb := s.BBox
		if bb == nil || bb[2]-bb[0] > 16 || bb[3]-bb[1] > 16 {
			t.Fatalf("image %d: bbox %v is not small", i, bb)
		}
	}
	// A ring is hollow: its centre is not marked.
	s := g.Sample(1)
	cx, cy := int((s.BBox[0]+s.BBox[2])/2), int((s.BBox[1]+s.BBox[3])/2)
	if s.Mask[cy*32+cx] != 0 {
		t.Error("the ring's centre is marked")
	}
}

func TestValidate(t *testing.T) {
	for _, mod := range []func(c *Config){
		func(c *Config) { c.Count = 0 },
		func(c *Config) { c.Size = 8 },
		func(c *Config) { c.Classes = 6 },
		func(c *Config) { c.Fractions = [3]float64{0.5, 0.5, 0.5} },
		func(c *Config) { c.Noise = -1 },
	} {
		c := Default()
		mod(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%+v should be refused", c)
		}
	}
}
