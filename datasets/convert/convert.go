package convert

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pgaug/pgaug/datasets/arrowds"
)

// Options are common to every importer.
type Options struct {
	Out         string // output directory (or .arrow file)
	Name        string // dataset name written into the metadata (default: from the input)
	RowsPerFile int    // rows per part file (0: arrowds.DefaultRowsPerFile)
	Overwrite   bool   // replace an existing output
	SkipBad     bool   // skip unreadable rows instead of failing
	Workers     int    // image decoding goroutines for file importers (0: GOMAXPROCS)
	// Progress, when set, is called after each row with the rows done and
	// the total (-1 when unknown).
	Progress func(done, total int)
}

// maxProblems bounds Result.Problems.
const maxProblems = 20

// Result summarises an import.
type Result struct {
	Path     string
	Rows     int
	Skipped  int
	Problems []string // the first skipped rows' errors
	PerSplit map[string]int
	PerClass map[string]int
	Meta     arrowds.Metadata
}

// sink writes samples and handles bad rows.
type sink struct {
	w     *arrowds.Writer
	opts  Options
	res   Result
	total int
	done  int
	src   string // names the input in errors about the whole import
}

func newSink(opts Options, meta arrowds.Metadata, cols arrowds.Columns, total int) (*sink, error) {
	if opts.Out == "" {
		return nil, errors.New("no output path (-o)")
	}
	if opts.Name != "" {
		meta.Name = opts.Name
	}
	w, err := arrowds.Create(opts.Out, arrowds.WriterOptions{Meta: meta, Columns: cols, RowsPerFile: opts.RowsPerFile, Overwrite: opts.Overwrite})
	if err != nil {
		return nil, err
	}
	return &sink{w: w, opts: opts, total: total, res: Result{
		Path: opts.Out, PerSplit: map[string]int{}, PerClass: map[string]int{}, Meta: meta,
	}}, nil
}

// add writes a sample; where names its origin for errors.
func (s *sink) add(where string, smp *arrowds.Sample) error {
	if err := s.w.Write(smp); err != nil {
		if !errors.Is(err, arrowds.ErrInvalidSample) {
			return err
		}
		return s.bad(where, err)
	}
	s.res.Rows++
	s.res.PerSplit[smp.Split]++
	m := &s.res.Meta
	if m.Task == arrowds.Multilabel {
		for k, v := range smp.Labels {
			if v == 1 {
				s.res.PerClass[m.Classes[k]]++
			}
		}
	} else {
		s.res.PerClass[m.Classes[smp.Label]]++
	}
	s.step()
	return nil
}

// bad handles an unreadable row: an error, or a skip with --skip-bad.
func (s *sink) bad(where string, err error) error {
	e := fmt.Errorf("%s: %w", where, err)
	if !s.opts.SkipBad {
		return e
	}
	s.res.Skipped++
	if len(s.res.Problems) < maxProblems {
		s.res.Problems = append(s.res.Problems, e.Error())
	}
	s.step()
	return nil
}

func (s *sink) step() {
	s.done++
	if s.opts.Progress != nil {
		s.opts.Progress(s.done, s.total)
	}
}

// close commits the output; on error it discards it.
func (s *sink) close(err error) (Result, error) {
	if err != nil {
		s.w.Abort()
		return s.res, err
	}
	if s.res.Rows == 0 {
		s.w.Abort()
		if s.res.Skipped > 0 {
			return s.res, fmt.Errorf("every row was skipped as unreadable (%d); first: %s", s.res.Skipped, s.res.Problems[0])
		}
		if s.src != "" {
			return s.res, fmt.Errorf("%s has no images", s.src)
		}
		return s.res, errors.New("the input has no images")
	}
	if err := s.w.Close(); err != nil {
		return s.res, err
	}
	return s.res, nil
}

// ordered runs fn(i) for i in [0,n) on workers goroutines and calls emit in
// index order; a few results are kept ahead. emit's error stops the run.
func ordered[T any](n, workers int, fn func(i int) (T, error), emit func(i int, v T, err error) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	type res struct {
		v   T
		err error
	}
	// At most ahead indices are in flight, so index i can use ring slot
	// i%ahead: its previous user, i-ahead, has been emitted.
	ahead := 4 * workers
	slots := make([]chan res, ahead)
	for i := range slots {
		slots[i] = make(chan res, 1)
	}
	sem := make(chan struct{}, ahead)
	stop := make(chan struct{})
	next := make(chan int)
	var wg sync.WaitGroup
	go func() {
		defer close(next)
		for i := 0; i < n; i++ {
			select {
			case sem <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case next <- i:
			case <-stop:
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				v, err := fn(i)
				slots[i%ahead] <- res{v, err}
			}
		}()
	}
	var err error
	for i := 0; i < n && err == nil; i++ {
		r := <-slots[i%ahead]
		<-sem
		err = emit(i, r.v, r.err)
	}
	close(stop)
	for range next { // let the feeder finish
	}
	wg.Wait()
	return err
}

// normSplit maps common split spellings to train, val, test.
func normSplit(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "train", "training":
		return "train", true
	case "val", "valid", "validation", "dev":
		return "val", true
	case "test", "testing", "t10k":
		return "test", true
	}
	return "", false
}

// sortClassNames sorts names numerically when they all are integers, else
// alphabetically.
func sortClassNames(names []string) {
	numeric := true
	for _, n := range names {
		if _, err := strconv.Atoi(n); err != nil {
			numeric = false
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if numeric {
			a, _ := strconv.Atoi(names[i])
			b, _ := strconv.Atoi(names[j])
			return a < b
		}
		return names[i] < names[j]
	})
}

// taskFor returns binary for two classes, else multiclass.
func taskFor(k int) arrowds.Task {
	if k == 2 {
		return arrowds.Binary
	}
	return arrowds.Multiclass
}
