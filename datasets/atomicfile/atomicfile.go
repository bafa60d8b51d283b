package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// bufSize is the size of the write buffer in front of the temporary file.
const bufSize = 1 << 16

// Mode is the permission of every file this package writes (like os.Create
// with the usual umask, whatever the process umask is).
const Mode os.FileMode = 0o644

// File is a file being written atomically: a temporary file that Commit
// renames over the target path and Abort removes. Its writes are buffered.
// A File is not safe for concurrent use.
type File struct {
	path string
	f    *os.File
	bw   *bufio.Writer
	done bool
}

// Create starts writing path atomically: it creates a temporary file in
// path's directory. Nothing is visible at path until Commit succeeds. The
// caller must call Commit or Abort.
func Create(path string) (*File, error) {
	if path == "" {
		return nil, errors.New("atomicfile: empty path")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return &File{path: path, f: f, bw: bufio.NewWriterSize(f, bufSize)}, nil
}

// Path returns the target path, where the content appears after Commit.
func (f *File) Path() string { return f.path }

// Write writes p to the temporary file. It fails after Commit or Abort.
func (f *File) Write(p []byte) (int, error) {
	if f.done {
		return 0, fmt.Errorf("writing %s: %w", f.path, os.ErrClosed)
	}
	return f.bw.Write(p)
}

// WriteString is Write for a string.
func (f *File) WriteString(s string) (int, error) {
	if f.done {
		return 0, fmt.Errorf("writing %s: %w", f.path, os.ErrClosed)
	}
	return f.bw.WriteString(s)
}

// Seek flushes the buffered writes and sets the offset of the next Write in
// the temporary file, like os.File's Seek, so that a File can be an
// io.WriteSeeker (e.g. for writers that ask for their position).
func (f *File) Seek(offset int64, whence int) (int64, error) {
	if f.done {
		return 0, fmt.Errorf("writing %s: %w", f.path, os.ErrClosed)
	}
	if err := f.bw.Flush(); err != nil {
		return 0, err
	}
	return f.f.Seek(offset, whence)
}

// Commit flushes and syncs the temporary file, makes it mode 0644, closes it
// and renames it over the target path, then syncs the directory (best
// effort). On error the temporary file is removed and the target is left as
// it was. Either way the File is finished: later writes fail, a later Abort
// does nothing and a second Commit is an error.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("writing %s: %w", f.path, os.ErrClosed)
	}
	f.done = true
	tmp := f.f.Name()
	err := f.bw.Flush()
	if err == nil {
		err = f.f.Chmod(Mode)
	}
	if err == nil {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	if d, derr := os.Open(filepath.Dir(f.path)); derr == nil {
		d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
	return nil
}

// Abort discards the File: it closes and removes the temporary file,
// leaving the target path as it was. It does nothing after Commit or an
// earlier Abort, so it can be deferred right after Create.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.f.Close()
	os.Remove(f.f.Name())
}

// Write writes path atomically with the output of write, which gets a
// buffered writer onto a temporary file in path's directory. If write
// returns an error, or finishing the file fails, the temporary file is
// removed, path is left as it was, and the error (wrapped, naming path) is
// returned.
func Write(path string, write func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort() // also when write panics; a no-op after Commit
	if err := write(f.bw); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Commit()
}

// WriteBytes writes data to path atomically; see Write.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
