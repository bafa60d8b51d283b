package convert_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
)

func ExampleSynthetic() {
	dir, _ := os.MkdirTemp("", "convert-example-")
	defer os.RemoveAll(dir)
	cfg := synthetic.Default()
	cfg.Count = 100
	res, err := convert.Synthetic(cfg, convert.Options{Out: filepath.Join(dir, "synth")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Rows, res.PerSplit["train"], res.PerSplit["val"], res.PerSplit["test"], res.PerClass)
	// Output: 100 70 16 14 map[normal:50 ring:50]
}
