package apga

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

// The overhead benchmarks (the issue "one APGA step vs the same work as plain
// training steps"): a ResNet-18 classifier on batches of 16 one-channel
// 64×64 images with 2 classes, Adam for both networks as pipeline's APGA
// defaults; the policy is zoo:unet-small (the pipeline's default) or
// zoo:ternausnet11 (the paper's; skipped under -short).
//
// Every benchmark reports ms/step: milliseconds per b.N iteration, that is
// per batch the method trains on (for BenchmarkPlainTwoSteps, two plain
// steps: the cost of training 1:1 on an augmented copy without a policy).
// Run in one process, BenchmarkAPGAStep also reports its ratio to the plain
// benchmarks (x-plain, x-plain2); BenchmarkOverhead measures all three
// interleaved, which is what scripts/bench.sh prints in its "method
// overhead" table.
const (
	benchN       = 16
	benchSize    = 64
	benchClasses = 2
	benchSeed    = 1
)

// benchMS holds the last ms/step of each benchmark of this process, by name,
// so that later benchmarks can report ratios.
var benchMS = map[string]float64{}

// benchBatch returns a seeded loader batch: N×1×64×64 standard normal
// pixels, alternating labels.
func benchBatch(seed uint64) *loader.Batch {
	rng := rand.New(rand.NewPCG(seed, 0xbe4c))
	hw := benchSize * benchSize
	b := &loader.Batch{N: benchN, C: 1, H: benchSize, W: benchSize,
		X: make([]float32, benchN*hw), Labels: make([]int32, benchN), IDs: make([]string, benchN), Rows: make([]int, benchN)}
	for i := 0; i < benchN; i++ {
		b.Labels[i] = int32(i % benchClasses)
		b.IDs[i] = fmt.Sprintf("bench-%d-%d", seed, i)
		b.Rows[i] = i
		for j := 0; j < hw; j++ {
			b.X[i*hw+j] = float32(rng.NormFloat64())
		}
	}
	return b
}

// benchNet builds zoo network name (1 input channel, 64 px) and wraps it.
func benchNet(b *testing.B, name string, classes int, seed uint64, kind netstep.LossKind) *netstep.Net {
	b.Helper()
	mp, err := zoo.Build(name, zoo.Options{Classes: classes, InChannels: 1, Size: benchSize, Seed: seed})
	if err != nil {
		b.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "zoo:" + name})
	if err != nil {
		b.Fatal(err)
	}
	return netstep.New(m, kind)
}

// plainInputs converts a batch as a plain training step would (a copy of the
// pixels and one-hot targets).
func plainInputs(b *testing.B, lb *loader.Batch) (*tensor.Dense, *tensor.Dense) {
	x, y, _, err := batchInputs(lb, benchClasses)
	if err != nil {
		b.Fatal(err)
	}
	return x, y
}

// plainFixture is a classifier with its optimizer, warmed up (its training
// graph built) by one step.
type plainFixture struct {
	net *netstep.Net
	opt optim.Optimizer
}

var plainFixtures = map[string]*plainFixture{}

// plain returns the fixture of benchmark key, built once per process (a
// benchmark function runs more than once: b.N = 1, then the real count).
func plain(b *testing.B, key string) *plainFixture {
	b.Helper()
	if f, ok := plainFixtures[key]; ok {
		return f
	}
	f := &plainFixture{net: benchNet(b, "resnet18", benchClasses, benchSeed, netstep.CrossEntropy), opt: optim.NewAdam(0)}
	x, y := plainInputs(b, benchBatch(1))
	if _, err := f.net.Step(x, f.opt, 1e-4, y); err != nil {
		b.Fatal(err)
	}
	plainFixtures[key] = f
	return f
}

// report records and reports the ms per iteration of a finished loop.
func report(b *testing.B, key string) float64 {
	ms := float64(b.Elapsed().Microseconds()) / 1e3 / float64(b.N)
	benchMS[key] = ms
	b.ReportMetric(ms, "ms/step")
	return ms
}

