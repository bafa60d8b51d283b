package fingerprint

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type loop struct {
	Epochs  int
	LR      float64
	Resume  bool      `fingerprint:"-"`
	Log     io.Writer `fingerprint:"-"`
	Workers int       `fingerprint:"-"`
}

type optim struct {
	Name     string
	Momentum float32
}

type settings struct {
	loop
	Data       string   `fingerprint:",input"`
	Models     []string `fingerprint:",input"`
	CutoutSize int
	Opt        optim
	Freeze     []string
	TOMLKey    string `toml:"toml_key"`
	Named      int    `fingerprint:"renamed"`
}

func fakeResolve(v string) (string, error) { return "id(" + v + ")", nil }

func TestOfFlattensWithTagsAndInputs(t *testing.T) {
	s, err := Of(&settings{loop: loop{Epochs: 3, LR: 0.1, Resume: true, Log: os.Stderr, Workers: 4},
		Data: "d.arrow", Models: []string{"a.onnx", ""}, CutoutSize: 8, Opt: optim{"sgd", 0.9},
		Freeze: []string{"x.*"}, TOMLKey: "t", Named: 5}, "p.", fakeResolve)
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{
		"p.epochs": "3", "p.lr": "0.1", "p.data": "id(d.arrow)", "p.models": `["id(a.onnx)",""]`,
		"p.cutout-size": "8", "p.opt.name": "sgd", "p.opt.momentum": "0.9", "p.freeze": `["x.*"]`,
		"p.toml_key": "t", "p.renamed": "5",
	}
	if len(s) != len(want) {
		t.Fatalf("got %d keys %v, want %d %v", len(s), s.Keys(), len(want), want.Keys())
	}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("%s = %q, want %q", k, s[k], v)
		}
	}
}

func TestLeftOutFieldsDoNotChangeTheSum(t *testing.T) {
	a, err := Of(settings{loop: loop{Epochs: 3, Resume: false, Workers: 1}}, "", fakeResolve)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Of(settings{loop: loop{Epochs: 3, Resume: true, Workers: 8, Log: os.Stdout}}, "", fakeResolve)
	if err != nil {
		t.Fatal(err)
	}
	if a.Sum() != b.Sum() {
		t.Fatalf("Resume, Workers and Log changed the sum: %s vs %s (%v)", a.Sum(), b.Sum(), Diff(a, b))
	}
	c, _ := Of(settings{loop: loop{Epochs: 3, LR: 1e-17}}, "", fakeResolve)
	if c.Sum() == a.Sum() {
		t.Fatal("a changed learning rate kept the sum")
	}
	d := Diff(a, c)
	if len(d) != 1 || d[0].String() != "lr 0 → 1e-17" {
		t.Fatalf("Diff = %v", d)
	}
}

func TestFieldsWithoutTextFormAreRefused(t *testing.T) {
	type bad struct {
		Epochs int
		Hook   func()
	}
	_, err := Of(bad{}, "", nil)
	if err == nil || !strings.Contains(err.Error(), "Hook") || !strings.Contains(err.Error(), `fingerprint:"-"`) {
		t.Fatalf("a func field must be refused with its name and the fix, got %v", err)
	}
	if _, err := Of(3, "", nil); err == nil {
		t.Fatal("a non-struct must be refused")
	}
}

func TestSumSeparatesKeysAndValues(t *testing.T) {
	// Without length prefixes these two records would encode alike.
	a := Settings{"ab": "c"}
	b := Settings{"a": "bc"}
	if a.Sum() == b.Sum() {
		t.Fatal("different records share a sum")
	}
	if (Settings{"x": "1", "y": "2"}).Sum() != (Settings{"y": "2", "x": "1"}).Sum() {
		t.Fatal("the sum depends on insertion order")
	}
}

func TestDiffAndDescribe(t *testing.T) {
	old := Settings{"lr": "0.05", "epochs": "3", "gone": "x"}
	cur := Settings{"lr": "0.0123", "epochs": "3", "new": "y"}
	got := Describe(Diff(old, cur), 5)
	want := "gone (was x) is gone, lr 0.05 → 0.0123, new = y (new)"
	if got != want {
		t.Fatalf("Describe = %q, want %q", got, want)
	}
	if got := Describe(Diff(old, cur), 1); got != "gone (was x) is gone, and 2 more" {
		t.Fatalf("Describe with max 1 = %q", got)
	}
	if got := Describe(nil, 3); got != "no setting differs" {
		t.Fatalf("Describe(nil) = %q", got)
	}
}

