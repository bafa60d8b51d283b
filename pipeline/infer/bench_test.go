package infer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/onnx/torchref"
	"github.com/pgaug/pgaug/pipeline/infer"
)

// The benchmarks compare the whole `pgaug infer` path (open the dataset,
// create the session, decode, transform, run, softmax, write the Arrow
// file) with a bare ONNX Runtime loop of Session.Run over ready-made
// batches of the same model, batch size and threads, interleaved in the
// same process. Settings come from the environment (scripts/bench_infer.sh
// sets them):
//
//	PGAUG_BENCH_IMAGES   images per pass (default 128)
//	PGAUG_BENCH_BATCH    batch size (default 16)
//	PGAUG_BENCH_THREADS  ONNX Runtime threads (default 2)
//	PGAUG_BENCH_WORKERS  infer's loader workers (default 0: infer's default)
//	PGAUG_BENCH_DIR      where exported models and datasets are kept between runs
//
// Metrics: pipeline_img/s (wall clock of the whole infer.Run call),
// loop_img/s (infer's own rate: first batch to last row written, without
// opening the dataset and creating the session), bare_img/s, and the ratios
// pipeline/bare and loop/bare; steady_img/s and bare_steady_img/s leave out
// each pass's first batch (ONNX Runtime's first run of a fresh session is
// slower, and the bare loop's session is warm), steady_ratio compares them;
// the ratios are medians over the b.N pairs of passes, so that load from
// other processes that changes between pairs moves them less than the rates;
// setup_s is the time infer.Run spends before its first batch (opening the
// dataset, creating the session) and after its last (metrics, file commit).

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchDir is $PGAUG_BENCH_DIR or a temporary directory.
func benchDir(b *testing.B) string {
	if d := os.Getenv("PGAUG_BENCH_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		return d
	}
	return b.TempDir()
}

// benchTransform turns the grayscale synthetic images into the 3-channel,
// ImageNet-normalised input a pretrained backbone takes.
const benchTransform = "channels=3,normalize=0.485/0.456/0.406:0.229/0.224/0.225"

// torchModel exports a torchvision network with seeded weights (no
// download) at size; it fails, saying what to install, when Python with
// torch is not there.
func torchModel(b *testing.B, dir, arch string, size int) string {
	b.Helper()
	sub := filepath.Join(dir, fmt.Sprintf("%s-%d", arch, size))
	p := filepath.Join(sub, arch+".onnx")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	torchref.Require(b) // the zoo-* benchmarks need no Python
	root, err := torchref.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(sub, 0o755); err != nil {
		b.Fatal(err)
	}
	p, _, err = torchref.Export(root, sub, arch, 2, 3, size, 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchData(b *testing.B, dir string, count, size int) string {
	b.Helper()
	p := filepath.Join(dir, fmt.Sprintf("synthetic-%d-%d-2.arrow", count, size))
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return syntheticData(b, dir, count, size, 2)
}

func BenchmarkInferVsBare(b *testing.B) {
	initORT(b)
	images := benchEnv("PGAUG_BENCH_IMAGES", 128)
	batch := benchEnv("PGAUG_BENCH_BATCH", 16)
	threads := benchEnv("PGAUG_BENCH_THREADS", 2)
	dir := benchDir(b)
	for _, c := range []struct {
		name, arch string
		size       int
		torch      bool
	}{
		{"zoo-smallcnn-64", "smallcnn", 64, false},
		{"zoo-resnet18-64", "resnet18", 64, false},
		{"zoo-resnet18-224", "resnet18", 224, false},
		{"resnet18-64", "resnet18", 64, true},
		{"resnet18-224", "resnet18", 224, true},
		{"densenet169-64", "densenet169", 64, true},
		{"densenet169-224", "densenet169", 224, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			var model string
			if c.torch {
				model = torchModel(b, dir, c.arch, c.size)
			} else {
				model = zooModel(b, dir, c.arch, 2, 3, c.size)
			}
			data := benchData(b, dir, images, c.size)
			benchPair(b, model, data, c.size, batch, threads, images)
		})
	}
}

// benchPair times, b.N times each and interleaved, one infer.Run over the
// dataset and one bare Session.Run pass over the same number of images.
func benchPair(b *testing.B, model, data string, size, batch, threads, images int) {
	s, err := ort.NewSession(model, ort.SessionOptions{Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	in := s.Inputs()[0].Name
	per := 3 * size * size
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, batch*per)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	// bare runs the batches of one pass and returns the time after the
	// first batch (comparable to the pipeline's steady state).
	bare := func() (afterFirst time.Duration) {
		var t0 time.Time
		for done := 0; done < images; done += batch {
			if done == batch {
				t0 = time.Now()
			}
			n := min(batch, images-done)
			if _, err := s.Run(map[string]ort.Tensor{in: ort.Float32Tensor([]int64{int64(n), 3, int64(size), int64(size)}, x[:n*per])}); err != nil {
				b.Fatal(err)
			}
		}
		if t0.IsZero() {
			return 0
		}
		return time.Since(t0)
	}
	bare() // warm up ONNX Runtime (the pipeline's session warms up inside its timing)
	out := filepath.Join(b.TempDir(), "pred.arrow")
	cfg := infer.Config{Model: model, Data: data, Output: out, Batch: batch, Threads: threads, Transform: benchTransform,
		Workers: benchEnv("PGAUG_BENCH_WORKERS", 0)}
	var pipeTime, loopTime, steadyTime, bareTime, bareSteadyTime time.Duration
	steadyImages := 0
	var ratios, steadyRatios []float64 // per pair of passes: robust to load that changes between pairs
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := infer.Run(context.Background(), cfg)
		pipePass := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		pipeTime += pipePass
		loopTime += res.Elapsed
		steadyTime += res.Elapsed - res.FirstBatch
		steadyImages += images - min(batch, images)
		if res.Rows != images {
			b.Fatalf("%d rows predicted, want %d", res.Rows, images)
		}
		start = time.Now()
		bareSteady := bare()
		barePass := time.Since(start)
		bareSteadyTime += bareSteady
		bareTime += barePass
		ratios = append(ratios, barePass.Seconds()/pipePass.Seconds())
		if bareSteady > 0 {
			steadyRatios = append(steadyRatios, (bareSteady.Seconds()/float64(images-batch))/((res.Elapsed-res.FirstBatch).Seconds()/float64(res.Rows-batch)))
		}
	}
	total := float64(images * b.N)
	pipe, loop, bareRate := total/pipeTime.Seconds(), total/loopTime.Seconds(), total/bareTime.Seconds()
	b.ReportMetric(pipe, "pipeline_img/s")
	b.ReportMetric(loop, "loop_img/s")
	b.ReportMetric(bareRate, "bare_img/s")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(loop/bareRate, "loop_ratio")
	if steadyImages > 0 {
		steady := float64(steadyImages) / steadyTime.Seconds()
		bareSteady := float64(steadyImages) / bareSteadyTime.Seconds()
		b.ReportMetric(steady, "steady_img/s")
		b.ReportMetric(bareSteady, "bare_steady_img/s")
		b.ReportMetric(median(steadyRatios), "steady_ratio")
	}
	b.ReportMetric((pipeTime-loopTime).Seconds()/float64(b.N), "setup_s")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