// BenchmarkPlainStep is one classifier step (forward, backward, Adam) on the
// batch: training without augmentation.
func BenchmarkPlainStep(b *testing.B) {
	f := plain(b, "plain")
	lb := benchBatch(2)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x, y := plainInputs(b, lb)
		if _, err := f.net.Step(x, f.opt, 1e-4, y); err != nil {
			b.Fatal(err)
		}
	}
	report(b, "plain")
}

// BenchmarkPlainTwoSteps is two classifier steps per batch (the batch and a
// second one standing for its augmented copy): 1:1 augmentation without a
// policy.
func BenchmarkPlainTwoSteps(b *testing.B) {
	f := plain(b, "plain2")
	lb, lb2 := benchBatch(2), benchBatch(3)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, l := range []*loader.Batch{lb, lb2} {
			x, y := plainInputs(b, l)
			if _, err := f.net.Step(x, f.opt, 1e-4, y); err != nil {
				b.Fatal(err)
			}
		}
	}
	report(b, "plain2")
}

var apgaFixtures = map[string]*Method{}

// apgaMethod returns the APGA method with policy zoo network policy and
// the preset (paper or sampled), warmed up by one TrainStep (which builds
// its graphs).
func apgaMethod(b *testing.B, policy, preset string) *Method {
	b.Helper()
	key := policy + "/" + preset
	if m, ok := apgaFixtures[key]; ok {
		return m
	}
	cfg, err := Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Classes = benchClasses
	cls := benchNet(b, "resnet18", benchClasses, benchSeed, netstep.CrossEntropy)
	pol := benchNet(b, policy, 1, benchSeed+1, netstep.BinaryCrossEntropy)
	m, err := New(cfg, cls, pol, optim.NewAdam(0), optim.NewAdam(0))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.TrainStep(context.Background(), benchBatch(1), 1); err != nil {
		b.Fatal(err)
	}
	apgaFixtures[key] = m
	return m
}

// benchPolicies are the policies benchmarked; ternausnet11 is skipped under
// -short (about 3× the step time of unet-small).
var benchPolicies = []string{"unet-small", "ternausnet11"}

func skipSlowPolicy(b *testing.B, policy string) {
	if policy == "ternausnet11" && testing.Short() {
		b.Skip("ternausnet11 policy skipped under -short")
	}
}

// BenchmarkAPGAStep is one Method.TrainStep (Algorithm 1: two classifier
// steps, a classifier forward, two policy forwards and a policy step). Run
// after BenchmarkPlainStep and BenchmarkPlainTwoSteps in the same process,
// it reports its ratio to them as x-plain and x-plain2.
func BenchmarkAPGAStep(b *testing.B) {
	for _, policy := range benchPolicies {
		b.Run("policy="+policy, func(b *testing.B) {
			skipSlowPolicy(b, policy)
			m := apgaMethod(b, policy, "paper")
			lb := benchBatch(2)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.TrainStep(ctx, lb, 1); err != nil {
					b.Fatal(err)
				}
			}
			ms := report(b, "apga/"+policy)
			if p1, ok := benchMS["plain"]; ok {
				b.ReportMetric(ms/p1, "x-plain")
			}
			if p2, ok := benchMS["plain2"]; ok {
				b.ReportMetric(ms/p2, "x-plain2")
			}
		})
	}
}

