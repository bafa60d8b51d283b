package imgio

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // JPEG decoder
	"image/png"
	"io"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/atomicfile"
)

// maxPixels bounds the image size accepted from a file header (about
// 16k x 16k), so that a corrupt header cannot exhaust memory.
const maxPixels = 1 << 28

// Native reports an image's natural channel count (1 for gray, 3 otherwise)
// and pixel type (uint16 for 16-bit PNGs).
func Native(img image.Image) (channels int, pt arrowds.PixelType) {
	switch img := img.(type) {
	case *image.Gray:
		return 1, arrowds.Uint8
	case *image.Gray16:
		return 1, arrowds.Uint16
	case *image.RGBA64, *image.NRGBA64:
		return 3, arrowds.Uint16
	case *image.Paletted:
		p := img
		gray := true
		for _, c := range p.Palette {
			r, g, b, _ := c.RGBA()
			if r != g || g != b {
				gray = false
			}
		}
		if gray {
			return 1, arrowds.Uint8
		}
	}
	if img.ColorModel() == color.Gray16Model {
		return 1, arrowds.Uint16
	}
	if img.ColorModel() == color.GrayModel {
		return 1, arrowds.Uint8
	}
	return 3, arrowds.Uint8
}

// NativeModel is Native for a colour model (as image.DecodeConfig reports it).
func NativeModel(m color.Model) (channels int, pt arrowds.PixelType) {
	switch m {
	case color.GrayModel:
		return 1, arrowds.Uint8
	case color.Gray16Model:
		return 1, arrowds.Uint16
	case color.RGBA64Model, color.NRGBA64Model:
		return 3, arrowds.Uint16
	}
	if p, ok := m.(color.Palette); ok {
		return Native(image.NewPaletted(image.Rect(0, 0, 1, 1), p))
	}
	return 3, arrowds.Uint8
}

// DecodeConfig reads only the header of an image file: its size and format.
func DecodeConfig(path string) (image.Config, string, error) {
	f, _, err := openRegular(path)
	if err != nil {
		return image.Config{}, "", err
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return cfg, format, fmt.Errorf("%s: not a readable PNG or JPEG: %w", path, err)
	}
	return cfg, format, nil
}

// Decode decodes a PNG or JPEG stream, refusing images larger than about
// 16k x 16k pixels.
func Decode(r io.Reader) (image.Image, error) { return decode(r, -1) }

// Bounds on what a file of a given size can decode to, so that a small
// file with a corrupt header cannot make the decoder allocate far more
// than the file could hold: a PNG decodes to at most about 8 x 1032 bytes
// per file byte (1-bit pixels, deflate's best ratio); a JPEG to at most 512
// pixels per byte (one bit per 8x8 block of DC coefficients). Both allow
// some slack, and small files any image up to slackPixels pixels.
const (
	pngBytesPerByte = 8 * 1040
	jpegPixPerByte  = 1024
	slackPixels     = 1 << 16
)

// checkSize checks an image header against maxPixels and, when size >= 0,
// against what a file of size bytes can hold.
func checkSize(cfg image.Config, format string, size int64) error {
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w <= 0 || h <= 0 || w*h > maxPixels {
		return fmt.Errorf("image of %dx%d pixels is empty or larger than %d pixels", cfg.Width, cfg.Height, maxPixels)
	}
	if size < 0 || w*h <= slackPixels {
		return nil
	}
	switch format {
	case "png":
		if b := w * h * bytesPerPixel(cfg.ColorModel); b > pngBytesPerByte*size {
			return fmt.Errorf("a %d-byte PNG cannot hold %dx%d pixels (%d bytes decoded): corrupt header", size, cfg.Width, cfg.Height, b)
		}
	case "jpeg":
		if w*h > jpegPixPerByte*size {
			return fmt.Errorf("a %d-byte JPEG cannot hold %dx%d pixels: corrupt header", size, cfg.Width, cfg.Height)
		}
	}
	return nil
}

// bytesPerPixel is the decoded size of a pixel of the colour model.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

func decode(r io.Reader, size int64) (image.Image, error) {
	br := bufio.NewReader(r)
	peek, _ := br.Peek(64 << 10)
	cfg, format, err := image.DecodeConfig(bufioFrom(peek))
	if err == nil {
		if err := checkSize(cfg, format, size); err != nil {
			return nil, err
		}
	}
	img, _, err := image.Decode(br)
	if err != nil {
		return nil, fmt.Errorf("not a readable PNG or JPEG: %w", err)
	}
	return img, nil
}

func bufioFrom(b []byte) io.Reader { return &sliceReader{b: b} }

type sliceReader struct {
	b []byte
	i int
}

func (s *sliceReader) Read(p []byte) (int, error) {
	if s.i >= len(s.b) {
		return 0, io.EOF
	}
	n := copy(p, s.b[s.i:])
	s.i += n
	return n, nil
}

