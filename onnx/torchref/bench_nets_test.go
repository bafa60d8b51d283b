package torchref

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

// benchNets are the settings scripts/bench.sh compares with PyTorch
// (scripts/bench_torch.py times the same architecture, batch and size):
// ResNet-18 at batch 16 and 112², DenseNet-121 at batch 8 and 64²,
// TernausNet-11 (a per-pixel sigmoid, binary cross-entropy) at batch 4 and 64².
var benchNets = []struct {
	arch         string
	batch, size  int
	segmentation bool
}{
	{"resnet18", 16, 112, false},
	{"densenet121", 8, 64, false},
	{"ternausnet11", 4, 64, true},
}

var (
	netFilesMu sync.Mutex
	netFiles   = map[string]string{}
)

// benchNetModel exports arch once per process, into $PGAUG_BENCH_DIR when
// set (scripts/bench.sh keeps it between its runs).
func benchNetModel(b *testing.B, arch string, size int) string {
	b.Helper()
	netFilesMu.Lock()
	defer netFilesMu.Unlock()
	if p, ok := netFiles[arch]; ok {
		return p
	}
	dir := os.Getenv("PGAUG_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	sub := filepath.Join(dir, "nets")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(sub, arch+".onnx")
	if _, err := os.Stat(p); err != nil {
		root, err := RepoRoot()
		if err != nil {
			b.Fatal(err)
		}
		if p, _, err = Export(root, sub, arch, 10, 3, size, 1, 0); err != nil {
			b.Fatal(err)
		}
	}
	netFiles[arch] = p
	return p
}

func benchData(batch, size int, segmentation bool) (*tensor.Dense, *tensor.Dense) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, batch*3*size*size)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	xt := tensor.New(tensor.WithShape(batch, 3, size, size), tensor.WithBacking(x))
	if segmentation {
		y := make([]float32, batch*size*size)
		for i := range y {
			y[i] = float32(i % 2)
		}
		return xt, tensor.New(tensor.WithShape(batch, 1, size, size), tensor.WithBacking(y))
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = i % 10
	}
	y, _ := loss.OneHot(labels, 10)
	return xt, y
}

func benchNet(b *testing.B, arch string, size int, segmentation bool) *netstep.Net {
	m, err := importer.ImportFile(benchNetModel(b, arch, size))
	if err != nil {
		b.Fatal(err)
	}
	lf := netstep.CrossEntropy
	if segmentation {
		lf = netstep.BinaryCrossEntropy
	}
	return netstep.New(m, lf)
}

// BenchmarkNetTrainStep is one SGD step (momentum 0.9): forward, backward,
// update, as bench_torch.py's.
func BenchmarkNetTrainStep(b *testing.B) {
	for _, n := range benchNets {
		b.Run(n.arch, func(b *testing.B) {
			net := benchNet(b, n.arch, n.size, n.segmentation)
			defer net.Close()
			x, y := benchData(n.batch, n.size, n.segmentation)
			opt := &optim.SGD{Momentum: 0.9}
			if _, err := net.Step(x, opt, 0.01, y); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := net.Step(x, opt, 0.01, y); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNetForward is the evaluation-mode forward pass.
func BenchmarkNetForward(b *testing.B) {
	for _, n := range benchNets {
		b.Run(n.arch, func(b *testing.B) {
			net := benchNet(b, n.arch, n.size, n.segmentation)
			defer net.Close()
			x, _ := benchData(n.batch, n.size, n.segmentation)
			if _, err := net.Forward(x); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := net.Forward(x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
