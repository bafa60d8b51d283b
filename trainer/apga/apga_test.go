package apga

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/gradcheck"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/ops/batchnorm"
	"github.com/pgaug/pgaug/trainer/optim"
)

// policyLossValue evaluates the policy loss for probabilities p (1×1×2×2)
// and advantage adv with the configuration's weights.
func policyLossValue(t *testing.T, c Config, p []float32, adv float64) float64 {
	t.Helper()
	w1, w0 := c.Weights(p, adv)
	sh := []int{1, 1, 2, 2}
	mk := func(d []float32) *tensor.Dense { return tensor.New(tensor.WithShape(sh...), tensor.WithBacking(d)) }
	out, err := gradcheck.Forward(func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return loss.WeightedBinaryCrossEntropy(in[0], in[1], in[2])
	}, []*tensor.Dense{mk(p), mk(w1), mk(w0)})
	if err != nil {
		t.Fatal(err)
	}
	return float64(out.Data[0])
}

// Hand-computed with p = [0.9, 0.2, 0.6, 0.4], so A = (p > 0.5) = [1, 0, 1, 0]:
//
//	BCE(P, A) = (−log .9 − log .8 − log .6 − log .6)/4 = 0.33753883
//	BCE(P, 0) = (−log .1 − log .8 − log .4 − log .6)/4 = 0.98821125
//	BCE(P, 1) = (−log .9 − log .2 − log .6 − log .4)/4 = 0.78547868
func TestPolicyLossTermsByHand(t *testing.T) {
	p := []float32{0.9, 0.2, 0.6, 0.4}
	paper, _ := Preset("paper")
	// paper, advantage 0.5: 0.5·BCE(P,A) + 0.1·BCE(P,0)
	if got, want := policyLossValue(t, paper, p, 0.5), 0.5*0.33753883+0.1*0.98821125; math.Abs(got-want) > 1e-6 {
		t.Errorf("paper loss = %.8f, want %.8f", got, want)
	}
	// paper, negative advantage: the BCE(P,A) term changes sign, λ's does not.
	if got, want := policyLossValue(t, paper, p, -2), -2*0.33753883+0.1*0.98821125; math.Abs(got-want) > 1e-6 {
		t.Errorf("paper loss (adv −2) = %.8f, want %.8f", got, want)
	}
	ref, _ := Preset("reference")
	// reference, advantage −0.5: 100·(−.5)·BCE(P,A) + 0.1·.5·BCE(P,0) + 0.01·.5·BCE(P,1)
	if got, want := policyLossValue(t, ref, p, -0.5), -50*0.33753883+0.05*0.98821125+0.005*0.78547868; math.Abs(got-want) > 1e-4 {
		t.Errorf("reference loss = %.6f, want %.6f", got, want)
	}
}

func TestBaselinesByHand(t *testing.T) {
	paper, _ := Preset("paper")
	m := &Method{Cfg: paper}
	// b starts at 0 and is updated after the advantage is taken.
	if a := m.Advantage(1); a != 1 || m.Baseline != 0.5 {
		t.Fatalf("paper step 1: advantage %v baseline %v, want 1 and 0.5", a, m.Baseline)
	}
	if a := m.Advantage(3); a != 2.5 || m.Baseline != 1.75 {
		t.Fatalf("paper step 2: advantage %v baseline %v, want 2.5 and 1.75", a, m.Baseline)
	}
	ref, _ := Preset("reference")
	m = &Method{Cfg: ref}
	// b starts at the first reward (advantage 0), then b ← .5b + .5R before R − b.
	if a := m.Advantage(1); a != 0 || m.Baseline != 1 {
		t.Fatalf("reference step 1: advantage %v baseline %v, want 0 and 1", a, m.Baseline)
	}
	if a := m.Advantage(3); a != 1 || m.Baseline != 2 {
		t.Fatalf("reference step 2: advantage %v baseline %v, want 1 and 2", a, m.Baseline)
	}
}

