package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/pipeline/fingerprint"
	"github.com/pgaug/pgaug/trainer/apga"
)

// Every trainer's settings fingerprint: what only says how a run is carried
// out (resume, workers, the run directory, logs, checkpoints kept, figure
// sizes) leaves the fingerprint alone; what changes the result changes it,
// and the refusal says which setting.
func TestSettingsFingerprints(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(model, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "d.arrow")
	if err := os.WriteFile(data, []byte("rows"), 0o644); err != nil {
		t.Fatal(err)
	}
	common := func(resume bool, workers int) Common {
		return Common{Data: data, OutDir: filepath.Join(dir, "run"), Epochs: 3, Batch: 8, Resume: resume, Workers: workers, Keep: 3, Log: os.Stderr, Version: "v1"}
	}
	p, _ := apga.Preset("paper")
	cases := []struct {
		name   string
		a, b   any // differ only in how the run is carried out
		change func() any
		key    string
	}{
		{"baseline", TrainConfig{Common: common(false, 1), Model: model, Aug: "cutout"}, TrainConfig{Common: common(true, 4), Model: model, Aug: "cutout"},
			func() any {
				c := TrainConfig{Common: common(false, 1), Model: model, Aug: "cutout"}
				c.Opt.LR = 0.0123
				return c
			}, "opt.lr"},
		{"apga", APGAConfig{Common: common(false, 1), Classifier: model, Policy: "zoo:unet-small", Method: p, GridImages: 6},
			APGAConfig{Common: common(true, 2), Classifier: model, Policy: "zoo:unet-small", Method: p, GridImages: -1},
			func() any {
				c := APGAConfig{Common: common(false, 1), Classifier: model, Policy: "zoo:ternausnet11", Method: p}
				return c
			}, "policy"},
		{"noisemask", NoiseMaskConfig{Common: common(false, 1), Classifier: model, Grid: "8"}, NoiseMaskConfig{Common: common(true, 3), Classifier: model, Grid: "8", GridImages: 2},
			func() any { return NoiseMaskConfig{Common: common(false, 1), Classifier: model, Grid: "16"} }, "grid"},
		{"finetune", FinetuneConfig{Common: common(false, 1), Model: model, AverageLast: 3}, FinetuneConfig{Common: common(true, 1), Model: model, AverageLast: 3},
			func() any {
				c := FinetuneConfig{Common: common(false, 1), Model: model, AverageLast: 3}
				c.PerClass = 100
				return c
			}, "per-class"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fa, err := fingerprint.Of(c.a, "", InputIdentity)
			if err != nil {
				t.Fatal(err)
			}
			fb, err := fingerprint.Of(c.b, "", InputIdentity)
			if err != nil {
				t.Fatal(err)
			}
			if fa.Sum() != fb.Sum() {
				t.Fatalf("settings that do not change the result changed the fingerprint: %s", fingerprint.Describe(fingerprint.Diff(fa, fb), 10))
			}
			for _, k := range []string{"out-dir", "resume", "workers", "keep", "log", "grid-images"} {
				if _, ok := fa[k]; ok {
					t.Errorf("the fingerprint holds %q", k)
				}
			}
			if fa["version"] != "v1" {
				t.Errorf("the fingerprint holds version %q, want pgaug's (other code may give other results)", fa["version"])
			}
			if !strings.HasPrefix(fa["data"], "sha256:") {
				t.Errorf("the dataset is identified by %q, want its content", fa["data"])
			}
			fc, err := fingerprint.Of(c.change(), "", InputIdentity)
			if err != nil {
				t.Fatal(err)
			}
			saved := map[string]string{"method": c.name, "config": fa.Sum(), "settings": fa.Encode()}
			if err := resumeCheck(c.name, fa)(saved); err != nil {
				t.Fatalf("the same settings must resume: %v", err)
			}
			err = resumeCheck(c.name, fc)(saved)
			if err == nil || !strings.Contains(err.Error(), c.key+" ") {
				t.Fatalf("a changed %s must be refused naming it, got %v", c.key, err)
			}
			if err := resumeCheck("other", fa)(saved); err == nil || !strings.Contains(err.Error(), c.name) {
				t.Fatalf("another method's checkpoint must be refused, got %v", err)
			}
		})
	}

	// A model file edited in place is another input, though its path is the same.
	a, _ := fingerprint.Of(FinetuneConfig{Common: common(false, 1), Model: model}, "", InputIdentity)
	if err := os.WriteFile(model, []byte("other weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := fingerprint.Of(FinetuneConfig{Common: common(false, 1), Model: model}, "", InputIdentity)
	if a.Sum() == b.Sum() {
		t.Fatal("an edited model file kept the fingerprint")
	}
	if _, err := fingerprint.Of(FinetuneConfig{Common: common(false, 1), Model: filepath.Join(dir, "gone.onnx")}, "", InputIdentity); err == nil || !strings.Contains(err.Error(), "gone.onnx") {
		t.Fatalf("a missing model must be an error naming it, got %v", err)
	}
}

// keepMetricsUpTo keeps the records up to a step, drops the rest and a line
// cut short by a kill, and empties the log for a fresh start.
func TestKeepMetricsUpTo(t *testing.T) {
	path := filepath.Join(t.TempDir(), MetricsLog)
	lines := `{"kind":"step","step":10}
{"kind":"eval","step":15}
{"kind":"step","step":20}
{"kind":"epoch","step":24}
{"kind":"step","st`
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := openMetricsLog(Common{OutDir: filepath.Dir(path)})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := keepMetricsUpTo(f, 15); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"kind":"step","step":16}` + "\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := `{"kind":"step","step":10}
{"kind":"eval","step":15}
{"kind":"step","step":16}
`
	if string(got) != want {
		t.Fatalf("log after resuming at step 15:\n%s\nwant:\n%s", got, want)
	}
	if err := keepMetricsUpTo(f, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); len(got) != 0 {
		t.Fatalf("a fresh start left %q", got)
	}
}

// collapseNotes names collapses by epoch, and tells a policy that had not
// learned yet (flat before its first contrast) from one that collapsed.
func TestCollapseNotes(t *testing.T) {
	path := filepath.Join(t.TempDir(), MetricsLog)
	epoch := func(e int, keep, contrast float64) string {
		return fmt.Sprintf(`{"kind":"epoch","epoch":%d,"step":%d,"mean":{"mask_keep":%g,"map_contrast":%g}}`+"\n", e, 10*e, keep, contrast)
	}
	log := epoch(1, 0.1, 0.01) + epoch(2, 0.1, 0.02) + epoch(3, 0.1, 0.3) + epoch(4, 0.1, 0.01) + epoch(5, 0.001, 0.2) + epoch(6, 0.1, 0.3)
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	notes, err := collapseNotes(path)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(notes, " | ")
	for _, want := range []string{"had not learned yet in epochs 1-2", "collapsed in epochs 4 (it marked nothing in particular)", "collapsed in epochs 5 (it marked nothing)"} {
		if !strings.Contains(got, want) {
			t.Errorf("notes %q lack %q", got, want)
		}
	}
	if err := os.WriteFile(path, []byte(epoch(1, 0.1, 0.01)+epoch(2, 0.1, 0.01)), 0o644); err != nil {
		t.Fatal(err)
	}
	if notes, _ := collapseNotes(path); len(notes) != 1 || !strings.Contains(notes[0], "never learned") || !strings.Contains(notes[0], "1-2") {
		t.Errorf("a policy flat throughout: %q", notes)
	}

	// With known regions: a soft map whose evaluation pointed at them
	// (epoch 2, 0.93) is not flat; one that did not (epoch 4, 0.5) still is.
	eval := func(e int, pointing float64) string {
		return fmt.Sprintf(`{"kind":"eval","epoch":%d,"step":%d,"mask_pointing":%g}`+"\n", e, 10*e, pointing)
	}
	log = epoch(1, 0.1, 0.01) + eval(2, 0.93) + epoch(2, 0.1, 0.003) + eval(3, 0.95) + epoch(3, 0.1, 0.3) + eval(4, 0.5) + epoch(4, 0.1, 0.01)
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	notes, _ = collapseNotes(path)
	got = strings.Join(notes, " | ")
	if !strings.Contains(got, "had not learned yet in epochs 1 (") || !strings.Contains(got, "collapsed in epochs 4 (") || strings.Contains(got, "1-2") {
		t.Errorf("with pointing: notes %q, want epoch 1 not learned yet, epoch 2 fine, epoch 4 collapsed", got)
	}
	if kind, _ := epochVerdict(map[string]float64{"mask_keep": 0.001, "map_contrast": 0.001}, 0.99, true); kind != apga.MarkedNothing {
		t.Errorf("a mask that keeps nothing is a collapse whatever the pointing: %v", kind)
	}
}

func TestPointingNote(t *testing.T) {
	for _, c := range []struct {
		val  map[string]float64
		want string
	}{
		{nil, ""},
		{map[string]float64{"mask_pointing": 0.9, "mask_iou": 0.2, "mask_iou_random": 0.02}, ""},
		{map[string]float64{"mask_pointing": 0.28, "mask_iou": 0.07, "mask_iou_random": 0.02}, "does not point at the known regions: its maximum lies in the region on 28%"},
		{map[string]float64{"mask_pointing": 0.6, "mask_iou": 0.025, "mask_iou_random": 0.02}, "no better than chance"},
	} {
		got := pointingNote(c.val)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%v: %q, want %q", c.val, got, c.want)
		}
	}
}
