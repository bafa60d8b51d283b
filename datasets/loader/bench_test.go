package loader

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/datasets/transform"
)

// benchData returns a 28x28 dataset (PneumoniaMNIST when the shared data is
// there, else synthetic 28x28) and a 224x224 synthetic one, written once.
func benchData(b *testing.B) (small, large string) {
	b.Helper()
	root := filepath.Join(os.TempDir(), "pgaug-loader-bench")
	small, large = filepath.Join(root, "small"), filepath.Join(root, "large")
	if _, err := os.Stat(small); err != nil {
		if src := findShared("pneumoniamnist.npz"); src != "" {
			_, err = convert.MedMNIST(src, convert.MedMNISTOptions{}, convert.Options{Out: small})
		} else {
			cfg := synthetic.Default()
			cfg.Count, cfg.Size = 4000, 28
			_, err = convert.Synthetic(cfg, convert.Options{Out: small})
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := os.Stat(large); err != nil {
		cfg := synthetic.Default()
		cfg.Count, cfg.Size, cfg.Fractions = 256, 224, [3]float64{1, 0, 0}
		if _, err := convert.Synthetic(cfg, convert.Options{Out: large}); err != nil {
			b.Fatal(err)
		}
	}
	return small, large
}

func findShared(name string) string {
	dir, _ := os.Getwd()
	for dir != filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "data", name)
			if _, err := os.Stat(p); err == nil {
				return p
			}
			return ""
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

func openBench(b *testing.B, path string) *arrowds.Dataset {
	d, err := arrowds.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// runEpochs drains epochs until b.N images have been produced.
func runEpochs(b *testing.B, l *Loader) {
	b.ResetTimer()
	start := time.Now()
	done := 0
	for epoch := 0; done < b.N; epoch++ {
		it := l.Epoch(context.Background(), epoch)
		for done < b.N {
			bt, err := it.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			done += bt.N
			bt.Release()
		}
		it.Close()
	}
	b.ReportMetric(float64(done)/time.Since(start).Seconds(), "images/s")
}

func benchLoader(b *testing.B, path string, spec string) {
	small, large := benchData(b)
	d := openBench(b, map[string]string{"small": small, "large": large}[path])
	p, err := transform.Parse(spec)
	if err != nil {
		b.Fatal(err)
	}
	l, err := New(d, Config{Split: "train", BatchSize: 64, Shuffle: true, Seed: 1, Workers: 2, Transform: p})
	if err != nil {
		b.Fatal(err)
	}
	runEpochs(b, l)
}

// 28x28, shuffled, no transforms: reading and converting only.
func BenchmarkLoader28Plain(b *testing.B) { benchLoader(b, "small", "") }

// 28x28 with light augmentation.
func BenchmarkLoader28Aug(b *testing.B) {
	benchLoader(b, "small", "hflip=0.5,cutout=8@0.5,normalize=0.5:0.25")
}

// 28x28 upscaled to 224x224 RGB with ImageNet-style augmentation.
func BenchmarkLoader28To224Aug(b *testing.B) {
	benchLoader(b, "small", "randomresizedcrop=224,hflip=0.5,channels=3,normalize=0.485/0.456/0.406:0.229/0.224/0.225")
}

// 224x224 sources with ImageNet-style augmentation to 224x224 RGB.
func BenchmarkLoader224Aug(b *testing.B) {
	benchLoader(b, "large", "randomresizedcrop=224,hflip=0.5,cutout=32@0.5,channels=3,normalize=0.485/0.456/0.406:0.229/0.224/0.225")
}

// Raw speed of the Arrow pixel column: every record batch decoded by the
// Arrow library, the pixel values of each row touched (summed).
func benchRaw(b *testing.B, path string) {
	small, large := benchData(b)
	d := openBench(b, map[string]string{"small": small, "large": large}[path])
	b.ResetTimer()
	start := time.Now()
	done := 0
	var sum uint64
	for done < b.N {
		err := d.Scan(func(_, _ int, rec arrow.Record) error {
			col := rec.Column(int(rec.Schema().FieldIndices(arrowds.ColPixels)[0])).(*array.List)
			vals := col.ListValues().(*array.Uint8).Uint8Values()
			offs := col.Offsets()
			for i := 0; i < col.Len() && done < b.N; i++ {
				for _, v := range vals[offs[i]:offs[i+1]] {
					sum += uint64(v)
				}
				done++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(done)/time.Since(start).Seconds(), "images/s")
	if sum == 0 {
		b.Fatal("no pixels read")
	}
}

func BenchmarkRawPixelColumn28(b *testing.B)  { benchRaw(b, "small") }
func BenchmarkRawPixelColumn224(b *testing.B) { benchRaw(b, "large") }

// Random access: one positioned read per image through the row index.
func BenchmarkReadImageRandom28(b *testing.B) {
	small, _ := benchData(b)
	d := openBench(b, small)
	order := (&Loader{rows: d.Indices(""), cfg: Config{Shuffle: true, Seed: 3}}).Order(0)
	var im arrowds.Image
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := d.ReadImage(order[i%len(order)], &im); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "images/s")
}

// Opening a dataset: reading the footers and building the row index.
func BenchmarkOpenIndex28(b *testing.B) {
	small, _ := benchData(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := arrowds.Open(small)
		if err != nil {
			b.Fatal(err)
		}
		d.Close()
	}
}
