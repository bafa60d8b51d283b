package arrowds_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
)

// The independent reader: Apache Arrow's JavaScript implementation, from npm.
const jsArrowVersion = "21.2.0"

// jsReader reads every file given and prints what it sees as JSON.
const jsReader = `
const { tableFromIPC } = require('apache-arrow');
const fs = require('fs');
const fnv = (h, v) => Math.imul(h ^ v, 16777619) >>> 0;
const res = { rows: 0, ids: [], labels: {}, splits: {}, pixelSum: 0, pixelHash: 2166136261, maskSum: 0, bboxes: [], meta: null, types: {} };
for (const path of process.argv.slice(2)) {
  const t = tableFromIPC(fs.readFileSync(path));
  res.meta = Object.fromEntries(t.schema.metadata);
  for (const f of t.schema.fields) res.types[f.name] = String(f.type);
  const col = (n) => t.getChild(n);
  const ids = col('id'), split = col('split'), label = col('label'), labels = col('labels');
  const h = col('height'), w = col('width'), c = col('channels');
  const pixels = col('pixels'), mask = col('mask'), bbox = col('bbox');
  for (let i = 0; i < t.numRows; i++) {
    res.rows++;
    res.ids.push(ids.get(i));
    const s = split.get(i);
    res.splits[s] = (res.splits[s] || 0) + 1;
    const l = label ? String(label.get(i)) : Array.from(labels.get(i).toArray()).join('');
    res.labels[l] = (res.labels[l] || 0) + 1;
    const px = pixels.get(i).toArray();
    if (px.length !== h.get(i) * w.get(i) * c.get(i)) throw new Error('row ' + i + ': ' + px.length + ' pixels');
    for (const v of px) { res.pixelSum += v; res.pixelHash = fnv(res.pixelHash, v); }
    if (mask) { const m = mask.get(i); if (m) for (const v of m.toArray()) res.maskSum += v; }
    if (bbox) { const b = bbox.get(i); res.bboxes.push(b ? Array.from(b.toArray()) : null); }
  }
}
process.stdout.write(JSON.stringify(res));
`

type jsResult struct {
	Rows      int               `json:"rows"`
	IDs       []string          `json:"ids"`
	Labels    map[string]int    `json:"labels"`
	Splits    map[string]int    `json:"splits"`
	PixelSum  float64           `json:"pixelSum"`
	PixelHash uint32            `json:"pixelHash"`
	MaskSum   int               `json:"maskSum"`
	BBoxes    [][]float32       `json:"bboxes"`
	Meta      map[string]string `json:"meta"`
	Types     map[string]string `json:"types"`
}

func repoRoot(t *testing.T) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Skip("repository root not found")
		}
		dir = filepath.Dir(dir)
	}
}

// nodeWithArrow returns the NODE_PATH holding apache-arrow, installing it
// into .deps/node (ignored by git) with npm when it is missing.
func nodeWithArrow(t *testing.T) string {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	dir := filepath.Join(repoRoot(t), ".deps", "node")
	mod := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(mod, "apache-arrow", "package.json")); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			t.Skip("npm is not installed, and .deps/node has no apache-arrow")
		}
		cmd := exec.Command("npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "--ignore-scripts", "apache-arrow@"+jsArrowVersion)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("npm install apache-arrow@%s failed (offline?): %v\n%s", jsArrowVersion, err, out)
		}
	}
	return mod
}

func readWithJS(t *testing.T, nodePath string, files []string) jsResult {
	t.Helper()
	script := filepath.Join(t.TempDir(), "read.js")
	os.WriteFile(script, []byte(jsReader), 0o644)
	cmd := exec.Command("node", append([]string{script}, files...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node could not read the dataset: %v\n%s", err, stderr)
	}
	var r jsResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("node output: %v\n%.500s", err, out)
	}
	return r
}

// goView computes, through the Go reader, what the JS reader reports.
func goView(t *testing.T, d *arrowds.Dataset) jsResult {
	t.Helper()
	r := jsResult{Labels: map[string]int{}, Splits: map[string]int{}, PixelHash: 2166136261}
	for i := 0; i < d.Len(); i++ {
		s, err := d.ReadSample(i)
		if err != nil {
			t.Fatal(err)
		}
		r.Rows++
		r.IDs = append(r.IDs, s.ID)
		r.Splits[s.Split]++
		l := fmt.Sprint(s.Label)
		if s.Labels != nil {
			l = strings.Trim(strings.ReplaceAll(fmt.Sprint(s.Labels), " ", ""), "[]")
		}
		r.Labels[l]++
		add := func(v uint32) {
			r.PixelSum += float64(v)
			r.PixelHash = (r.PixelHash ^ v) * 16777619
		}
		for _, v := range s.Pix {
			add(uint32(v))
		}
		for _, v := range s.Pix16 {
			add(uint32(v))
		}
		for _, v := range s.Mask {
			r.MaskSum += int(v)
		}
		if d.Columns().BBox {
			r.BBoxes = append(r.BBoxes, s.BBox)
		}
	}
	return r
}

