package heat

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
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/noisemask"
	"github.com/pgaug/pgaug/trainer/optim"
)

// The overhead benchmarks of the noise-mask method: a ResNet-18 classifier
// on batches of 16 one-channel 64×64 images with 2 classes, a ResNet-10-T
// policy with a 2·G²-way head (G = 8 or 16), nearest up-sampling with the
// paper's blur (kernel 13, σ 6), SGD with momentum 0.9 for both networks
// (as pipeline's noise-mask defaults). Every benchmark reports ms/step
// (milliseconds per batch trained on); BenchmarkOverhead interleaves a plain
// step and a noise-mask step in every iteration, so that a change of load
// weighs on both alike, and reports the ratio (x-plain): scripts/bench.sh
// prints it in its "method overhead" table.
const (
	benchN       = 16
	benchSize    = 64
	benchClasses = 2
	benchSeed    = 1
)

// benchGrids are the noise grids benchmarked.
var benchGrids = []int{8, 16}

// benchMS holds the last ms/step of each benchmark of this process.
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

// benchNet builds zoo network name (1 input channel, 64 px, classes
// outputs) and wraps it.
func benchNet(b *testing.B, name string, classes int, seed uint64) *netstep.Net {
	b.Helper()
	mp, err := zoo.Build(name, zoo.Options{Classes: classes, InChannels: 1, Size: benchSize, Seed: seed})
	if err != nil {
		b.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "zoo:" + name})
	if err != nil {
		b.Fatal(err)
	}
	return netstep.New(m, netstep.CrossEntropy)
}

// plainInputs converts a batch as a plain training step would.
func plainInputs(b *testing.B, lb *loader.Batch) (*tensor.Dense, *tensor.Dense) {
	x := tensor.New(tensor.WithShape(lb.N, lb.C, lb.H, lb.W), tensor.WithBacking(append([]float32(nil), lb.X...)))
	labels := make([]int, lb.N)
	for i, y := range lb.Labels {
		labels[i] = int(y)
	}
	y, err := loss.OneHot(labels, benchClasses)
	if err != nil {
		b.Fatal(err)
	}
	return x, y
}

type plainFixture struct {
	net *netstep.Net
	opt optim.Optimizer
}

var plainFixtures = map[string]*plainFixture{}

// plain returns the classifier of benchmark key with its optimizer, built
// and warmed up (training graph built) once per process.
func plain(b *testing.B, key string) *plainFixture {
	b.Helper()
	if f, ok := plainFixtures[key]; ok {
		return f
	}
	f := &plainFixture{net: benchNet(b, "resnet18", benchClasses, benchSeed), opt: &optim.SGD{Momentum: 0.9, WeightDecay: 1e-4}}
	x, y := plainInputs(b, benchBatch(1))
	if _, err := f.net.Step(x, f.opt, 0.01, y); err != nil {
		b.Fatal(err)
	}
	plainFixtures[key] = f
	return f
}

func (f *plainFixture) step(b *testing.B, lb *loader.Batch) {
	x, y := plainInputs(b, lb)
	if _, err := f.net.Step(x, f.opt, 0.01, y); err != nil {
		b.Fatal(err)
	}
}

var heatFixtures = map[int]*Method{}

// heatMethod returns the noise-mask method with a G×G grid, built as
// pipeline.TrainNoiseMask builds it and warmed up by one TrainStep.
func heatMethod(b *testing.B, grid int) *Method {
	b.Helper()
	if m, ok := heatFixtures[grid]; ok {
		return m
	}
	ds, err := noisemask.NewDatasetParams(grid, benchSeed+2)
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Classes: benchClasses, Loss: LossPaper, Noise: noisemask.Beta{},
		Mask:     noisemask.MaskConfig{Grid: grid, Mode: noisemask.ModeNearest, Kernel: noisemask.DefaultKernel, Sigma: noisemask.DefaultSigma},
		TauImage: noisemask.DefaultTauI, TauDataset: noisemask.DefaultTauD, BaselineDecay: 0.9,
		ClassifierLR: 0.01, PolicyLR: 0.001, TotalSteps: 1000, Seed: benchSeed + 3}
	cls := benchNet(b, "resnet18", benchClasses, benchSeed)
	pol := benchNet(b, "resnet10t", 2*grid*grid, benchSeed+1)
	m, err := New(cfg, cls, pol, &optim.SGD{Momentum: 0.9, WeightDecay: 1e-4}, &optim.SGD{Momentum: 0.9}, ds)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.TrainStep(context.Background(), benchBatch(1), 1); err != nil {
		b.Fatal(err)
	}
	heatFixtures[grid] = m
	return m
}

func report(b *testing.B, key string) float64 {
	ms := float64(b.Elapsed().Microseconds()) / 1e3 / float64(b.N)
	benchMS[key] = ms
	b.ReportMetric(ms, "ms/step")
	return ms
}

// BenchmarkPlainStep is one classifier step (forward, backward, SGD) on the
// batch: training without augmentation.
func BenchmarkPlainStep(b *testing.B) {
	f := plain(b, "plain")
	lb := benchBatch(2)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.step(b, lb)
	}
	report(b, "plain")
}

// BenchmarkNoiseMaskStep is one Method.TrainStep: a policy forward, the
// noise sampling and mask, the classifier's forward and backward on the
// masked batch, the policy's forward and backward, both optimizer steps.
// Run after BenchmarkPlainStep in the same process, it reports its ratio to
// it as x-plain.
func BenchmarkNoiseMaskStep(b *testing.B) {
	for _, g := range benchGrids {
		b.Run(fmt.Sprintf("grid=%d", g), func(b *testing.B) {
			m := heatMethod(b, g)
			lb := benchBatch(2)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.TrainStep(ctx, lb, 1); err != nil {
					b.Fatal(err)
				}
			}
			ms := report(b, fmt.Sprintf("noisemask/%d", g))
			if p, ok := benchMS["plain"]; ok {
				b.ReportMetric(ms/p, "x-plain")
			}
		})
	}
}

// BenchmarkOverhead interleaves, in every iteration, one plain step and one
// noise-mask step on the same batch, timing each, and reports both ms/step
// and the ratio noise mask / plain (x-plain).
func BenchmarkOverhead(b *testing.B) {
	for _, g := range benchGrids {
		b.Run(fmt.Sprintf("grid=%d", g), func(b *testing.B) {
			f := plain(b, "overhead")
			m := heatMethod(b, g)
			lb := benchBatch(2)
			ctx := context.Background()
			var tPlain, tHeat time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				f.step(b, lb)
				t1 := time.Now()
				if _, err := m.TrainStep(ctx, lb, 1); err != nil {
					b.Fatal(err)
				}
				tPlain += t1.Sub(t0)
				tHeat += time.Since(t1)
			}
			n := float64(b.N)
			b.ReportMetric(float64(tPlain.Microseconds())/1e3/n, "plain-ms/step")
			b.ReportMetric(float64(tHeat.Microseconds())/1e3/n, "noisemask-ms/step")
			b.ReportMetric(float64(tHeat)/float64(tPlain), "x-plain")
		})
	}
}
