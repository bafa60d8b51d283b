package idx

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

func build(typ byte, dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, typ, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func TestRawAndGzipRecords(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	raw := build(TypeUint8, []int{3, 2, 2}, data)
	for name, in := range map[string][]byte{"raw": raw, "gzip": gz(raw)} {
		r, err := NewReader(bytes.NewReader(in))
		if err != nil {
			t.Fatal(name, err)
		}
		if r.Header().Records() != 3 || r.Header().RecordSize() != 4 {
			t.Errorf("%s: header %+v", name, r.Header())
		}
		rec := make([]uint8, 4)
		for i := 0; i < 3; i++ {
			if err := r.Next(rec); err != nil {
				t.Fatal(name, err)
			}
			if !bytes.Equal(rec, data[4*i:4*i+4]) {
				t.Errorf("%s record %d = %v", name, i, rec)
			}
		}
		if err := r.Next(rec); !errors.Is(err, io.EOF) {
			t.Errorf("%s: after the last record: %v", name, err)
		}
	}
	// Labels: one dimension, records of one value.
	r, err := NewReader(bytes.NewReader(build(TypeUint8, []int{2}, []byte{7, 9})))
	if err != nil {
		t.Fatal(err)
	}
	one := make([]uint8, 1)
	r.Next(one)
	if one[0] != 7 || r.Header().RecordSize() != 1 {
		t.Errorf("label record %v size %d", one, r.Header().RecordSize())
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"magic", []byte{1, 2, 8, 1, 0, 0, 0, 1}, "not an IDX file"},
		{"type", []byte{0, 0, 0x42, 1, 0, 0, 0, 1}, "type byte 0x42"},
		{"dims", []byte{0, 0, 8, 0}, "0 dimensions"},
		{"short header", []byte{0, 0, 8, 2, 0, 0}, "dimension 0"},
		{"truncated data", build(TypeUint8, []int{2, 3}, []byte{1, 2, 3, 4}), "record 1 of 2: unexpected EOF"},
		{"float data", build(TypeFloat32, []int{1}, []byte{0, 0, 0, 0}), "want 0x08"},
		{"huge", build(TypeUint8, []int{1 << 30, 1 << 30, 1 << 30}, nil), "more than"},
	} {
		r, err := NewReader(bytes.NewReader(tc.in))
		if err == nil {
			buf := make([]uint8, r.Header().RecordSize())
			for err == nil {
				err = r.Next(buf)
			}
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestFashionMNIST reads the Debian package dataset-fashion-mnist.
func TestFashionMNIST(t *testing.T) {
	const dir = "/usr/share/datasets/fashion-mnist/"
	f, err := os.Open(dir + "t10k-labels-idx1-ubyte.gz")
	if err != nil {
		t.Skip("dataset-fashion-mnist is not installed (scripts/setup.sh --test-deps installs it)")
	}
	defer f.Close()
	r, err := NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 10)
	one := make([]uint8, 1)
	for {
		err := r.Next(one)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		counts[one[0]]++
	}
	// The Fashion-MNIST test set has 1,000 images of each of its 10 classes.
	for c, n := range counts {
		if n != 1000 {
			t.Errorf("class %d: %d test labels, want 1000", c, n)
		}
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(build(TypeUint8, []int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(gz(build(TypeUint8, []int{3}, []byte{1, 2, 3})))
	f.Add(build(TypeInt32, []int{1}, []byte{0, 0, 0, 1}))
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		defer r.Close()
		size := r.Header().RecordSize()
		if size > 1<<20 {
			return
		}
		buf := make([]uint8, size)
		for i := 0; i < 1000; i++ {
			if r.Next(buf) != nil {
				return
			}
		}
	})
}
