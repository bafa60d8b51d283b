package transfer

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/trainer/probe"
)

func fakeReport(mlp, logreg float64, shots map[int]float64) Result {
	r := Result{Data: "d.arrow", TrainSplit: "train", TestSplit: "test", TestN: 100,
		MLP: &Scores{Accuracy: mlp}, LogReg: &Scores{Accuracy: logreg}}
	for _, k := range []int{8, 16} {
		s := probe.ShotResult{K: k, Trials: 3, Accuracy: &probe.Summary{Mean: shots[k]}}
		r.FewShot = append(r.FewShot, s)
	}
	return r
}

func TestCompare(t *testing.T) {
	normal := Group{Name: "normal", Reports: []Result{
		fakeReport(0.80, 0.78, map[int]float64{8: 0.60, 16: 0.70}),
		fakeReport(0.84, 0.80, map[int]float64{8: 0.64, 16: 0.72}),
		fakeReport(0.82, 0.82, map[int]float64{8: 0.62, 16: 0.74}),
	}}
	heated := Group{Name: "heated", Reports: []Result{
		fakeReport(0.90, 0.88, map[int]float64{8: 0.70, 16: 0.80}),
		fakeReport(0.86, 0.86, map[int]float64{8: 0.72, 16: 0.78}),
	}}
	c, err := Compare([]Group{normal, heated})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Shots) != 2 || c.Shots[0] != 8 || c.Shots[1] != 16 || len(c.Rows) != 2 {
		t.Fatalf("comparison %+v", c)
	}
	// normal MLP: mean 0.82, std 0.02, t(0.975, 2) = 4.303 → half-width 4.303·0.02/√3.
	n := c.Rows[0]
	if math.Abs(n.MLP.Mean-0.82) > 1e-12 || math.Abs(n.MLP.HalfWidth-4.302653*0.02/math.Sqrt(3)) > 1e-5 {
		t.Errorf("normal MLP %+v", n.MLP)
	}
	if math.Abs(n.FewShot[1].Mean-0.72) > 1e-12 || math.Abs(c.Rows[1].FewShot[0].Mean-0.71) > 1e-12 || math.Abs(c.Rows[1].LogReg.Mean-0.87) > 1e-12 {
		t.Errorf("rows %+v %+v", n.FewShot[1], c.Rows[1])
	}
	md := c.Markdown()
	for _, want := range []string{"| model | reports | MLP probe | logistic regression | 8-shot | 16-shot |", "| normal | 3 | 0.8200 [", "| heated | 2 | 0.8800 ["} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}

	for name, c := range map[string]struct {
		groups []Group
		want   string
	}{
		"one report": {[]Group{{Name: "solo", Reports: normal.Reports[:1]}}, "solo: 1 reports, an interval needs at least 2"},
		"other data": {[]Group{normal, {Name: "x", Paths: []string{"a.json", "b.json"}, Reports: []Result{normal.Reports[0], func() Result {
			r := normal.Reports[1]
			r.Data = "other.arrow"
			return r
		}()}}}, "b.json scores other.arrow"},
		"other shots": {[]Group{normal, {Name: "x", Reports: []Result{normal.Reports[0], func() Result {
			r := normal.Reports[1]
			r.FewShot = r.FewShot[:1]
			return r
		}()}}}, "ran few-shot k [8]"},
		"partial": {[]Group{{Name: "p", Reports: []Result{normal.Reports[0], func() Result {
			r := normal.Reports[1]
			r.MLP = nil
			return r
		}()}}}, "p: 1 of its 2 reports have the value"},
	} {
		if _, err := Compare(c.groups); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

func TestLoadGroup(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, acc := range []float64{0.7, 0.9} {
		b, err := json.Marshal(fakeReport(acc, acc, map[int]float64{8: acc, 16: acc}))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, string(rune('a'+i))+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	g, err := LoadGroup("g", paths)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Reports) != 2 || g.Reports[1].MLP.Accuracy != 0.9 {
		t.Fatalf("loaded %+v", g)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadGroup("g", []string{paths[0], bad}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a bad report: %v, want an error naming %s", err, bad)
	}
	if _, err := LoadGroup("g", []string{filepath.Join(dir, "missing.json")}); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("a missing report: %v", err)
	}
}