func TestMaskBroadcastsOverChannels(t *testing.T) {
	x := tensor.New(tensor.WithShape(1, 2, 1, 3), tensor.WithBacking([]float32{1, 2, 3, 4, 5, 6}))
	p := tensor.New(tensor.WithShape(1, 1, 1, 3), tensor.WithBacking([]float32{0.9, 0.1, 0.5}))
	keep, frac, err := Mask(x, p, 0.5, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := keep.Data().([]float32); got[0] != 1 || got[1] != 0 || got[2] != 0 || got[3] != 4 || got[4] != 0 || got[5] != 0 || math.Abs(frac-1.0/3) > 1e-12 {
		t.Fatalf("aid mask: %v (kept %v)", got, frac)
	}
	erase, _, _ := Mask(x, p, 0.5, false)
	if got := erase.Data().([]float32); got[0] != 0 || got[1] != 2 || got[2] != 0 || got[4] != 5 {
		t.Fatalf("adversarial mask: %v", got)
	}
	if _, _, err := Mask(x, tensor.New(tensor.WithShape(1, 1, 3, 1), tensor.WithBacking([]float32{1, 1, 1})), 0.5, true); err == nil {
		t.Fatal("a policy map of the wrong size must be refused")
	}
}

const side = 4

// evidence marks the pixels the classifier reads: the top-left 2×2 block.
func evidence(i int) bool { return i/side < 2 && i%side < 2 }

// linearClassifier: logits = W·flatten(x) with class 1 reading +s and class 0
// −s on the evidence pixels only.
func linearClassifier(t *testing.T, s float32) *importer.Model {
	t.Helper()
	n := side * side
	w := make([]float32, 2*n)
	for i := 0; i < n; i++ {
		if evidence(i) {
			w[i], w[n+i] = -s, s
		}
	}
	b := onnxio.NewGraphBuilder("cls")
	w = append(w[:n:n], append(make([]float32, n), append(w[n:], make([]float32, n)...)...)...) // channel 1 unread
	b.AddInput("x", onnxio.DTypeFloat32, "N", 2, side, side)
	b.AddOutput("logits", onnxio.DTypeFloat32, "N", 2)
	b.AddInitializer(onnxio.Float32Tensor("fc.weight", []int64{2, int64(2 * n)}, w))
	b.AddInitializer(onnxio.Float32Tensor("fc.bias", []int64{2}, []float32{0, 0}))
	b.AddNode("Flatten", []string{"x"}, []string{"f"})
	b.AddNode("Gemm", []string{"f", "fc.weight", "fc.bias"}, []string{"logits"}, onnxio.AttrInt("transB", 1))
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "cls"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// positionalPolicy: P = sigmoid(logit + 2·u) with a learnable per-pixel
// logit and u the image's noise channel, so that which pixels are marked
// varies from image to image (the policy explores) with a rate the logit
// sets.
func positionalPolicy(t *testing.T, init []float32) *importer.Model {
	t.Helper()
	b := onnxio.NewGraphBuilder("policy")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 2, side, side)
	b.AddOutput("p", onnxio.DTypeFloat32, "N", 1, side, side)
	b.AddInitializer(onnxio.Float32Tensor("logit", []int64{1, 1, side, side}, init))
	b.AddInitializer(onnxio.Float32Tensor("noise.weight", []int64{1, 2, 1, 1}, []float32{0, 2}))
	b.AddNode("Conv", []string{"x", "noise.weight"}, []string{"x0"})
	b.AddNode("Add", []string{"x0", "logit"}, []string{"z"})
	b.AddNode("Sigmoid", []string{"z"}, []string{"p"})
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "policy"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Freeze("noise.weight"); err != nil {
		t.Fatal(err)
	}
	return m
}

// synthBatch: channel 0 holds the evidence, +1 (class 1) or −1 (class 0)
// on the evidence pixels and noise the classifier ignores elsewhere;
// channel 1 is uniform noise in [−1, 1] that only the policy reads.
func synthBatch(rng *rand.Rand, n int) *loader.Batch {
	hw := side * side
	b := &loader.Batch{N: n, C: 2, H: side, W: side, X: make([]float32, n*2*hw), Labels: make([]int32, n), IDs: make([]string, n)}
	for i := 0; i < n; i++ {
		y := rng.IntN(2)
		b.Labels[i] = int32(y)
		for j := 0; j < hw; j++ {
			v := float32(rng.Float64()*2 - 1)
			if evidence(j) {
				v = float32(2*y - 1)
			}
			b.X[(2*i)*hw+j] = v
			b.X[(2*i+1)*hw+j] = float32(rng.Float64()*2 - 1)
		}
	}
	return b
}

// The policy is rewarded (a larger adversarial loss) for marking the
// evidence as important, since erasing it hurts the classifier; nothing is
// gained by marking the background, which λ_zeros pushes down. A fixed
// classifier (learning rate 0) isolates the policy gradient's sign.
func TestPolicyLearnsToMarkTheEvidence(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	init := make([]float32, side*side)
	for i := range init {
		init[i] = float32(rng.Float64()*0.6 - 0.3)
	}
	cfg, _ := Preset("paper")
	// A batch-level reward credits each pixel weakly (its share of the batch
	// mean), so λ_zeros is made small enough not to drown it.
	cfg.Classes, cfg.ClassifierLR, cfg.PolicyLR, cfg.LambdaZeros = 2, 0, 0.02, 0.002
	cls := netstep.New(linearClassifier(t, 0.25), netstep.CrossEntropy)
	pol := netstep.New(positionalPolicy(t, init), netstep.BinaryCrossEntropy)
	defer cls.Close()
	defer pol.Close()
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
	t.Logf("mean P: evidence %.3f, background %.3f; last step %v", inE, outE, last)
	if !(inE > 0.5) || !(outE < 0.5) || !(inE-outE > 0.2) {
		t.Fatalf("the policy did not learn to mark the evidence: mean P %.3f on it, %.3f elsewhere", inE, outE)
	}
}

// A collapsed policy (P < 0.5 everywhere) makes every aid-masked image
// blank. With the guard on, the aid step is skipped: the classifier ends
// the step exactly where one plain step on the original batch puts it.
// Without the guard (Algorithm 1 as written) it also trains on the blank
// batch, which moves its bias.
func TestAidGuardSkipsBlankAidBatches(t *testing.T) {
	collapsed := make([]float32, side*side)
	for i := range collapsed {
		collapsed[i] = -20
	}
	batch := synthBatch(rand.New(rand.NewPCG(5, 6)), 8)
	run := func(minKeep float64) ([]float32, map[string]float64) {
		cfg, _ := Preset("paper")
		cfg.Classes, cfg.ClassifierLR, cfg.AidKeepMin = 2, 0.5, minKeep
		cls := netstep.New(linearClassifier(t, 0.25), netstep.CrossEntropy)
		pol := netstep.New(positionalPolicy(t, collapsed), netstep.BinaryCrossEntropy)
		defer cls.Close()
		defer pol.Close()
		m, err := New(cfg, cls, pol, &optim.SGD{}, optim.NewAdam(0))
		if err != nil {
			t.Fatal(err)
		}
		vals, err := m.TrainStep(context.Background(), batch, 1)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), cls.Model.Param("fc.bias").Value.Data().([]float32)...), vals
	}
	// The reference: one plain step on the original batch.
	ref := netstep.New(linearClassifier(t, 0.25), netstep.CrossEntropy)
	defer ref.Close()
	x, y, _, err := batchInputs(batch, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ref.Step(x, &optim.SGD{}, 0.5, y); err != nil {
		t.Fatal(err)
	}
	want := ref.Model.Param("fc.bias").Value.Data().([]float32)

	guarded, gv := run(0.02)
	if gv["mask_keep"] != 0 || gv["aid_skipped"] != 1 {
		t.Fatalf("guarded step: mask_keep %v aid_skipped %v, want 0 and 1", gv["mask_keep"], gv["aid_skipped"])
	}
	if !(gv["loss_aid"] > 0) {
		t.Fatalf("a skipped step still reports the aid batch's loss, got %v", gv["loss_aid"])
	}
	for i := range want {
		if guarded[i] != want[i] {
			t.Fatalf("guarded bias %v, want %v (one plain step)", guarded, want)
		}
	}
	plain, pv := run(0)
	if pv["aid_skipped"] != 0 {
		t.Fatalf("without the guard aid_skipped = %v", pv["aid_skipped"])
	}
	same := true
	for i := range want {
		same = same && plain[i] == want[i]
	}
	if same {
		t.Fatalf("without the guard the blank aid batch should move the bias; it stayed at %v", plain)
	}
}

