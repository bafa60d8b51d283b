package report

import (
	"fmt"
	"image"
	"image/png"
	"io"

	"github.com/pgaug/pgaug/datasets/atomicfile"
)

// writeAtomic writes a file by calling write on a temporary file in the same
// directory as path and renaming it over path once everything succeeded. On
// any error the temporary file is removed and path is left as it was.
func writeAtomic(path string, write func(w io.Writer) error) error {
	if path == "" {
		return fmt.Errorf("report: empty output path")
	}
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// writePNG encodes img as PNG into path atomically.
func writePNG(path string, img image.Image) error {
	return writeAtomic(path, func(w io.Writer) error {
		return (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(w, img)
	})
}
