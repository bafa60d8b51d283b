package spatial

import (
	"math/bits"
	"os"
	"strconv"
	"syscall"
	"testing"

	gblas "gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SPATIAL_STRATEGY=1 or 2 forces a parallel strategy in benchmarks (see
// splitBatch); SPATIAL_BAND sets the column-matrix band size in bytes;
// SPATIAL_GEMM_COLS sets minGemmCols (0: one image per SGEMM).
func init() {
	if s, err := strconv.Atoi(os.Getenv("SPATIAL_GEMM_COLS")); err == nil {
		minGemmCols, batchingDisable = s, s == 0
	}
	if s, err := strconv.Atoi(os.Getenv("SPATIAL_STRATEGY")); err == nil {
		strategyOverride = s
	}
	if s, err := strconv.Atoi(os.Getenv("SPATIAL_BAND")); err == nil {
		colsBandBytes = s
	}
}

// The reference layer: ResNet-18's 3×3 64→64 convolution at 56×56, batch 8
// (1.85 GFLOP per pass; forward + input gradient + weight gradient is 5.55).
func benchGeom() (geom, ConvParams) {
	p := ConvParams{Pads: [4]int{1, 1, 1, 1}}
	a, err := resolveConv("Conv", p, [2]int{56, 56}, [2]int{3, 3})
	if err != nil {
		panic(err)
	}
	return geom{attrs: a, n: 8, c: 64, h: 56, w: 56, o: 64, oh: 56, ow: 56}, p
}

// cpuSeconds is the process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

var cpuStart float64

// startTimer resets the benchmark timer and the CPU-time reference.
func startTimer(b *testing.B) {
	b.ReportAllocs()
	b.ResetTimer()
	cpuStart = cpuSeconds()
}

// reportRate reports GFLOP/s of wall time and GFLOP per CPU-second (the
// latter is what each core achieves, less sensitive to other load on the
// machine).
func reportRate(b *testing.B, flopsPerOp float64) {
	total := flopsPerOp * float64(b.N) / 1e9
	b.ReportMetric(total/b.Elapsed().Seconds(), "GFLOP/s")
	if cpu := cpuSeconds() - cpuStart; cpu > 0 {
		b.ReportMetric(total/cpu, "GFLOP/cpu-s")
	}
}

// Passes of benchConvOps.
const (
	passForward = 1 << iota
	passInputGrad
	passWeightGrad
	passAll = passForward | passInputGrad | passWeightGrad
)

// benchConvOps runs the forward op and/or the two gradient ops into
// preallocated outputs (as the tape machine does when it is not Reset).
func benchConvOps(b *testing.B, g geom, passes int) {
	x := dense(randData(1, g.n*g.bigSz()), g.n, g.c, g.h, g.w)
	w := dense(randData(2, g.o*g.kg()), g.o, g.cg(), g.kh, g.kw)
	dy := dense(randData(3, g.n*g.smlSz()), g.n, g.o, g.oh, g.ow)
	fwd := &convOp{a: g.attrs}
	outPad := [2]int{g.h - ((g.oh-1)*g.sh + g.effH() - g.pt - g.pb), g.w - ((g.ow-1)*g.sw + g.effW() - g.pl - g.pr)}
	dx := &convTransposeOp{a: g.attrs, outPad: outPad}
	dw := &convWeightGradOp{a: g.attrs}
	var y, gx, gw gorgonia.Value
	run := func() {
		var err error
		if passes&passForward != 0 {
			if y, err = fwd.UsePreallocDo(y, x, w); err != nil {
				b.Fatal(err)
			}
		}
		if passes&passInputGrad != 0 {
			if gx, err = dx.UsePreallocDo(gx, dy, w); err != nil {
				b.Fatal(err)
			}
		}
		if passes&passWeightGrad != 0 {
			if gw, err = dw.UsePreallocDo(gw, x, dy); err != nil {
				b.Fatal(err)
			}
		}
	}
	run()
	startTimer(b)
	for i := 0; i < b.N; i++ {
		run()
	}
	reportRate(b, float64(bits.OnesCount(uint(passes)))*g.flops())
}

func BenchmarkConv3x3Forward(b *testing.B) {
	g, _ := benchGeom()
	benchConvOps(b, g, passForward)
}

func BenchmarkConv3x3InputGrad(b *testing.B) {
	g, _ := benchGeom()
	benchConvOps(b, g, passInputGrad)
}

func BenchmarkConv3x3WeightGrad(b *testing.B) {
	g, _ := benchGeom()
	benchConvOps(b, g, passWeightGrad)
}

func BenchmarkConv3x3ForwardBackward(b *testing.B) {
	g, _ := benchGeom()
	benchConvOps(b, g, passAll)
}

// BenchmarkConv3x3GraphStep is the same layer in a gorgonia graph: forward
// and both gradients (from a given output gradient) on the tape machine,
// including gorgonia's own work (accumulating the gradients into the dual
// values).
func BenchmarkConv3x3GraphStep(b *testing.B) {
	gm, p := benchGeom()
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(8, 64, 56, 56), gorgonia.WithName("x"),
		gorgonia.WithValue(dense(randData(1, gm.n*gm.bigSz()), 8, 64, 56, 56)))
	w := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(64, 64, 3, 3), gorgonia.WithName("w"),
		gorgonia.WithValue(dense(randData(2, 64*64*9), 64, 64, 3, 3)))
	y, err := Conv2D(x, w, p)
	if err != nil {
		b.Fatal(err)
	}
	dy := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(y.Shape()...), gorgonia.WithName("dy"),
		gorgonia.WithValue(dense(randData(3, y.Shape().TotalSize()), y.Shape()...)))
	if _, err := gorgonia.Backpropagate(gorgonia.Nodes{y}, gorgonia.Nodes{dy}, gorgonia.Nodes{x, w}); err != nil {
		b.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(x, w))
	defer vm.Close()
	step := func() {
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		vm.Reset()
	}
	step()
	startTimer(b)
	for i := 0; i < b.N; i++ {
		step()
	}
	reportRate(b, 3*gm.flops())
}

