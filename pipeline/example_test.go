package pipeline_test

import (
	"fmt"

	"github.com/pgaug/pgaug/pipeline"
)

// Mean ± sample standard deviation and the 95% Student-t interval of a
// metric over three seeds, as pgaug experiment tabulates them.
func ExampleNewStat() {
	s := pipeline.NewStat([]float64{0.81, 0.84, 0.87})
	fmt.Println(s.PM())
	fmt.Printf("[%.4f, %.4f]\n", s.CI95[0], s.CI95[1])
	// Output:
	// 0.8400 ± 0.0300
	// [0.7655, 0.9145]
}

// Every configuration key can be set by name, as the section.key flags do.
func ExampleRunConfig_Set() {
	cfg := pipeline.DefaultRunConfig()
	if err := cfg.Set("apga.epochs", "5"); err != nil {
		fmt.Println(err)
	}
	if err := cfg.Set("methods", "cutout,apga"); err != nil {
		fmt.Println(err)
	}
	fmt.Println(cfg.APGA.Epochs, cfg.Methods)
	// Output: 5 [cutout apga]
}
