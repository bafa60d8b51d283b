package apga

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/checkpoint"
	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/gradcheck"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/ops/spatial"
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
		// Erasing to 0 removes the ±1 evidence of this toy data.
		cfg.Classes, cfg.ClassifierLR, cfg.PolicyLR, cfg.Seed, cfg.Fill = 2, 0, 0.05, seed, FillZero
		cfg.KeepTarget = 0.25 // the evidence: 4 of 16 pixels
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

// The grid loss pools P over each cell before the weighted BCE: its
// gradient with respect to P matches finite differences, and its cell
// probabilities are cellMeans'.
func TestGridPolicyLossGradientAndPooling(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n, h, w, g = 2, 8, 8, 4
	p := make([]float32, n*h*w)
	for i := range p {
		p[i] = float32(0.1 + 0.8*rng.Float64())
	}
	w1, w0 := make([]float32, n*g*g), make([]float32, n*g*g)
	for i := range w1 {
		w1[i], w0[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	mk := func(d []float32, s ...int) *tensor.Dense {
		return tensor.New(tensor.WithShape(s...), tensor.WithBacking(d))
	}
	// The policy's loss as the method builds it, its weights given.
	build := func(eg *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		l, extra, err := gridPolicyLoss(g)(eg, in[0])
		if err != nil {
			return nil, err
		}
		if err := gorgonia.Let(extra[0], mk(append([]float32(nil), w1...), n, 1, g, g)); err != nil {
			return nil, err
		}
		return l, gorgonia.Let(extra[1], mk(append([]float32(nil), w0...), n, 1, g, g))
	}
	rep := gradcheck.Check(t, build, []*tensor.Dense{mk(p, n, 1, h, w)}, gradcheck.Options{Eps: 1e-3, MaxProbe: -1})
	if len(rep.Mismatches) > 0 {
		t.Fatalf("grid loss gradient: %s", rep)
	}
	// cellMeans is the pooling the graph does.
	out, err := gradcheck.Forward(func(eg *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		k := [2]int{h / g, w / g}
		return spatial.AveragePool2D(in[0], spatial.PoolParams{KernelShape: k, Strides: k})
	}, []*tensor.Dense{mk(p, n, 1, h, w)})
	if err != nil {
		t.Fatal(err)
	}
	q := cellMeans(p, n, h, w, g)
	for i := range q {
		if math.Abs(float64(q[i]-out.Data[i])) > 1e-6 {
			t.Fatalf("cell %d: cellMeans %v, the graph's pooling %v", i, q[i], out.Data[i])
		}
	}
	// toPixels spreads each cell over its pixels.
	px := toPixels(q, n, h, w, g)
	if px[0] != q[0] || px[h*w-1] != q[g*g-1] || px[(h/g)*w+w/g] != q[g+1] {
		t.Fatal("toPixels does not put cells over their pixels")
	}
}

// The keep and entropy terms are written into the BCE weights so that the
// loss's derivative in q is the term's γ: −w1/q + w0/(1 − q) = γ with
// w1 = −γq(1−q), w0 = γq(1−q).
func TestKeepTermWeightsGiveTheirGradient(t *testing.T) {
	for _, q := range []float64{0.05, 0.3, 0.5, 0.9} {
		for _, gamma := range []float64{-1.5, 0.2, 3} {
			d := gamma * q * (1 - q)
			w1, w0 := -d, d
			if got := -w1/q + w0/(1-q); math.Abs(got-gamma) > 1e-12 {
				t.Fatalf("q %v γ %v: derivative %v", q, gamma, got)
			}
		}
	}
}

func sampledMethod(t *testing.T, seed uint64, mutate func(*Config)) (*Method, func()) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	init := make([]float32, side*side)
	for i := range init {
		init[i] = float32(rng.Float64()*0.6 - 0.3)
	}
	cfg := SampledPreset()
	cfg.Classes, cfg.Seed, cfg.Fill, cfg.KeepTarget = 2, seed, FillZero, 0.25
	if mutate != nil {
		mutate(&cfg)
	}
	cls := netstep.New(linearClassifier(t, 1), netstep.CrossEntropy)
	pol := netstep.New(positionalPolicy(t, init), netstep.BinaryCrossEntropy)
	m, err := New(cfg, cls, pol, optim.NewAdam(0), optim.NewAdam(0))
	if err != nil {
		t.Fatal(err)
	}
	return m, func() { cls.Close(); pol.Close() }
}

// A checkpoint holds the sampler and the keep state: a method restored
// from it takes the same next step as the one it was saved from.
func TestSampledStateRoundTrip(t *testing.T) {
	a, closeA := sampledMethod(t, 3, func(c *Config) { c.KeepMode, c.KeepWeight, c.KeepWarmup = KeepLagrange, 0.5, 10 })
	defer closeA()
	rng := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 3; i++ {
		if _, err := a.TrainStep(context.Background(), synthBatch(rng, 8), 1); err != nil {
			t.Fatal(err)
		}
	}
	s := checkpoint.NewState()
	if err := a.SaveState(s); err != nil {
		t.Fatal(err)
	}
	b, closeB := sampledMethod(t, 99, func(c *Config) { c.KeepMode, c.KeepWeight, c.KeepWarmup = KeepLagrange, 0.5, 10 })
	defer closeB()
	if err := b.RestoreState(s); err != nil {
		t.Fatal(err)
	}
	batch := synthBatch(rng, 8)
	va, err := a.TrainStep(context.Background(), batch, 1)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := b.TrainStep(context.Background(), batch, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range va {
		if vb[k] != v {
			t.Fatalf("after restoring, %s is %v, the saved method's %v", k, vb[k], v)
		}
	}
	if va["lagrange"] == 0 || va["keep_target"] == 0.25 {
		t.Fatalf("the Lagrange multiplier and the warm-up should be moving at step 4: %v", va)
	}
}

// The keep target goes from the first batch's keep to κ over the warm-up.
func TestKeepWarmup(t *testing.T) {
	m := &Method{Cfg: Config{KeepTarget: 0.1, KeepWarmup: 10}, keepStart: 0.5}
	for _, c := range []struct {
		step int64
		want float64
	}{{0, 0.5}, {5, 0.3}, {10, 0.1}, {50, 0.1}} {
		m.sampledSteps = c.step
		if got := m.keepTarget(); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("step %d: target %v, want %v", c.step, got, c.want)
		}
	}
}

func TestCollapsed(t *testing.T) {
	for keep, want := range map[float64]bool{0: true, 0.019: true, 0.02: false, 0.5: false, 0.98: false, 0.99: true} {
		if c, _ := Collapsed(map[string]float64{"mask_keep": keep}); (c != NoCollapse) != want {
			t.Errorf("Collapsed(keep %v) = %v, want %v", keep, c, want)
		}
	}
	for c, want := range map[float64]bool{0: true, 0.049: true, 0.05: false, 0.4: false} {
		if kind, what := Collapsed(map[string]float64{"mask_keep": 0.1, "map_contrast": c}); (kind == FlatMap) != want || want && !strings.Contains(what, "flat") {
			t.Errorf("Collapsed(contrast %v) = %v %q, want flat %v", c, kind, what, want)
		}
	}
}

// pixelPolicy: P = sigmoid(logit) per pixel of 1×n×n images (the input
// enters through a frozen zero convolution).
func pixelPolicy(t *testing.T, n int) *importer.Model {
	t.Helper()
	b := onnxio.NewGraphBuilder("pixel-policy")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 1, int64(n), int64(n))
	b.AddOutput("p", onnxio.DTypeFloat32, "N", 1, int64(n), int64(n))
	b.AddInitializer(onnxio.Float32Tensor("logit", []int64{1, 1, int64(n), int64(n)}, make([]float32, n*n)))
	b.AddInitializer(onnxio.Float32Tensor("zero.weight", []int64{1, 1, 1, 1}, []float32{0}))
	b.AddNode("Conv", []string{"x", "zero.weight"}, []string{"x0"})
	b.AddNode("Add", []string{"x0", "logit"}, []string{"z"})
	b.AddNode("Sigmoid", []string{"z"}, []string{"p"})
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "pixel-policy"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Freeze("zero.weight"); err != nil {
		t.Fatal(err)
	}
	return m
}