// BenchmarkSgemmSameFLOPs is one SGEMM with the FLOPs of the forward pass
// (64 × 576 times 576 × 25088), spread over the cores as the convolution
// spreads its SGEMMs: the practical ceiling for the convolution.
func BenchmarkSgemmSameFLOPs(b *testing.B) {
	g, _ := benchGeom()
	m, k, n := g.o, g.kg(), g.n*g.pix()
	a, bb, c := randData(1, m*k), randData(2, k*n), make([]float32, m*n)
	nw := workers(2 * 64)
	startTimer(b)
	for i := 0; i < b.N; i++ {
		gemm(gblas.NoTrans, gblas.NoTrans, m, n, k, a, k, bb, n, 0, c, n, nw)
	}
	reportRate(b, 2*float64(m)*float64(n)*float64(k))
}

// ResNet's downsampling shortcut: 1×1 stride 2, 64→128 at 56×56, batch 8.
func BenchmarkConv1x1Stride2ForwardBackward(b *testing.B) {
	a, _ := resolveConv("Conv", ConvParams{Strides: [2]int{2, 2}}, [2]int{56, 56}, [2]int{1, 1})
	benchConvOps(b, geom{attrs: a, n: 8, c: 64, h: 56, w: 56, o: 128, oh: 28, ow: 28}, passAll)
}

// A bottleneck 1×1 stride 1 (no im2col), 256→64 at 56×56, batch 8.
func BenchmarkConv1x1ForwardBackward(b *testing.B) {
	a, _ := resolveConv("Conv", ConvParams{}, [2]int{56, 56}, [2]int{1, 1})
	benchConvOps(b, geom{attrs: a, n: 8, c: 256, h: 56, w: 56, o: 64, oh: 56, ow: 56}, passAll)
}

func BenchmarkMaxPool3x3s2ForwardBackward(b *testing.B) {
	x := dense(randData(1, 8*64*112*112), 8, 64, 112, 112)
	op := &poolOp{max: true}
	op.a, _, _, _ = resolvePool("MaxPool", PoolParams{KernelShape: k3, Strides: s2, Pads: p1}, [2]int{112, 112})
	gop := &poolGradOp{p: *op}
	y, err := op.Do(x)
	if err != nil {
		b.Fatal(err)
	}
	dx, err := gop.Do(x, y)
	if err != nil {
		b.Fatal(err)
	}
	startTimer(b)
	for i := 0; i < b.N; i++ {
		if y, err = op.UsePreallocDo(y, x); err != nil {
			b.Fatal(err)
		}
		if dx, err = gop.UsePreallocDo(dx, x, y); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConvResNet18Stages is the 3×3 stride-1 convolution of each stage
// of ResNet-18 at the training benchmark's size (batch 16, 112×112 input:
// the stages run at 28², 14², 7² and 4²), forward and both gradients: the
// rate falls with the spatial size, where each image's SGEMM is a thin one.
func BenchmarkConvResNet18Stages(b *testing.B) {
	for _, s := range []struct{ c, side int }{{64, 28}, {128, 14}, {256, 7}, {512, 4}} {
		b.Run(strconv.Itoa(s.c)+"ch-"+strconv.Itoa(s.side)+"px", func(b *testing.B) {
			a, err := resolveConv("Conv", ConvParams{Pads: [4]int{1, 1, 1, 1}}, [2]int{s.side, s.side}, [2]int{3, 3})
			if err != nil {
				b.Fatal(err)
			}
			benchConvOps(b, geom{attrs: a, n: 16, c: s.c, h: s.side, w: s.side, o: s.c, oh: s.side, ow: s.side}, passAll)
		})
	}
}
