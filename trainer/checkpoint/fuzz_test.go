package checkpoint

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/fuzzcorpus"
)

// fuzzState is a small State with one of everything, for seeds.
func fuzzState() *State {
	s := NewState()
	s.Step, s.Epoch, s.BatchInEpoch = 12, 3, 4
	s.Scalars["ema"] = 0.25
	s.Scalars["nan"] = math.NaN()
	s.Scalars["inf"] = math.Inf(-1)
	s.Counters["cls/optim/steps"] = 12
	s.Vectors["alpha"] = []float32{1.5, -2}
	s.Vectors["empty"] = []float32{}
	s.RNG["data"] = []byte{1, 2, 3}
	s.Meta["method"] = "apga"
	s.Tensors["cls/param/w"] = Tensor{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}
	s.Tensors["scalar"] = Tensor{Shape: []int{}, Data: []float32{7}}
	s.Tensors["none"] = Tensor{Shape: []int{0, 5}, Data: []float32{}}
	return s
}

func encoded(t testing.TB, s *State) []byte {
	var b bytes.Buffer
	if err := encode(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fixSums makes a fuzzed file's lengths and checksums consistent, so that
// the fuzzer gets past them into the JSON header and the layout checks:
// the data length becomes whatever follows the header, and both CRCs are
// recomputed.
func fixSums(data []byte) []byte {
	if len(data) < preambleSize+8 {
		return data
	}
	data = bytes.Clone(data)
	hlen := binary.LittleEndian.Uint64(data[16:])
	if hlen > uint64(len(data)-preambleSize-8) {
		return data
	}
	h := int(hlen)
	dlen := len(data) - preambleSize - h - 8
	binary.LittleEndian.PutUint64(data[24:], uint64(dlen))
	binary.LittleEndian.PutUint32(data[preambleSize+h:], crc32.Checksum(data[:preambleSize+h], castagnoli))
	d := data[preambleSize+h+4 : preambleSize+h+4+dlen]
	binary.LittleEndian.PutUint32(data[len(data)-4:], crc32.Checksum(d, castagnoli))
	return data
}

// rawCheckpoint assembles a checkpoint from a JSON header and data bytes,
// with consistent lengths and checksums.
func rawCheckpoint(js string, data []byte) []byte {
	b := make([]byte, preambleSize, preambleSize+len(js)+8+len(data))
	copy(b, Magic)
	binary.LittleEndian.PutUint32(b[8:], Version)
	binary.LittleEndian.PutUint64(b[16:], uint64(len(js)))
	b = append(b, js...)
	b = append(b, 0, 0, 0, 0)
	b = append(b, data...)
	b = append(b, 0, 0, 0, 0)
	return fixSums(b)
}

// TestLoadRefusesWhatSaveRefuses: Load and Save agree on what a valid
// checkpoint is, so that whatever loads can be saved again unchanged.
func TestLoadRefusesWhatSaveRefuses(t *testing.T) {
	dir := t.TempDir()
	for js, want := range map[string]string{
		`{"scalars":{"":1}}`:      "scalar with an empty name",
		`{"counters":{"":1}}`:     "counter with an empty name",
		`{"meta":{"":"x"}}`:       "metadata with an empty name",
		`{"rng":{"":"AAE="}}`:     "RNG state with an empty name",
		`{"meta":{"k":"\ud800"}}`: "", // a lone surrogate decodes as U+FFFD: valid
		`{"tensors":[{"name":"t","shape":null,"offset":0,"count":1}]}`: "",
	} {
		p := filepath.Join(dir, "c"+Ext)
		var data []byte
		if strings.Contains(js, `"count":1`) {
			data = []byte{0, 0, 128, 63}
		}
		if err := os.WriteFile(p, rawCheckpoint(js, data), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(p)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", js, err)
				continue
			}
			var b bytes.Buffer
			if err := encode(&b, s); err != nil {
				t.Errorf("%s: loads but does not save: %v", js, err)
			}
			again, err := decode(bytes.NewReader(b.Bytes()), int64(b.Len()))
			if err != nil {
				t.Fatal(err)
			}
			equalStates(t, again, s)
			continue
		}
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error naming the file and %q", js, err, want)
		}
	}
}

// FuzzLoad writes arbitrary bytes as a .pgck file and loads it as a user
// would: Load must return a State or an error naming the file, never panic
// or allocate more than the file's size suggests; a State it accepts must
// save again and load back unchanged. With fix set, the lengths and
// checksums are made consistent first.
func FuzzLoad(f *testing.F) {
	valid := encoded(f, fuzzState())
	empty := encoded(f, NewState())
	fuzzcorpus.Add(f, "valid", valid, false)
	fuzzcorpus.Add(f, "empty", empty, false)
	fuzzcorpus.Add(f, "truncated", valid[:len(valid)-9], false)
	fuzzcorpus.Add(f, "header-only", valid[:preambleSize+40], true)
	flipped := bytes.Clone(valid)
	flipped[preambleSize+10] ^= 0x20
	fuzzcorpus.Add(f, "header-flipped-fixed", flipped, true)
	huge := bytes.Clone(empty)
	binary.LittleEndian.PutUint64(huge[16:], 1<<40)
	fuzzcorpus.Add(f, "huge-header-length", huge, false)
	// Found by probing the round-trip property: a null shape (which loaded
	// as a nil shape and saved as []) and an empty scalar name (which Load
	// accepted and Save refused).
	fuzzcorpus.Add(f, "shape-null", rawCheckpoint(`{"tensors":[{"name":"a","shape":null,"offset":0,"count":1}]}`, []byte{0, 0, 128, 63}), true)
	fuzzcorpus.Add(f, "empty-scalar-name", rawCheckpoint(`{"scalars":{"":1}}`, nil), true)
	f.Add([]byte(Magic), false)
	f.Add([]byte{}, false)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		if fix {
			data = fixSums(data)
		}
		path := filepath.Join(dir, "fuzz"+Ext)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("the error does not name the file %s: %v", path, err)
			}
			if s != nil {
				t.Fatalf("Load returned a State with the error %v", err)
			}
			return
		}
		var b bytes.Buffer
		if err := encode(&b, s); err != nil {
			t.Fatalf("Load accepted a checkpoint that Save refuses: %v", err)
		}
		again, err := decode(bytes.NewReader(b.Bytes()), int64(b.Len()))
		if err != nil {
			t.Fatalf("a re-saved checkpoint does not load: %v", err)
		}
		equalStates(t, again, s)
	})
}
