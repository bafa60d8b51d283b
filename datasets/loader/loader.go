package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/transform"
)

// Config configures a Loader.
type Config struct {
	// Split selects the rows ("train", "val", "test"); "" takes every row.
	// Rows, when set, lists the dataset rows instead.
	Split string
	Rows  []int
	// BatchSize is the number of samples per batch (required).
	BatchSize int
	// DropLast drops the last batch when it is smaller than BatchSize.
	DropLast bool
	// Shuffle reorders the rows every epoch (seeded); otherwise batches
	// follow the dataset order.
	Shuffle bool
	Seed    uint64
	// Workers is the number of goroutines building batches (0: GOMAXPROCS).
	Workers int
	// Prefetch is the number of finished batches kept ready beyond those
	// being built (0: 2).
	Prefetch int
	// Transform is applied to every sample, which starts as a CHW float
	// image with values in [0,1]. Every sample of a batch must come out
	// the same size.
	Transform transform.Pipeline
}

// Batch is one batch of samples.
type Batch struct {
	// X holds N*C*H*W values, sample-major (NCHW).
	X          []float32
	N, C, H, W int
	// Labels holds the class per sample (single-label datasets), -1 for
	// multilabel datasets.
	Labels []int32
	// Targets holds N*K multi-hot values for multilabel datasets; nil
	// otherwise.
	Targets []float32
	IDs     []string
	Rows    []int // dataset row of each sample
	Index   int   // batch number within the epoch
	free    chan []float32
}

// Release gives the batch's pixel buffer back for reuse by later batches.
// The batch's X must not be used afterwards. Calling it is optional.
func (b *Batch) Release() {
	if b.free != nil && b.X != nil {
		select {
		case b.free <- b.X:
		default:
		}
		b.X = nil
	}
}

// Loader produces batches of a dataset.
type Loader struct {
	ds   *arrowds.Dataset
	cfg  Config
	rows []int
	meta arrowds.Metadata
	free chan []float32 // released batch buffers
}

// New checks the configuration and selects the rows.
func New(ds *arrowds.Dataset, cfg Config) (*Loader, error) {
	if cfg.BatchSize < 1 {
		return nil, fmt.Errorf("batch size %d, want at least 1", cfg.BatchSize)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 2
	}
	l := &Loader{ds: ds, cfg: cfg, meta: ds.Meta(), free: make(chan []float32, cfg.Workers+cfg.Prefetch+2)}
	if cfg.Rows != nil {
		for _, r := range cfg.Rows {
			if r < 0 || r >= ds.Len() {
				return nil, fmt.Errorf("row %d out of range [0,%d)", r, ds.Len())
			}
		}
		l.rows = append([]int(nil), cfg.Rows...)
	} else {
		l.rows = ds.Indices(cfg.Split)
	}
	if len(l.rows) == 0 {
		return nil, fmt.Errorf("dataset %s has no rows in split %q", ds.Path(), cfg.Split)
	}
	return l, nil
}

// Config returns the loader's configuration.
func (l *Loader) Config() Config { return l.cfg }

// Len returns the number of samples per epoch (before DropLast).
func (l *Loader) Len() int { return len(l.rows) }

// NumBatches returns the number of batches per epoch.
func (l *Loader) NumBatches() int {
	if l.cfg.DropLast {
		return len(l.rows) / l.cfg.BatchSize
	}
	return (len(l.rows) + l.cfg.BatchSize - 1) / l.cfg.BatchSize
}

// splitmix64 is a bijective 64-bit mixer.
func splitmix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// Order returns the dataset rows of an epoch in batch order.
func (l *Loader) Order(epoch int) []int {
	order := append([]int(nil), l.rows...)
	if l.cfg.Shuffle {
		rng := rand.New(rand.NewPCG(splitmix64(l.cfg.Seed), splitmix64(uint64(epoch)^0x53485546464C45)))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	return order
}

// SampleRNG returns the random generator of a dataset row's transforms in
// an epoch.
func SampleRNG(seed uint64, epoch, row int) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(seed^splitmix64(uint64(epoch))), splitmix64(uint64(row)+0x726F77)))
}

// Iterator hands out the batches of one epoch in order.
type Iterator struct {
	l      *Loader
	epoch  int
	order  []int
	nb     int
	next   int
	slots  []chan result
	cancel context.CancelFunc
	ctx    context.Context
	wg     sync.WaitGroup
	tokens chan struct{}
	err    error
}

type result struct {
	b   *Batch
	err error
}

// Epoch starts building the batches of an epoch. Call Close when done (also
// when stopping early).
func (l *Loader) Epoch(ctx context.Context, epoch int) *Iterator {
	return l.EpochFrom(ctx, epoch, 0)
}

