package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Format constants.
const (
	// Magic opens every checkpoint file.
	Magic = "PGAUGCKP"
	// Version is the file format version this package writes and reads.
	Version = 1
	// Ext is the extension of checkpoint files.
	Ext = ".pgck"

	preambleSize = 32
	// maxHeaderBytes bounds the JSON header (names, scalars, RNG states, metadata).
	maxHeaderBytes = 256 << 20
	chunkFloats    = 16 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// jsonFloat is a float64 written exactly in JSON, NaN and ±Inf as strings.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = jsonFloat(math.NaN())
		return nil
	case `"+Inf"`:
		*f = jsonFloat(math.Inf(1))
		return nil
	case `"-Inf"`:
		*f = jsonFloat(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("scalar %s is not a number", b)
	}
	*f = jsonFloat(v)
	return nil
}

// header is the JSON header of a checkpoint file.
type header struct {
	Step         int64                `json:"step"`
	Epoch        int64                `json:"epoch"`
	BatchInEpoch int64                `json:"batch_in_epoch"`
	Scalars      map[string]jsonFloat `json:"scalars"`
	Counters     map[string]int64     `json:"counters"`
	RNG          map[string][]byte    `json:"rng"`
	Meta         map[string]string    `json:"meta"`
	Vectors      []vectorEntry        `json:"vectors"`
	Tensors      []tensorEntry        `json:"tensors"`
}

type vectorEntry struct {
	Name   string `json:"name"`
	Offset int64  `json:"offset"` // bytes into the data section
	Count  int64  `json:"count"`  // float32 values
}

type tensorEntry struct {
	Name   string `json:"name"`
	Shape  []int  `json:"shape"`
	Offset int64  `json:"offset"`
	Count  int64  `json:"count"`
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func checkName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%s with an empty name", kind)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%s name %q is not valid UTF-8", kind, name)
	}
	return nil
}

func numel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > math.MaxInt32/d {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n *= d
	}
	return n, nil
}

// validate checks s can be written and read back unchanged.
func (s *State) validate() error {
	for _, k := range sortedKeys(s.Scalars) {
		if err := checkName("scalar", k); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(s.Counters) {
		if err := checkName("counter", k); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(s.RNG) {
		if err := checkName("RNG state", k); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(s.Meta) {
		if err := checkName("metadata", k); err != nil {
			return err
		}
		if !utf8.ValidString(s.Meta[k]) {
			return fmt.Errorf("metadata %q: the value is not valid UTF-8", k)
		}
	}
	for _, k := range sortedKeys(s.Vectors) {
		if err := checkName("vector", k); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(s.Tensors) {
		if err := checkName("tensor", k); err != nil {
			return err
		}
		t := s.Tensors[k]
		n, err := numel(t.Shape)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", k, err)
		}
		if n != len(t.Data) {
			return fmt.Errorf("tensor %q has %d values for shape %v (%d)", k, len(t.Data), t.Shape, n)
		}
	}
	return nil
}

// encode writes s in the checkpoint format.
func encode(w io.Writer, s *State) error {
	if err := s.validate(); err != nil {
		return err
	}
	h := header{
		Step: s.Step, Epoch: s.Epoch, BatchInEpoch: s.BatchInEpoch,
		Scalars:  map[string]jsonFloat{},
		Counters: s.Counters,
		RNG:      s.RNG,
		Meta:     s.Meta,
		Vectors:  []vectorEntry{},
		Tensors:  []tensorEntry{},
	}
	for k, v := range s.Scalars {
		h.Scalars[k] = jsonFloat(v)
	}
	var order [][]float32
	var off int64
	for _, k := range sortedKeys(s.Vectors) {
		v := s.Vectors[k]
		h.Vectors = append(h.Vectors, vectorEntry{Name: k, Offset: off, Count: int64(len(v))})
		order = append(order, v)
		off += 4 * int64(len(v))
	}
	for _, k := range sortedKeys(s.Tensors) {
		t := s.Tensors[k]
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		h.Tensors = append(h.Tensors, tensorEntry{Name: k, Shape: shape, Offset: off, Count: int64(len(t.Data))})
		order = append(order, t.Data)
		off += 4 * int64(len(t.Data))
	}
	js, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encoding the header: %w", err)
	}
	if len(js) > maxHeaderBytes {
		return fmt.Errorf("the header is %d bytes, more than the %d allowed (store large data as tensors)", len(js), maxHeaderBytes)
	}
	pre := make([]byte, preambleSize, preambleSize+len(js)+4)
	copy(pre, Magic)
	binary.LittleEndian.PutUint32(pre[8:], Version)
	binary.LittleEndian.PutUint32(pre[12:], 0)
	binary.LittleEndian.PutUint64(pre[16:], uint64(len(js)))
	binary.LittleEndian.PutUint64(pre[24:], uint64(off))
	pre = append(pre, js...)
	pre = binary.LittleEndian.AppendUint32(pre, crc32.Checksum(pre, castagnoli))

	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.Write(pre); err != nil {
		return err
	}
	crc := crc32.New(castagnoli)
	buf := make([]byte, 4*chunkFloats)
	for _, data := range order {
		for len(data) > 0 {
			n := min(len(data), chunkFloats)
			b := buf[:4*n]
			for i, v := range data[:n] {
				binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
			}
			crc.Write(b)
			if _, err := bw.Write(b); err != nil {
				return err
			}
			data = data[n:]
		}
	}
	if _, err := bw.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return err
	}
	return bw.Flush()
}

// errCorrupt marks format errors (as opposed to I/O errors).
var errCorrupt = errors.New("corrupted or not a checkpoint")

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errCorrupt, fmt.Sprintf(format, a...))
}

