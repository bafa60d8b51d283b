package convert

import (
	"archive/zip"
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/fuzzcorpus"
)

// fuzzImages returns small encoded images: 8-bit gray, 16-bit gray and RGB
// PNGs and an RGB JPEG.
func fuzzImages(tb testing.TB) (gray, gray16, rgb, jpg []byte) {
	enc := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			tb.Fatal(err)
		}
		return b.Bytes()
	}
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(g.Pix, []uint8{0, 50, 100, 150, 200, 250})
	g16 := image.NewGray16(image.Rect(0, 0, 2, 2))
	g16.SetGray16(1, 1, color.Gray16{Y: 40000})
	c := image.NewRGBA(image.Rect(0, 0, 4, 3))
	for i := range c.Pix {
		c.Pix[i] = uint8(17 * i)
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, c, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return enc(g), enc(g16), enc(c), jb.Bytes()
}

// checkImport checks what an importer left behind: on error, an error
// naming want and nothing at the output path nor beside it; on success, a
// dataset with the rows the result reports.
func checkImport(t *testing.T, outDir, out string, res Result, err error, want string) {
	t.Helper()
	if err != nil {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("the error does not name %s: %v", want, err)
		}
		ents, _ := os.ReadDir(outDir)
		if len(ents) != 0 {
			t.Fatalf("a failed import left %v in the output directory", ents)
		}
		return
	}
	d, err := arrowds.Open(out)
	if err != nil {
		t.Fatalf("the imported dataset does not open: %v", err)
	}
	defer d.Close()
	if d.Len() != res.Rows || res.Rows == 0 {
		t.Fatalf("the result says %d rows, the dataset has %d", res.Rows, d.Len())
	}
	for i := 0; i < d.Len(); i++ {
		if _, err := d.ReadSample(i); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzCSV imports an arbitrary CSV listing (of the images a.png, b.png,
// c.png and d.jpg, or of anything else) into a dataset. The import must
// succeed or fail with an error naming the CSV file, never panic, and a
// failed import must leave no output. Listings that leave the image
// directory ('/' or "..") are skipped, so that the target reads only its
// own files.
func FuzzCSV(f *testing.F) {
	gray, gray16, rgb, jpg := fuzzImages(f)
	dir := f.TempDir()
	imgDir := filepath.Join(dir, "img")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		f.Fatal(err)
	}
	for name, data := range map[string][]byte{"a.png": gray, "b.png": gray16, "c.png": rgb, "d.jpg": jpg, "e.png": gray[:30]} {
		if err := os.WriteFile(filepath.Join(imgDir, name), data, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	fuzzcorpus.Add(f, "header-crlf", []byte("label,path,split,patient\r\nsick,a.png,train,p1\r\nwell,b.png,val,p1\r\n\"sick\",c.png,test,p2\r\n"), false)
	fuzzcorpus.Add(f, "no-header", []byte("a.png,0\nb.png,1\nd.jpg,1\n"), false)
	fuzzcorpus.Add(f, "bad-rows-skipped", []byte("a.png,x\nmissing.png,y\nb.png\ne.png,y\nc.png,y,nosplit\n\"unterminated,y\n"), true)
	fuzzcorpus.Add(f, "multilabel-cells", []byte("image,labels,fold\na.png,x;y,train\nb.png,y,valid\nd.jpg, ;x;,test\n"), false)
	f.Add([]byte(""), false)
	f.Add([]byte("path,label\n"), true)
	csvPath := filepath.Join(dir, "list.csv")
	f.Fuzz(func(t *testing.T, data []byte, skipBad bool) {
		if bytes.Contains(data, []byte("/")) || bytes.Contains(data, []byte("..")) {
			t.Skip("outside the image directory")
		}
		if err := os.WriteFile(csvPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		outDir := t.TempDir()
		out := filepath.Join(outDir, "out.arrow")
		multi := bytes.Contains(data, []byte(";"))
		res, err := CSV(csvPath, CSVOptions{Root: imgDir, Multilabel: multi}, Options{Out: out, SkipBad: skipBad, Workers: 1})
		checkImport(t, outDir, out, res, err, csvPath)
		if err == nil && len(res.Problems) > 0 && !skipBad {
			t.Fatalf("problems %v without SkipBad", res.Problems)
		}
	})
}

// FuzzFolder imports a class folder tree in which one image file holds
// arbitrary bytes (named .png or .jpg) beside valid images. The import
// must succeed, skip the file (with SkipBad) or fail with an error naming
// it, never panic nor allocate far more than the file could hold, and a
// failed import must leave no output.
func FuzzFolder(f *testing.F) {
	gray, gray16, rgb, jpg := fuzzImages(f)
	fuzzcorpus.Add(f, "png-gray", gray, false, false)
	fuzzcorpus.Add(f, "png-gray16", gray16, false, true)
	fuzzcorpus.Add(f, "png-rgb", rgb, false, false)
	fuzzcorpus.Add(f, "jpeg", jpg, true, false)
	fuzzcorpus.Add(f, "png-truncated", gray[:len(gray)-12], false, true)
	fuzzcorpus.Add(f, "jpeg-truncated", jpg[:len(jpg)/2], true, false)
	f.Add([]byte("\x89PNG\r\n\x1a\n"), false, false)
	f.Add([]byte{0xff, 0xd8, 0xff}, true, true)
	root := filepath.Join(f.TempDir(), "xr")
	for _, d := range []string{"cat", "dog"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "cat", "a.png"), gray, 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "dog", "b.jpg"), jpg, 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, asJPEG, skipBad bool) {
		name := filepath.Join(root, "dog", "fuzz.png")
		if asJPEG {
			name = filepath.Join(root, "dog", "fuzz.jpg")
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(name)
		outDir := t.TempDir()
		out := filepath.Join(outDir, "out.arrow")
		res, err := Folder(root, FolderOptions{}, Options{Out: out, SkipBad: skipBad, Workers: 1})
		checkImport(t, outDir, out, res, err, name)
		if err == nil && res.Rows+res.Skipped != 3 {
			t.Fatalf("%d rows and %d skipped of 3 images", res.Rows, res.Skipped)
		}
		if err == nil && res.Skipped > 0 && !strings.Contains(strings.Join(res.Problems, "\n"), name) {
			t.Fatalf("the problems %q do not name %s", res.Problems, name)
		}
	})
}

// zipBytes builds a zip archive in memory.
func zipBytes(tb testing.TB, method uint16, entries ...[2]any) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e[0].(string), Method: method})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(e[1].([]byte)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// FuzzMedMNIST imports an arbitrary .npz file as a MedMNIST archive
// (named pneumoniamnist.npz, a known binary flag, or with an unknown flag).
// The import must succeed or fail with an error naming the file, never
// panic nor allocate more than the archive's entries could hold, and a
// failed import must leave no output.
func FuzzMedMNIST(f *testing.F) {
	bin := zipBytes(f, zip.Deflate,
		[2]any{"train_images.npy", npyBytes("|u1", []int{3, 2, 2}, seq(12, 7))},
		[2]any{"train_labels.npy", npyBytes("|u1", []int{3, 1}, []byte{0, 1, 1})},
		[2]any{"test_images.npy", npyBytes("|u1", []int{1, 2, 2}, seq(4, 3))},
		[2]any{"test_labels.npy", npyBytes("<i8", []int{1, 1}, []byte{1, 0, 0, 0, 0, 0, 0, 0})})
	multi := zipBytes(f, zip.Store,
		[2]any{"val_images.npy", npyBytes("|u1", []int{2, 2, 1, 3}, seq(12, 5))},
		[2]any{"val_labels.npy", npyBytes("|u1", []int{2, 3}, []byte{0, 1, 1, 1, 0, 0})})
	fuzzcorpus.Add(f, "binary-deflated", bin, false)
	fuzzcorpus.Add(f, "multilabel-rgb-stored", multi, true)
	fuzzcorpus.Add(f, "truncated", bin[:len(bin)*3/4], false)
	fuzzcorpus.Add(f, "bad-label", zipBytes(f, zip.Store,
		[2]any{"train_images.npy", npyBytes("|u1", []int{2, 1, 1}, []byte{1, 2})},
		[2]any{"train_labels.npy", npyBytes("|u1", []int{2}, []byte{0, 9})}), false)
	fuzzcorpus.Add(f, "zero-images", zeroImages(f), true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, known bool) {
		path := filepath.Join(dir, "x_28.npz")
		if known {
			path = filepath.Join(dir, "pneumoniamnist.npz")
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		outDir := t.TempDir()
		out := filepath.Join(outDir, "out.arrow")
		res, err := MedMNIST(path, MedMNISTOptions{}, Options{Out: out, SkipBad: true})
		checkImport(t, outDir, out, res, err, path)
	})
}

func zeroImages(tb testing.TB) []byte {
	return zipBytes(tb, zip.Store,
		[2]any{"train_images.npy", npyBytes("|u1", []int{0, 28, 28}, nil)},
		[2]any{"train_labels.npy", npyBytes("|u1", []int{0, 1}, nil)})
}

// TestMedMNISTNoImagesNamesTheFile: an archive whose arrays hold no images
// is an error naming it (it said only "the input has no images").
func TestMedMNISTNoImagesNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pneumoniamnist.npz")
	if err := os.WriteFile(path, zeroImages(t), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	_, err := MedMNIST(path, MedMNISTOptions{}, Options{Out: out})
	if err == nil || !strings.Contains(err.Error(), path+" has no images") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output left behind: %v", err)
	}
}

