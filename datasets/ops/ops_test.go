package ops

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
)

// grouped writes a dataset of 240 rows in 60 groups of 4 (one class per
// group), with an extra column the operations must keep.
func grouped(t *testing.T) *arrowds.Dataset {
	t.Helper()
	out := filepath.Join(t.TempDir(), "g")
	meta := arrowds.Metadata{Task: arrowds.Multiclass, Classes: []string{"a", "b", "c"}, Channels: 1, PixelType: arrowds.Uint8}
	w, err := arrowds.Create(out, arrowds.WriterOptions{Meta: meta, Columns: arrowds.Columns{Group: true}, RowsPerFile: 100, RowsPerBatch: 32})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 240; i++ {
		g := i / 4
		s := &arrowds.Sample{ID: "r" + string(rune('A'+i/26%26)) + string(rune('a'+i%26)) + string(rune('0'+i/676)), Split: "train",
			Label: int32(g % 3), Group: "patient" + string(rune('A'+g/26)) + string(rune('a'+g%26)),
			Image: arrowds.Image{Height: 2, Width: 3, Channels: 1, Pix: []uint8{uint8(i), 0, 255, 10, 20, 30}}}
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := arrowds.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestSplitStratifiedByGroup(t *testing.T) {
	d := grouped(t)
	o := SplitOptions{Fractions: [3]float64{0.5, 0.25, 0.25}, Seed: 7, ByGroup: true}
	a, err := AssignSplits(d, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := AssignSplits(d, o)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed must give the same splits")
	}
	o.Seed = 8
	if c, _ := AssignSplits(d, o); reflect.DeepEqual(a, c) {
		t.Error("another seed should give other splits")
	}
	groupSplit := map[string]string{}
	perClass := map[string][3]int{}
	for i, sp := range a {
		r := d.Row(i)
		if g, ok := groupSplit[r.Group]; ok && g != sp {
			t.Fatalf("group %s is in %s and %s", r.Group, g, sp)
		}
		groupSplit[r.Group] = sp
		c := perClass[d.Meta().Classes[r.Label]]
		c[indexOf(arrowds.Splits, sp)]++
		perClass[d.Meta().Classes[r.Label]] = c
	}
	// 20 groups (80 rows) per class: 40/20/20 rows exactly.
	for cl, c := range perClass {
		if c != [3]int{40, 20, 20} {
			t.Errorf("class %s: %v rows per split, want [40 20 20]", cl, c)
		}
	}

	out := filepath.Join(t.TempDir(), "split")
	counts, err := Split(d, out, SplitOptions{Fractions: [3]float64{0.5, 0.25, 0.25}, Seed: 7, ByGroup: true}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if counts["train"] != 120 || counts["val"] != 60 || counts["test"] != 60 {
		t.Errorf("counts %v", counts)
	}
	s, err := arrowds.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.Files()) != 3 || s.Len() != 240 {
		t.Fatalf("rewritten: %d files %d rows", len(s.Files()), s.Len())
	}
	for i := 0; i < s.Len(); i++ {
		got, _ := s.ReadSample(i)
		want, _ := d.ReadSample(i)
		want.Split = a[i]
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row %d: %+v, want %+v", i, got, want)
		}
	}
	// Only re-split some rows.
	part, err := AssignSplits(s, SplitOptions{Fractions: [3]float64{0.5, 0.5, 0}, Seed: 1, From: []string{"val"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, sp := range part {
		if old := s.Row(i).Split; old != "val" && sp != old {
			t.Fatalf("row %d moved from %s though only val was re-split", i, old)
		}
		if s.Row(i).Split == "val" && sp == "test" {
			t.Fatal("a 0 fraction split got rows")
		}
	}
	if _, err := AssignSplits(d, SplitOptions{Fractions: [3]float64{0.5, 0.2, 0.2}}); err == nil {
		t.Error("fractions summing to 0.9 must fail")
	}
}

func TestSampleKShot(t *testing.T) {
	cfg := synthetic.Default()
	cfg.Count, cfg.Classes = 150, 3
	src := filepath.Join(t.TempDir(), "syn")
	if _, err := convert.Synthetic(cfg, convert.Options{Out: src, RowsPerFile: 40}); err != nil {
		t.Fatal(err)
	}
	d, err := arrowds.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out := filepath.Join(t.TempDir(), "k5")
	rows, err := Sample(d, out, SampleOptions{PerClass: 5, Split: "train", Seed: 3, KeepOther: true}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := SampleRows(d, SampleOptions{PerClass: 5, Split: "train", Seed: 3, KeepOther: true})
	if !reflect.DeepEqual(rows, again) {
		t.Error("same seed, other rows")
	}
	k, err := arrowds.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	perClass := map[int32]int{}
	other := 0
	for i := 0; i < k.Len(); i++ {
		r := k.Row(i)
		if r.Split == "train" {
			perClass[r.Label]++
		} else {
			other++
		}
		// Every kept row is byte-identical to its source, mask included.
		got, _ := k.ReadSample(i)
		want, _ := d.ReadSample(rows[i])
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row %d differs from source row %d", i, rows[i])
		}
	}
	if !reflect.DeepEqual(perClass, map[int32]int{0: 5, 1: 5, 2: 5}) {
		t.Errorf("train rows per class %v, want 5 each", perClass)
	}
	if want := len(d.Indices("val")) + len(d.Indices("test")); other != want {
		t.Errorf("kept %d val/test rows, want %d", other, want)
	}
	if _, err := SampleRows(d, SampleOptions{PerClass: 1000, Split: "train"}); err == nil || !strings.Contains(err.Error(), "fewer than 1000") {
		t.Errorf("too few rows: %v", err)
	}
}

func TestStatsInPlace(t *testing.T) {
	d := grouped(t)
	path := d.Path()
	mean, std, err := ComputeStats(d, "train", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Exact values from the pixels: 240 images of [i,0,255,10,20,30].
	var s, q float64
	for i := 0; i < 240; i++ {
		for _, v := range []float64{float64(i), 0, 255, 10, 20, 30} {
			s += v / 255
			q += (v / 255) * (v / 255)
		}
	}
	wm := s / 1440
	ws := math.Sqrt(q/1440 - wm*wm)
	if math.Abs(mean[0]-wm) > 1e-12 || math.Abs(std[0]-ws) > 1e-12 {
		t.Errorf("mean %v std %v, want %v %v", mean, std, wm, ws)
	}
	if _, _, err := Stats(d, path, "train", true, nil); err != nil {
		t.Fatal(err)
	}
	d2, err := arrowds.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	m := d2.Meta()
	if !reflect.DeepEqual(m.NormMean, mean) || !reflect.DeepEqual(m.NormStd, std) || m.NormSplit != "train" || d2.Len() != 240 {
		t.Errorf("metadata after stats: %+v", m)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("stats left %d entries next to the dataset", len(ents))
	}
	// The old handle still reads (files replaced by rename).
	if _, err := d.ReadSample(5); err != nil {
		t.Errorf("old handle: %v", err)
	}
}

func TestInspectAndGrid(t *testing.T) {
	d := grouped(t)
	s := Inspect(d)
	if s.Rows != 240 || s.Groups != 60 || !reflect.DeepEqual(s.Counts["train"], []int{80, 80, 80}) || s.Sizes["2x3x1"] != 240 {
		t.Errorf("summary %+v", s)
	}
	var b bytes.Buffer
	s.Write(&b)
	for _, want := range []string{"240 rows", "multiclass, 3 classes", "all 2x3x1", "groups    60", "a            80      80"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("inspect output lacks %q:\n%s", want, b.String())
		}
	}
	img, ids, err := Grid(d, "", 4, 1, 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || len(ids[0]) != 4 || img.Bounds().Dx() != 4*18+2 || img.Bounds().Dy() != 3*18+2 {
		t.Errorf("grid %v ids %v", img.Bounds(), ids)
	}
}
