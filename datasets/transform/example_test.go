package transform_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/pgaug/pgaug/datasets/transform"
)

func ExampleParse() {
	p, err := transform.Parse("resize=4,hflip=1,normalize=0.5:0.5")
	if err != nil {
		log.Fatal(err)
	}
	im := &transform.Image{C: 1, H: 2, W: 2, Pix: []float32{0, 1, 0, 1}}
	if err := p.Apply(im, rand.New(rand.NewPCG(1, 2))); err != nil {
		log.Fatal(err)
	}
	fmt.Println(p)
	fmt.Println(im.H, im.W, im.Pix[:4])
	// Output:
	// resize=4x4,hflip=1,normalize=0.5:0.5
	// 4 4 [1 0.5 -0.5 -1]
}
