package apga_test

import (
	"fmt"

	"github.com/pgaug/pgaug/trainer/apga"
)

// The two presets: the paper's text and the authors' published code.
func ExamplePreset() {
	for _, name := range []string{"paper", "reference"} {
		c, _ := apga.Preset(name)
		fmt.Printf("%-9s lr %g, λ0 %g, λ1 %g, advantage ×%g, λ·|R−b| %v, baseline first %v, L_adv in eval mode %v\n",
			c.Preset, c.ClassifierLR, c.LambdaZeros, c.LambdaOnes, c.AdvantageScale, c.ScaleLambdasByAdvantage, c.BaselineFirst, c.AdversarialEvalMode)
	}
	// Output:
	// paper     lr 0.0001, λ0 0.1, λ1 0, advantage ×1, λ·|R−b| false, baseline first false, L_adv in eval mode false
	// reference lr 1e-05, λ0 0.1, λ1 0.01, advantage ×100, λ·|R−b| true, baseline first true, L_adv in eval mode true
}

// The policy loss's per-pixel weights for the action A = (P > 0.5) and an
// advantage of 0.5 (paper preset): w1 = 0.5·A, w0 = 0.5·(1−A) + 0.1.
func ExampleConfig_Weights() {
	c, _ := apga.Preset("paper")
	w1, w0 := c.Weights([]float32{0.9, 0.2}, 0.5)
	fmt.Println(w1, w0)
	// Output: [0.5 0] [0.1 0.6]
}