// EpochFrom is Epoch starting at batch start (0-based): the batches are
// those Epoch would give from that point on, bit for bit, without building
// the ones before it. A resumed run uses it to continue mid-epoch.
func (l *Loader) EpochFrom(ctx context.Context, epoch, start int) *Iterator {
	ctx, cancel := context.WithCancel(ctx)
	it := &Iterator{l: l, epoch: epoch, order: l.Order(epoch), nb: l.NumBatches(), cancel: cancel, ctx: ctx}
	it.next = max(start, 0)
	ahead := l.cfg.Workers + l.cfg.Prefetch
	it.slots = make([]chan result, ahead)
	for i := range it.slots {
		it.slots[i] = make(chan result, 1)
	}
	it.tokens = make(chan struct{}, ahead)
	jobs := make(chan int)
	it.wg.Add(1)
	go func() { // dispatcher: at most `ahead` batches in flight or ready
		defer it.wg.Done()
		defer close(jobs)
		for b := it.next; b < it.nb; b++ {
			select {
			case it.tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < l.cfg.Workers; w++ {
		it.wg.Add(1)
		go func() {
			defer it.wg.Done()
			var scratch arrowds.Image
			var img transform.Image
			for b := range jobs {
				batch, err := it.build(b, &scratch, &img)
				select {
				case it.slots[b%ahead] <- result{batch, err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return it
}

// Next returns the next batch, or io.EOF after the last one.
func (it *Iterator) Next() (*Batch, error) {
	if it.err != nil {
		return nil, it.err
	}
	if it.next >= it.nb {
		it.err = io.EOF
		return nil, io.EOF
	}
	var r result
	select {
	case r = <-it.slots[it.next%len(it.slots)]:
	case <-it.ctx.Done():
		it.err = it.ctx.Err()
		return nil, it.err
	}
	<-it.tokens
	it.next++
	if r.err != nil {
		it.err = r.err
		it.cancel()
		return nil, r.err
	}
	return r.b, nil
}

// Close stops the workers and waits for them. Next then returns
// ErrClosed.
func (it *Iterator) Close() {
	it.cancel()
	it.wg.Wait()
	if it.err == nil || errors.Is(it.err, io.EOF) {
		it.err = ErrClosed
	}
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("loader: iterator closed")

// build reads and transforms the samples of batch b.
func (it *Iterator) build(b int, scratch *arrowds.Image, img *transform.Image) (*Batch, error) {
	l := it.l
	lo := b * l.cfg.BatchSize
	hi := min(lo+l.cfg.BatchSize, len(it.order))
	n := hi - lo
	batch := &Batch{N: n, Index: b, Labels: make([]int32, n), IDs: make([]string, n), Rows: make([]int, n), free: l.free}
	k := len(l.meta.Classes)
	multi := l.meta.Task == arrowds.Multilabel
	if multi {
		batch.Targets = make([]float32, n*k)
	}
	scale := l.meta.PixelType.Max()
	var per int
	for i := 0; i < n; i++ {
		if i%8 == 0 && it.ctx.Err() != nil {
			return nil, it.ctx.Err()
		}
		row := it.order[lo+i]
		r := l.ds.Row(row)
		if err := l.ds.ReadImage(row, scratch); err != nil {
			return nil, err
		}
		transform.FromPixels(scratch, scale, img)
		if len(l.cfg.Transform) > 0 {
			if err := l.cfg.Transform.Apply(img, SampleRNG(l.cfg.Seed, it.epoch, row)); err != nil {
				return nil, fmt.Errorf("transforming row %d (id %q): %w", row, r.ID, err)
			}
		}
		if i == 0 {
			batch.C, batch.H, batch.W = img.C, img.H, img.W
			per = img.C * img.H * img.W
			batch.X = l.getX(n * per)
		} else if img.C != batch.C || img.H != batch.H || img.W != batch.W {
			return nil, fmt.Errorf("row %d (id %q) is %dx%dx%d after the transforms, the batch's first sample %dx%dx%d: add a resize or crop to the transforms",
				row, r.ID, img.C, img.H, img.W, batch.C, batch.H, batch.W)
		}
		copy(batch.X[i*per:(i+1)*per], img.Pix)
		batch.Labels[i] = r.Label
		batch.IDs[i] = r.ID
		batch.Rows[i] = row
		if multi {
			for j, v := range r.Labels {
				batch.Targets[i*k+j] = float32(v)
			}
		}
	}
	return batch, nil
}

func (l *Loader) getX(n int) []float32 {
	select {
	case x := <-l.free:
		if cap(x) >= n {
			return x[:n]
		}
	default:
	}
	return make([]float32, n)
}