// readFull is io.ReadFull with truncation reported as such.
func readFull(r io.Reader, b []byte, what string) error {
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return corrupt("truncated in the %s", what)
		}
		return fmt.Errorf("reading the %s: %w", what, err)
	}
	return nil
}

// decode reads a checkpoint of size bytes from r.
func decode(r io.Reader, size int64) (*State, error) {
	if size < preambleSize+8 {
		return nil, corrupt("truncated: %d bytes, shorter than any checkpoint", size)
	}
	pre := make([]byte, preambleSize)
	if err := readFull(r, pre, "preamble"); err != nil {
		return nil, err
	}
	if string(pre[:8]) != Magic {
		return nil, corrupt("bad magic %q, want %q", pre[:8], Magic)
	}
	if v := binary.LittleEndian.Uint32(pre[8:]); v != Version {
		return nil, corrupt("format version %d, this build reads version %d", v, Version)
	}
	if f := binary.LittleEndian.Uint32(pre[12:]); f != 0 {
		return nil, corrupt("unknown flags %#x", f)
	}
	hlen := binary.LittleEndian.Uint64(pre[16:])
	dlen := binary.LittleEndian.Uint64(pre[24:])
	if hlen > maxHeaderBytes || hlen > uint64(size) || dlen > uint64(size) || dlen%4 != 0 {
		return nil, corrupt("impossible lengths (header %d, data %d bytes) for a file of %d bytes", hlen, dlen, size)
	}
	want := preambleSize + hlen + 4 + dlen + 4
	if want > uint64(size) {
		return nil, corrupt("truncated: %d bytes, the header says %d", size, want)
	}
	if want < uint64(size) {
		return nil, corrupt("%d bytes after the end of the checkpoint", uint64(size)-want)
	}
	hb := make([]byte, hlen+4)
	if err := readFull(r, hb, "header"); err != nil {
		return nil, err
	}
	hcrc := crc32.Update(crc32.Checksum(pre, castagnoli), castagnoli, hb[:hlen])
	if got := binary.LittleEndian.Uint32(hb[hlen:]); got != hcrc {
		return nil, corrupt("header checksum mismatch (%08x, computed %08x)", got, hcrc)
	}
	var h header
	dec := json.NewDecoder(bytes.NewReader(hb[:hlen]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, corrupt("header: %v", err)
	}

	s := &State{Step: h.Step, Epoch: h.Epoch, BatchInEpoch: h.BatchInEpoch, Counters: h.Counters, RNG: h.RNG, Meta: h.Meta}
	s.init()
	for k, v := range h.Scalars {
		s.Scalars[k] = float64(v)
	}
	for k, v := range s.RNG {
		if v == nil {
			s.RNG[k] = []byte{}
		}
	}
	// Check the layout before allocating: contiguous, in order, filling the data section.
	var pos int64
	place := func(kind, name string, off, count int64) error {
		if name == "" {
			return corrupt("%s with an empty name", kind)
		}
		if off != pos || count < 0 || count > (int64(dlen)-pos)/4 {
			return corrupt("%s %q: %d values at offset %d do not fit the %d-byte data section after offset %d", kind, name, count, off, dlen, pos)
		}
		pos += 4 * count
		return nil
	}
	for _, e := range h.Vectors {
		if err := place("vector", e.Name, e.Offset, e.Count); err != nil {
			return nil, err
		}
		if _, dup := s.Vectors[e.Name]; dup {
			return nil, corrupt("vector %q appears twice", e.Name)
		}
		s.Vectors[e.Name] = nil
	}
	for i := range h.Tensors {
		if h.Tensors[i].Shape == nil { // "shape": null; Save writes a scalar's shape as []
			h.Tensors[i].Shape = []int{}
		}
	}
	for _, e := range h.Tensors {
		if err := place("tensor", e.Name, e.Offset, e.Count); err != nil {
			return nil, err
		}
		n, err := numel(e.Shape)
		if err != nil || int64(n) != e.Count {
			return nil, corrupt("tensor %q: shape %v does not hold %d values", e.Name, e.Shape, e.Count)
		}
		if _, dup := s.Tensors[e.Name]; dup {
			return nil, corrupt("tensor %q appears twice", e.Name)
		}
		s.Tensors[e.Name] = Tensor{}
	}
	if pos != int64(dlen) {
		return nil, corrupt("the tensors fill %d of the %d bytes of the data section", pos, dlen)
	}

	br := bufio.NewReaderSize(r, 1<<20)
	crc := crc32.New(castagnoli)
	buf := make([]byte, 4*chunkFloats)
	for _, e := range h.Vectors {
		v, err := readFloats(br, crc, buf, e.Count, e.Name)
		if err != nil {
			return nil, err
		}
		s.Vectors[e.Name] = v
	}
	for _, e := range h.Tensors {
		v, err := readFloats(br, crc, buf, e.Count, e.Name)
		if err != nil {
			return nil, err
		}
		s.Tensors[e.Name] = Tensor{Shape: e.Shape, Data: v}
	}
	var tail [4]byte
	if err := readFull(br, tail[:], "data checksum"); err != nil {
		return nil, err
	}
	if got, sum := binary.LittleEndian.Uint32(tail[:]), crc.Sum32(); got != sum {
		return nil, corrupt("data checksum mismatch (%08x, computed %08x)", got, sum)
	}
	// What Save refuses (empty names, ...) Load refuses too.
	if err := s.validate(); err != nil {
		return nil, corrupt("%v", err)
	}
	return s, nil
}

func readFloats(r io.Reader, crc hash.Hash32, buf []byte, count int64, name string) ([]float32, error) {
	out := make([]float32, count)
	for done := 0; done < len(out); {
		n := min(len(out)-done, len(buf)/4)
		b := buf[:4*n]
		if err := readFull(r, b, fmt.Sprintf("data of %q", name)); err != nil {
			return nil, err
		}
		crc.Write(b)
		for i := range n {
			out[done+i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		done += n
	}
	return out, nil
}
