package convert

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/npy"
	"github.com/pgaug/pgaug/datasets/synthetic"
)

// sharedData returns a file of the project's shared test data (../shared
// next to the repository), skipping the test when it is absent.
func sharedData(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not present", p)
	}
	return p
}

func open(t *testing.T, path string) *arrowds.Dataset {
	t.Helper()
	d, err := arrowds.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func counts(d *arrowds.Dataset) map[string]map[string]int {
	out := map[string]map[string]int{}
	m := d.Meta()
	for i := 0; i < d.Len(); i++ {
		r := d.Row(i)
		if out[r.Split] == nil {
			out[r.Split] = map[string]int{}
		}
		out[r.Split][m.Classes[r.Label]]++
	}
	return out
}

func TestMedMNISTPneumonia(t *testing.T) {
	src := sharedData(t, "pneumoniamnist.npz")
	out := filepath.Join(t.TempDir(), "pneu")
	var last int
	res, err := MedMNIST(src, MedMNISTOptions{}, Options{Out: out, RowsPerFile: 2000, Progress: func(d, total int) {
		if total != 5030 || d != last+1 {
			t.Fatalf("progress %d/%d after %d", d, total, last)
		}
		last = d
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 5030 || res.Skipped != 0 || last != 5030 {
		t.Errorf("result %+v", res)
	}
	d := open(t, out)
	m := d.Meta()
	if m.Name != "pneumoniamnist" || m.Task != arrowds.Binary || !reflect.DeepEqual(m.Classes, []string{"normal", "pneumonia"}) ||
		m.Channels != 1 || m.PixelType != arrowds.Uint8 || m.Licence != "CC BY 4.0" || !strings.Contains(m.Attribution, "MedMNIST") {
		t.Errorf("metadata %+v", m)
	}
	if len(d.Files()) != 3 {
		t.Errorf("5030 rows at 2000 per file: %d files", len(d.Files()))
	}
	c := counts(d)
	if c["train"]["normal"] != 388 || c["train"]["pneumonia"] != 3494 {
		t.Errorf("train counts %v, want normal 388, pneumonia 3494", c["train"])
	}
	if n := c["val"]["normal"] + c["val"]["pneumonia"]; n != 524 {
		t.Errorf("val has %d rows, want 524", n)
	}
	if n := c["test"]["normal"] + c["test"]["pneumonia"]; n != 624 {
		t.Errorf("test has %d rows, want 624", n)
	}

	// Pixel and label round trip, compared with the arrays read directly.
	a, err := npy.OpenNPZ(src)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	row := 0
	for _, split := range []string{"train", "val", "test"} {
		ir, ic, err := a.Open(split + "_images")
		if err != nil {
			t.Fatal(err)
		}
		lr, lc, err := a.Open(split + "_labels")
		if err != nil {
			t.Fatal(err)
		}
		n := ir.Header().Shape[0]
		want := make([]uint8, 28*28)
		lab := make([]int64, 1)
		var im arrowds.Image
		for i := 0; i < n; i++ {
			if err := ir.ReadUint8(want); err != nil {
				t.Fatal(err)
			}
			if err := lr.ReadInt64(lab); err != nil {
				t.Fatal(err)
			}
			if err := d.ReadImage(row, &im); err != nil {
				t.Fatal(err)
			}
			r := d.Row(row)
			if !bytes.Equal(im.Pix, want) || int64(r.Label) != lab[0] || r.Split != split || r.Height != 28 || r.Width != 28 ||
				r.ID != fmt.Sprintf("pneumoniamnist-%s-%05d", split, i) {
				t.Fatalf("%s image %d (row %d, id %s) differs from the .npz", split, i, row, r.ID)
			}
			row++
		}
		ic.Close()
		lc.Close()
	}
}

// npyBytes encodes a .npy v1.0 array.
func npyBytes(descr string, shape []int, data []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }\n", descr, sh)
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

func writeZip(t *testing.T, path string, method uint16, entries [][2]any) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e[0].(string), Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e[1].([]byte))
	}
	zw.Close()
	f.Close()
}

func seq(n int, mul int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * mul)
	}
	return b
}

