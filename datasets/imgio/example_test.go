package imgio_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/imgio"
)

// Write a small 16-bit grayscale PNG, read its header and the whole file
// back, and convert it to the dataset's pixel layout at its native type and
// at 8 bits.
func ExampleWritePNG() {
	dir, err := os.MkdirTemp("", "imgio-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	g := image.NewGray16(image.Rect(0, 0, 3, 2))
	for i, v := range []uint16{0, 257, 40000, 65535, 1000, 30000} {
		g.SetGray16(i%3, i/3, color.Gray16{Y: v})
	}
	path := filepath.Join(dir, "samples", "x.png") // the directory is created
	if err := imgio.WritePNG(path, g); err != nil {
		fmt.Println(err)
		return
	}

	cfg, format, err := imgio.DecodeConfig(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("header: %s, %dx%d\n", format, cfg.Width, cfg.Height)

	img, err := imgio.DecodeFile(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	ch, pt := imgio.Native(img)
	fmt.Println("native:", ch, "channel(s),", pt)
	p16, err := imgio.ToPixels(img, ch, pt)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p16.Height, p16.Width, p16.Channels, p16.Pix16)
	p8, err := imgio.ToPixels(img, 1, arrowds.Uint8)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p8.Pix)
	// Output:
	// header: png, 3x2
	// native: 1 channel(s), uint16
	// 2 3 1 [0 257 40000 65535 1000 30000]
	// [0 1 156 255 4 117]
}

// A colour image becomes grayscale with the ITU-R 601 luma weights, or
// stays RGB; alpha is dropped.
func ExampleToPixels() {
	c := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	c.SetNRGBA(0, 0, color.NRGBA{R: 200, G: 100, B: 50, A: 255})
	c.SetNRGBA(1, 0, color.NRGBA{R: 0, G: 255, B: 0, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, c); err != nil {
		fmt.Println(err)
		return
	}
	img, err := imgio.Decode(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(imgio.Native(img))
	gray, _ := imgio.ToPixels(img, 1, arrowds.Uint8)
	rgb, _ := imgio.ToPixels(img, 3, arrowds.Uint8)
	fmt.Println(gray.Pix, rgb.Pix)
	// Output:
	// 3 uint8
	// [124 150] [200 100 50 0 255 0]
}

// Grid lays out rows of images in cell×cell squares with a 2-pixel gap:
// two rows of up to three 32-pixel cells make a (3·34+2)×(2·34+2) = 104×70
// picture, grayscale because every image is; one colour image makes it RGB.
func ExampleGrid() {
	im := func(h, w int, v uint8) arrowds.Image {
		p := make([]uint8, h*w)
		for i := range p {
			p[i] = v
		}
		return arrowds.Image{Height: h, Width: w, Channels: 1, Pix: p}
	}
	rows := [][]arrowds.Image{
		{im(8, 8, 50), im(16, 8, 100), im(8, 16, 150)},
		{im(28, 28, 255)},
	}
	g := imgio.Grid(rows, 32)
	b := g.Bounds()
	_, gray := g.(*image.Gray)
	fmt.Println(b.Dx(), b.Dy(), gray)
	// The first cell's top-left pixel, the gap beside it, the second row's cell.
	fmt.Println(g.At(2, 2), g.At(1, 1), g.At(2, 36))

	rows[1] = append(rows[1], arrowds.Image{Height: 1, Width: 1, Channels: 3, Pix: []uint8{255, 0, 0}})
	_, rgb := imgio.Grid(rows, 32).(*image.RGBA)
	fmt.Println("with a colour image, RGB:", rgb)
	// Output:
	// 104 70 true
	// {50} {0} {255}
	// with a colour image, RGB: true
}
