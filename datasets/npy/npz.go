package npy

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// maxDeflateRatio bounds how many bytes one compressed byte of a deflated
// entry can expand to (deflate's limit is about 1032).
const maxDeflateRatio = 1040

// NPZ is an open .npz archive.
type NPZ struct {
	path  string
	z     *zip.ReadCloser
	files map[string]*zip.File
}

// OpenNPZ opens a .npz archive (a zip file whose entries are .npy arrays,
// stored or deflated).
func OpenNPZ(path string) (*NPZ, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable .npz (zip) archive: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		z.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	a := &NPZ{path: path, z: z, files: map[string]*zip.File{}}
	for _, f := range z.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		if _, dup := a.files[name]; dup {
			z.Close()
			return nil, fmt.Errorf("%s: entry %q appears twice", path, f.Name)
		}
		if err := checkEntrySize(f, st.Size()); err != nil {
			z.Close()
			return nil, fmt.Errorf("%s: entry %q: %w", path, f.Name, err)
		}
		a.files[name] = f
	}
	return a, nil
}

// checkEntrySize checks that an entry's sizes are possible in an archive
// of size bytes: readers size their buffers by the arrays' headers, which
// Open checks against the uncompressed size, so that must be bounded by
// the file.
func checkEntrySize(f *zip.File, size int64) error {
	c, u := f.CompressedSize64, f.UncompressedSize64
	if c > uint64(size) {
		return fmt.Errorf("%d compressed bytes in a %d-byte file", c, size)
	}
	switch f.Method {
	case zip.Store:
		if u != c {
			return fmt.Errorf("stored entry of %d bytes claims %d uncompressed bytes", c, u)
		}
	case zip.Deflate:
		if u > c*maxDeflateRatio+1024 {
			return fmt.Errorf("%d compressed bytes cannot inflate to the %d bytes it claims", c, u)
		}
	}
	return nil
}

// Close closes the archive.
func (a *NPZ) Close() error { return a.z.Close() }

// Path returns the archive's path.
func (a *NPZ) Path() string { return a.path }

// Names returns the array names (entry names without ".npy"), sorted.
func (a *NPZ) Names() []string {
	out := make([]string, 0, len(a.files))
	for n := range a.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Has reports whether the archive holds the named array.
func (a *NPZ) Has(name string) bool { _, ok := a.files[name]; return ok }

// Open starts reading the named array. Close the returned closer when done.
// Several arrays may be open at once.
func (a *NPZ) Open(name string) (*Reader, io.Closer, error) {
	f, ok := a.files[name]
	if !ok {
		return nil, nil, fmt.Errorf("%s: no array %q (it has %s)", a.path, name, strings.Join(a.Names(), ", "))
	}
	rc, err := f.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: entry %s: %w", a.path, f.Name, err)
	}
	r, err := NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, nil, fmt.Errorf("%s: entry %s: %w", a.path, f.Name, err)
	}
	// The header's shape must fit in the entry: callers allocate by it.
	if need := uint64(r.hdrBytes) + uint64(r.h.Count())*uint64(r.h.ItemSize); need > f.UncompressedSize64 {
		rc.Close()
		return nil, nil, fmt.Errorf("%s: entry %s: the header declares %s (%d bytes with the header), the entry has %d bytes",
			a.path, f.Name, r.h.String(), need, f.UncompressedSize64)
	}
	return r, rc, nil
}

// Header reads only the header of the named array.
func (a *NPZ) Header(name string) (*Header, error) {
	r, c, err := a.Open(name)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return r.Header(), nil
}
