package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pgaug/pgaug/datasets/atomicfile"
)

// FileName is the name Save gives the checkpoint of a step: ckpt-<step, 12
// digits>.pgck.
func FileName(step int64) string { return fmt.Sprintf("ckpt-%012d%s", step, Ext) }

var fileRE = regexp.MustCompile(`^ckpt-([0-9]+)\.pgck$`)

// testWriter, when set by a test, wraps the writer onto the temporary file
// Save writes to (to inject write failures).
var testWriter func(io.Writer) io.Writer

// Save writes s to dir (created if needed) as FileName(s.Step), atomically,
// then deletes all but the newest keep numbered checkpoints of dir, by step
// (keep <= 0 keeps all). The file just written is never deleted, even when
// dir holds checkpoints of later steps. Files not named like Save's (e.g. a
// "best" checkpoint written with SaveAs) are left alone. If the checkpoint
// is written but pruning fails, Save returns its path and an error.
func Save(dir string, s *State, keep int) (path string, err error) {
	if s == nil {
		return "", fmt.Errorf("checkpoint: Save: the state is nil")
	}
	if s.Step < 0 {
		return "", fmt.Errorf("checkpoint: Save: step %d is negative", s.Step)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("checkpoint: Save: %w", err)
	}
	path = filepath.Join(dir, FileName(s.Step))
	if err := SaveAs(path, s); err != nil {
		return "", err
	}
	if err := prune(dir, path, keep); err != nil {
		return path, fmt.Errorf("checkpoint: saved %s, but pruning old checkpoints: %w", path, err)
	}
	return path, nil
}

// prune deletes all but the newest keep checkpoints of dir (never keepPath)
// and the temporary files of interrupted saves.
func prune(dir, keepPath string, keep int) error {
	var errs []error
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			n := e.Name()
			if base, ok := strings.CutPrefix(n, "."); ok && !e.IsDir() && strings.Contains(base, Ext+".tmp-") {
				if fileRE.MatchString(base[:strings.Index(base, ".tmp-")]) {
					if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
						errs = append(errs, err)
					}
				}
			}
		}
	}
	if keep <= 0 {
		return errors.Join(errs...)
	}
	paths, err := List(dir)
	if err != nil {
		return err
	}
	kept := 0
	for i := len(paths) - 1; i >= 0; i-- {
		p := paths[i]
		if p == keepPath {
			continue
		}
		if kept < keep-1 {
			kept++
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SaveAs writes s to path atomically (a temporary file in the same
// directory, synced, renamed over path), e.g. a "best" checkpoint. A failed
// SaveAs leaves any previous file at path as it was and no temporary file.
func SaveAs(path string, s *State) (err error) {
	if s == nil {
		return fmt.Errorf("checkpoint: SaveAs %s: the state is nil", path)
	}
	if err := s.validate(); err != nil {
		return fmt.Errorf("checkpoint: saving %s: %w", path, err)
	}
	if err := writeAtomic(path, func(w io.Writer) error { return encode(w, s) }); err != nil {
		return fmt.Errorf("checkpoint: %w", err) // names path
	}
	return nil
}

// writeAtomic writes path atomically with atomicfile.Write, passing the
// writer through testWriter when a test set it.
func writeAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		if testWriter != nil {
			w = testWriter(w)
		}
		return write(w)
	})
}

// List returns the paths of the numbered checkpoints of dir (named like
// Save's), oldest step first. A missing dir has none.
func List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("checkpoint: listing %s: %w", dir, err)
	}
	type item struct {
		step int64
		name string
	}
	var items []item
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		step, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			continue // not a step this package writes
		}
		items = append(items, item{step, e.Name()})
	}
	sort.Slice(items, func(a, b int) bool {
		if items[a].step != items[b].step {
			return items[a].step < items[b].step
		}
		return items[a].name < items[b].name
	})
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = filepath.Join(dir, it.name)
	}
	return out, nil
}

// Latest returns the numbered checkpoint of dir with the highest step; ok is
// false when there is none (or dir does not exist).
func Latest(dir string) (path string, ok bool, err error) {
	paths, err := List(dir)
	if err != nil || len(paths) == 0 {
		return "", false, err
	}
	return paths[len(paths)-1], true, nil
}

// Clear deletes the numbered checkpoints of dir (those Save writes) and the
// files named in also (e.g. a "best" checkpoint), so that a run starting
// afresh in dir can never resume from an older run's state. Missing files
// are not an error.
func Clear(dir string, also ...string) error {
	paths, err := List(dir)
	if err != nil {
		return err
	}
	for _, a := range also {
		paths = append(paths, filepath.Join(dir, a))
	}
	var errs []error
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("checkpoint: clearing %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// Load reads a checkpoint file. A truncated, corrupted or foreign file is an
// error naming the file.
func Load(path string) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("checkpoint %s: not a regular file", path)
	}
	s, err := decode(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return s, nil
}