// DecodeFile decodes an image file, refusing anything but a regular file
// (a FIFO or device would block or never end) and headers that claim more
// pixels than a file of its size can hold.
func DecodeFile(path string) (image.Image, error) {
	f, size, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The header is read on its own first, wherever it lies (a JPEG's frame
	// header may follow large metadata segments, past what decode peeks at).
	cfg, format, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable PNG or JPEG: %w", path, err)
	}
	if err := checkSize(cfg, format, size); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	img, err := decode(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// openRegular opens a regular file (following symbolic links) and returns
// its size. It checks before opening: opening a FIFO blocks.
func openRegular(path string) (*os.File, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: not a regular file (%s)", path, st.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// ToPixels converts an image to the given channel count (1 or 3) and pixel
// type.
func ToPixels(img image.Image, channels int, pt arrowds.PixelType) (arrowds.Image, error) {
	if channels != 1 && channels != 3 {
		return arrowds.Image{}, fmt.Errorf("channels must be 1 or 3, got %d", channels)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := arrowds.Image{Height: h, Width: w, Channels: channels}
	n := w * h * channels
	if pt == arrowds.Uint16 {
		out.Pix16 = make([]uint16, n)
	} else {
		out.Pix = make([]uint8, n)
	}
	// set stores one pixel from 16-bit r, g, b values.
	set := func(i int, r, g, bl uint32) {
		if channels == 1 {
			y := (19595*r + 38470*g + 7471*bl + 1<<15) >> 16 // ITU-R 601, 16-bit
			if pt == arrowds.Uint16 {
				out.Pix16[i] = uint16(y)
			} else {
				out.Pix[i] = to8(y)
			}
			return
		}
		if pt == arrowds.Uint16 {
			out.Pix16[3*i], out.Pix16[3*i+1], out.Pix16[3*i+2] = uint16(r), uint16(g), uint16(bl)
		} else {
			out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = to8(r), to8(g), to8(bl)
		}
	}
	switch src := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := src.Pix[y*src.Stride : y*src.Stride+w]
			for x, v := range row {
				i := y*w + x
				if channels == 1 && pt == arrowds.Uint8 {
					out.Pix[i] = v
					continue
				}
				v16 := uint32(v) * 257
				set(i, v16, v16, v16)
			}
		}
		return out, nil
	case *image.Gray16:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				o := y*src.Stride + 2*x
				v := uint32(src.Pix[o])<<8 | uint32(src.Pix[o+1])
				set(y*w+x, v, v, v)
			}
		}
		return out, nil
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
			set(y*w+x, uint32(c.R), uint32(c.G), uint32(c.B))
		}
	}
	return out, nil
}

// to8 rounds a 16-bit value to 8 bits.
func to8(v uint32) uint8 {
	return uint8((v*255 + 32767) / 65535)
}

// WritePNG writes an image atomically (temporary file, then rename),
// creating its directory if needed.
func WritePNG(path string, img image.Image) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// Grid lays out rows of images as one picture: each image is scaled
// (nearest neighbour) into a cell x cell square, with a 2-pixel gap. 16-bit
// images are scaled to 8 bits. The result is grayscale when every
// image is, else RGB.
func Grid(rows [][]arrowds.Image, cell int) image.Image {
	const gap = 2
	cols := 0
	gray := true
	for _, r := range rows {
		cols = max(cols, len(r))
		for _, im := range r {
			gray = gray && im.Channels == 1
		}
	}
	W := max(1, cols*(cell+gap)+gap)
	H := max(1, len(rows)*(cell+gap)+gap)
	var g *image.Gray
	var c *image.RGBA
	if gray {
		g = image.NewGray(image.Rect(0, 0, W, H))
	} else {
		c = image.NewRGBA(image.Rect(0, 0, W, H))
		for i := 3; i < len(c.Pix); i += 4 {
			c.Pix[i] = 255
		}
	}
	for ri, r := range rows {
		for ci, im := range r {
			if im.Height == 0 || im.Width == 0 {
				continue
			}
			x0, y0 := gap+ci*(cell+gap), gap+ri*(cell+gap)
			scale := float64(max(im.Height, im.Width)) / float64(cell)
			for y := 0; y < cell; y++ {
				sy := int(float64(y) * scale)
				if sy >= im.Height {
					continue
				}
				for x := 0; x < cell; x++ {
					sx := int(float64(x) * scale)
					if sx >= im.Width {
						continue
					}
					val := func(ch int) uint8 {
						ch = min(ch, im.Channels-1)
						i := (sy*im.Width+sx)*im.Channels + ch
						if im.Pix16 != nil {
							return to8(uint32(im.Pix16[i]))
						}
						return im.Pix[i]
					}
					if gray {
						g.Pix[(y0+y)*g.Stride+x0+x] = val(0)
					} else {
						o := (y0+y)*c.Stride + 4*(x0+x)
						c.Pix[o], c.Pix[o+1], c.Pix[o+2] = val(0), val(1), val(2)
					}
				}
			}
		}
	}
	if gray {
		return g
	}
	return c
}