// TestCSVLabelsMustBeUTF8: labels that are not valid UTF-8 (FuzzCSV's
// crasher 34216bf09ae186cc: "\xd1" and "\x89", two classes that both became
// "\ufffd" in the metadata's JSON, so the imported dataset did not open)
// are bad rows naming the file and line; the writer refuses such class
// names too.
func TestCSVLabelsMustBeUTF8(t *testing.T) {
	gray, _, _, _ := fuzzImages(t)
	dir := t.TempDir()
	for _, n := range []string{"a.png", "b.png", "c.png"} {
		if err := os.WriteFile(filepath.Join(dir, n), gray, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	csvPath := filepath.Join(dir, "list.csv")
	if err := os.WriteFile(csvPath, []byte("a.png,\xd1\nb.png,\x89\nc.png,ok\na.png,fine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := CSV(csvPath, CSVOptions{}, Options{Out: filepath.Join(dir, "o1")})
	if err == nil || !strings.Contains(err.Error(), csvPath+", line 1: label \"\\xd1\" is not valid UTF-8") {
		t.Fatalf("got %v", err)
	}
	out := filepath.Join(dir, "o2")
	res, err := CSV(csvPath, CSVOptions{}, Options{Out: out, SkipBad: true})
	if err != nil || res.Rows != 2 || res.Skipped != 2 {
		t.Fatalf("skip-bad: %+v %v", res, err)
	}
	d, err := arrowds.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	meta := arrowds.Metadata{Name: "x", Task: arrowds.Binary, Classes: []string{"\xd1", "\x89"}, Channels: 1, PixelType: arrowds.Uint8}
	if _, err := arrowds.Create(filepath.Join(dir, "o3.arrow"), arrowds.WriterOptions{Meta: meta}); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Fatalf("Create: %v", err)
	}
}

// FuzzMURA imports an arbitrary train_image_paths.csv of a MURA tree (of its
// images, truncated ones included, or of anything else). The import must
// succeed or fail with an error naming the CSV file, never panic, and a
// failed import must leave no output. Listings with ".." or an absolute
// path are skipped, so that the target reads only its own files.
func FuzzMURA(f *testing.F) {
	gray, gray16, _, jpg := fuzzImages(f)
	root := f.TempDir()
	mura := filepath.Join(root, "MURA-v1.1")
	files := map[string][]byte{
		"train/XR_WRIST/patient00001/study1_positive/image1.png": gray,
		"train/XR_WRIST/patient00001/study1_positive/image2.png": gray16,
		"train/XR_ELBOW/patient00002/study1_negative/image1.png": jpg,
		"train/XR_HAND/patient00003/study2_negative/image1.png":  gray[:30],
	}
	for name, data := range files {
		p := filepath.Join(mura, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	fuzzcorpus.Add(f, "header-crlf", []byte("path\r\nMURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image1.png\r\n"+
		"MURA-v1.1/train/XR_ELBOW/patient00002/study1_negative/image1.png\r\n"), false)
	fuzzcorpus.Add(f, "relative-with-labels", []byte("train/XR_WRIST/patient00001/study1_positive/image2.png,1\n"+
		"train/XR_ELBOW/patient00002/study1_negative/image1.png,0\n"), false)
	fuzzcorpus.Add(f, "bad-rows-skipped", []byte("MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image1.png\n"+
		"MURA-v1.1/train/XR_HAND/patient00003/study2_negative/image1.png\nMURA-v1.1/train/XR_HAND/oops.png\n"), true)
	f.Add([]byte(""), false)
	f.Add([]byte("path\n"), true)
	csvPath := filepath.Join(mura, "train_image_paths.csv")
	f.Fuzz(func(t *testing.T, data []byte, skipBad bool) {
		if bytes.Contains(data, []byte("..")) || bytes.HasPrefix(data, []byte("/")) || bytes.Contains(data, []byte("\n/")) ||
			bytes.Contains(data, []byte(",/")) || bytes.Contains(data, []byte("\r/")) {
			t.Skip("outside the MURA tree")
		}
		if err := os.WriteFile(csvPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		outDir := t.TempDir()
		out := filepath.Join(outDir, "out.arrow")
		res, err := MURA(csvPath, MURAOptions{}, Options{Out: out, SkipBad: skipBad, Workers: 1})
		checkImport(t, outDir, out, res, err, csvPath)
	})
}
