package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/trainer/optim"
)

func sampleState() *State {
	s := NewState()
	s.Step, s.Epoch, s.BatchInEpoch = 1234, 7, 42
	s.Scalars["baseline_ema"] = 0.1 + 0.2
	s.Scalars["best_auc"] = math.Pi
	s.Scalars["neg_zero"] = math.Copysign(0, -1)
	s.Scalars["tiny"] = math.SmallestNonzeroFloat64
	s.Scalars["huge"] = math.MaxFloat64
	s.Scalars["best_loss"] = math.Inf(1)
	s.Scalars["worst"] = math.Inf(-1)
	s.Scalars["nan"] = math.NaN()
	s.Counters["images_seen"] = math.MaxInt64
	s.Counters["negative"] = -3
	s.Vectors["alpha"] = []float32{1.5, -2.25, float32(math.Inf(1)), math.Float32frombits(0x7fc00001), math.SmallestNonzeroFloat32}
	s.Vectors["beta"] = []float32{}
	s.RNG["data"] = []byte{0, 1, 2, 255}
	s.RNG["empty"] = []byte{}
	s.Meta["method"] = "apga"
	s.Meta["config_hash"] = "sha256:0123abcd"
	s.Meta["unicode ключ"] = "значение ✓"
	s.Tensors["cls/param/w"] = Tensor{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, float32(math.NaN())}}
	s.Tensors["scalar"] = Tensor{Shape: []int{}, Data: []float32{7}}
	s.Tensors["empty"] = Tensor{Shape: []int{0, 4}, Data: []float32{}}
	r := rand.New(rand.NewPCG(1, 2))
	big := make([]float32, 3*chunkFloats+17) // several chunks
	for i := range big {
		big[i] = r.Float32()*2 - 1
	}
	s.Tensors["big"] = Tensor{Shape: []int{len(big)}, Data: big}
	return s
}

