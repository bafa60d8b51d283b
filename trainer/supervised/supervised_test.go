package supervised

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

func bnNet(t *testing.T) *netstep.Net {
	t.Helper()
	mp, err := zoo.Build("smallcnn", zoo.Options{Classes: 2, InChannels: 1, Size: 16, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "smallcnn"})
	if err != nil {
		t.Fatal(err)
	}
	return netstep.New(m, netstep.CrossEntropy)
}

func runningStats(n *netstep.Net) []float32 {
	// In the order of the layers' names: Model.BN is a map.
	var out []float32
	for _, name := range slices.Sorted(maps.Keys(n.Model.BN)) {
		m, v := n.Model.BN[name].State.Stats()
		out = append(append(out, m...), v...)
	}
	return out
}

// With AugBatchStats the Cutout copy trains on its own batch statistics and
// leaves the running ones as the original batch's step left them; without
// it, as a PyTorch train-mode step, it folds them in too.
func TestAugBatchStatsLeavesTheRunningStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := &loader.Batch{N: 8, C: 1, H: 16, W: 16, X: make([]float32, 8*256), Labels: make([]int32, 8), IDs: make([]string, 8)}
	for i := range b.X {
		b.X[i] = float32(rng.NormFloat64())
	}
	for i := range b.Labels {
		b.Labels[i] = int32(i % 2)
	}
	// The reference: one plain step on the batch.
	ref := bnNet(t)
	defer ref.Close()
	labels := []int{0, 1, 0, 1, 0, 1, 0, 1}
	y, _ := loss.OneHot(labels, 2)
	if _, err := ref.Step(denseOf(b), &optim.SGD{}, 0.01, y); err != nil {
		t.Fatal(err)
	}
	want := runningStats(ref)
	for _, own := range []bool{true, false} {
		net := bnNet(t)
		m, err := New(Config{Classes: 2, LR: 0.01, Aug: Cutout, CutoutSize: 8, Seed: 1, AugBatchStats: own}, net, &optim.SGD{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.TrainStep(context.Background(), b, 1); err != nil {
			t.Fatal(err)
		}
		got := runningStats(net)
		same := len(got) == len(want)
		for i := range want {
			same = same && got[i] == want[i]
		}
		if same != own {
			t.Errorf("AugBatchStats %v: running statistics equal to one plain step's: %v", own, same)
		}
		net.Close()
	}
}

func denseOf(b *loader.Batch) *tensor.Dense {
	return tensor.New(tensor.WithShape(b.N, b.C, b.H, b.W), tensor.WithBacking(append([]float32(nil), b.X...)))
}
