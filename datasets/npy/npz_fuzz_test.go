package npy

import (
	"archive/zip"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/fuzzcorpus"
)

// npzBytes builds a .npz archive in memory.
func npzBytes(t testing.TB, method uint16, entries ...[2]string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e[0], Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FuzzOpenNPZ writes arbitrary bytes as a .npz file and reads it as the
// MedMNIST importer does: every array's header, then every element. The
// archive must open or fail with an error naming the file, never panic,
// and no array may claim more elements than its entry holds (readers size
// their buffers by the header).
func FuzzOpenNPZ(f *testing.F) {
	imgs := string(encode("|u1", []int{2, 2, 3}, []byte("abcdefghijkl")))
	labels := string(encode("<i8", []int{2, 1}, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
	u16 := string(encode("<u2", []int{2}, []byte{1, 2, 3, 4}))
	stored := npzBytes(f, zip.Store, [2]string{"train_images.npy", imgs}, [2]string{"train_labels.npy", labels})
	deflated := npzBytes(f, zip.Deflate, [2]string{"train_images.npy", imgs}, [2]string{"train_labels.npy", labels}, [2]string{"x.npy", u16})
	fuzzcorpus.Add(f, "stored", stored)
	fuzzcorpus.Add(f, "deflated", deflated)
	fuzzcorpus.Add(f, "truncated", deflated[:len(deflated)/2])
	big := npzBytes(f, zip.Store, [2]string{"a.npy", strings.Replace(imgs, "(2, 2, 3)", "(9, 9, 9)", 1)})
	fuzzcorpus.Add(f, "shape-past-entry", big)
	fuzzcorpus.Add(f, "duplicate", npzBytes(f, zip.Store, [2]string{"a.npy", u16}, [2]string{"a", u16}))
	if data, err := os.ReadFile(filepath.Join("testdata", "tiny.npz")); err == nil {
		f.Add(data)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.npz")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		named := func(err error) {
			t.Helper()
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Fatalf("the error does not name the file %s: %v", path, err)
			}
		}
		a, err := OpenNPZ(path)
		if err != nil {
			named(err)
			return
		}
		defer a.Close()
		for _, name := range a.Names() {
			if !a.Has(name) {
				t.Fatalf("Names lists %q, Has denies it", name)
			}
			h, err := a.Header(name)
			if err != nil {
				named(err)
				continue
			}
			r, c, err := a.Open(name)
			if err != nil {
				named(err)
				continue
			}
			if r.Header().String() != h.String() {
				t.Fatalf("Header says %s, Open %s", h, r.Header())
			}
			n := r.Remaining()
			if n > len(data)*maxDeflateRatio+1024 {
				t.Fatalf("entry %s claims %d elements in a %d-byte archive", name, n, len(data))
			}
			// As the importer does: labels in one go, images as they are.
			switch {
			case h.Kind == 'u' && h.ItemSize == 1 && len(h.Shape) >= 2:
				row := make([]uint8, n/max(h.Shape[0], 1))
				for r.Remaining() >= len(row) && len(row) > 0 {
					if err := r.ReadUint8(row); err != nil {
						break
					}
				}
			case h.Kind == 'u' && h.ItemSize == 2:
				r.ReadUint16(make([]uint16, n))
			default:
				vals, err := r.ReadAllInt64(math.MaxInt)
				if err == nil && len(vals) != n {
					t.Fatalf("read %d of %d elements without an error", len(vals), n)
				}
			}
			c.Close()
		}
	})
}

// TestNPZShapeMustFitTheEntry: a header whose shape needs more bytes than
// its entry holds is refused when the array is opened (callers allocate by
// the shape), and an entry whose sizes cannot be is refused when the
// archive is opened.
func TestNPZShapeMustFitTheEntry(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.npz")
	hdr := string(encode("|u1", []int{100000, 1000, 1000}, []byte("ab")))
	if err := os.WriteFile(path, npzBytes(t, zip.Store, [2]string{"a.npy", hdr}), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := OpenNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, _, err := a.Open("a"); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "the header declares uint8 (100000, 1000, 1000)") {
		t.Fatalf("got %v", err)
	}
	if _, err := a.Header("a"); err == nil {
		t.Fatal("Header accepted the impossible shape")
	}

	// A stored entry claiming a huge uncompressed size.
	data := npzBytes(t, zip.Store, [2]string{"a.npy", hdr})
	i := bytes.LastIndex(data, []byte("PK\x01\x02")) // central directory entry
	if i < 0 {
		t.Fatal("no central directory")
	}
	copy(data[i+24:], []byte{0xff, 0xff, 0xff, 0x7f}) // uncompressed size
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenNPZ(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "claims") {
		t.Fatalf("got %v", err)
	}
}
