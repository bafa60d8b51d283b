package report

import (
	"bufio"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic writes a file by calling write on a temporary file in the same
// directory as path and renaming it over path once everything succeeded. On
// any error the temporary file is removed and path is left as it was.
func writeAtomic(path string, write func(w io.Writer) error) (err error) {
	if path == "" {
		return fmt.Errorf("report: empty output path")
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err = write(bw); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	return nil
}

// writePNG encodes img as PNG into path atomically.
func writePNG(path string, img image.Image) error {
	return writeAtomic(path, func(w io.Writer) error {
		return (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(w, img)
	})
}
