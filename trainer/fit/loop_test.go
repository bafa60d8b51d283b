package fit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/checkpoint"
	"github.com/pgaug/pgaug/trainer/fit"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

// tinyCNN: Conv(1→8, 3×3, stride 2) BN ReLU, GAP, Gemm — BN statistics and
// momentum buffers make exact resumption non-trivial.
func tinyCNN(t *testing.T) *importer.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	rnd := func(n int, sc float64) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(rng.NormFloat64() * sc)
		}
		return d
	}
	fill := func(n int, v float32) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = v
		}
		return d
	}
	b := onnxio.NewGraphBuilder("tiny")
	b.AddInput("input", onnxio.DTypeFloat32, "N", 1, 16, 16)
	b.AddOutput("logits", onnxio.DTypeFloat32, "N", 2)
	b.AddInitializer(onnxio.Float32Tensor("c.weight", []int64{8, 1, 3, 3}, rnd(72, 0.4)))
	b.AddInitializer(onnxio.Float32Tensor("bn.weight", []int64{8}, fill(8, 1)))
	b.AddInitializer(onnxio.Float32Tensor("bn.bias", []int64{8}, fill(8, 0)))
	b.AddInitializer(onnxio.Float32Tensor("bn.mean", []int64{8}, fill(8, 0)))
	b.AddInitializer(onnxio.Float32Tensor("bn.var", []int64{8}, fill(8, 1)))
	b.AddInitializer(onnxio.Float32Tensor("fc.weight", []int64{2, 8}, rnd(16, 0.3)))
	b.AddInitializer(onnxio.Float32Tensor("fc.bias", []int64{2}, fill(2, 0)))
	b.AddNode("Conv", []string{"input", "c.weight"}, []string{"a"}, onnxio.AttrInts("strides", 2, 2), onnxio.AttrInts("pads", 1, 1, 1, 1))
	b.AddNode("BatchNormalization", []string{"a", "bn.weight", "bn.bias", "bn.mean", "bn.var"}, []string{"an"})
	b.AddNode("Relu", []string{"an"}, []string{"ar"})
	b.AddNode("GlobalAveragePool", []string{"ar"}, []string{"g"})
	b.AddNode("Flatten", []string{"g"}, []string{"f"})
	b.AddNode("Gemm", []string{"f", "fc.weight", "fc.bias"}, []string{"logits"}, onnxio.AttrInt("transB", 1))
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var (
	dsOnce sync.Once
	dsPath string
	dsErr  error
)

