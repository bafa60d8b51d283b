package probe_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/pgaug/pgaug/trainer/probe"
)

// twoClusters returns n rows per class of 4 features, class c centred at
// +3 on feature c.
func twoClusters(seed uint64, n int) probe.Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := probe.Data{D: 4, Classes: 2}
	for c := 0; c < 2; c++ {
		for i := 0; i < n; i++ {
			for j := 0; j < 4; j++ {
				v := rng.NormFloat64()
				if j == c {
					v += 3
				}
				d.X = append(d.X, float32(v))
			}
			d.Labels = append(d.Labels, c)
			d.N++
		}
	}
	return d
}

func ExampleFitLogReg() {
	train, test := twoClusters(1, 100), twoClusters(2, 100)
	m, err := probe.FitLogReg(train, probe.LogRegConfig{}) // λ = 1/N
	if err != nil {
		log.Fatal(err)
	}
	r, err := probe.Evaluate(m, test)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("converged: %v, test accuracy %.2f\n", m.Converged, r.Accuracy)
	// Output: converged: true, test accuracy 0.98
}

func ExampleFitMLP() {
	train, test := twoClusters(1, 100), twoClusters(2, 100)
	m, err := probe.FitMLP(context.Background(), train, probe.MLPConfig{Hidden: 32, Epochs: 20, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	r, err := probe.Evaluate(m, test)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("test accuracy %.2f\n", r.Accuracy)
	// Output: test accuracy 0.94
}

func ExampleFewShot() {
	train, test := twoClusters(1, 100), twoClusters(2, 100)
	res, err := probe.FewShot(context.Background(), train, test, probe.FewShotConfig{
		Shots: []int{8, 64, 128}, Trials: 10, Seed: 1,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		if r.Skipped != "" {
			fmt.Printf("k=%d skipped: %s\n", r.K, r.Skipped)
			continue
		}
		a := r.Accuracy
		fmt.Printf("k=%d accuracy %.3f, 95%% CI [%.3f, %.3f]\n", r.K, a.Mean, a.Lo, a.Hi)
	}
	// Output:
	// k=8 accuracy 0.968, 95% CI [0.953, 0.983]
	// k=64 accuracy 0.983, 95% CI [0.979, 0.987]
	// k=128 skipped: k = 128 is more than the 100 training rows of the smallest class (0)
}

func ExampleSummarize() {
	s, err := probe.Summarize([]float64{0.80, 0.82, 0.79, 0.85, 0.81, 0.83, 0.78, 0.84, 0.80, 0.82}, 0.95)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.3f ± %.4f (t = %.6f)\n", s.Mean, s.HalfWidth, probe.TQuantile(0.975, 9))
	// Output: 0.814 ± 0.0159 (t = 2.262157)
}