func TestAidGuardBoundsChecked(t *testing.T) {
	cls := netstep.New(linearClassifier(t, 0.25), netstep.CrossEntropy)
	pol := netstep.New(positionalPolicy(t, make([]float32, side*side)), netstep.BinaryCrossEntropy)
	defer cls.Close()
	defer pol.Close()
	for _, b := range [][2]float64{{-0.1, 1}, {0.5, 0.4}, {0.2, 1.5}} {
		cfg, _ := Preset("paper")
		cfg.Classes, cfg.AidKeepMin, cfg.AidKeepMax = 2, b[0], b[1]
		if _, err := New(cfg, cls, pol, &optim.SGD{}, optim.NewAdam(0)); err == nil {
			t.Errorf("guard %v accepted", b)
		}
	}
	cfg, _ := Preset("paper")
	cfg.Classes = 2
	m, err := New(cfg, cls, pol, &optim.SGD{}, optim.NewAdam(0))
	if err != nil {
		t.Fatal(err)
	}
	if m.Cfg.AidKeepMin != 0 || m.Cfg.AidKeepMax != 1 {
		t.Fatalf("the presets leave the guard off, got [%v, %v]", m.Cfg.AidKeepMin, m.Cfg.AidKeepMax)
	}
}

// bnPolicy: P = sigmoid(BatchNorm(1×1 conv of x)), a policy with running
// statistics.
func bnPolicy(t *testing.T) *importer.Model {
	t.Helper()
	b := onnxio.NewGraphBuilder("bn-policy")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 2, side, side)
	b.AddOutput("p", onnxio.DTypeFloat32, "N", 1, side, side)
	b.AddInitializer(onnxio.Float32Tensor("conv.weight", []int64{1, 2, 1, 1}, []float32{0.5, 1}))
	b.AddInitializer(onnxio.Float32Tensor("bn.scale", []int64{1}, []float32{1}))
	b.AddInitializer(onnxio.Float32Tensor("bn.bias", []int64{1}, []float32{0}))
	b.AddInitializer(onnxio.Float32Tensor("bn.mean", []int64{1}, []float32{0}))
	b.AddInitializer(onnxio.Float32Tensor("bn.var", []int64{1}, []float32{1}))
	b.AddNode("Conv", []string{"x", "conv.weight"}, []string{"c"})
	b.AddNode("BatchNormalization", []string{"c", "bn.scale", "bn.bias", "bn.mean", "bn.var"}, []string{"z"})
	b.AddNode("Sigmoid", []string{"z"}, []string{"p"})
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "bn-policy"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// In PyTorch the policy's probabilities and its gradient come from one
// forward pass, and the aid mask from a second: two updates of its running
// statistics per step. The policy step here recomputes the first pass and
// must not count it again.
func TestPolicyBatchNormCountedOncePerPass(t *testing.T) {
	cfg, _ := Preset("paper")
	cfg.Classes = 2
	cls := netstep.New(linearClassifier(t, 0.25), netstep.CrossEntropy)
	pm := bnPolicy(t)
	pol := netstep.New(pm, netstep.BinaryCrossEntropy)
	defer cls.Close()
	defer pol.Close()
	m, err := New(cfg, cls, pol, &optim.SGD{}, optim.NewAdam(0))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for step := 1; step <= 3; step++ {
		if _, err := m.TrainStep(context.Background(), synthBatch(rng, 8), 1); err != nil {
			t.Fatal(err)
		}
		st := onlyBN(t, pm)
		if got := st.BatchesTracked; got != int64(2*step) {
			t.Fatalf("after %d steps the policy's BatchNorm counted %d batches, want %d", step, got, 2*step)
		}
	}
}

