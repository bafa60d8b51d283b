package saliency

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// A 4×4 map marking the true 2×2 region and one pixel more, by hand.
func TestScoreRegionByHand(t *testing.T) {
	truth := []uint8{
		1, 1, 0, 0,
		1, 1, 0, 0,
		0, 0, 0, 0,
		0, 0, 0, 0,
	}
	p := []float32{
		0.9, 0.8, 0.7, 0.1,
		0.8, 0.95, 0.2, 0.1,
		0.1, 0.1, 0.1, 0.1,
		0.1, 0.1, 0.1, 0.1,
	}
	s, ok, err := ScoreRegion(p, 0.5, truth, 4, 4)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	// M keeps 5 pixels, 4 of them in G (|G| = 4): IoU 4/5; the top 4 are G;
	// the argmax (0.95) is in G; a random 5-pixel mask meets G in 5·4/16
	// pixels on average.
	e := 5.0 * 4 / 16
	want := RegionScore{Keep: 5.0 / 16, IoU: 0.8, IoUTopK: 1, Pointing: 1, IoURandom: e / (9 - e)}
	if !near(s.Keep, want.Keep) || !near(s.IoU, want.IoU) || !near(s.IoUTopK, want.IoUTopK) || s.Pointing != 1 || !near(s.IoURandom, want.IoURandom) {
		t.Fatalf("got %+v, want %+v", s, want)
	}

	// A map whose maximum sits one pixel off the region still points at it
	// (tolerance max(1, side/16) = 1); two pixels off, not.
	off := make([]float32, 16)
	off[2] = 1 // (0, 2): next to (0, 1)
	if s, _, _ := ScoreRegion(off, 0.5, truth, 4, 4); s.Pointing != 1 || s.IoU != 0 || s.IoUTopK >= 1 {
		t.Fatalf("one pixel off: %+v", s)
	}
	far := make([]float32, 16)
	far[15] = 1
	if s, _, _ := ScoreRegion(far, 0.5, truth, 4, 4); s.Pointing != 0 {
		t.Fatalf("far off: %+v", s)
	}
	if _, ok, err := ScoreRegion(p, 0.5, make([]uint8, 16), 4, 4); ok || err != nil {
		t.Fatalf("an empty region must not be scored: ok %v, err %v", ok, err)
	}
	if _, _, err := ScoreRegion(p[:15], 0.5, truth, 4, 4); err == nil || !strings.Contains(err.Error(), "4×4") {
		t.Fatalf("a map of the wrong size: %v", err)
	}
}

// mask_iou_random is what random masks of the same area get: the ratio of
// the expected intersection to the expected union, close to the mean IoU of
// many random masks.
func TestRandomIoUMatchesRandomMasks(t *testing.T) {
	const h, w, g, m = 32, 32, 60, 200
	truth := make([]uint8, h*w)
	for i := 0; i < g; i++ {
		truth[i] = 1
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var sum float64
	const trials = 4000
	var want float64
	for k := 0; k < trials; k++ {
		p := make([]float32, h*w)
		for _, i := range rng.Perm(h * w)[:m] {
			p[i] = 1
		}
		s, _, err := ScoreRegion(p, 0.5, truth, h, w)
		if err != nil {
			t.Fatal(err)
		}
		sum += s.IoU
		want = s.IoURandom
	}
	if got := sum / trials; math.Abs(got-want) > 0.02*want {
		t.Fatalf("random masks of %d pixels: mean IoU %.4f, mask_iou_random %.4f", m, got, want)
	}
}

func TestRegionAverages(t *testing.T) {
	var r Region
	if r.Values() != nil {
		t.Fatal("no image: no values")
	}
	r.Add(RegionScore{Keep: 0.2, IoU: 0.5, IoUTopK: 1, Pointing: 1, IoURandom: 0.1})
	r.Add(RegionScore{Keep: 0.4, IoU: 0.1, IoUTopK: 0, Pointing: 0, IoURandom: 0.3})
	v := r.Values()
	want := map[string]float64{KeyKeep: 0.3, KeyIoU: 0.3, KeyIoUTopK: 0.5, KeyPointing: 0.5, KeyIoURandom: 0.2, KeyImages: 2}
	for k, x := range want {
		if !near(v[k], x) {
			t.Errorf("%s = %v, want %v", k, v[k], x)
		}
	}
}

// A classifier whose class-1 probability is the fraction of a 4-pixel
// region still showing: a map ranking the region first gives deletion AUC
// 2/16 and insertion AUC 14/16 (one pixel per step, by hand); the reverse
// map does worse on both.
func TestCurvesByHand(t *testing.T) {
	const h, w = 4, 4
	region := []int{5, 6, 9, 10}
	classify := func(xt *tensor.Dense) ([]float32, error) {
		x, n := xt.Data().([]float32), xt.Shape()[0]
		out := make([]float32, 2*n)
		for i := 0; i < n; i++ {
			var s float32
			for _, j := range region {
				s += x[i*h*w+j]
			}
			out[2*i+1] = s / 4
			out[2*i] = 1 - out[2*i+1]
		}
		return out, nil
	}
	x := make([]float32, h*w)
	for i := range x {
		x[i] = 1
	}
	good, bad := make([]float32, h*w), make([]float32, h*w)
	for i := range bad {
		bad[i] = float32(i) // region pixels in the middle of the order
	}
	for k, j := range region {
		good[j] = float32(10 - k)
	}
	del, ins, err := Curves(classify, append(x, x...), make([]float32, 2*h*w), append(good, bad...), []int{1, 1}, 2, 1, h, w, 2, h*w)
	if err != nil {
		t.Fatal(err)
	}
	if !near(del[0], 2.0/16) || !near(ins[0], 14.0/16) {
		t.Fatalf("the right map: deletion %v, insertion %v; want 0.125, 0.875", del[0], ins[0])
	}
	if !(del[1] > del[0]) || !(ins[1] < ins[0]) {
		t.Fatalf("an uninformed map: deletion %v, insertion %v; the right one %v, %v", del[1], ins[1], del[0], ins[0])
	}
	if _, _, err := Curves(classify, x, x, good, []int{2}, 1, 1, h, w, 2, 4); err == nil || !strings.Contains(err.Error(), "label 2") {
		t.Fatalf("a label outside the classes: %v", err)
	}
}

// A flat map (a policy that marks nothing) scores by chance wherever the
// region lies, even in the corner where raster order would put its ties.
func TestFlatMapScoresByChance(t *testing.T) {
	const side = 16
	flat := make([]float32, side*side)
	for i := range flat {
		flat[i] = 0.5
	}
	truth := make([]uint8, side*side)
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			truth[y*side+x] = 1
		}
	}
	s, _, err := ScoreRegion(flat, 0.5, truth, side, side)
	if err != nil {
		t.Fatal(err)
	}
	// The region dilated by 1 covers 5×5 of the 256 pixels; a random 16 of
	// 256 pixels meets the 16 region pixels once on average.
	if !near(s.Pointing, 25.0/256) {
		t.Errorf("pointing %v, want 25/256", s.Pointing)
	}
	if want := iou(1, 16, 16); !near(s.IoUTopK, want) {
		t.Errorf("top-k IoU %v, want %v", s.IoUTopK, want)
	}
	if s.IoU != 0 || s.Keep != 0 {
		t.Errorf("P = 0.5 is not above the threshold: %+v", s)
	}
}
