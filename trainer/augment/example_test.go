package augment_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/pgaug/pgaug/trainer/augment"
)

// Erase one 2×2 square from a 1×1×4×4 image of ones.
func ExampleCutout() {
	x := make([]float32, 16)
	for i := range x {
		x[i] = 1
	}
	boxes, err := augment.Cutout(x, 1, 1, 4, 4, 2, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	erased := 0
	for _, v := range x {
		if v == 0 {
			erased++
		}
	}
	fmt.Println(erased == boxes[0].Area())
	// Output: true
}

// Masks instead of erasing: keep them to apply later.
func ExampleCutoutMask() {
	mask, err := augment.CutoutMask(2, 8, 8, 4, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(mask))
	// Output: 128
}

// Keep the pixels a mask marks (the same mask for every channel).
func ExampleApplyMask() {
	x := []float32{1, 2, 3, 4, 10, 20, 30, 40} // one image, 2 channels, 2×2
	mask := []float32{1, 0, 0, 1}
	if err := augment.ApplyMask(x, mask, 1, 2, 2, 2); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(x)
	// Output: [1 0 0 4 10 0 0 40]
}

// Mix a batch of two one-hot labelled images: each mixed target is the
// pixel share of the two sources.
func ExampleCutMix() {
	const n, c, h, w, k = 2, 1, 8, 8, 2
	x := make([]float32, n*c*h*w)
	for i := range x {
		x[i] = float32(i / (c * h * w)) // image 0 is 0s, image 1 is 1s
	}
	targets := []float32{1, 0, 0, 1}
	_, mixed, err := augment.CutMix(x, targets, n, c, h, w, k, 1, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.3f %.3f\n", mixed[0]+mixed[1], mixed[2]+mixed[3])
	// Output: 1.000 1.000
}
