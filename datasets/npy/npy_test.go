package npy

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// encode builds a .npy file the way numpy.save does (version 1.0, header
// padded so that the data starts at a multiple of 64).
func encode(descr string, shape []int, data []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	pad := 64 - (10+len(h)+1)%64
	h += strings.Repeat(" ", pad%64) + "\n"
	var b bytes.Buffer
	b.WriteString(magic)
	b.Write([]byte{1, 0})
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

func TestReadTypesAndOrders(t *testing.T) {
	le := make([]byte, 8)
	binary.LittleEndian.PutUint16(le, 513)
	binary.LittleEndian.PutUint16(le[2:], 65535)
	be := make([]byte, 16)
	binary.BigEndian.PutUint64(be, 7)
	binary.BigEndian.PutUint64(be[8:], uint64(0xFFFFFFFFFFFFFFFE)) // -2
	for _, tc := range []struct {
		descr string
		shape []int
		data  []byte
		want  []int64
	}{
		{"|u1", []int{2, 2}, []byte{0, 1, 254, 255}, []int64{0, 1, 254, 255}},
		{"|i1", []int{3}, []byte{0x80, 0x7f, 0xff}, []int64{-128, 127, -1}},
		{"<u2", []int{2}, le[:4], []int64{513, 65535}},
		{"<i2", []int{2}, le[:4], []int64{513, -1}},
		{">i8", []int{2}, be, []int64{7, -2}},
		{"|b1", []int{2}, []byte{1, 0}, []int64{1, 0}},
	} {
		r, err := NewReader(bytes.NewReader(encode(tc.descr, tc.shape, tc.data)))
		if err != nil {
			t.Fatalf("%s: %v", tc.descr, err)
		}
		if !reflect.DeepEqual(r.Header().Shape, tc.shape) {
			t.Errorf("%s: shape %v", tc.descr, r.Header().Shape)
		}
		got, err := r.ReadAllInt64(100)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.descr, got, err, tc.want)
		}
	}
}

func TestStreamingRowsAndErrors(t *testing.T) {
	data := make([]byte, 3*4*5)
	for i := range data {
		data[i] = byte(i)
	}
	r, err := NewReader(bytes.NewReader(encode("|u1", []int{3, 4, 5}, data)))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header().String() != "uint8 (3, 4, 5)" || r.Header().Count() != 60 {
		t.Errorf("header %s count %d", r.Header(), r.Header().Count())
	}
	row := make([]uint8, 20)
	for i := 0; i < 3; i++ {
		if err := r.ReadUint8(row); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(row, data[20*i:20*i+20]) {
			t.Fatalf("row %d = %v", i, row)
		}
	}
	if err := r.ReadUint8(row); err == nil || !strings.Contains(err.Error(), "only 0 left") {
		t.Errorf("reading past the end: %v", err)
	}

	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"magic", []byte("PK\x03\x04 not npy"), "not a .npy array"},
		{"version", append([]byte(magic), 9, 0, 0, 0), "format version 9.0"},
		{"truncated data", encode("|u1", []int{10}, []byte{1, 2}), "unexpected EOF"},
		{"no shape", []byte(magic + "\x01\x00\x28\x00{'descr': '|u1', 'fortran_order': False}"), `no "shape"`},
		{"float", encode("<f4", []int{1}, []byte{0, 0, 0, 0}), "want an integer type"},
		{"bad descr", encode("<x4", []int{1}, []byte{0, 0, 0, 0}), "unknown kind"},
	} {
		r, err := NewReader(bytes.NewReader(tc.in))
		if err == nil {
			_, err = r.ReadAllInt64(100)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func writeNPZ(t *testing.T, path string, method uint16, entries map[string][]byte, order []string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, name := range order {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(entries[name])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestNPZStoredAndDeflatedAnyOrder(t *testing.T) {
	imgs := make([]byte, 2*3*3)
	for i := range imgs {
		imgs[i] = byte(3 * i)
	}
	entries := map[string][]byte{
		"train_images": encode("|u1", []int{2, 3, 3}, imgs),
		"train_labels": encode("|u1", []int{2, 1}, []byte{1, 0}),
	}
	dir := t.TempDir()
	for _, m := range []uint16{zip.Store, zip.Deflate} {
		p := filepath.Join(dir, fmt.Sprintf("m%d.npz", m))
		writeNPZ(t, p, m, entries, []string{"train_labels", "train_images"})
		a, err := OpenNPZ(p)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Names(), []string{"train_images", "train_labels"}) {
			t.Errorf("names %v", a.Names())
		}
		// Both arrays open at once, read alternately.
		ri, ci, err := a.Open("train_images")
		if err != nil {
			t.Fatal(err)
		}
		rl, cl, err := a.Open("train_labels")
		if err != nil {
			t.Fatal(err)
		}
		row := make([]uint8, 9)
		lab := make([]int64, 1)
		for i := 0; i < 2; i++ {
			if err := ri.ReadUint8(row); err != nil {
				t.Fatal(err)
			}
			if err := rl.ReadInt64(lab); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(row, imgs[9*i:9*i+9]) || lab[0] != int64(1-i) {
				t.Errorf("method %d row %d: %v label %v", m, i, row, lab)
			}
		}
		ci.Close()
		cl.Close()
		if _, _, err := a.Open("test_images"); err == nil || !strings.Contains(err.Error(), "no array \"test_images\"") {
			t.Errorf("missing entry: %v", err)
		}
		a.Close()
	}
}

func TestRealMedMNISTHeaders(t *testing.T) {
	path := sharedData(t, "pneumoniamnist.npz")
	a, err := OpenNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for name, want := range map[string]string{
		"train_images": "uint8 (3882, 28, 28)", "train_labels": "uint8 (3882, 1)",
		"val_images": "uint8 (524, 28, 28)", "test_labels": "uint8 (624, 1)",
	} {
		h, err := a.Header(name)
		if err != nil {
			t.Fatal(err)
		}
		if h.String() != want {
			t.Errorf("%s: %s, want %s", name, h, want)
		}
	}
}

// sharedData returns a file of the project's shared test data, skipping the
// test when it is absent.
func sharedData(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not present", p)
	}
	return p
}

func FuzzReadNPY(f *testing.F) {
	f.Add(encode("|u1", []int{2, 2}, []byte{1, 2, 3, 4}))
	f.Add(encode("<i8", []int{1}, []byte{1, 0, 0, 0, 0, 0, 0, 0}))
	f.Add(encode(">u2", []int{3}, []byte{1, 2, 3}))
	f.Add([]byte(magic + "\x02\x00\x10\x00\x00\x00{'shape': (1,)}"))
	f.Add([]byte(magic + "\x01\x00\x30\x00{'descr': '|u1', 'fortran_order': True, 'shape': (99999999999, 9999999999)}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		n := min(r.Remaining(), 1<<16)
		if err := r.ReadInt64(make([]int64, n)); err != nil {
			r2, _ := NewReader(bytes.NewReader(data))
			r2.ReadUint8(make([]uint8, min(r2.Remaining(), 1<<16)))
			r2.ReadUint16(make([]uint16, min(r2.Remaining(), 1<<16)))
		}
	})
}