func TestEncodeDecode(t *testing.T) {
	s := Settings{"a": "1", "b.c": `["x,y"]`}
	got, err := Decode(s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Sum() != s.Sum() {
		t.Fatalf("round trip changed the record: %v", got)
	}
	if _, err := Decode("{"); err == nil {
		t.Fatal("a damaged record must be an error")
	}
}

func TestKeyName(t *testing.T) {
	for in, want := range map[string]string{
		"CutoutSize": "cutout-size", "LR": "lr", "GradCAMModel": "grad-cam-model", "TauImage": "tau-image",
		"Epochs": "epochs", "AidKeepMin": "aid-keep-min", "Conv2D": "conv2-d", "ClassifierLR": "classifier-lr",
	} {
		if got := KeyName(in); got != want {
			t.Errorf("KeyName(%q) = %q, want %q", in, got, want)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestContentIdentifiesFilesAndDirectoriesByTheirBytes(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.onnx"), filepath.Join(dir, "elsewhere", "b.onnx")
	write(t, a, "weights")
	write(t, b, "weights")
	ia, err := Content(a)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := Content(b)
	if err != nil {
		t.Fatal(err)
	}
	// echo -n weights | sha256sum
	if ia != ib || ia != "sha256:9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c" {
		t.Fatalf("the same bytes in two places: %s vs %s", ia, ib)
	}
	write(t, b, "weightz")
	if ic, _ := Content(b); ic == ia {
		t.Fatal("an edited file kept its identity")
	}

	d1, d2 := filepath.Join(dir, "ds1"), filepath.Join(dir, "ds2")
	write(t, filepath.Join(d1, "part-0.arrow"), "rows 0")
	write(t, filepath.Join(d1, "sub", "part-1.arrow"), "rows 1")
	write(t, filepath.Join(d2, "part-0.arrow"), "rows 0")
	write(t, filepath.Join(d2, "sub", "part-1.arrow"), "rows 1")
	i1, err := Content(d1)
	if err != nil {
		t.Fatal(err)
	}
	i2, err := Content(d2)
	if err != nil {
		t.Fatal(err)
	}
	if i1 != i2 {
		t.Fatalf("two copies of a dataset directory differ: %s vs %s", i1, i2)
	}
	// Moving a part file changes the dataset (its order may matter).
	if err := os.Rename(filepath.Join(d2, "sub", "part-1.arrow"), filepath.Join(d2, "part-1.arrow")); err != nil {
		t.Fatal(err)
	}
	if i3, _ := Content(d2); i3 == i1 {
		t.Fatal("a moved part file kept the directory's identity")
	}
	if _, err := Content(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("a missing input must be an error naming it, got %v", err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Content(empty); err == nil || !strings.Contains(err.Error(), "no files") {
		t.Fatalf("an empty directory must be an error, got %v", err)
	}
}

// A setting added later with `fingerprint:",omitempty"` leaves the sum of
// results made before it as it was while it holds its zero value, and
// changes it as soon as it is set.
func TestOmitEmptyKeepsOlderSums(t *testing.T) {
	type before struct {
		Epochs int `toml:"epochs"`
	}
	type after struct {
		Epochs int    `toml:"epochs"`
		Start  string `toml:"start" fingerprint:",omitempty"`
	}
	old, err := Of(before{Epochs: 3}, "noisemask.", nil)
	if err != nil {
		t.Fatal(err)
	}
	unset, err := Of(after{Epochs: 3}, "noisemask.", nil)
	if err != nil {
		t.Fatal(err)
	}
	if old.Sum() != unset.Sum() {
		t.Fatalf("an unset omitempty field changed the sum: %v", Diff(old, unset))
	}
	set, _ := Of(after{Epochs: 3, Start: "converged"}, "noisemask.", nil)
	if d := Diff(old, set); len(d) != 1 || !strings.Contains(d[0].String(), "noisemask.start") {
		t.Fatalf("setting the field: Diff = %v, want one change of noisemask.start", d)
	}
}
