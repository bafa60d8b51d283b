package fingerprint_test

import (
	"fmt"

	"github.com/pgaug/pgaug/pipeline/fingerprint"
)

type trainSettings struct {
	Model   string `fingerprint:",input"`
	Epochs  int
	LR      float64
	OutDir  string `fingerprint:"-"`
	Workers int    `fingerprint:"-"`
}

// A run's settings become a record of what its result depends on; two runs
// that differ only in how they are carried out share a fingerprint, and the
// difference between two records says which setting changed.
func ExampleOf() {
	zoo := func(name string) (string, error) { return name, nil } // a zoo network is its own identity
	a, _ := fingerprint.Of(trainSettings{Model: "zoo:resnet18", Epochs: 3, LR: 0.05, OutDir: "runs/a", Workers: 2}, "", zoo)
	b, _ := fingerprint.Of(trainSettings{Model: "zoo:resnet18", Epochs: 3, LR: 0.05, OutDir: "runs/b", Workers: 8}, "", zoo)
	c, _ := fingerprint.Of(trainSettings{Model: "zoo:resnet18", Epochs: 3, LR: 0.0123}, "", zoo)
	fmt.Println(a.Keys())
	fmt.Println(a.Sum() == b.Sum())
	fmt.Println(fingerprint.Describe(fingerprint.Diff(a, c), 5))
	// Output:
	// [epochs lr model]
	// true
	// lr 0.05 → 0.0123
}