func TestMedMNISTMultilabelColourAndOrder(t *testing.T) {
	dir := t.TempDir()
	// ChestMNIST-like: 14 multi-hot labels, entries in reverse order, deflated.
	lab := make([]byte, 3*14)
	lab[0], lab[14+5], lab[14+6], lab[41] = 1, 1, 1, 1
	chest := filepath.Join(dir, "chestmnist_64.npz")
	writeZip(t, chest, zip.Deflate, [][2]any{
		{"test_labels.npy", npyBytes("|u1", []int{1, 14}, lab[28:])},
		{"train_labels.npy", npyBytes("|u1", []int{2, 14}, lab[:28])},
		{"test_images.npy", npyBytes("|u1", []int{1, 64, 64}, seq(64*64, 3))},
		{"train_images.npy", npyBytes("|u1", []int{2, 64, 64}, seq(2*64*64, 1))},
	})
	res, err := MedMNIST(chest, MedMNISTOptions{}, Options{Out: filepath.Join(dir, "chest")})
	if err != nil {
		t.Fatal(err)
	}
	d := open(t, res.Path)
	m := d.Meta()
	if m.Task != arrowds.Multilabel || len(m.Classes) != 14 || m.Classes[0] != "atelectasis" || m.Name != "chestmnist" {
		t.Fatalf("metadata %+v", m)
	}
	want := [][]int32{
		{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0},
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	}
	for i, w := range want {
		s, err := d.ReadSample(i)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s.Labels, w) || s.Label != -1 {
			t.Errorf("row %d labels %v, want %v", i, s.Labels, w)
		}
	}
	if s, _ := d.ReadSample(2); s.Split != "test" || s.Pix[1] != 3 || s.Height != 64 {
		t.Errorf("test row: split %s pix %v size %d", s.Split, s.Pix[:2], s.Height)
	}

	// Colour (N, H, W, 3), stored entries, an unknown flag: classes from labels.
	col := filepath.Join(dir, "mycolour.npz")
	writeZip(t, col, zip.Store, [][2]any{
		{"train_images.npy", npyBytes("|u1", []int{2, 4, 5, 3}, seq(2*4*5*3, 7))},
		{"train_labels.npy", npyBytes("<i8", []int{2, 1}, []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})},
	})
	res, err = MedMNIST(col, MedMNISTOptions{}, Options{Out: filepath.Join(dir, "col.arrow")})
	if err != nil {
		t.Fatal(err)
	}
	d = open(t, res.Path)
	m = d.Meta()
	if m.Channels != 3 || !reflect.DeepEqual(m.Classes, []string{"0", "1", "2"}) || m.Task != arrowds.Multiclass {
		t.Errorf("metadata %+v", m)
	}
	s, _ := d.ReadSample(1)
	if !bytes.Equal(s.Pix, seq(2*4*5*3, 7)[60:]) || s.Label != 0 || s.Channels != 3 {
		t.Errorf("colour row 1: %v label %d", s.Pix[:6], s.Label)
	}

	// A 3-D volume is refused with a clear error.
	vol := filepath.Join(dir, "organmnist3d.npz")
	writeZip(t, vol, zip.Store, [][2]any{
		{"train_images.npy", npyBytes("|u1", []int{1, 4, 4, 4}, seq(64, 1))},
		{"train_labels.npy", npyBytes("|u1", []int{1, 1}, []byte{0})},
	})
	if _, err := MedMNIST(vol, MedMNISTOptions{}, Options{Out: filepath.Join(dir, "vol")}); err == nil || !strings.Contains(err.Error(), "3-D") {
		t.Errorf("3-D volume: %v", err)
	}
}

