package executor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/trainer/executor"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/ops/batchnorm"
)

// trainGraph is one zoo network's training graph: its output, a loss and
// the parameters' gradients.
type trainGraph struct {
	m      *importer.Model
	g      *importer.Graph
	target *gorgonia.Node
	loss   *gorgonia.Node
	params gorgonia.Nodes
	grads  gorgonia.Nodes
}

func buildTrain(t testing.TB, name string, batch, size int) *trainGraph {
	t.Helper()
	info, err := zoo.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	classes := 3
	if info.Task == zoo.Segmentation {
		classes = 1
	}
	mp, err := zoo.Build(name, zoo.Options{Classes: classes, InChannels: 2, Size: size, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: name})
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.Build(map[string][]int{"input": {batch, 2, size, size}})
	if err != nil {
		t.Fatal(err)
	}
	out := g.Outputs[0]
	s := out.Shape()
	tg := &trainGraph{m: m, g: g}
	tg.target = gorgonia.NewTensor(g.G, tensor.Float32, s.Dims(), gorgonia.WithShape(s...), gorgonia.WithName("target"))
	if info.Task == zoo.Segmentation {
		tg.loss, err = loss.BinaryCrossEntropy(out, tg.target)
	} else {
		tg.loss, err = loss.SoftmaxCrossEntropy(out, tg.target)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params {
		if n, ok := g.ParamNodes[p.Name]; ok && p.Trainable {
			tg.params = append(tg.params, n)
		}
	}
	if tg.grads, err = gorgonia.Grad(tg.loss, tg.params...); err != nil {
		t.Fatal(err)
	}
	m.SetMode(batchnorm.Train)
	return tg
}

// feed binds a seeded input and target.
func (tg *trainGraph) feed(t testing.TB, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	xs := tg.g.Inputs[0].Shape()
	x := make([]float32, xs.TotalSize())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	ts := tg.target.Shape()
	y := make([]float32, ts.TotalSize())
	if ts.Dims() == 2 { // one-hot rows
		for r := 0; r < ts[0]; r++ {
			y[r*ts[1]+rng.IntN(ts[1])] = 1
		}
	} else {
		for i := range y {
			y[i] = float32(rng.IntN(2))
		}
	}
	if err := gorgonia.Let(tg.g.Inputs[0], tensor.New(tensor.WithShape(xs...), tensor.WithBacking(x))); err != nil {
		t.Fatal(err)
	}
	if err := gorgonia.Let(tg.target, tensor.New(tensor.WithShape(ts...), tensor.WithBacking(y))); err != nil {
		t.Fatal(err)
	}
}

func f32(t testing.TB, v gorgonia.Value) []float32 {
	t.Helper()
	switch d := v.Data().(type) {
	case []float32:
		return d
	case float32:
		return []float32{d}
	}
	t.Fatalf("value of type %T", v.Data())
	return nil
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, the tape machine gives %v", what, i, got[i], want[i])
		}
	}
}

