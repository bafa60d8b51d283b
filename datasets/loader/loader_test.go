package loader

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/datasets/transform"
)

type randRand = rand.Rand

func TestMain(m *testing.M) {
	code := m.Run()
	if synthRoot != "" {
		os.RemoveAll(synthRoot)
	}
	os.Exit(code)
}

var synthRoot string

func osMkdirTemp() (string, error) {
	var err error
	synthRoot, err = os.MkdirTemp("", "pgaug-loader-test-")
	return synthRoot, err
}

var (
	synthOnce sync.Once
	synthDir  string
	synthErr  error
)

// synthDataset writes (once per test binary) a small synthetic dataset.
func synthDataset(t testing.TB) *arrowds.Dataset {
	t.Helper()
	synthOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			synthErr = err
			return
		}
		cfg := synthetic.Default()
		cfg.Count, cfg.Size = 300, 32
		synthDir = filepath.Join(dir, "synth")
		_, synthErr = convert.Synthetic(cfg, convert.Options{Out: synthDir, RowsPerFile: 100})
	})
	if synthErr != nil {
		t.Fatal(synthErr)
	}
	d, err := arrowds.Open(synthDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func collect(t testing.TB, l *Loader, epoch int) []*Batch {
	t.Helper()
	it := l.Epoch(context.Background(), epoch)
	defer it.Close()
	var out []*Batch
	for {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
}

func aug() transform.Pipeline {
	p, err := transform.Parse("randomresizedcrop=24:0.5-1,hflip=0.5,cutout=6@0.5,normalize=0.5:0.25")
	if err != nil {
		panic(err)
	}
	return p
}

func TestDeterministicWhateverTheWorkers(t *testing.T) {
	d := synthDataset(t)
	base := Config{Split: "train", BatchSize: 16, Shuffle: true, Seed: 42, Transform: aug()}
	var ref []*Batch
	for _, wp := range [][2]int{{1, 1}, {2, 1}, {3, 5}, {8, 2}} {
		cfg := base
		cfg.Workers, cfg.Prefetch = wp[0], wp[1]
		l, err := New(d, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := collect(t, l, 3)
		if ref == nil {
			ref = got
			continue
		}
		if len(got) != len(ref) {
			t.Fatalf("workers %v: %d batches, want %d", wp, len(got), len(ref))
		}
		for i := range got {
			g, r := got[i], ref[i]
			if !reflect.DeepEqual(g.X, r.X) || !reflect.DeepEqual(g.IDs, r.IDs) || !reflect.DeepEqual(g.Labels, r.Labels) || g.Index != i {
				t.Fatalf("workers %v: batch %d differs from the 1-worker run", wp, i)
			}
		}
	}
	// Another epoch: another order and other augmentations of the same rows.
	l, _ := New(d, base)
	other := collect(t, l, 4)
	if reflect.DeepEqual(other[0].IDs, ref[0].IDs) {
		t.Error("epochs 3 and 4 start with the same ids")
	}
	var a, b []string
	for i := range ref {
		a = append(a, ref[i].IDs...)
		b = append(b, other[i].IDs...)
	}
	sort.Strings(a)
	sort.Strings(b)
	if !reflect.DeepEqual(a, b) {
		t.Error("two epochs must cover the same rows")
	}
}

func TestOrderSplitAndDropLast(t *testing.T) {
	d := synthDataset(t)
	train := d.Indices("train")
	l, err := New(d, Config{Split: "train", BatchSize: 32, Shuffle: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	o := l.Order(0)
	s := append([]int(nil), o...)
	sort.Ints(s)
	if !reflect.DeepEqual(s, train) || reflect.DeepEqual(o, train) {
		t.Error("a shuffled epoch must be a permutation of the split's rows, not the file order")
	}
	if !reflect.DeepEqual(l.Order(0), o) {
		t.Error("same seed and epoch must give the same order")
	}
	l2, _ := New(d, Config{Split: "train", BatchSize: 32, Shuffle: true, Seed: 2})
	if reflect.DeepEqual(l2.Order(0), o) {
		t.Error("another seed should give another order")
	}
	plain, _ := New(d, Config{Split: "train", BatchSize: 32})
	if !reflect.DeepEqual(plain.Order(5), train) {
		t.Error("without Shuffle the order is the file order")
	}
	n := len(train)
	bs := collect(t, plain, 0)
	if len(bs) != (n+31)/32 || bs[len(bs)-1].N != n-32*(len(bs)-1) {
		t.Errorf("%d rows: %d batches, last of %d", n, len(bs), bs[len(bs)-1].N)
	}
	dl, _ := New(d, Config{Split: "train", BatchSize: 32, DropLast: true})
	bs = collect(t, dl, 0)
	if len(bs) != n/32 || dl.NumBatches() != n/32 {
		t.Errorf("drop-last: %d batches, want %d", len(bs), n/32)
	}
	for _, b := range bs {
		if b.N != 32 {
			t.Errorf("drop-last batch of %d", b.N)
		}
	}
	if _, err := New(d, Config{Split: "nope", BatchSize: 4}); err == nil {
		t.Error("an empty split must be an error")
	}
}

func TestBatchContentNCHW(t *testing.T) {
	d := synthDataset(t)
	l, _ := New(d, Config{Split: "val", BatchSize: 5, Transform: transform.Pipeline{transform.Channels{C: 3}}})
	bs := collect(t, l, 0)
	b := bs[1]
	if b.N != 5 || b.C != 3 || b.H != 32 || b.W != 32 || len(b.X) != 5*3*32*32 {
		t.Fatalf("batch %dx%dx%dx%d with %d values", b.N, b.C, b.H, b.W, len(b.X))
	}
	for i, row := range b.Rows {
		s, err := d.ReadSample(row)
		if err != nil {
			t.Fatal(err)
		}
		if b.IDs[i] != s.ID || b.Labels[i] != s.Label {
			t.Errorf("sample %d: id %s label %d, want %s %d", i, b.IDs[i], b.Labels[i], s.ID, s.Label)
		}
		for c := 0; c < 3; c++ {
			for _, p := range []int{0, 77, 1023} {
				got := b.X[((i*3+c)*32*32)+p]
				if want := float32(s.Pix[p]) / 255; got != want {
					t.Fatalf("sample %d channel %d pixel %d = %v, want %v", i, c, p, got, want)
				}
			}
		}
	}
	// Normalisation numbers end to end.
	ln, _ := New(d, Config{Split: "val", BatchSize: 5, Transform: transform.Pipeline{transform.Normalize{Mean: []float32{0.5}, Std: []float32{0.25}}}})
	bn := collect(t, ln, 0)[1]
	for i := range bn.X {
		if math.Abs(float64(bn.X[i]-(b.X[(i/1024)*3072+i%1024]-0.5)/0.25)) > 1e-5 {
			t.Fatalf("normalised value %d = %v", i, bn.X[i])
		}
	}
	for _, x := range bs {
		x.Release()
	}
}

func TestMismatchedSizesAndEarlyClose(t *testing.T) {
	d := synthDataset(t)
	// Samples cropped to different sizes cannot form a batch.
	l, _ := New(d, Config{BatchSize: 8, Transform: transform.Pipeline{sizeByRow{}}})
	it := l.Epoch(context.Background(), 0)
	_, err := it.Next()
	it.Close()
	if err == nil || !strings.Contains(err.Error(), "synthetic-") || !strings.Contains(err.Error(), "add a resize or crop") {
		t.Errorf("error %v should name the sample and the fix", err)
	}
	// Stopping after one batch must not leave goroutines behind.
	before := runtime.NumGoroutine()
	for k := 0; k < 20; k++ {
		l, _ := New(d, Config{BatchSize: 4, Workers: 3, Prefetch: 4, Transform: aug()})
		it := l.Epoch(context.Background(), k)
		if _, err := it.Next(); err != nil {
			t.Fatal(err)
		}
		it.Close()
		if _, err := it.Next(); err == nil {
			t.Fatal("Next after Close must fail")
		}
	}
	time.Sleep(50 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Errorf("%d goroutines before, %d after closing 20 iterators", before, after)
	}
}

// sizeByRow crops odd rows to a different size.
type sizeByRow struct{}

func (sizeByRow) Apply(im *transform.Image, rng *randRand) error {
	if rng.IntN(2) == 0 {
		return transform.CenterCrop{H: 16, W: 16}.Apply(im, rng)
	}
	return nil
}
func (sizeByRow) String() string { return "sizebyrow" }

func TestMultilabelTargets(t *testing.T) {
	meta := arrowds.Metadata{Task: arrowds.Multilabel, Classes: []string{"a", "b", "c"}, Channels: 1, PixelType: arrowds.Uint16}
	out := filepath.Join(t.TempDir(), "ml.arrow")
	w, err := arrowds.Create(out, arrowds.WriterOptions{Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	labels := [][]int32{{1, 0, 1}, {0, 0, 0}, {0, 1, 0}}
	for i, lab := range labels {
		err := w.Write(&arrowds.Sample{ID: string(rune('x' + i)), Split: "train", Label: -1, Labels: lab,
			Image: arrowds.Image{Height: 1, Width: 2, Channels: 1, Pix16: []uint16{0, 65535}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := arrowds.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l, _ := New(d, Config{BatchSize: 3})
	b := collect(t, l, 0)[0]
	if !reflect.DeepEqual(b.Targets, []float32{1, 0, 1, 0, 0, 0, 0, 1, 0}) || !reflect.DeepEqual(b.Labels, []int32{-1, -1, -1}) {
		t.Errorf("targets %v labels %v", b.Targets, b.Labels)
	}
	if b.X[0] != 0 || b.X[1] != 1 {
		t.Errorf("16-bit pixels scaled to %v", b.X[:2])
	}
}

func TestCancelledContext(t *testing.T) {
	d := synthDataset(t)
	l, _ := New(d, Config{BatchSize: 4})
	ctx, cancel := context.WithCancel(context.Background())
	it := l.Epoch(ctx, 0)
	defer it.Close()
	cancel()
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		_, err = it.Next()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: %v", err)
	}
}

func TestEpochFromMatchesTheTailOfAnEpoch(t *testing.T) {
	d := synthDataset(t)
	l, err := New(d, Config{Split: "train", BatchSize: 16, Shuffle: true, Seed: 7, Workers: 2, Transform: aug()})
	if err != nil {
		t.Fatal(err)
	}
	full := collect(t, l, 2)
	it := l.EpochFrom(context.Background(), 2, 3)
	defer it.Close()
	for i := 3; ; i++ {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			if i != len(full) {
				t.Fatalf("resumed epoch ended after batch %d, the full one after %d", i, len(full))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Index != i || !reflect.DeepEqual(b.X, full[i].X) || !reflect.DeepEqual(b.IDs, full[i].IDs) {
			t.Fatalf("batch %d of the resumed epoch differs from the uninterrupted one", i)
		}
		b.Release()
	}
}
