package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Content identifies a file or a directory by what it holds:
// "sha256:<hex>" of the file's bytes, or of a directory's regular files
// (each one's path relative to the directory, then its bytes, in sorted
// order; symbolic links are followed). The name, place and time stamps do
// not count: a copied dataset is the same input, an edited one is not.
//
// Files are hashed once per process for a given path, size and
// modification time.
func Content(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("identifying %s: %w", path, err)
	}
	if !st.IsDir() {
		sum, err := fileSum(path, st)
		if err != nil {
			return "", err
		}
		return "sha256:" + hex.EncodeToString(sum), nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("identifying %s: %w", path, err)
	}
	sort.Strings(files)
	h := sha256.New()
	n := 0
	for _, f := range files {
		fst, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("identifying %s: %w", path, err)
		}
		if !fst.Mode().IsRegular() {
			continue
		}
		rel, err := filepath.Rel(path, f)
		if err != nil {
			return "", err
		}
		sum, err := fileSum(f, fst)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%d:%s", len(rel), filepath.ToSlash(rel))
		h.Write(sum)
		n++
	}
	if n == 0 {
		return "", fmt.Errorf("identifying %s: the directory holds no files", path)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

type fileKey struct {
	path  string
	size  int64
	mtime time.Time
}

var (
	sumsMu sync.Mutex
	sums   = map[fileKey][]byte{}
)

// fileSum is the SHA-256 of one file's bytes, memoised.
func fileSum(path string, st os.FileInfo) ([]byte, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	key := fileKey{abs, st.Size(), st.ModTime()}
	sumsMu.Lock()
	sum, ok := sums[key]
	sumsMu.Unlock()
	if ok {
		return sum, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("identifying %s: %w", path, err)
	}
	defer f.Close()
	var h hash.Hash = sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("identifying %s: %w", path, err)
	}
	sum = h.Sum(nil)
	sumsMu.Lock()
	sums[key] = sum
	sumsMu.Unlock()
	return sum, nil
}