// The executor computes exactly what gorgonia's tape machine computes (the
// same operators, in an order that respects the same dependencies) on
// whole networks with their backward pass, and keeps doing so on later runs,
// when every operator writes into the buffer of the run before.
func TestMatchesTheTapeMachineBitForBit(t *testing.T) {
	cases := []struct {
		name        string
		batch, size int
	}{
		{"smallcnn", 3, 16},
		{"resnet10t", 2, 32},
		{"densenet121", 2, 32},
		{"ternausnet11", 2, 32},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && c.name == "densenet121" {
				t.Skip("DenseNet-121 in -short")
			}
			ref := buildTrain(t, c.name, c.batch, c.size)
			got := buildTrain(t, c.name, c.batch, c.size)
			var refLoss, refOut gorgonia.Value
			gorgonia.Read(ref.loss, &refLoss)
			gorgonia.Read(ref.g.Outputs[0], &refOut)
			vm := gorgonia.NewTapeMachine(ref.g.G, gorgonia.BindDualValues(ref.params...))
			defer vm.Close()
			roots := append(gorgonia.Nodes{got.loss, got.g.Outputs[0]}, got.grads...)
			prog, err := executor.Compile(nil, roots...)
			if err != nil {
				t.Fatal(err)
			}
			for run := uint64(1); run <= 3; run++ {
				for _, p := range ref.params {
					if gv, err := p.Grad(); err == nil && gv != nil {
						clear(f32(t, gv))
					}
				}
				ref.feed(t, run)
				got.feed(t, run)
				vm.Reset()
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				if err := prog.Run(); err != nil {
					t.Fatal(err)
				}
				lv, err := prog.Value(got.loss)
				if err != nil {
					t.Fatal(err)
				}
				sameBits(t, "loss", f32(t, lv), f32(t, refLoss))
				ov, err := prog.Value(got.g.Outputs[0])
				if err != nil {
					t.Fatal(err)
				}
				sameBits(t, "output", f32(t, ov), f32(t, refOut))
				for i, p := range ref.params {
					want, err := p.Grad()
					if err != nil {
						t.Fatal(err)
					}
					gv, err := prog.Value(got.grads[i])
					if err != nil {
						t.Fatal(err)
					}
					sameBits(t, "gradient of "+p.Name(), f32(t, gv), f32(t, want))
				}
			}
			// BatchNorm's running statistics moved alike (the tape machine's run
			// and the executor's each updated their own model's).
			for name, st := range ref.m.BN {
				q, ok := got.m.BN[name]
				if !ok {
					t.Fatalf("BatchNorm %s missing", name)
				}
				sameBits(t, name+" running mean", q.State.RunningMean, st.State.RunningMean)
				sameBits(t, name+" running variance", q.State.RunningVar, st.State.RunningVar)
			}
			if n, b := prog.Buffers(); n == 0 || b == 0 {
				t.Errorf("no buffers planned (%d, %d bytes)", n, b)
			}
		})
	}
}

// A Run in the steady state allocates a small, fixed number of objects (the
// operators' argument lists and gorgonia's scalar results), not
// activations: its bytes per run are a small fraction of the activations'.
func TestSteadyStateAllocatesNoActivations(t *testing.T) {
	tg := buildTrain(t, "resnet10t", 2, 32)
	roots := append(gorgonia.Nodes{tg.loss}, tg.grads...)
	prog, err := executor.Compile(nil, roots...)
	if err != nil {
		t.Fatal(err)
	}
	tg.feed(t, 1)
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	_, planned := prog.Buffers()
	var before, after runtimeMem
	before.read()
	const runs = 3
	for i := 0; i < runs; i++ {
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
	}
	after.read()
	perRun := float64(after.bytes-before.bytes) / runs
	t.Logf("%d nodes, %.1f MB planned, %.2f MB allocated per run", prog.Len(), float64(planned)/1e6, perRun/1e6)
	if perRun > 0.1*float64(planned) {
		t.Errorf("a run allocates %.2f MB, more than a tenth of the %.2f MB of planned buffers", perRun/1e6, float64(planned)/1e6)
	}
}

// gorgonia's gradient of Slice adds into its destination: run after run,
// the executor must not let it add onto the last run's gradient.
func TestSliceGradientDoesNotAccumulate(t *testing.T) {
	build := func() (*gorgonia.Node, *gorgonia.Node, *gorgonia.Node) {
		g := gorgonia.NewGraph()
		x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(4, 6), gorgonia.WithName("x"))
		a := gorgonia.Must(gorgonia.Slice(x, nil, gorgonia.S(0, 3)))
		b := gorgonia.Must(gorgonia.Slice(x, nil, gorgonia.S(3, 6)))
		cost := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(a, b))))
		grads, err := gorgonia.Grad(cost, x)
		if err != nil {
			t.Fatal(err)
		}
		return x, cost, grads[0]
	}
	rx, rcost, _ := build()
	var refCost gorgonia.Value
	gorgonia.Read(rcost, &refCost)
	vm := gorgonia.NewTapeMachine(rx.Graph(), gorgonia.BindDualValues(rx))
	defer vm.Close()
	x, cost, dx := build()
	prog, err := executor.Compile(nil, cost, dx)
	if err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 3; run++ {
		data := make([]float32, 24)
		for i := range data {
			data[i] = float32(run*i%7) - 3
		}
		for _, n := range []*gorgonia.Node{rx, x} {
			if err := gorgonia.Let(n, tensor.New(tensor.WithShape(4, 6), tensor.WithBacking(append([]float32(nil), data...)))); err != nil {
				t.Fatal(err)
			}
		}
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		want, err := rx.Grad()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := prog.Value(dx); err == nil && run == 1 {
			t.Fatal("a value before the first Run")
		}
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		got, err := prog.Value(dx)
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, fmt.Sprintf("run %d: dx", run), f32(t, got), f32(t, want))
		clear(f32(t, want)) // the tape machine accumulates into the dual value
		cv, _ := prog.Value(cost)
		sameBits(t, fmt.Sprintf("run %d: cost", run), f32(t, cv), f32(t, refCost))
	}
}