func dataset(t *testing.T) *arrowds.Dataset {
	t.Helper()
	dsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pgaug-fit-")
		if err != nil {
			dsErr = err
			return
		}
		cfg := synthetic.Default()
		cfg.Count, cfg.Size, cfg.Classes, cfg.Seed = 160, 16, 2, 3
		dsPath = filepath.Join(dir, "syn.arrow")
		_, dsErr = convert.Synthetic(cfg, convert.Options{Out: dsPath})
	})
	if dsErr != nil {
		t.Fatal(dsErr)
	}
	ds, err := arrowds.Open(dsPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

// noisyMethod trains with Gaussian input noise from its own RNG (a stand-in
// for a method's random state) and can be told to produce a NaN.
type noisyMethod struct {
	net    *netstep.Net
	opt    optim.Optimizer
	pcg    *rand.PCG
	rng    *rand.Rand
	nanAt  int
	steps  int
	failed bool
}

func newNoisy(t *testing.T) *noisyMethod {
	pcg := rand.NewPCG(11, 12)
	return &noisyMethod{net: netstep.New(tinyCNN(t), netstep.CrossEntropy), opt: &optim.SGD{Momentum: 0.9, WeightDecay: 1e-4}, pcg: pcg, rng: rand.New(pcg), nanAt: -1}
}

func (m *noisyMethod) TrainStep(ctx context.Context, b *loader.Batch, scale float64) (map[string]float64, error) {
	x := append([]float32(nil), b.X[:b.N*b.C*b.H*b.W]...)
	for i := range x {
		x[i] += float32(m.rng.NormFloat64() * 0.1)
	}
	if m.steps == m.nanAt {
		x[0] = float32(math.NaN())
	}
	m.steps++
	labels := make([]int, b.N)
	for i := range labels {
		labels[i] = int(b.Labels[i])
	}
	y, _ := loss.OneHot(labels, 2)
	r, err := m.net.Step(tensor.New(tensor.WithShape(b.N, b.C, b.H, b.W), tensor.WithBacking(x)), m.opt, 0.05*scale, y)
	if err != nil {
		m.failed = true
		return nil, err
	}
	return map[string]float64{"loss": float64(r.Loss)}, nil
}

func (m *noisyMethod) Evaluate(ctx context.Context, l *loader.Loader) (metrics.Report, error) {
	return fit.Evaluate(ctx, m.net, l, 2)
}

func (m *noisyMethod) SaveState(s *checkpoint.State) error {
	if err := s.AddModel("net", m.net.Model); err != nil {
		return err
	}
	if err := s.AddOptimizer("opt", m.opt); err != nil {
		return err
	}
	return s.AddRNG("noise", m.pcg)
}

func (m *noisyMethod) RestoreState(s *checkpoint.State) error {
	if err := s.RestoreModel("net", m.net.Model); err != nil {
		return err
	}
	if err := s.RestoreOptimizer("opt", m.opt); err != nil {
		return err
	}
	return s.RestoreRNG("noise", m.pcg)
}

func weights(m *importer.Model) []float32 {
	var out []float32
	for _, p := range m.Params {
		out = append(out, p.Value.Data().([]float32)...)
	}
	names := make([]string, 0, len(m.BN))
	for n := range m.BN {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, m.BN[n].State.RunningMean...)
		out = append(out, m.BN[n].State.RunningVar...)
	}
	return out
}

