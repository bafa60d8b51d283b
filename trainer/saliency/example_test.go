package saliency_test

import (
	"fmt"

	"github.com/pgaug/pgaug/trainer/saliency"
)

// A policy's probability map on a 4×4 image whose label lies in the
// top-left 2×2 region.
func ExampleScoreRegion() {
	truth := []uint8{1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	p := []float32{0.9, 0.8, 0.7, 0.1, 0.8, 0.95, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}
	s, ok, err := saliency.ScoreRegion(p, 0.5, truth, 4, 4)
	if err != nil || !ok {
		panic(err)
	}
	fmt.Printf("keep %.3f  IoU %.2f (random %.3f)  top-k IoU %.2f  pointing %.0f\n", s.Keep, s.IoU, s.IoURandom, s.IoUTopK, s.Pointing)
	// Output:
	// keep 0.312  IoU 0.80 (random 0.161)  top-k IoU 1.00  pointing 1
}