func TestMedMNISTBadRows(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "pneumoniamnist.npz")
	writeZip(t, src, zip.Deflate, [][2]any{
		{"train_images.npy", npyBytes("|u1", []int{4, 2, 2}, seq(16, 1))},
		{"train_labels.npy", npyBytes("|u1", []int{4, 1}, []byte{0, 1, 7, 1})},
	})
	_, err := MedMNIST(src, MedMNISTOptions{}, Options{Out: filepath.Join(dir, "a")})
	if err == nil || !strings.Contains(err.Error(), "pneumoniamnist.npz: entry train_labels.npy, row 2: label 7 out of range [0,2)") {
		t.Errorf("error %v should name the file, entry and row", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Errorf("a failed import left output behind: %v", err)
	}
	res, err := MedMNIST(src, MedMNISTOptions{}, Options{Out: filepath.Join(dir, "b"), SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || res.Skipped != 1 || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "row 2") {
		t.Errorf("skip-bad result %+v", res)
	}
	d := open(t, res.Path)
	if d.Len() != 3 || d.Row(2).ID != "pneumoniamnist-train-00003" {
		t.Errorf("after skipping: %d rows, last id %s", d.Len(), d.Row(d.Len()-1).ID)
	}

	// A truncated image array is fatal even with --skip-bad: its entry is
	// shorter than its shape, which opening the array checks.
	trunc := filepath.Join(dir, "trunc.npz")
	writeZip(t, trunc, zip.Store, [][2]any{
		{"train_images.npy", npyBytes("|u1", []int{4, 2, 2}, seq(10, 1))},
		{"train_labels.npy", npyBytes("|u1", []int{4, 1}, []byte{0, 1, 0, 1})},
	})
	_, err = MedMNIST(trunc, MedMNISTOptions{Flag: "pneumoniamnist"}, Options{Out: filepath.Join(dir, "c"), SkipBad: true})
	if err == nil || !strings.Contains(err.Error(), "trunc.npz: entry train_images.npy: the header declares uint8 (4, 2, 2)") {
		t.Errorf("truncated images: %v", err)
	}
	// Label count mismatch.
	mis := filepath.Join(dir, "mis.npz")
	writeZip(t, mis, zip.Store, [][2]any{
		{"train_images.npy", npyBytes("|u1", []int{4, 2, 2}, seq(16, 1))},
		{"train_labels.npy", npyBytes("|u1", []int{3, 1}, []byte{0, 1, 0})},
	})
	if _, err = MedMNIST(mis, MedMNISTOptions{}, Options{Out: filepath.Join(dir, "d")}); err == nil || !strings.Contains(err.Error(), "train_labels.npy is uint8 (3, 1); want (4, K)") {
		t.Errorf("label count mismatch: %v", err)
	}
	if _, err = MedMNIST(filepath.Join(dir, "nope.npz"), MedMNISTOptions{}, Options{Out: filepath.Join(dir, "e")}); err == nil {
		t.Error("a missing file must be an error")
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, b.Bytes(), 0o644)
}

func TestFolderPNG16AndJPEG(t *testing.T) {
	root := filepath.Join(t.TempDir(), "xr")
	g16 := image.NewGray16(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		g16.SetGray16(i%3, i/3, color.Gray16{Y: uint16(i*10000 + 7)})
	}
	writePNG(t, filepath.Join(root, "normal", "a.png"), g16)
	writePNG(t, filepath.Join(root, "normal", "sub", "b.png"), g16)
	g8 := image.NewGray(image.Rect(0, 0, 2, 2))
	g8.Pix = []uint8{0, 100, 200, 255}
	writePNG(t, filepath.Join(root, "effusion", "c.png"), g8)
	os.WriteFile(filepath.Join(root, "effusion", "notes.txt"), []byte("ignored"), 0o644)
	res, err := Folder(root, FolderOptions{}, Options{Out: filepath.Join(t.TempDir(), "out")})
	if err != nil {
		t.Fatal(err)
	}
	d := open(t, res.Path)
	m := d.Meta()
	if !reflect.DeepEqual(m.Classes, []string{"effusion", "normal"}) || m.PixelType != arrowds.Uint16 || m.Channels != 1 {
		t.Fatalf("metadata %+v", m)
	}
	if d.Len() != 3 {
		t.Fatalf("%d rows", d.Len())
	}
	s0, _ := d.ReadSample(0)
	if s0.ID != "effusion/c.png" || s0.Label != 0 || !reflect.DeepEqual(s0.Pix16, []uint16{0, 25700, 51400, 65535}) {
		t.Errorf("row 0 %s label %d pix %v", s0.ID, s0.Label, s0.Pix16)
	}
	s1, _ := d.ReadSample(1)
	want := []uint16{7, 10007, 20007, 30007, 40007, 50007}
	if s1.ID != "normal/a.png" || s1.Label != 1 || s1.Split != "train" || !reflect.DeepEqual(s1.Pix16, want) || s1.Width != 3 {
		t.Errorf("row 1 %s label %d pix %v", s1.ID, s1.Label, s1.Pix16)
	}
	if d.Row(2).ID != "normal/sub/b.png" {
		t.Errorf("row 2 id %s", d.Row(2).ID)
	}

	// Split level, RGB JPEG stored as gray 8-bit, a corrupt file.
	root2 := filepath.Join(t.TempDir(), "splits")
	rgb := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < len(rgb.Pix); i += 4 {
		rgb.Pix[i], rgb.Pix[i+1], rgb.Pix[i+2], rgb.Pix[i+3] = 200, 100, 50, 255
	}
	var jb bytes.Buffer
	jpeg.Encode(&jb, rgb, &jpeg.Options{Quality: 100})
	os.MkdirAll(filepath.Join(root2, "train", "cat"), 0o755)
	os.MkdirAll(filepath.Join(root2, "valid", "dog"), 0o755)
	os.WriteFile(filepath.Join(root2, "train", "cat", "x.jpg"), jb.Bytes(), 0o644)
	os.WriteFile(filepath.Join(root2, "valid", "dog", "y.JPEG"), jb.Bytes(), 0o644)
	os.WriteFile(filepath.Join(root2, "valid", "dog", "broken.png"), []byte("\x89PNG garbage"), 0o644)
	_, err = Folder(root2, FolderOptions{ImageOptions: ImageOptions{Channels: 1, PixelType: arrowds.Uint8}}, Options{Out: filepath.Join(t.TempDir(), "o")})
	if err == nil || !strings.Contains(err.Error(), filepath.Join("valid", "dog", "broken.png")) {
		t.Fatalf("corrupt image: %v", err)
	}
	res, err = Folder(root2, FolderOptions{ImageOptions: ImageOptions{Channels: 1, PixelType: arrowds.Uint8}},
		Options{Out: filepath.Join(t.TempDir(), "o"), SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 2 || res.Skipped != 1 || res.PerSplit["train"] != 1 || res.PerSplit["val"] != 1 {
		t.Errorf("result %+v", res)
	}
	d = open(t, res.Path)
	s, _ := d.ReadSample(0)
	// Luma of (200,100,50): 0.299*200+0.587*100+0.114*50 = 124.2 (JPEG may shift it by a little).
	if s.Channels != 1 || s.Pix[27] < 120 || s.Pix[27] > 129 {
		t.Errorf("gray from RGB JPEG: %d", s.Pix[27])
	}
}

func TestCSVImport(t *testing.T) {
	dir := t.TempDir()
	g := image.NewGray(image.Rect(0, 0, 2, 1))
	g.Pix = []uint8{9, 99}
	writePNG(t, filepath.Join(dir, "img", "1.png"), g)
	writePNG(t, filepath.Join(dir, "img", "2.png"), g)
	writePNG(t, filepath.Join(dir, "img", "3.png"), g)
	csvPath := filepath.Join(dir, "list.csv")
	os.WriteFile(csvPath, []byte("label,path,split,patient\r\nsick,img/1.png,train,p1\r\nwell,img/2.png,val,p1\r\n\"sick\",img/3.png,test,p2\r\n"), 0o644)
	res, err := CSV(csvPath, CSVOptions{}, Options{Out: filepath.Join(dir, "out")})
	if err != nil {
		t.Fatal(err)
	}
	d := open(t, res.Path)
	if !reflect.DeepEqual(d.Meta().Classes, []string{"sick", "well"}) || d.Len() != 3 || !d.Columns().Group {
		t.Fatalf("classes %v rows %d cols %+v", d.Meta().Classes, d.Len(), d.Columns())
	}
	for i, w := range []struct {
		label        int32
		split, group string
	}{{0, "train", "p1"}, {1, "val", "p1"}, {0, "test", "p2"}} {
		r := d.Row(i)
		if r.Label != w.label || r.Split != w.split || r.Group != w.group || r.ID != fmt.Sprintf("img/%d.png", i+1) {
			t.Errorf("row %d: %+v", i, r)
		}
	}
	// No header, LF, a missing file on line 2.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("img/1.png,a\nimg/missing.png,b\nimg/2.png,b\n"), 0o644)
	_, err = CSV(bad, CSVOptions{}, Options{Out: filepath.Join(dir, "bad")})
	if err == nil || !strings.Contains(err.Error(), "bad.csv, line 2") || !strings.Contains(err.Error(), "missing.png") {
		t.Errorf("missing image: %v", err)
	}
	short := filepath.Join(dir, "short.csv")
	os.WriteFile(short, []byte("img/1.png,a\nimg/2.png\nimg/3.png,b\n"), 0o644)
	_, err = CSV(short, CSVOptions{}, Options{Out: filepath.Join(dir, "short")})
	if err == nil || !strings.Contains(err.Error(), "short.csv, line 2: want path,label") {
		t.Errorf("short row: %v", err)
	}
	res, err = CSV(short, CSVOptions{}, Options{Out: filepath.Join(dir, "short"), SkipBad: true})
	if err != nil || res.Rows != 2 || res.Skipped != 1 {
		t.Errorf("skip-bad: %+v %v", res, err)
	}
}

func TestFashionMNISTIDX(t *testing.T) {
	const dir = "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("dataset-fashion-mnist is not installed (scripts/setup.sh --test-deps installs it)")
	}
	if testing.Short() {
		t.Skip("70,000 images")
	}
	res, err := IDX(dir, IDXOptions{}, Options{Out: filepath.Join(t.TempDir(), "fm")})
	if err != nil {
		t.Fatal(err)
	}
	d := open(t, res.Path)
	m := d.Meta()
	if !reflect.DeepEqual(m.Classes, FashionMNISTClasses) || m.Task != arrowds.Multiclass || m.Licence != "MIT" {
		t.Errorf("metadata %+v", m)
	}
	c := counts(d)
	for _, cl := range FashionMNISTClasses {
		if c["train"][cl] != 6000 || c["test"][cl] != 1000 {
			t.Errorf("class %s: train %d test %d, want 6000 and 1000", cl, c["train"][cl], c["test"][cl])
		}
	}
	if d.Row(0).Height != 28 || d.Row(0).Width != 28 {
		t.Errorf("size %dx%d", d.Row(0).Height, d.Row(0).Width)
	}
}

func TestMURA(t *testing.T) {
	root := t.TempDir()
	g := image.NewGray(image.Rect(0, 0, 4, 3))
	paths := []string{
		"MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image1.png",
		"MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image2.png",
		"MURA-v1.1/train/XR_ELBOW/patient00002/study1_negative/image1.png",
		"MURA-v1.1/valid/XR_WRIST/patient11185/study2_negative/image1.png",
	}
	for _, p := range paths {
		writePNG(t, filepath.Join(root, p), g)
	}
	mura := filepath.Join(root, "MURA-v1.1")
	os.WriteFile(filepath.Join(mura, "train_image_paths.csv"), []byte("path\r\n"+strings.Join(paths[:3], "\r\n")+"\r\n"), 0o644)
	os.WriteFile(filepath.Join(mura, "valid_image_paths.csv"), []byte(paths[3]+"\n"), 0o644)
	res, err := MURA(mura, MURAOptions{BodyParts: []string{"wrist"}}, Options{Out: filepath.Join(root, "out")})
	if err != nil {
		t.Fatal(err)
	}
	d := open(t, res.Path)
	if d.Len() != 3 || d.Meta().Task != arrowds.Binary {
		t.Fatalf("%d rows", d.Len())
	}
	want := []struct {
		label        int32
		split, group string
	}{
		{1, "train", "XR_WRIST/patient00001/study1_positive"},
		{1, "train", "XR_WRIST/patient00001/study1_positive"},
		{0, "val", "XR_WRIST/patient11185/study2_negative"},
	}
	for i, w := range want {
		r := d.Row(i)
		if r.Label != w.label || r.Split != w.split || r.Group != w.group || r.Height != 3 || r.Width != 4 {
			t.Errorf("row %d: %+v, want %+v", i, r, w)
		}
	}
	// A path without a study folder names the CSV line.
	os.WriteFile(filepath.Join(mura, "train_image_paths.csv"), []byte(paths[0]+"\nMURA-v1.1/train/XR_HAND/oops.png\n"), 0o644)
	_, err = MURA(mura, MURAOptions{}, Options{Out: filepath.Join(root, "out2")})
	if err == nil || !strings.Contains(err.Error(), "train_image_paths.csv, line 2") {
		t.Errorf("bad path: %v", err)
	}
}

func TestSyntheticDeterministic(t *testing.T) {
	cfg := synthetic.Default()
	cfg.Count, cfg.Classes = 60, 3
	dir := t.TempDir()
	write := func(name string, c synthetic.Config, workers int) []byte {
		p := filepath.Join(dir, name+".arrow")
		if _, err := Synthetic(c, Options{Out: p, Workers: workers}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		return b
	}
	a, b := write("a", cfg, 1), write("b", cfg, 3)
	if !bytes.Equal(a, b) {
		t.Error("the same seed must give the same file, whatever the worker count")
	}
	cfg.Seed = 2
	if bytes.Equal(a, write("c", cfg, 2)) {
		t.Error("another seed must give other images")
	}
	d := open(t, filepath.Join(dir, "a.arrow"))
	c := counts(d)
	for _, cl := range []string{"normal", "ring", "streak"} {
		if c["train"][cl] != 14 || c["val"][cl] != 3 || c["test"][cl] != 3 {
			t.Errorf("class %s: %d/%d/%d, want 14/3/3 (70/15/15 of 20)", cl, c["train"][cl], c["val"][cl], c["test"][cl])
		}
	}
}
