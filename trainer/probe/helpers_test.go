package probe

import (
	"math"
	"math/rand/v2"
)

// blobs draws n rows per class around class centres placed on the axes at
// distance sep, with unit Gaussian noise, in d dimensions.
func blobs(seed uint64, perClass []int, d int, sep float64) Data {
	rng := rand.New(rand.NewPCG(seed, 7))
	k := len(perClass)
	var out Data
	out.D, out.Classes = d, k
	for c, n := range perClass {
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				v := rng.NormFloat64()
				if j == c%d {
					v += sep
				}
				out.X = append(out.X, float32(v))
			}
			out.Labels = append(out.Labels, c)
			out.N++
		}
	}
	return out
}

func accuracy(pred, labels []int) float64 {
	ok := 0
	for i := range pred {
		if pred[i] == labels[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(pred))
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
