package ops_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/ops"
	"github.com/pgaug/pgaug/datasets/synthetic"
)

// A 10-shot training set that keeps the validation and test rows.
func ExampleSample() {
	dir, _ := os.MkdirTemp("", "ops-example-")
	defer os.RemoveAll(dir)
	if _, err := convert.Synthetic(synthetic.Default(), convert.Options{Out: filepath.Join(dir, "all")}); err != nil {
		log.Fatal(err)
	}
	d, err := arrowds.Open(filepath.Join(dir, "all"))
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	rows, err := ops.Sample(d, filepath.Join(dir, "k10"), ops.SampleOptions{PerClass: 10, Split: "train", Seed: 1, KeepOther: true}, false, nil)
	if err != nil {
		log.Fatal(err)
	}
	k, err := arrowds.Open(filepath.Join(dir, "k10"))
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	s := ops.Inspect(k)
	fmt.Println(len(rows), s.Counts["train"], s.Counts["val"], s.Counts["test"])
	// Output: 200 [10 10] [45 45] [45 45]
}