func compareJS(t *testing.T, d *arrowds.Dataset, js jsResult) {
	t.Helper()
	g := goView(t, d)
	if js.Rows != g.Rows || !reflect.DeepEqual(js.IDs, g.IDs) {
		t.Errorf("JS read %d rows, Go %d (or the ids differ)", js.Rows, g.Rows)
	}
	if !reflect.DeepEqual(js.Labels, g.Labels) || !reflect.DeepEqual(js.Splits, g.Splits) {
		t.Errorf("labels JS %v Go %v; splits JS %v Go %v", js.Labels, g.Labels, js.Splits, g.Splits)
	}
	if js.PixelSum != g.PixelSum || js.PixelHash != g.PixelHash || js.MaskSum != g.MaskSum {
		t.Errorf("pixel sum/hash/mask sum JS %v/%x/%d, Go %v/%x/%d", js.PixelSum, js.PixelHash, js.MaskSum, g.PixelSum, g.PixelHash, g.MaskSum)
	}
	if d.Columns().BBox && !reflect.DeepEqual(js.BBoxes, g.BBoxes) {
		t.Errorf("bboxes differ")
	}
	m := d.Meta()
	var classes []string
	json.Unmarshal([]byte(js.Meta[arrowds.KeyClasses]), &classes)
	if !reflect.DeepEqual(classes, m.Classes) || js.Meta[arrowds.KeyTask] != string(m.Task) {
		t.Errorf("JS metadata %v", js.Meta)
	}
}

// TestJavaScriptArrowReadsPneumoniaMNIST: Apache Arrow JS reads the imported
// PneumoniaMNIST and sees the same ids, labels and pixels.
func TestJavaScriptArrowReadsPneumoniaMNIST(t *testing.T) {
	src := filepath.Join(repoRoot(t), "..", "shared", "data", "pneumoniamnist.npz")
	if _, err := os.Stat(src); err != nil {
		t.Skip("shared test data not present")
	}
	nodePath := nodeWithArrow(t)
	out := filepath.Join(t.TempDir(), "pneu")
	if _, err := convert.MedMNIST(src, convert.MedMNISTOptions{}, convert.Options{Out: out, RowsPerFile: 2000}); err != nil {
		t.Fatal(err)
	}
	d, err := arrowds.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	js := readWithJS(t, nodePath, d.Files())
	if js.Rows != 5030 || js.Splits["train"] != 3882 || js.Splits["val"] != 524 || js.Splits["test"] != 624 {
		t.Errorf("JS sees %d rows, splits %v", js.Rows, js.Splits)
	}
	if js.Types["pixels"] != "List<Uint8>" || js.Types["label"] != "Int32" || js.Types["id"] != "Utf8" {
		t.Errorf("JS types %v", js.Types)
	}
	compareJS(t, d, js)
}

// TestJavaScriptArrowReadsOptionalColumns covers masks, boxes, 16-bit
// pixels and multi-hot labels.
func TestJavaScriptArrowReadsOptionalColumns(t *testing.T) {
	nodePath := nodeWithArrow(t)
	cfg := synthetic.Default()
	cfg.Count, cfg.Classes = 50, 3
	syn := filepath.Join(t.TempDir(), "syn.arrow")
	if _, err := convert.Synthetic(cfg, convert.Options{Out: syn}); err != nil {
		t.Fatal(err)
	}
	d, err := arrowds.Open(syn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	compareJS(t, d, readWithJS(t, nodePath, d.Files()))

	meta := arrowds.Metadata{Task: arrowds.Multilabel, Classes: []string{"a", "b", "c"}, Channels: 3, PixelType: arrowds.Uint16}
	ml := filepath.Join(t.TempDir(), "ml")
	w, err := arrowds.Create(ml, arrowds.WriterOptions{Meta: meta, RowsPerFile: 3, Columns: arrowds.Columns{Group: true}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		px := make([]uint16, 2*3*3)
		for j := range px {
			px[j] = uint16(i*9000 + j*77)
		}
		s := &arrowds.Sample{ID: fmt.Sprint("m", i), Split: arrowds.Splits[i%3], Label: -1,
			Labels: []int32{int32(i % 2), int32(i / 4), 1}, Group: fmt.Sprint("g", i/2),
			Image: arrowds.Image{Height: 2, Width: 3, Channels: 3, Pix16: px}}
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := arrowds.Open(ml)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	js := readWithJS(t, nodePath, d2.Files())
	if js.Types["pixels"] != "List<Uint16>" || !strings.HasPrefix(js.Types["labels"], "FixedSizeList[3]<Int32>") {
		t.Errorf("JS types %v", js.Types)
	}
	compareJS(t, d2, js)
}
