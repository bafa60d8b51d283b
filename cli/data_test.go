package cli

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/datasets/arrowds"
)

// run runs pgaug with the arguments and returns stdout, stderr and the exit
// code Main would return.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	app := NewApp(&out, &errb)
	err := app.Run(intersperse(app, append([]string{"pgaug"}, args...)))
	code := 0
	if err != nil {
		code = 1
		var ec cli.ExitCoder
		if errors.As(err, &ec) && ec.ExitCode() != 0 {
			code = ec.ExitCode()
		}
		fmt.Fprintf(&errb, "pgaug: %v\n", err)
	}
	return out.String(), errb.String(), code
}

func npyBytes(descr string, shape []int, data []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }\n", descr, strings.Join(dims, ", "))
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

// tinyNPZ writes a MedMNIST-style archive: n 4x4 images per split, labels
// alternating 0/1 (row bad, if >= 0, gets label 9).
func tinyNPZ(t *testing.T, path string, n, bad int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, split := range []string{"train", "val", "test"} {
		img := make([]byte, n*16)
		for i := range img {
			img[i] = byte(i)
		}
		lab := make([]byte, n)
		for i := range lab {
			lab[i] = byte(i % 2)
			if split == "train" && i == bad {
				lab[i] = 9
			}
		}
		for name, data := range map[string][]byte{
			split + "_images.npy": npyBytes("|u1", []int{n, 4, 4}, img),
			split + "_labels.npy": npyBytes("|u1", []int{n, 1}, lab),
		} {
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
			w.Write(data)
		}
	}
	zw.Close()
	f.Close()
}

func TestDataImportInspectStatsSplitSample(t *testing.T) {
	dir := t.TempDir()
	npz := filepath.Join(dir, "breastmnist.npz")
	tinyNPZ(t, npz, 40, -1)
	ds := filepath.Join(dir, "ds")
	// Flags after the positional argument, as people type them.
	out, errOut, code := run(t, "data", "import", "medmnist", npz, "-o", ds, "--rows-per-file", "50")
	if code != 0 {
		t.Fatalf("import exited %d:\n%s", code, errOut)
	}
	if !strings.Contains(out, "wrote "+ds+": 120 rows (train 40, val 40, test 40)") || !strings.Contains(out, "malignant=60") {
		t.Errorf("import output:\n%s", out)
	}
	if !strings.Contains(errOut, "importing 120/120 (100%)") {
		t.Errorf("no progress on stderr:\n%s", errOut)
	}
	d, err := arrowds.Open(ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Files()) != 3 || d.Meta().Name != "breastmnist" {
		t.Errorf("%d files, name %s", len(d.Files()), d.Meta().Name)
	}
	d.Close()

	grid := filepath.Join(dir, "grid.png")
	out, errOut, code = run(t, "data", "inspect", ds, "--grid", grid, "--per-class", "3", "--cell", "8")
	if code != 0 {
		t.Fatalf("inspect exited %d:\n%s", code, errOut)
	}
	for _, want := range []string{"120 rows", "binary, 2 classes", "all 4x4x1", "malignant", "normal, benign", "not computed"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	f, err := os.Open(grid)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() != 3*10+2 || img.Bounds().Dy() != 2*10+2 {
		t.Errorf("grid: %v %v", err, img)
	}

	out, errOut, code = run(t, "data", "stats", ds)
	if code != 0 || !strings.Contains(out, "split \"train\": mean [") {
		t.Fatalf("stats exited %d:\n%s%s", code, out, errOut)
	}
	d, _ = arrowds.Open(ds)
	if m := d.Meta(); len(m.NormMean) != 1 || m.NormSplit != "train" {
		t.Errorf("stats not in the metadata: %+v", m)
	}
	d.Close()

	split := filepath.Join(dir, "split")
	out, errOut, code = run(t, "data", "split", ds, "-o", split, "--fractions", "0.5,0.25,0.25", "--seed", "3")
	if code != 0 || !strings.Contains(out, "train 60, val 30, test 30") {
		t.Fatalf("split exited %d:\n%s%s", code, out, errOut)
	}
	k := filepath.Join(dir, "k2")
	out, errOut, code = run(t, "data", "sample", split, "-o", k, "--per-class", "2", "--keep-other")
	if code != 0 || !strings.Contains(out, "wrote "+k+": 64 rows (train 4, val 30, test 30)") {
		t.Fatalf("sample exited %d:\n%s%s", code, out, errOut)
	}
	// Replacing needs --force.
	if _, errOut, code = run(t, "data", "sample", split, "-o", k, "-k", "2"); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("sample over an existing output: %d %s", code, errOut)
	}
}

func TestDataImportErrors(t *testing.T) {
	dir := t.TempDir()
	npz := filepath.Join(dir, "pneumoniamnist.npz")
	tinyNPZ(t, npz, 10, 3)
	_, errOut, code := run(t, "data", "import", "medmnist", npz, "-o", filepath.Join(dir, "a"))
	if code != 1 || !strings.Contains(errOut, "pneumoniamnist.npz: entry train_labels.npy, row 3: label 9 out of range [0,2)") {
		t.Errorf("bad label: exit %d\n%s", code, errOut)
	}
	if strings.Contains(errOut, "panic") {
		t.Errorf("panic:\n%s", errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Error("a failed import left its output")
	}
	out, errOut, code := run(t, "data", "import", "medmnist", "--skip-bad", npz, "-o", filepath.Join(dir, "b"))
	if code != 0 || !strings.Contains(out, "29 rows") || !strings.Contains(out, "1 skipped") || !strings.Contains(errOut, "skipped: ") {
		t.Errorf("skip-bad: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code = run(t, "data", "import", "medmnist", npz); code != 2 || !strings.Contains(errOut, "--output is required") {
		t.Errorf("missing -o: exit %d %s", code, errOut)
	}
	if _, errOut, code = run(t, "data", "import", "tiff", "x"); code != 2 || !strings.Contains(errOut, `unknown import format "tiff"`) {
		t.Errorf("unknown format: exit %d %s", code, errOut)
	}
	if _, errOut, code = run(t, "data", "import", "synthetic", "-o", filepath.Join(dir, "s"), "--fractions", "0.5,0.6"); code != 2 || !strings.Contains(errOut, "sum to") {
		t.Errorf("bad fractions: exit %d %s", code, errOut)
	}
	if _, errOut, code = run(t, "data", "inspect", filepath.Join(dir, "nope")); code != 1 || !strings.Contains(errOut, "nope") {
		t.Errorf("missing dataset: exit %d %s", code, errOut)
	}
}

func TestDataImportSyntheticDeterministic(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.arrow", "b.arrow"} {
		if _, errOut, code := run(t, "data", "import", "synthetic", "-o", filepath.Join(dir, name), "--count", "30", "--size", "24", "--classes", "3", "--seed", "5"); code != 0 {
			t.Fatalf("synthetic: %s", errOut)
		}
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a.arrow"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.arrow"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the same flags must give the same file")
	}
	out, _, _ := run(t, "data", "inspect", filepath.Join(dir, "a.arrow"))
	if !strings.Contains(out, "all 24x24x1") || !strings.Contains(out, "streak") || !strings.Contains(out, "masks     30 rows") {
		t.Errorf("inspect:\n%s", out)
	}
}