// tinyLoader reads a split of 48 synthetic 16×16 images in batches of 8.
func tinyLoader(t *testing.T, split string) *loader.Loader {
	t.Helper()
	sc := synthetic.Default()
	sc.Count, sc.Size, sc.Classes, sc.Seed = 48, 16, 2, 3
	path := filepath.Join(t.TempDir(), "d.arrow")
	if _, err := convert.Synthetic(sc, convert.Options{Out: path}); err != nil {
		t.Fatal(err)
	}
	ds, err := arrowds.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	l, err := loader.New(ds, loader.Config{Split: split, BatchSize: 8, Shuffle: split == "train", Seed: 1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// flatClassifier: logits = W·flatten(x) + b for 1×n×n images, seeded.
func flatClassifier(t *testing.T, n int) *importer.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 22))
	w := make([]float32, 2*n*n)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.1)
	}
	b := onnxio.NewGraphBuilder("flat")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 1, int64(n), int64(n))
	b.AddOutput("logits", onnxio.DTypeFloat32, "N", 2)
	b.AddInitializer(onnxio.Float32Tensor("fc.weight", []int64{2, int64(n * n)}, w))
	b.AddInitializer(onnxio.Float32Tensor("fc.bias", []int64{2}, []float32{0.1, -0.1}))
	b.AddNode("Flatten", []string{"x"}, []string{"f"})
	b.AddNode("Gemm", []string{"f", "fc.weight", "fc.bias"}, []string{"logits"}, onnxio.AttrInt("transB", 1))
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "flat"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TTA falls back to the original image alone where the policy's mask
// keeps less than the guard's minimum: with a policy that marks nothing,
// TTA's probabilities are the plain classifier's.
func TestTTAFallsBackOnACollapsedMask(t *testing.T) {
	val := tinyLoader(t, "val")
	for _, guard := range []float64{0.02, 0} {
		cfg, _ := Preset("paper")
		cfg.Classes, cfg.AidKeepMin, cfg.TTA = 2, guard, true
		cls := netstep.New(flatClassifier(t, 16), netstep.CrossEntropy)
		pol := netstep.New(pixelPolicy(t, 16), netstep.BinaryCrossEntropy) // P = 0.5: nothing above the threshold
		m, err := New(cfg, cls, pol, optim.NewAdam(0), optim.NewAdam(0))
		if err != nil {
			t.Fatal(err)
		}
		tta, _, err := m.PredictTTA(context.Background(), val)
		if err != nil {
			t.Fatal(err)
		}
		plain, _, err := fit.Predict(context.Background(), cls, val, 2)
		if err != nil {
			t.Fatal(err)
		}
		same := true
		for i := range plain {
			same = same && math.Abs(float64(tta[i]-plain[i])) < 1e-6
		}
		if same != (guard > 0) {
			t.Errorf("guard %v: TTA equal to the plain classifier: %v", guard, same)
		}
		cls.Close()
		pol.Close()
	}
}

