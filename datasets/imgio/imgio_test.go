package imgio

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/pgaug/pgaug/datasets/arrowds"
)

func encodePNG(t *testing.T, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPNG16RoundTripAndConversions(t *testing.T) {
	g := image.NewGray16(image.Rect(0, 0, 2, 2))
	vals := []uint16{0, 1, 40000, 65535}
	for i, v := range vals {
		g.SetGray16(i%2, i/2, color.Gray16{Y: v})
	}
	img, err := Decode(bytes.NewReader(encodePNG(t, g)))
	if err != nil {
		t.Fatal(err)
	}
	if c, pt := Native(img); c != 1 || pt != arrowds.Uint16 {
		t.Errorf("native %d %s", c, pt)
	}
	p16, _ := ToPixels(img, 1, arrowds.Uint16)
	if !reflect.DeepEqual(p16.Pix16, vals) {
		t.Errorf("16-bit %v, want %v", p16.Pix16, vals)
	}
	p8, _ := ToPixels(img, 1, arrowds.Uint8)
	if !reflect.DeepEqual(p8.Pix, []uint8{0, 0, 156, 255}) { // 40000/257 = 155.6
		t.Errorf("16 to 8 bit: %v", p8.Pix)
	}
	rgb, _ := ToPixels(img, 3, arrowds.Uint16)
	if rgb.Channels != 3 || !reflect.DeepEqual(rgb.Pix16[6:9], []uint16{40000, 40000, 40000}) {
		t.Errorf("gray to RGB: %v", rgb.Pix16)
	}
	c := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	c.SetNRGBA(0, 0, color.NRGBA{R: 200, G: 100, B: 50, A: 255})
	if c3, pt := Native(c); c3 != 3 || pt != arrowds.Uint8 {
		t.Errorf("native colour %d %s", c3, pt)
	}
	l, _ := ToPixels(c, 1, arrowds.Uint8)
	if l.Pix[0] != 124 { // 0.299*200 + 0.587*100 + 0.114*50 = 124.2
		t.Errorf("luma %d, want 124", l.Pix[0])
	}
	o, _ := ToPixels(c, 3, arrowds.Uint8)
	if !reflect.DeepEqual(o.Pix, []uint8{200, 100, 50}) {
		t.Errorf("RGB %v", o.Pix)
	}
	if _, err := ToPixels(c, 2, arrowds.Uint8); err == nil {
		t.Error("2 channels must be refused")
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, err := Decode(strings.NewReader("not an image")); err == nil || !strings.Contains(err.Error(), "not a readable PNG or JPEG") {
		t.Errorf("garbage: %v", err)
	}
	p := filepath.Join(t.TempDir(), "x.png")
	os.WriteFile(p, encodePNG(t, image.NewGray(image.Rect(0, 0, 3, 3)))[:40], 0o644)
	if _, err := DecodeFile(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("truncated file: %v", err)
	}
}

func TestGridAndWritePNG(t *testing.T) {
	a := arrowds.Image{Height: 2, Width: 2, Channels: 1, Pix: []uint8{10, 20, 30, 40}}
	b := arrowds.Image{Height: 1, Width: 1, Channels: 1, Pix16: []uint16{65535}}
	g := Grid([][]arrowds.Image{{a, b}, {a}}, 4)
	gray, ok := g.(*image.Gray)
	if !ok || g.Bounds().Dx() != 2*6+2 || g.Bounds().Dy() != 2*6+2 {
		t.Fatalf("grid %T %v", g, g.Bounds())
	}
	// Cell (0,0) shows a scaled 2x: its top-left 2x2 block is 10.
	if gray.GrayAt(2, 2).Y != 10 || gray.GrayAt(3, 3).Y != 10 || gray.GrayAt(4, 2).Y != 20 || gray.GrayAt(8, 2).Y != 255 {
		t.Errorf("grid pixels wrong")
	}
	c := Grid([][]arrowds.Image{{{Height: 1, Width: 1, Channels: 3, Pix: []uint8{1, 2, 3}}}}, 2)
	if _, ok := c.(*image.RGBA); !ok {
		t.Errorf("colour grid is %T", c)
	}
	out := filepath.Join(t.TempDir(), "sub", "g.png")
	if err := WritePNG(out, g); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeFile(out)
	if err != nil || back.Bounds() != g.Bounds() {
		t.Errorf("written grid: %v %v", err, back)
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 1 {
		t.Errorf("WritePNG left %d files", len(ents))
	}
}

// TestHeaderClaimsBoundedByFileSize: a small JPEG whose frame header
// claims 16384x16384 pixels (the decoder would allocate 384 MB before
// finding the data short) is refused from its header.
func TestHeaderClaimsBoundedByFileSize(t *testing.T) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	i := bytes.Index(data, []byte{0xff, 0xc0}) // SOF0: length(2) precision(1) height(2) width(2)
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	data[i+5], data[i+6], data[i+7], data[i+8] = 0x40, 0, 0x40, 0
	p := filepath.Join(t.TempDir(), "big.jpg")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	_, err := DecodeFile(p)
	runtime.ReadMemStats(&m1)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "cannot hold 16384x16384 pixels") {
		t.Fatalf("got %v", err)
	}
	if a := m1.TotalAlloc - m0.TotalAlloc; a > 8<<20 {
		t.Errorf("refusing the header allocated %d bytes", a)
	}
	// The same frame header after 100 KB of metadata segments (past what
	// Decode peeks at) is found too.
	var padded []byte
	padded = append(padded, data[:2]...) // SOI
	for range 2 {
		seg := make([]byte, 4+60000)
		seg[0], seg[1], seg[2], seg[3] = 0xff, 0xe1, byte((60002)>>8), byte(60002&0xff)
		padded = append(padded, seg...)
	}
	padded = append(padded, data[2:]...)
	pp := filepath.Join(t.TempDir(), "padded.jpg")
	if err := os.WriteFile(pp, padded, 0o644); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&m0)
	_, err = DecodeFile(pp)
	runtime.ReadMemStats(&m1)
	if err == nil || !strings.Contains(err.Error(), "cannot hold 16384x16384 pixels") {
		t.Fatalf("padded: got %v", err)
	}
	if a := m1.TotalAlloc - m0.TotalAlloc; a > 8<<20 {
		t.Errorf("refusing the padded header allocated %d bytes", a)
	}
	// A large image that compresses well still decodes.
	big := filepath.Join(t.TempDir(), "big.png")
	if err := WritePNG(big, image.NewGray(image.Rect(0, 0, 2000, 2000))); err != nil {
		t.Fatal(err)
	}
	if img, err := DecodeFile(big); err != nil || img.Bounds().Dx() != 2000 {
		t.Fatalf("a 2000x2000 blank PNG: %v", err)
	}
}

// TestNotARegularFile: a FIFO named like an image is refused instead of
// blocking the import.
func TestNotARegularFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo.png")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip(err)
	}
	if _, err := DecodeFile(p); err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), p) {
		t.Errorf("DecodeFile: %v", err)
	}
	if _, _, err := DecodeConfig(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("DecodeConfig: %v", err)
	}
	if _, err := DecodeFile(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
}