// BenchmarkOverhead interleaves, in every iteration, one plain step, two
// plain steps, one APGA step of the paper preset and one of the sampled
// preset on the same batch, timing each, so that a change of load on the
// machine (other processes) weighs on all alike; it reports each one's
// ms/step and the ratios APGA/plain (x-plain), APGA/(two plain steps)
// (x-plain2) and sampled/paper (sampled-x-paper). A sampled step with K
// samples costs two classifier steps, one classifier forward pass over
// (K+1)·B images, one policy step and two policy forward passes (the paper
// step: the same but a forward pass over B). scripts/bench.sh prints these.
func BenchmarkOverhead(b *testing.B) {
	for _, policy := range benchPolicies {
		b.Run("policy="+policy, func(b *testing.B) {
			skipSlowPolicy(b, policy)
			f := plain(b, "overhead")
			m := apgaMethod(b, policy, "paper")
			s := apgaMethod(b, policy, "sampled")
			lb, lb2 := benchBatch(2), benchBatch(3)
			ctx := context.Background()
			step := func(l *loader.Batch) {
				x, y := plainInputs(b, l)
				if _, err := f.net.Step(x, f.opt, 1e-4, y); err != nil {
					b.Fatal(err)
				}
			}
			var tPlain, tPlain2, tAPGA, tSampled time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				step(lb)
				t1 := time.Now()
				step(lb)
				step(lb2)
				t2 := time.Now()
				if _, err := m.TrainStep(ctx, lb, 1); err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				if _, err := s.TrainStep(ctx, lb, 1); err != nil {
					b.Fatal(err)
				}
				tPlain += t1.Sub(t0)
				tPlain2 += t2.Sub(t1)
				tAPGA += t3.Sub(t2)
				tSampled += time.Since(t3)
			}
			n := float64(b.N)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 / n }
			b.ReportMetric(ms(tPlain), "plain-ms/step")
			b.ReportMetric(ms(tPlain2), "plain2-ms/step")
			b.ReportMetric(ms(tAPGA), "apga-ms/step")
			b.ReportMetric(ms(tSampled), "sampled-ms/step")
			b.ReportMetric(float64(tAPGA)/float64(tPlain), "x-plain")
			b.ReportMetric(float64(tAPGA)/float64(tPlain2), "x-plain2")
			b.ReportMetric(float64(tSampled)/float64(tPlain), "sampled-x-plain")
			b.ReportMetric(float64(tSampled)/float64(tAPGA), "sampled-x-paper")
		})
	}
}

// BenchmarkAPGAStages times the passes of Algorithm 1 one by one, as
// TrainStep runs them (same networks, same order, the paper preset's
// training-mode adversarial pass), and reports each one's ms/step: where
// the overhead over a plain step goes.
func BenchmarkAPGAStages(b *testing.B) {
	for _, policy := range benchPolicies {
		b.Run("policy="+policy, func(b *testing.B) {
			skipSlowPolicy(b, policy)
			m := apgaMethod(b, policy, "paper")
			x, y := plainInputs(b, benchBatch(2))
			ps := x.Shape()
			ps[1] = 1
			half := make([]float32, ps.TotalSize())
			for i := range half {
				half[i] = 0.5
			}
			w := tensor.New(tensor.WithShape(ps...), tensor.WithBacking(half))
			names := []string{"cls-step", "policy-fwd", "cls-fwd-adv", "policy-step", "policy-fwd-aid", "cls-step-aid"}
			var t [6]time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				run := func(k int, err error) {
					if err != nil {
						b.Fatal(err)
					}
					now := time.Now()
					t[k] += now.Sub(t0)
					t0 = now
				}
				_, err := m.Classifier.Step(x, m.ClsOpt, 1e-4, y)
				run(0, err)
				p, err := m.Policy.ForwardTraining(x)
				run(1, err)
				xAdv, _, err := Mask(x, p, 0.5, false)
				if err == nil {
					_, err = m.Classifier.ForwardTraining(xAdv)
				}
				run(2, err)
				_, err = m.Policy.Step(x, m.PolicyOpt, 1e-4, w, w)
				run(3, err)
				p, err = m.Policy.ForwardTraining(x)
				run(4, err)
				xAid, _, err := Mask(x, p, 0.5, true)
				if err == nil {
					_, err = m.Classifier.Step(xAid, m.ClsOpt, 1e-4, y)
				}
				run(5, err)
			}
			for k, d := range t {
				b.ReportMetric(float64(d.Microseconds())/1e3/float64(b.N), names[k]+"-ms")
			}
		})
	}
}