// Distil moves the policy towards the target masks, at the preset's grid
// (4×4 cells of 4×4 pixels for 16×16 images): after it the cell the target
// marks is above 0.5 and the others below.
func TestDistilLearnsTheTargets(t *testing.T) {
	l := tinyLoader(t, "train")
	cfg := SampledPreset()
	cfg.Classes = 2
	pol := netstep.New(pixelPolicy(t, 16), netstep.BinaryCrossEntropy)
	cls := netstep.New(pixelPolicy(t, 16), netstep.BinaryCrossEntropy) // unused by Distil
	defer pol.Close()
	defer cls.Close()
	m, err := New(cfg, cls, pol, optim.NewAdam(0), optim.NewAdam(0))
	if err != nil {
		t.Fatal(err)
	}
	target := func(x *tensor.Dense) ([]float32, error) {
		n := x.Shape()[0]
		out := make([]float32, n*16*16)
		for i := range out {
			if j := i % 256; j/16 < 4 && j%16 < 4 {
				out[i] = 1
			}
		}
		return out, nil
	}
	if _, err := m.Distil(context.Background(), l, 30, optim.NewAdam(0), 0.05, target); err != nil {
		t.Fatal(err)
	}
	x := tensor.New(tensor.WithShape(1, 1, 16, 16), tensor.WithBacking(make([]float32, 256)))
	q, err := m.ProbabilityMap(x)
	if err != nil {
		t.Fatal(err)
	}
	for j, v := range q {
		if in := j/16 < 4 && j%16 < 4; in != (v > 0.5) {
			t.Fatalf("after distillation pixel %d has q %.3f (target %v)", j, v, in)
		}
	}
}

