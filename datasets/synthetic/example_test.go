package synthetic_test

import (
	"fmt"
	"log"

	"github.com/pgaug/pgaug/datasets/synthetic"
)

func ExampleGenerator_Sample() {
	cfg := synthetic.Default()
	cfg.Count, cfg.Classes = 10, 3
	g, err := synthetic.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		s := g.Sample(i)
		marked := 0
		for _, v := range s.Mask {
			marked += int(v)
		}
		fmt.Println(s.ID, g.Meta().Classes[s.Label], s.Height, s.Width, "structure pixels:", marked > 0, "bbox:", s.BBox != nil)
	}
	// Output:
	// synthetic-000000 normal 32 32 structure pixels: false bbox: false
	// synthetic-000001 ring 32 32 structure pixels: true bbox: true
	// synthetic-000002 streak 32 32 structure pixels: true bbox: true
	// synthetic-000003 normal 32 32 structure pixels: false bbox: false
}