// equalStates compares bit for bit (NaN payloads included for float32 data).
func equalStates(t *testing.T, got, want *State) {
	t.Helper()
	if got.Step != want.Step || got.Epoch != want.Epoch || got.BatchInEpoch != want.BatchInEpoch {
		t.Errorf("counters: got %d/%d/%d, want %d/%d/%d", got.Step, got.Epoch, got.BatchInEpoch, want.Step, want.Epoch, want.BatchInEpoch)
	}
	if len(got.Scalars) != len(want.Scalars) {
		t.Errorf("scalars: got %v, want %v", got.Scalars, want.Scalars)
	}
	for k, w := range want.Scalars {
		g, ok := got.Scalars[k]
		if !ok || (math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w))) {
			t.Errorf("scalar %q: got %v (present %v), want %v", k, g, ok, w)
		}
	}
	if !reflect.DeepEqual(got.Counters, want.Counters) {
		t.Errorf("counters: got %v, want %v", got.Counters, want.Counters)
	}
	if !reflect.DeepEqual(got.RNG, want.RNG) {
		t.Errorf("RNG: got %v, want %v", got.RNG, want.RNG)
	}
	if !reflect.DeepEqual(got.Meta, want.Meta) {
		t.Errorf("meta: got %v, want %v", got.Meta, want.Meta)
	}
	sameBits := func(a, b []float32) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return false
			}
		}
		return true
	}
	if len(got.Vectors) != len(want.Vectors) {
		t.Errorf("got %d vectors, want %d", len(got.Vectors), len(want.Vectors))
	}
	for k, w := range want.Vectors {
		if g, ok := got.Vectors[k]; !ok || !sameBits(g, w) {
			t.Errorf("vector %q: got %v, want %v", k, g, w)
		}
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Errorf("got %d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for k, w := range want.Tensors {
		g, ok := got.Tensors[k]
		if !ok || !reflect.DeepEqual(g.Shape, w.Shape) || !sameBits(g.Data, w.Data) {
			t.Errorf("tensor %q differs (present %v, shape %v, want %v)", k, ok, g.Shape, w.Shape)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := sampleState()
	path, err := Save(dir, want, 0)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "ckpt-000000001234.pgck" {
		t.Fatalf("path %s", path)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	equalStates(t, got, want)

	// The same state gives the same bytes.
	other := filepath.Join(dir, "again.pgck")
	if err := SaveAs(other, got); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(other)
	if !bytes.Equal(a, b) {
		t.Fatal("saving a loaded state gave different bytes")
	}
}

func TestEmptyStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.pgck")
	if err := SaveAs(path, &State{}); err != nil { // nil maps
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	equalStates(t, got, NewState())
	if got.Scalars == nil || got.Counters == nil || got.Vectors == nil || got.RNG == nil || got.Meta == nil || got.Tensors == nil {
		t.Fatal("Load returned a nil map")
	}
}

func TestInvalidStatesAreRejected(t *testing.T) {
	dir := t.TempDir()
	for name, s := range map[string]*State{
		"shape":   {Tensors: map[string]Tensor{"w": {Shape: []int{2, 2}, Data: []float32{1}}}},
		"negdim":  {Tensors: map[string]Tensor{"w": {Shape: []int{-1}, Data: nil}}},
		"utf8":    {Meta: map[string]string{"m": "\xff"}},
		"noname":  {Scalars: map[string]float64{"": 1}},
		"negstep": {Step: -1},
	} {
		if _, err := Save(dir, s, 0); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if paths, _ := List(dir); len(paths) != 0 {
		t.Fatalf("invalid states left %v", paths)
	}
}

func TestKeepLastK(t *testing.T) {
	dir := t.TempDir()
	if err := SaveAs(filepath.Join(dir, "best.pgck"), NewState()); err != nil {
		t.Fatal(err)
	}
	s := NewState()
	for _, step := range []int64{5, 10, 100, 1000, 20000} {
		s.Step = step
		if _, err := Save(dir, s, 3); err != nil {
			t.Fatal(err)
		}
	}
	paths, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	want := []string{FileName(100), FileName(1000), FileName(20000)}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("kept %v, want %v", names, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "best.pgck")); err != nil {
		t.Fatalf("the best checkpoint was deleted: %v", err)
	}
	latest, ok, err := Latest(dir)
	if err != nil || !ok || filepath.Base(latest) != FileName(20000) {
		t.Fatalf("Latest = %s %v %v", latest, ok, err)
	}

	// A restarted run writing an earlier step keeps what it just wrote (and
	// the newest keep-1 others).
	s.Step = 7
	p, err := Save(dir, s, 2)
	if err != nil {
		t.Fatal(err)
	}
	paths, _ = List(dir)
	if len(paths) != 2 || paths[0] != p || filepath.Base(paths[1]) != FileName(20000) {
		t.Fatalf("after saving step 7 with keep 2: %v", paths)
	}

	// keep <= 0 keeps everything.
	for _, step := range []int64{30000, 40000} {
		s.Step = step
		if _, err := Save(dir, s, 0); err != nil {
			t.Fatal(err)
		}
	}
	if paths, _ = List(dir); len(paths) != 4 {
		t.Fatalf("keep 0 left %v", paths)
	}
}

func TestLatestOfMissingOrEmptyDir(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Join(dir, "missing")} {
		p, ok, err := Latest(d)
		if ok || err != nil || p != "" {
			t.Fatalf("Latest(%s) = %q %v %v", d, p, ok, err)
		}
	}
	os.WriteFile(filepath.Join(dir, "ckpt-12.txt"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "ckpt-99999999999999999999999.pgck"), nil, 0o644) // overflows int64
	if _, ok, _ := Latest(dir); ok {
		t.Fatal("foreign files counted as checkpoints")
	}
}

func savedBytes(t *testing.T) (string, []byte) {
	t.Helper()
	s := NewState()
	s.Step = 3
	s.Scalars["x"] = 1
	s.Meta["m"] = "v"
	s.Vectors["v"] = []float32{1, 2}
	s.Tensors["t"] = Tensor{Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}
	path := filepath.Join(t.TempDir(), "c.pgck")
	if err := SaveAs(path, s); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

func TestTruncatedFileIsAnErrorNamingIt(t *testing.T) {
	path, full := savedBytes(t)
	for n := 0; n < len(full); n++ {
		if err := os.WriteFile(path, full[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(full))
		}
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name the file: %v", err)
		}
	}
	os.WriteFile(path, append(full, 0), 0o644)
	if _, err := Load(path); err == nil {
		t.Fatal("trailing byte: no error")
	}
}

func TestCorruptedFileIsAnErrorNamingIt(t *testing.T) {
	path, full := savedBytes(t)
	for i := range full {
		for _, bit := range []byte{0x01, 0x80} {
			b := append([]byte(nil), full...)
			b[i] ^= bit
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatalf("byte %d flipped (%#x): no error", i, bit)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
		}
	}
}

// A corrupted length must not make Load allocate it.
func TestHugeLengthsAreRejectedBeforeAllocating(t *testing.T) {
	path, full := savedBytes(t)
	for _, off := range []int{16, 24} {
		b := append([]byte(nil), full...)
		binary.LittleEndian.PutUint64(b[off:], 1<<62)
		os.WriteFile(path, b, 0o644)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "impossible lengths") {
			t.Fatalf("length at %d set to 2^62: %v", off, err)
		}
	}
	// A header that checks out but declares a tensor beyond the data section.
	s := NewState()
	s.Tensors["t"] = Tensor{Shape: []int{1}, Data: []float32{1}}
	var buf bytes.Buffer
	if err := encode(&buf, s); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	b = bytes.Replace(b, []byte(`"shape":[1],"offset":0,"count":1`), []byte(`"shape":[9],"offset":0,"count":9`), 1)
	hlen := binary.LittleEndian.Uint64(b[16:])
	binary.LittleEndian.PutUint32(b[preambleSize+hlen:], crc32Castagnoli(b[:preambleSize+hlen]))
	os.WriteFile(path, b, 0o644)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Fatalf("tensor past the data section: %v", err)
	}
}

func TestForeignFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pgck")
	os.WriteFile(path, bytes.Repeat([]byte("not a checkpoint "), 10), 0o644)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Fatalf("foreign file: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.pgck")); err == nil {
		t.Fatal("missing file: no error")
	}
}

type failingWriter struct {
	w    io.Writer
	left int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.w.Write(p[:f.left])
		f.left = 0
		return n, errors.New("injected write failure")
	}
	f.left -= len(p)
	return f.w.Write(p)
}

func checkOnlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("%s holds %v, want %v", dir, names, want)
	}
}

func TestFailedSaveLeavesThePreviousCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := sampleState()
	s.Step = 10
	first, err := Save(dir, s, 1)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(first)

	// A write failure half way through the next checkpoint.
	for _, left := range []int{0, 10, 1000, 100000} {
		testWriter = func(w io.Writer) io.Writer { return &failingWriter{w: w, left: left} }
		s.Step = 20
		_, err = Save(dir, s, 1)
		testWriter = nil
		if err == nil || !strings.Contains(err.Error(), "injected") || !strings.Contains(err.Error(), FileName(20)) {
			t.Fatalf("failing after %d bytes: %v", left, err)
		}
		checkOnlyFiles(t, dir, FileName(10))
	}

	// A failure at the rename: SaveAs over the previous file's path, which
	// is made a directory for the occasion.
	best := filepath.Join(dir, "best")
	os.MkdirAll(filepath.Join(best, "x"), 0o755)
	if err := SaveAs(best, s); err == nil {
		t.Fatal("renaming over a directory: no error")
	}
	os.RemoveAll(best)
	checkOnlyFiles(t, dir, FileName(10))

	// A checkpoint directory that is a file.
	if _, err := Save(first, s, 1); err == nil {
		t.Fatal("saving into a file: no error")
	}

	after, _ := os.ReadFile(first)
	if !bytes.Equal(before, after) {
		t.Fatal("the previous checkpoint changed")
	}
	if _, err := Load(first); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := Latest(dir); p != first {
		t.Fatalf("Latest = %s, want %s", p, first)
	}
}

func TestUnwritableDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can write anywhere")
	}
	dir := t.TempDir()
	s := NewState()
	first, err := Save(dir, s, 1)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	s.Step = 1
	if _, err := Save(dir, s, 1); err == nil {
		t.Fatal("read-only directory: no error")
	}
	checkOnlyFiles(t, dir, filepath.Base(first))
}

func TestStaleTempFilesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "."+FileName(5)+".tmp-123")
	os.WriteFile(stale, []byte("half"), 0o644)
	other := filepath.Join(dir, ".notes.tmp-1")
	os.WriteFile(other, nil, 0o644)
	if _, err := Save(dir, NewState(), 2); err != nil {
		t.Fatal(err)
	}
	checkOnlyFiles(t, dir, ".notes.tmp-1", FileName(0))
}

func TestRNGRoundTrip(t *testing.T) {
	pcg := rand.NewPCG(42, 7)
	r := rand.New(pcg)
	for range 1000 {
		r.Uint64()
	}
	s := NewState()
	if err := s.AddRNG("sampler", pcg); err != nil {
		t.Fatal(err)
	}
	chacha := rand.NewChaCha8([32]byte{1, 2, 3})
	chacha.Uint64()
	if err := s.AddRNG("noise", chacha); err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for range 50 {
		want = append(want, r.Uint64())
	}
	wantC := chacha.Uint64()

	path := filepath.Join(t.TempDir(), "rng.pgck")
	if err := SaveAs(path, s); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	pcg2 := rand.NewPCG(0, 0)
	if err := loaded.RestoreRNG("sampler", pcg2); err != nil {
		t.Fatal(err)
	}
	r2 := rand.New(pcg2)
	for i, w := range want {
		if g := r2.Uint64(); g != w {
			t.Fatalf("draw %d after restore: %d, want %d", i, g, w)
		}
	}
	chacha2 := rand.NewChaCha8([32]byte{})
	if err := loaded.RestoreRNG("noise", chacha2); err != nil {
		t.Fatal(err)
	}
	if g := chacha2.Uint64(); g != wantC {
		t.Fatalf("ChaCha8 after restore: %d, want %d", g, wantC)
	}
	if err := loaded.RestoreRNG("missing", rand.NewPCG(0, 0)); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing RNG: %v", err)
	}
	loaded.RNG["bad"] = []byte{1, 2}
	if err := loaded.RestoreRNG("bad", rand.NewPCG(0, 0)); err == nil {
		t.Fatal("bad RNG state: no error")
	}
}

func randomGrads(r *rand.Rand, sizes map[string]int) map[string][]float32 {
	out := map[string][]float32{}
	for name, n := range sizes {
		g := make([]float32, n)
		for i := range g {
			g[i] = float32(r.NormFloat64())
		}
		out[name] = g
	}
	return out
}