// A mask rule reads back from its metadata text as it was written.
func TestMaskRuleRoundTrip(t *testing.T) {
	for _, r := range []MaskRule{
		{Threshold: 0.5, Fill: FillZero, KeepMax: 1},
		{Grid: 8, Top: 0.1, Threshold: 0.5, Fill: FillBlur, KeepMin: 0.02, KeepMax: 0.98},
		{Grid: 4, Threshold: 0.3, Fill: FillBlack, Black: []float32{-2.1, 0.5}, KeepMax: 1},
	} {
		got, err := ParseMaskRule(r.String())
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if got.String() != r.String() {
			t.Fatalf("round trip: %q became %q", r, got)
		}
	}
	for _, bad := range []string{"grid=x", "fill=paint", "keep=0.5", "top=1", "colour=red", "fill=black"} {
		if _, err := ParseMaskRule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The top rule keeps each image's κ share of cells with the largest mean P,
// filled where it does not keep.
func TestMaskRuleTop(t *testing.T) {
	r := MaskRule{Grid: 2, Top: 0.25, Fill: FillBlack, Black: []float32{-1}, KeepMax: 1}
	// One 4×4 image, cells of 2×2: cell (1,0) has the largest mean.
	p := []float32{
		0.1, 0.1, 0.2, 0.2,
		0.1, 0.1, 0.2, 0.2,
		0.9, 0.7, 0.3, 0.3,
		0.5, 0.7, 0.3, 0.3,
	}
	x := make([]float32, 16)
	for i := range x {
		x[i] = float32(i)
	}
	out, kept, err := r.Masked(x, p, 1, 1, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		in := i/4 >= 2 && i%4 < 2
		if in && v != x[i] || !in && v != -1 {
			t.Fatalf("pixel %d: %v (kept %v)", i, v, in)
		}
	}
	if kept[0] != 0.25 {
		t.Fatalf("kept %v, want 0.25", kept[0])
	}
}

// The leave-one-out advantages: each sample's reward less the mean of its
// image's other samples; normalised per batch they have root mean square 1
// and do not change when every reward is multiplied by a constant.
func TestLeaveOneOutAdvantages(t *testing.T) {
	// K = 3 samples of n = 2 images, reward j of image i at j*n+i.
	rewards := []float64{1, 0, 4, 0, 7, 3}
	// Image 0 has rewards 1, 4, 7; image 1 has 0, 0, 3.
	want := []float64{1 - 5.5, 0 - 1.5, 0 /* 4 − (1+7)/2 */, 0 - 1.5, 7 - 2.5, 3 - 0}
	got, rms := looAdvantages(rewards, 3, 2, 1, AdvNormNone)
	var ms float64
	for i := range want {
		ms += want[i] * want[i] / 6
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("advantage %d = %v, want %v", i, got[i], want[i])
		}
	}
	if math.Abs(rms-math.Sqrt(ms)) > 1e-12 {
		t.Fatalf("rms %v, want %v", rms, math.Sqrt(ms))
	}
	norm, _ := looAdvantages(rewards, 3, 2, 1, AdvNormBatch)
	scaled := make([]float64, len(rewards))
	for i, r := range rewards {
		scaled[i] = 40 * r
	}
	norm40, rms40 := looAdvantages(scaled, 3, 2, 1, AdvNormBatch)
	if math.Abs(rms40-40*rms) > 1e-9 {
		t.Fatalf("rms of 40× rewards %v, want %v", rms40, 40*rms)
	}
	var ss float64
	for i := range norm {
		ss += norm[i] * norm[i] / 6
		if math.Abs(norm[i]-want[i]/rms) > 1e-12 || math.Abs(norm40[i]-norm[i]) > 1e-12 {
			t.Fatalf("normalised advantage %d = %v (40×: %v), want %v", i, norm[i], norm40[i], want[i]/rms)
		}
	}
	if math.Abs(ss-1) > 1e-12 {
		t.Fatalf("normalised advantages have mean square %v, want 1", ss)
	}
	zero, _ := looAdvantages([]float64{2, 2, 2, 2}, 2, 2, 1, AdvNormBatch)
	for _, a := range zero {
		if a != 0 {
			t.Fatalf("equal rewards give advantages %v, want 0", zero)
		}
	}
}

// Where the rewards say nothing (a classifier that reads no pixel), a
// saturated policy stays saturated under the keep penalty and the entropy
// bonus, whose forces vanish as q → 1; the logit penalty pulls it back.
func TestLogitPenaltyPullsASaturatedPolicyBack(t *testing.T) {
	final := func(lambda float64) float64 {
		rng := rand.New(rand.NewPCG(3, 4))
		init := make([]float32, side*side)
		for i := range init {
			init[i] = 9
		}
		cfg := SampledPreset()
		cfg.Classes, cfg.ClassifierLR, cfg.PolicyLR, cfg.Seed, cfg.Fill = 2, 0, 0.05, 3, FillZero
		cfg.LogitPenalty = lambda
		cls := netstep.New(linearClassifier(t, 0), netstep.CrossEntropy)
		pol := netstep.New(positionalPolicy(t, init), netstep.BinaryCrossEntropy)
		defer cls.Close()
		defer pol.Close()
		m, err := New(cfg, cls, pol, &optim.SGD{}, &optim.SGD{})
		if err != nil {
			t.Fatal(err)
		}
		for step := 0; step < 50; step++ {
			if _, err := m.TrainStep(context.Background(), synthBatch(rng, 8), 1); err != nil {
				t.Fatal(err)
			}
		}
		var mean float64
		for _, v := range pol.Model.Param("logit").Value.Data().([]float32) {
			mean += float64(v) / float64(side*side)
		}
		return mean
	}
	off, on := final(0), final(0.1)
	t.Logf("mean logit after 50 steps: %.3f without the penalty, %.3f with λ = 0.1", off, on)
	if off < 8.99 {
		t.Errorf("without the logit penalty the saturated logits moved to %.3f; want them near 9", off)
	}
	if on > off-0.1 {
		t.Errorf("with the logit penalty the logits are %.3f, want well below %.3f", on, off)
	}
}