func loaders(t *testing.T) (*loader.Loader, *loader.Loader) {
	ds := dataset(t)
	train, err := loader.New(ds, loader.Config{Split: "train", BatchSize: 16, DropLast: true, Shuffle: true, Seed: 5, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	val, err := loader.New(ds, loader.Config{Split: "val", BatchSize: 32, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return train, val
}

var errKilled = errors.New("killed")

// A run killed after its third evaluation and resumed from its checkpoint
// ends with the same weights, BN statistics and metrics log tail as an
// uninterrupted run (mid-epoch checkpoints included: --eval-every 5).
func TestResumeAfterKillMatchesUninterruptedRun(t *testing.T) {
	train, val := loaders(t)
	cfg := func(dir string, log *bytes.Buffer) fit.LoopConfig {
		return fit.LoopConfig{Epochs: 3, EvalEvery: 5, Schedule: fit.Cosine(3), CheckpointDir: dir, Keep: 2,
			Meta: map[string]string{"method": "noisy", "config": "x"}, Metrics: log}
	}
	full := newNoisy(t)
	var fullLog bytes.Buffer
	sumFull, err := fit.Run(context.Background(), full, train, val, cfg(t.TempDir(), &fullLog))
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	killed := newNoisy(t)
	evals := 0
	kc := cfg(dir, &bytes.Buffer{})
	kc.OnEval = func(context.Context, fit.Eval) error {
		evals++
		if evals == 3 {
			return errKilled
		}
		return nil
	}
	if _, err := fit.Run(context.Background(), killed, train, val, kc); !errors.Is(err, errKilled) {
		t.Fatalf("the kill did not stop the run: %v", err)
	}
	ckpts, _ := checkpoint.List(dir)
	if len(ckpts) != 2 {
		t.Fatalf("keep 2: %d checkpoints in %s", len(ckpts), dir)
	}
	resumed := newNoisy(t) // fresh weights, optimizer and RNG
	rc := cfg(dir, &bytes.Buffer{})
	rc.Resume = true
	sum, err := fit.Run(context.Background(), resumed, train, val, rc)
	if err != nil {
		t.Fatal(err)
	}
	if sum.ResumedFrom == "" || sum.Steps != sumFull.Steps {
		t.Fatalf("resumed from %q at %d steps, the full run took %d", sum.ResumedFrom, sum.Steps, sumFull.Steps)
	}
	a, b := weights(full.net.Model), weights(resumed.net.Model)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("weight %d: uninterrupted %v, resumed %v", i, a[i], b[i])
		}
	}
	// The epochs the resumed run finished, the interrupted one included,
	// have the uninterrupted run's means over all their steps.
	if len(sum.Epochs) == 0 {
		t.Fatal("the resumed run reports no epoch")
	}
	for _, e := range sum.Epochs {
		f := sumFull.Epochs[e.Epoch-1]
		if e.Steps != f.Steps || len(e.Mean) != len(f.Mean) {
			t.Fatalf("epoch %d: resumed %d steps %v, uninterrupted %d steps %v", e.Epoch, e.Steps, e.Mean, f.Steps, f.Mean)
		}
		for k, v := range f.Mean {
			if math.Abs(e.Mean[k]-v) > 1e-12*math.Max(1, math.Abs(v)) {
				t.Fatalf("epoch %d mean %s: resumed %v, uninterrupted %v", e.Epoch, k, e.Mean[k], v)
			}
		}
	}
	last := sumFull.Evals[len(sumFull.Evals)-1]
	lastR := sum.Evals[len(sum.Evals)-1]
	if last.Val.Accuracy != lastR.Val.Accuracy || last.Step != lastR.Step {
		t.Fatalf("final evaluation differs: %+v vs %+v", last, lastR)
	}
	// The log holds step, eval and epoch records.
	kinds := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(fullLog.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("metrics log line %q: %v", line, err)
		}
		kinds[rec["kind"].(string)]++
	}
	if kinds["epoch"] != 3 || kinds["eval"] < 3 {
		t.Fatalf("metrics log records: %v", kinds)
	}
}

// A NaN stops training with an error that names the last good checkpoint,
// which is intact and loads.
func TestNaNStopsWithLastGoodCheckpoint(t *testing.T) {
	train, val := loaders(t)
	m := newNoisy(t)
	m.nanAt = 12
	dir := t.TempDir()
	_, err := fit.Run(context.Background(), m, train, val, fit.LoopConfig{Epochs: 3, EvalEvery: 4, CheckpointDir: dir, Keep: 3})
	if err == nil || !strings.Contains(err.Error(), "last good checkpoint is") || !strings.Contains(err.Error(), "not finite") && !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("want a NaN error naming the checkpoint, got %v", err)
	}
	path, ok, lerr := checkpoint.Latest(dir)
	if lerr != nil || !ok || !strings.Contains(err.Error(), path) {
		t.Fatalf("latest checkpoint %q (%v) not named in %v", path, lerr, err)
	}
	s, lerr := checkpoint.Load(path)
	if lerr != nil || s.Step != 12 {
		t.Fatalf("last good checkpoint: step %v, %v", s, lerr)
	}
	for name, tt := range s.Tensors {
		for _, v := range tt.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("checkpoint tensor %s holds %v", name, v)
			}
		}
	}
	// No optimizer step was taken with the NaN (the BN running statistics
	// of the failed forward pass are another matter: training stops).
	for _, p := range m.net.Model.Params {
		for _, v := range p.Value.Data().([]float32) {
			if math.IsNaN(float64(v)) {
				t.Fatalf("a NaN reached parameter %s", p.Name)
			}
		}
	}
}

// scripted reports the validation accuracies it is given, in turn.
type scripted struct {
	acc   []float64
	evals int
}

func (m *scripted) TrainStep(context.Context, *loader.Batch, float64) (map[string]float64, error) {
	return map[string]float64{"loss": 1}, nil
}
func (m *scripted) Evaluate(context.Context, *loader.Loader) (metrics.Report, error) {
	a := m.acc[min(m.evals, len(m.acc)-1)]
	m.evals++
	return metrics.Report{Accuracy: a, MeanLoss: 1 - a}, nil
}
func (m *scripted) SaveState(s *checkpoint.State) error {
	s.Scalars["evals"] = float64(m.evals)
	return nil
}
func (m *scripted) RestoreState(s *checkpoint.State) error {
	m.evals = int(s.Scalars["evals"])
	return nil
}