func TestErrorsNameTheNode(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 2), gorgonia.WithName("x"))
	y := gorgonia.Must(gorgonia.Square(x))
	prog, err := executor.Compile(nil, y)
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.Run(); err == nil || !strings.Contains(err.Error(), "x has no value") {
		t.Fatalf("Run without an input: %v, want an error naming x", err)
	}
	if _, err := prog.Value(x); err == nil {
		t.Fatal("Value before a successful Run: no error")
	}
	other := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 2), gorgonia.WithName("other"))
	if _, err := prog.Value(other); err == nil || !strings.Contains(err.Error(), "other") {
		t.Fatalf("Value of a node outside the program: %v", err)
	}
	if err := gorgonia.Let(x, tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1, 2, 3, 4}))); err != nil {
		t.Fatal(err)
	}
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	v, err := prog.Value(y)
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "x²", f32(t, v), []float32{1, 4, 9, 16})
	if _, err := executor.Compile(nil); err == nil {
		t.Fatal("Compile without roots: no error")
	}
}

// runtimeMem is the heap's cumulative allocation at one moment.
type runtimeMem struct{ bytes uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.bytes = s.TotalAlloc
}

// BenchmarkVersusTape times the executor against gorgonia's tape machine on
// the same network, interleaved (tape, executor, tape, ...) so that load on
// the machine hits both alike: the forward pass alone and the training
// pass (forward and backward), each on a graph of its own.
func BenchmarkVersusTape(b *testing.B) {
	for _, c := range []struct {
		name        string
		batch, size int
	}{{"resnet18", 16, 112}, {"densenet121", 8, 64}} {
		for _, pass := range []string{"forward", "train"} {
			b.Run(c.name+"/"+pass, func(b *testing.B) {
				ref := buildTrain(b, c.name, c.batch, c.size)
				got := buildTrain(b, c.name, c.batch, c.size)
				ref.feed(b, 1)
				got.feed(b, 1)
				var vm gorgonia.VM
				var roots gorgonia.Nodes
				if pass == "forward" {
					var out gorgonia.Value
					gorgonia.Read(ref.g.Outputs[0], &out)
					vm = gorgonia.NewTapeMachine(ref.g.G.ExactSubgraphRoots(ref.g.Outputs[0]))
					roots = gorgonia.Nodes{got.g.Outputs[0]}
				} else {
					vm = gorgonia.NewTapeMachine(ref.g.G, gorgonia.BindDualValues(ref.params...))
					roots = append(gorgonia.Nodes{got.loss}, got.grads...)
				}
				defer vm.Close()
				prog, err := executor.Compile(nil, roots...)
				if err != nil {
					b.Fatal(err)
				}
				tape := func() {
					vm.Reset()
					if err := vm.RunAll(); err != nil {
						b.Fatal(err)
					}
				}
				run := func() {
					if err := prog.Run(); err != nil {
						b.Fatal(err)
					}
				}
				tape()
				run()
				var tt, te time.Duration
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					tape()
					t1 := time.Now()
					run()
					tt += t1.Sub(t0)
					te += time.Since(t1)
				}
				b.ReportMetric(float64(tt.Milliseconds())/float64(b.N), "tape-ms")
				b.ReportMetric(float64(te.Milliseconds())/float64(b.N), "executor-ms")
				b.ReportMetric(float64(te)/float64(tt), "executor/tape")
			})
		}
	}
}