func TestOptimizerRoundTrip(t *testing.T) {
	sizes := map[string]int{"conv/w": 12, "fc.bias": 3, "scale": 1}
	names := []string{"conv/w", "fc.bias", "scale"}
	for name, mk := range map[string]func() optim.Optimizer{
		"sgd-momentum": func() optim.Optimizer { return &optim.SGD{Momentum: 0.9, WeightDecay: 1e-4} },
		"sgd-nesterov": func() optim.Optimizer { return &optim.SGD{Momentum: 0.9, Nesterov: true} },
		"adam":         func() optim.Optimizer { return optim.NewAdam(1e-4) },
		"adamw":        func() optim.Optimizer { return optim.NewAdamW(1e-2) },
	} {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			values := randomGrads(r, sizes)
			params := func(vals, grads map[string][]float32) []optim.Param {
				var ps []optim.Param
				for _, n := range names {
					ps = append(ps, optim.Param{Name: n, Value: vals[n], Grad: grads[n]})
				}
				return ps
			}
			o := mk()
			for range 4 {
				if err := o.Step(params(values, randomGrads(r, sizes)), 0.01); err != nil {
					t.Fatal(err)
				}
			}
			s := NewState()
			if err := s.AddOptimizer("cls", o); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "o.pgck")
			if err := SaveAs(path, s); err != nil {
				t.Fatal(err)
			}
			loaded, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			fresh := mk()
			if err := loaded.RestoreOptimizer("cls", fresh); err != nil {
				t.Fatal(err)
			}
			copies := map[string][]float32{}
			for k, v := range values {
				copies[k] = append([]float32(nil), v...)
			}
			grads := randomGrads(r, sizes)
			if err := o.Step(params(values, grads), 0.01); err != nil {
				t.Fatal(err)
			}
			if err := fresh.Step(params(copies, grads), 0.01); err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				for i := range values[n] {
					if math.Float32bits(values[n][i]) != math.Float32bits(copies[n][i]) {
						t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", n, i, copies[n][i], values[n][i])
					}
				}
			}
			// A fresh optimizer, not restored, steps differently from the
			// same start (so the comparison above can fail).
			start := map[string][]float32{}
			for k, v := range values {
				start[k] = append([]float32(nil), v...)
			}
			restored, blank := mk(), mk()
			if err := loaded.RestoreOptimizer("cls", restored); err != nil {
				t.Fatal(err)
			}
			a, b := map[string][]float32{}, map[string][]float32{}
			for k, v := range start {
				a[k], b[k] = append([]float32(nil), v...), append([]float32(nil), v...)
			}
			restored.Step(params(a, grads), 0.01)
			blank.Step(params(b, grads), 0.01)
			if reflect.DeepEqual(a, b) {
				t.Fatal("a fresh optimizer steps like a restored one")
			}
		})
	}
}

func TestRestoreOptimizerErrors(t *testing.T) {
	sgd := &optim.SGD{Momentum: 0.9}
	sgd.Step([]optim.Param{{Name: "w", Value: []float32{1, 2}, Grad: []float32{1, 1}}}, 0.1)
	s := NewState()
	if err := s.AddOptimizer("a", sgd); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreOptimizer("b", &optim.SGD{}); err == nil || !strings.Contains(err.Error(), `"b"`) {
		t.Fatalf("missing prefix: %v", err)
	}
	if err := s.RestoreOptimizer("a", optim.NewAdam(0)); err == nil || !strings.Contains(err.Error(), "*optim.SGD") {
		t.Fatalf("SGD state into Adam: %v", err)
	}
	delete(s.Meta, "a/optim/type") // no type recorded: the buffer count still catches it
	if err := s.RestoreOptimizer("a", optim.NewAdam(0)); err == nil || !strings.Contains(err.Error(), "buffers") {
		t.Fatalf("SGD state into Adam without type: %v", err)
	}
	if err := s.AddOptimizer("a/b", sgd); err == nil {
		t.Fatal("prefix with '/': no error")
	}
	// A second AddOptimizer under the same prefix replaces the first.
	adam := optim.NewAdam(0)
	adam.Step([]optim.Param{{Name: "v", Value: []float32{1}, Grad: []float32{1}}}, 0.1)
	if err := s.AddOptimizer("a", adam); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Tensors["a/optim/buf/w/0"]; ok {
		t.Fatal("the SGD buffer survived a new AddOptimizer")
	}
	if err := s.RestoreOptimizer("a", optim.NewAdam(0)); err != nil {
		t.Fatal(err)
	}
}

// crc32Castagnoli is the checksum the format uses (for tests that forge headers).
func crc32Castagnoli(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
