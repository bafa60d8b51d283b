package atomicfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/atomicfile"
)

// files returns the sorted names of dir's entries.
func files(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func checkFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Fatalf("%s holds %q, want %q", dir, got, want)
	}
}

func checkContent(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s holds %q, want %q", path, got, want)
	}
}

func checkMode(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 || !st.Mode().IsRegular() {
		t.Fatalf("%s has mode %v, want -rw-r--r--", path, st.Mode())
	}
}

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := atomicfile.WriteBytes(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	checkContent(t, path, "first")
	checkMode(t, path)
	// A restrictive mode on the old file does not carry over.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("0123456789", 50000) // larger than the buffer
	if err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := io.WriteString(w, big)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	checkContent(t, path, big)
	checkMode(t, path)
	checkFiles(t, dir, "out.txt")
}

func TestFailedWriteKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := atomicfile.WriteBytes(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	for _, n := range []int{0, 10, 1 << 17} { // nothing, buffered, flushed
		err := atomicfile.Write(path, func(w io.Writer) error {
			if _, err := w.Write(bytes.Repeat([]byte("x"), n)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "writing "+path) {
			t.Fatalf("after %d bytes: error %v should wrap boom and name %s", n, err, path)
		}
		checkContent(t, path, "old")
		checkFiles(t, dir, "out.txt")
	}

	// A panicking callback leaves no temporary file either.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic was swallowed")
			}
		}()
		atomicfile.Write(path, func(w io.Writer) error {
			w.Write([]byte("partial"))
			panic("callback panic")
		})
	}()
	checkContent(t, path, "old")
	checkFiles(t, dir, "out.txt")

	// A failure at the rename: the target is a non-empty directory.
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteBytes(sub, []byte("y")); err == nil || !strings.Contains(err.Error(), sub) {
		t.Fatalf("renaming over a directory: %v", err)
	}
	checkFiles(t, dir, "out.txt", "sub")
	checkFiles(t, sub, "x")
}

func TestCreateCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stream.bin")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort() // a no-op after Commit
	if f.Path() != path {
		t.Errorf("Path() = %q, want %q", f.Path(), path)
	}
	fmt.Fprintf(f, "hello, ")
	io.WriteString(f, "world")
	// Nothing is visible before Commit; the temporary file is in dir.
	checkContent(t, path, "old")
	names := files(t, dir)
	if len(names) != 2 || !strings.HasPrefix(names[0], ".stream.bin.tmp-") {
		t.Fatalf("before Commit %s holds %q, want the target and one .stream.bin.tmp-*", dir, names)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	checkContent(t, path, "hello, world")
	checkMode(t, path)
	checkFiles(t, dir, "stream.bin")

	// The File is finished.
	f.Abort()
	checkContent(t, path, "hello, world")
	if _, err := f.Write([]byte("late")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Commit: %v", err)
	}
	if err := f.Commit(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Commit: %v", err)
	}
}

func TestSeek(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seek.bin")
	f, err := atomicfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	var _ io.WriteSeeker = f
	io.WriteString(f, "abcdef")
	if pos, err := f.Seek(0, io.SeekCurrent); err != nil || pos != 6 {
		t.Fatalf("Seek(0, SeekCurrent) = %d, %v; want 6", pos, err)
	}
	if pos, err := f.Seek(2, io.SeekStart); err != nil || pos != 2 {
		t.Fatalf("Seek(2, SeekStart) = %d, %v; want 2", pos, err)
	}
	io.WriteString(f, "XY")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	checkContent(t, path, "abXYef")
	if _, err := f.Seek(0, io.SeekStart); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Seek after Commit: %v", err)
	}
}

func TestAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.bin")
	f, err := atomicfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("z"), 1<<17))
	f.Abort()
	f.Abort()
	checkFiles(t, dir)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Abort: %v", err)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Abort: no error")
	}
	checkFiles(t, dir)

	// Abort leaves an existing target alone.
	if err := os.WriteFile(path, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err = atomicfile.Create(path); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("discarded"))
	f.Abort()
	checkContent(t, path, "kept")
	checkFiles(t, dir, "new.bin")
}

func TestMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "no", "such", "dir", "x.txt")
	err := atomicfile.WriteBytes(path, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "writing "+path) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing directory: %v", err)
	}
	if _, err := atomicfile.Create(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Create in a missing directory: %v", err)
	}
	if _, err := atomicfile.Create(""); err == nil {
		t.Fatal("empty path: no error")
	}
	checkFiles(t, dir)
}

func TestRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := atomicfile.WriteBytes("rel.txt", []byte("r")); err != nil {
		t.Fatal(err)
	}
	checkContent(t, filepath.Join(dir, "rel.txt"), "r")
	checkFiles(t, dir, "rel.txt")
}

func Example() {
	dir, err := os.MkdirTemp("", "atomicfile-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "greeting.txt")

	// The whole file at once.
	if err := atomicfile.WriteBytes(path, []byte("hello\n")); err != nil {
		fmt.Println(err)
		return
	}

	// A failing write leaves the previous content.
	err = atomicfile.Write(path, func(w io.Writer) error {
		fmt.Fprintln(w, "half a")
		return errors.New("out of ideas")
	})
	fmt.Println(strings.Replace(err.Error(), path, "greeting.txt", 1))

	// Streaming: nothing is visible until Commit.
	f, err := atomicfile.Create(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Abort() // a no-op once committed
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(f, "line %d\n", i)
	}
	before, _ := os.ReadFile(path)
	fmt.Printf("before Commit: %q\n", before)
	if err := f.Commit(); err != nil {
		fmt.Println(err)
		return
	}
	after, _ := os.ReadFile(path)
	fmt.Printf("after Commit: %q\n", after)
	// Output:
	// writing greeting.txt: out of ideas
	// before Commit: "hello\n"
	// after Commit: "line 1\nline 2\nline 3\n"
}
