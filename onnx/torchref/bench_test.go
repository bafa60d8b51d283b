package torchref

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

// The benchmark setting of the project's issue: ResNet-18, batch 16, 112×112,
// 2 threads. scripts/bench.sh times PyTorch on the same setting and prints
// both side by side.
const (
	benchBatch = 16
	benchSize  = 112
)

var (
	benchOnce  sync.Once
	benchFiles = map[string]string{}
	benchErr   error
)

// benchModel exports arch once per process (into $PGAUG_BENCH_DIR when set,
// so that scripts/bench.sh and PyTorch use the very same file).
func benchModel(b *testing.B, arch string) string {
	b.Helper()
	benchOnce.Do(func() {
		dir := os.Getenv("PGAUG_BENCH_DIR")
		if dir == "" {
			dir, benchErr = os.MkdirTemp("", "pgaug-bench")
			if benchErr != nil {
				return
			}
		}
		root, err := RepoRoot()
		if err != nil {
			benchErr = err
			return
		}
		for _, a := range []struct {
			arch string
			size int
		}{{"resnet18", benchSize}, {"densenet169", 224}} {
			p := filepath.Join(dir, a.arch+".onnx")
			if _, err := os.Stat(p); err != nil {
				if p, _, err = Export(root, dir, a.arch, 10, 3, a.size, 1, 0); err != nil {
					benchErr = err
					return
				}
			}
			benchFiles[a.arch] = p
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFiles[arch]
}

func benchInput() *tensor.Dense {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, benchBatch*3*benchSize*benchSize)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return tensor.New(tensor.WithShape(benchBatch, 3, benchSize, benchSize), tensor.WithBacking(x))
}

func BenchmarkResNet18Forward(b *testing.B) {
	path := benchModel(b, "resnet18")
	x := benchInput()
	b.Run("gorgonia", func(b *testing.B) {
		m, err := importer.ImportFile(path)
		if err != nil {
			b.Fatal(err)
		}
		net := netstep.New(m, netstep.CrossEntropy)
		defer net.Close()
		if _, err := net.Forward(x); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := net.Forward(x); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(benchBatch*b.N)/b.Elapsed().Seconds(), "images/s")
	})
	b.Run("onnxruntime", func(b *testing.B) {
		if _, err := ort.Init(""); err != nil {
			b.Fatal(err)
		}
		s, err := ort.NewSession(path, ort.SessionOptions{Threads: 2})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		in := map[string]ort.Tensor{"input": ort.Float32Tensor([]int64{benchBatch, 3, benchSize, benchSize}, x.Data().([]float32))}
		if _, err := s.Run(in); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.Run(in); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(benchBatch*b.N)/b.Elapsed().Seconds(), "images/s")
	})
}

func BenchmarkResNet18TrainStep(b *testing.B) {
	b.ReportAllocs()
	path := benchModel(b, "resnet18")
	m, err := importer.ImportFile(path)
	if err != nil {
		b.Fatal(err)
	}
	x := benchInput()
	labels := make([]int, benchBatch)
	for i := range labels {
		labels[i] = i % 10
	}
	tgt, _ := loss.OneHot(labels, 10)
	net := netstep.New(m, netstep.CrossEntropy)
	defer net.Close()
	opt := &optim.SGD{Momentum: 0.9}
	if _, err := net.Step(x, opt, 0.01, tgt); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := net.Step(x, opt, 0.01, tgt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkImportDenseNet169(b *testing.B) {
	path := benchModel(b, "densenet169")
	for i := 0; i < b.N; i++ {
		m, err := importer.ImportFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Build(map[string][]int{"input": {1, 3, 224, 224}}); err != nil {
			b.Fatal(err)
		}
	}
}
