package fit_test

import (
	"fmt"

	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/metrics"
)

// Cosine annealing after a linear warm-up of 2 steps, over 10 steps.
func ExampleCosine() {
	s := fit.Cosine(2)
	for _, step := range []int{0, 1, 2, 6, 9} {
		fmt.Printf("%.3f ", s(step, 10))
	}
	fmt.Println()
	// Output: 0.500 1.000 1.000 0.500 0.038
}

// Best-model selection compares scores where larger is better: the loss is
// negated.
func ExampleSelectScore() {
	r := metrics.Report{Accuracy: 0.9, MeanLoss: 0.3}
	a, _ := fit.SelectScore(r, "accuracy")
	l, _ := fit.SelectScore(r, "loss")
	fmt.Println(a, l)
	// Output: 0.9 -0.3
}