// Early stopping: accuracies .5 .7 .6 .65 .9 with patience 2 stop after
// epoch 4 (no better than epoch 2 for two epochs); the best model is epoch
// 2's, and RestoreBest loads its checkpoint.
func TestEarlyStoppingAndBestSelection(t *testing.T) {
	train, val := loaders(t)
	m := &scripted{acc: []float64{0.5, 0.7, 0.6, 0.65, 0.9}}
	sum, err := fit.Run(context.Background(), m, train, val, fit.LoopConfig{Epochs: 5, Patience: 2, CheckpointDir: t.TempDir(), RestoreBest: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Epochs) != 4 || !strings.Contains(sum.Stopped, "early stop after epoch 4") || sum.BestEpoch != 2 || sum.BestScore != 0.7 {
		t.Fatalf("epochs %d, stopped %q, best epoch %d (%v)", len(sum.Epochs), sum.Stopped, sum.BestEpoch, sum.BestScore)
	}
	if m.evals != 2 {
		t.Fatalf("the best checkpoint (after 2 evaluations) was not restored: the method is at %d", m.evals)
	}
	// Selecting on the loss picks the lowest.
	m = &scripted{acc: []float64{0.5, 0.8, 0.6}}
	sum, err = fit.Run(context.Background(), m, train, val, fit.LoopConfig{Epochs: 3, Select: "loss"})
	if err != nil || sum.BestEpoch != 2 {
		t.Fatalf("select loss: best epoch %d, %v", sum.BestEpoch, err)
	}
}

// OnStart sees step 0 on a fresh start and the checkpoint's step on resume;
// ResumeCheck decides whether a checkpoint may be resumed, and its error
// names the checkpoint; a fresh start clears an older run's checkpoints.
func TestResumeHooks(t *testing.T) {
	train, val := loaders(t)
	dir := t.TempDir()
	var starts []int64
	cfg := fit.LoopConfig{Epochs: 1, EvalEvery: 3, CheckpointDir: dir, Meta: map[string]string{"method": "m", "config": "a"},
		OnStart: func(from int64) error { starts = append(starts, from); return nil }}
	if _, err := fit.Run(context.Background(), &scripted{acc: []float64{0.5}}, train, val, cfg); err != nil {
		t.Fatal(err)
	}
	last, ok, err := checkpoint.Latest(dir)
	if err != nil || !ok {
		t.Fatalf("no checkpoint after a run: %v", err)
	}
	s, err := checkpoint.Load(last)
	if err != nil {
		t.Fatal(err)
	}

	rc := cfg
	rc.Resume = true
	var seen map[string]string
	rc.ResumeCheck = func(saved map[string]string) error { seen = saved; return errors.New("settings differ: lr 1 → 2") }
	_, err = fit.Run(context.Background(), &scripted{acc: []float64{0.5}}, train, val, rc)
	if err == nil || !strings.Contains(err.Error(), "lr 1 → 2") || !strings.Contains(err.Error(), last) {
		t.Fatalf("a refused resume must say why and name the checkpoint, got %v", err)
	}
	if seen["config"] != "a" || seen["method"] != "m" {
		t.Fatalf("ResumeCheck saw %v, want the checkpoint's meta", seen)
	}

	rc.ResumeCheck = nil
	if _, err := fit.Run(context.Background(), &scripted{acc: []float64{0.5}}, train, val, rc); err != nil {
		t.Fatal(err)
	}
	if len(starts) != 2 || starts[0] != 0 || starts[1] != s.Step {
		t.Fatalf("OnStart saw %v, want [0 %d]", starts, s.Step)
	}
	// Without the hook, the "config" key must match.
	rc.Meta = map[string]string{"method": "m", "config": "b"}
	if _, err := fit.Run(context.Background(), &scripted{acc: []float64{0.5}}, train, val, rc); err == nil || !strings.Contains(err.Error(), `config "a"`) {
		t.Fatalf("a different config must be refused, got %v", err)
	}

	// A fresh start (no Resume) removes the older run's checkpoints first.
	if err := os.WriteFile(filepath.Join(dir, checkpoint.FileName(1<<40)), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := cfg
	fresh.Epochs, fresh.EvalEvery = 1, 0
	if _, err := fit.Run(context.Background(), &scripted{acc: []float64{0.5}}, train, val, fresh); err != nil {
		t.Fatal(err)
	}
	paths, _ := checkpoint.List(dir)
	if len(paths) != 1 || paths[0] != filepath.Join(dir, checkpoint.FileName(int64(train.NumBatches()))) {
		t.Fatalf("after a fresh run %s holds %v, want only its own epoch-end checkpoint", dir, paths)
	}
}

// bestOnly records which restore the loop used.
type bestOnly struct {
	scripted
	restored, best int
}

func (m *bestOnly) RestoreState(s *checkpoint.State) error {
	m.restored++
	return m.scripted.RestoreState(s)
}
func (m *bestOnly) RestoreBest(s *checkpoint.State) error { m.best++; return nil }

// A BestRestorer takes the best checkpoint its own way when training ends.
func TestBestRestorer(t *testing.T) {
	train, val := loaders(t)
	m := &bestOnly{scripted: scripted{acc: []float64{0.9, 0.5}}}
	if _, err := fit.Run(context.Background(), m, train, val, fit.LoopConfig{Epochs: 2, CheckpointDir: t.TempDir(), RestoreBest: true}); err != nil {
		t.Fatal(err)
	}
	if m.best != 1 || m.restored != 0 {
		t.Fatalf("RestoreBest called %d times, RestoreState %d; want 1 and 0", m.best, m.restored)
	}
}

// checkpointWatch is a metrics log that, at each record, notes the records
// whose step a checkpoint already covers: a SIGKILL between such a
// checkpoint and the record would lose the record, since the resumed run
// continues after the checkpoint's step.
type checkpointWatch struct {
	dir  string
	late []string
}

func (w *checkpointWatch) Write(p []byte) (int, error) {
	var rec struct {
		Kind string `json:"kind"`
		Step int64  `json:"step"`
	}
	if err := json.Unmarshal(p, &rec); err != nil {
		return 0, err
	}
	ckpts, err := checkpoint.List(w.dir)
	if err != nil {
		return 0, err
	}
	for _, c := range ckpts {
		var step int64
		if _, err := fmt.Sscanf(filepath.Base(c), "ckpt-%d.pgck", &step); err == nil && step >= rec.Step {
			w.late = append(w.late, fmt.Sprintf("%s record of step %d written after %s", rec.Kind, rec.Step, filepath.Base(c)))
		}
	}
	return len(p), nil
}

// Every eval and epoch record is in the metrics log, and OnEval has run,
// before the checkpoint of its step is written.
func TestRecordsPrecedeTheirCheckpoint(t *testing.T) {
	train, val := loaders(t)
	dir := t.TempDir()
	w := &checkpointWatch{dir: dir}
	calls := 0
	onEval := func(_ context.Context, ev fit.Eval) error {
		calls++
		_, err := w.Write([]byte(fmt.Sprintf(`{"kind": "OnEval", "step": %d}`, ev.Step)))
		return err
	}
	if _, err := fit.Run(context.Background(), newNoisy(t), train, val, fit.LoopConfig{Epochs: 2, EvalEvery: 5, CheckpointDir: dir, Keep: 10, Metrics: w, OnEval: onEval}); err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Fatal("OnEval was never called")
	}
	if len(w.late) > 0 {
		t.Fatalf("%d records came after the checkpoint that covers them, e.g. %s", len(w.late), w.late[0])
	}
}
