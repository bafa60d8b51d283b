package apga

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

// With Bernoulli actions and per-image rewards, each pixel's push follows
// whether erasing it hurt the classifier: the policy marks the evidence and
// nothing else, at the keep target (4 of 16 pixels), from a start that marks
// every pixel half the time. A fixed classifier isolates the policy.
func TestSampledPolicyMarksTheEvidence(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		rng := rand.New(rand.NewPCG(seed, 4))
		init := make([]float32, side*side)
		for i := range init {
			init[i] = float32(rng.Float64()*0.6 - 0.3)
		}
		cfg := SampledPreset()
		cfg.Classes, cfg.ClassifierLR, cfg.PolicyLR, cfg.Seed = 2, 0, 0.05, seed
		cls := netstep.New(linearClassifier(t, 1), netstep.CrossEntropy)
		pol := netstep.New(positionalPolicy(t, init), netstep.BinaryCrossEntropy)
		m, err := New(cfg, cls, pol, &optim.SGD{}, optim.NewAdam(0))
		if err != nil {
			t.Fatal(err)
		}
		var last map[string]float64
		for step := 0; step < 300; step++ {
			if last, err = m.TrainStep(context.Background(), synthBatch(rng, 16), 1); err != nil {
				t.Fatal(err)
			}
		}
		p := pol.Model.Param("logit").Value.Data().([]float32)
		var inE, outE float64
		for i, v := range p {
			prob := 1 / (1 + math.Exp(-float64(v)))
			if evidence(i) {
				inE += prob / 4
			} else {
				outE += prob / 12
			}
		}
		cls.Close()
		pol.Close()
		t.Logf("seed %d: mean P on the evidence %.3f, elsewhere %.3f; last step %v", seed, inE, outE, last)
		if !(inE > 0.8) || !(outE < 0.2) {
			t.Fatalf("seed %d: the sampled policy did not mark the evidence: mean P %.3f on it, %.3f elsewhere", seed, inE, outE)
		}
	}
}