func onlyBN(t *testing.T, m *importer.Model) *batchnorm.State {
	t.Helper()
	if len(m.BN) != 1 {
		t.Fatalf("want one BatchNormalization, the model has %d", len(m.BN))
	}
	for _, s := range m.BN {
		return s.State
	}
	return nil
}

// bnClassifier: the linear classifier's logits through a BatchNormalization.
func bnClassifier(t *testing.T) *importer.Model {
	t.Helper()
	n := side * side
	w := make([]float32, 2*2*n)
	for i := 0; i < n; i++ {
		if evidence(i) {
			w[i], w[2*n+i] = -0.25, 0.25
		}
	}
	b := onnxio.NewGraphBuilder("bn-cls")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 2, side, side)
	b.AddOutput("logits", onnxio.DTypeFloat32, "N", 2)
	b.AddInitializer(onnxio.Float32Tensor("fc.weight", []int64{2, int64(2 * n)}, w))
	b.AddInitializer(onnxio.Float32Tensor("bn.scale", []int64{2}, []float32{1, 1}))
	b.AddInitializer(onnxio.Float32Tensor("bn.bias", []int64{2}, []float32{0, 0}))
	b.AddInitializer(onnxio.Float32Tensor("bn.mean", []int64{2}, []float32{0, 0}))
	b.AddInitializer(onnxio.Float32Tensor("bn.var", []int64{2}, []float32{1, 1}))
	b.AddNode("Flatten", []string{"x"}, []string{"f"})
	b.AddNode("Gemm", []string{"f", "fc.weight"}, []string{"h"}, onnxio.AttrInt("transB", 1))
	b.AddNode("BatchNormalization", []string{"h", "bn.scale", "bn.bias", "bn.mean", "bn.var"}, []string{"logits"})
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "bn-cls"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Step 3 (the adversarial loss) changes nothing of the classifier, its
// running statistics included: only the two classifier steps count a batch,
// and a skipped aid step counts none.
func TestAdversarialPassLeavesClassifierStatistics(t *testing.T) {
	for _, c := range []struct {
		name    string
		evalAdv bool
		minKeep float64
		policy  []float32
		want    int64
	}{
		{"train-mode", false, 0, make([]float32, side*side), 2},
		{"eval-mode", true, 0, make([]float32, side*side), 2},
		{"aid step skipped", false, 0.02, func() []float32 {
			v := make([]float32, side*side)
			for i := range v {
				v[i] = -20
			}
			return v
		}(), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, _ := Preset("paper")
			cfg.Classes, cfg.AdversarialEvalMode, cfg.AidKeepMin = 2, c.evalAdv, c.minKeep
			cm := bnClassifier(t)
			cls := netstep.New(cm, netstep.CrossEntropy)
			pol := netstep.New(positionalPolicy(t, c.policy), netstep.BinaryCrossEntropy)
			defer cls.Close()
			defer pol.Close()
			m, err := New(cfg, cls, pol, optim.NewAdam(0), optim.NewAdam(0))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(9, 10))
			for step := 1; step <= 2; step++ {
				if _, err := m.TrainStep(context.Background(), synthBatch(rng, 8), 1); err != nil {
					t.Fatal(err)
				}
				if got := onlyBN(t, cm).BatchesTracked; got != c.want*int64(step) {
					t.Fatalf("after %d steps the classifier's BatchNorm counted %d batches, want %d", step, got, c.want*int64(step))
				}
			}
		})
	}
}
