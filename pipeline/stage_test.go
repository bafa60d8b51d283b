package pipeline

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/pipeline/fingerprint"
)

// tinyRunConfig is a pipeline of seconds: 120 synthetic 16×16 images, the
// zoo's small CNN, one epoch per stage.
func tinyRunConfig(t *testing.T, dir, data string, methods ...string) RunConfig {
	t.Helper()
	if _, err := os.Stat(data); err != nil {
		sc := synthetic.Default()
		sc.Count, sc.Size, sc.Classes, sc.Seed = 120, 16, 2, 3
		if _, err := convert.Synthetic(sc, convert.Options{Out: data}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultRunConfig()
	cfg.Dir, cfg.Seed, cfg.Methods, cfg.Version = dir, 4, methods, "test"
	cfg.Data = DataSection{Path: data, Workers: 1}
	cfg.Models = ModelsSection{Classifier: "zoo:smallcnn", APGAPolicy: "zoo:unet-small", NoisePolicy: "zoo:smallcnn"}
	cfg.Baseline.Epochs, cfg.Baseline.Batch = 1, 16
	cfg.Augment.Epochs, cfg.Augment.Batch = 1, 16
	cfg.Infer.Threads = 1
	return cfg
}

// stageActions reads a run's log as stage → what happened to it (starting,
// skipped, reused, re-run, afresh).
func stageActions(log string) map[string]string {
	out := map[string]string{}
	re := regexp.MustCompile(`\] ([a-z@ ]+): (starting|already done|reused from|an interrupted run|.* since it ran)`)
	for _, m := range re.FindAllStringSubmatch(log, -1) {
		name, what := m[1], m[2]
		switch {
		case what == "already done":
			what = "skipped"
		case what == "reused from":
			what = "reused"
		case what == "an interrupted run":
			what = "afresh"
		case strings.HasSuffix(what, "since it ran"):
			what = "re-run"
		}
		if prev, ok := out[name]; !ok || prev == "starting" {
			out[name] = what
		}
	}
	return out
}

func runTiny(t *testing.T, cfg RunConfig) (RunSummary, string) {
	t.Helper()
	var log bytes.Buffer
	sum, err := RunPipeline(context.Background(), cfg, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	return sum, log.String()
}

func wantActions(t *testing.T, log string, want map[string]string) {
	t.Helper()
	got := stageActions(log)
	var bad []string
	for name, w := range want {
		if got[name] != w {
			bad = append(bad, name+": "+got[name]+", want "+w)
		}
	}
	if len(got) != len(want) {
		bad = append(bad, "stages seen: "+strings.Join(keysOf(got), ", "))
	}
	if len(bad) > 0 {
		t.Fatalf("%s\nlog:\n%s", strings.Join(bad, "\n"), log)
	}
}

func keysOf(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// A re-run skips the stages whose inputs are the same, runs again the one
// whose setting changed and everything downstream of it, saying which
// setting changed; an interrupted stage with other inputs starts afresh;
// --reuse-from copies finished stages with the same fingerprint.
func TestStagesKnowTheirInputs(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	data := filepath.Join(root, "d.arrow")
	dir := filepath.Join(root, "run")
	cfg := tinyRunConfig(t, dir, data, "baseline")
	first, log := runTiny(t, cfg)
	all := map[string]string{"import": "starting", "converge": "starting", "baseline": "starting", "infer baseline": "starting", "infer converge": "starting"}
	wantActions(t, log, all)
	for _, s := range first.Stages {
		if len(s.Fingerprint) != 32 || s.Inputs["stage"] != s.Name {
			t.Fatalf("stage %s records fingerprint %q, inputs %v", s.Name, s.Fingerprint, s.Inputs)
		}
	}

	_, log = runTiny(t, cfg)
	wantActions(t, log, map[string]string{"import": "skipped", "converge": "skipped", "baseline": "skipped", "infer baseline": "skipped", "infer converge": "skipped"})

	// A changed converge setting: converge and all after it run again.
	changed := cfg
	changed.Baseline.LR = 0.0123
	sum, log := runTiny(t, changed)
	wantActions(t, log, map[string]string{"import": "skipped", "converge": "re-run", "baseline": "re-run", "infer baseline": "re-run", "infer converge": "re-run"})
	if !strings.Contains(log, "converge: baseline.lr 0.05 → 0.0123 since it ran") {
		t.Fatalf("the log does not say which setting changed:\n%s", log)
	}
	if !strings.Contains(log, "baseline: the stage it consumes changed (converge) since it ran") {
		t.Fatalf("the log does not say why the downstream stage runs again:\n%s", log)
	}
	if a, b := sum.Methods[0].Test, first.Methods[0].Test; a.MeanLoss == b.MeanLoss && a.AUROC == b.AUROC {
		t.Errorf("a different learning rate gave the same converged model's test metrics: stale results?")
	}
	// Only the method's own section changed: only it (and its inference)
	// run again. Settings that do not change results change nothing.
	changed.Augment.Epochs = 2
	changed.Data.Workers, changed.Infer.Threads = 2, 2
	_, log = runTiny(t, changed)
	wantActions(t, log, map[string]string{"import": "skipped", "converge": "skipped", "baseline": "re-run", "infer baseline": "re-run", "infer converge": "skipped"})
	if !strings.Contains(log, "augment.epochs 1 → 2") {
		t.Fatalf("the log does not name augment.epochs:\n%s", log)
	}

	// An interrupted stage that had other inputs starts afresh (its
	// checkpoints were made with other settings). Its inputs are then those
	// of the run before, so the stages after it are still current.
	bdir := filepath.Join(dir, "baseline")
	rec, _, err := readStageFile(filepath.Join(bdir, StageFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(bdir, StageFile)); err != nil {
		t.Fatal(err)
	}
	rec.Inputs = rec.Inputs.With(fingerprint.Settings{"augment.lr": "0.5"})
	rec.Fingerprint = rec.Inputs.Sum()
	if err := writeJSONFile(filepath.Join(bdir, StageInputsFile), rec); err != nil {
		t.Fatal(err)
	}
	_, log = runTiny(t, changed)
	wantActions(t, log, map[string]string{"import": "skipped", "converge": "skipped", "baseline": "afresh", "infer baseline": "skipped", "infer converge": "skipped"})
	if !strings.Contains(log, "augment.lr 0.5 → 0.0001") {
		t.Fatalf("the log does not say how the interrupted run differed:\n%s", log)
	}

	// Another experiment with the same data, seed and converge settings
	// takes import, converge and its inference from the first run; its own
	// method runs.
	other := tinyRunConfig(t, filepath.Join(root, "other"), data, "baseline", "cutout")
	other.Baseline.LR = 0.0123
	other.Augment.Epochs = 2
	other.ReuseFrom = []string{dir}
	reused, log := runTiny(t, other)
	wantActions(t, log, map[string]string{"import": "reused", "converge": "reused", "baseline": "reused", "infer baseline": "reused", "cutout": "starting", "infer cutout": "starting", "infer converge": "reused"})
	for _, s := range reused.Stages {
		for k, p := range s.Outputs {
			if !strings.HasPrefix(p, other.Dir) {
				t.Errorf("stage %s output %s is %s, outside the new run", s.Name, k, p)
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("stage %s output %s: %v", s.Name, k, err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(other.Dir, "converge", "checkpoints", "best.pgck")); err != nil {
		t.Errorf("the reused converge stage lacks its checkpoints: %v", err)
	}
	// A reused stage is then an ordinary finished stage of the new run.
	_, log = runTiny(t, other)
	for name, what := range stageActions(log) {
		if what != "skipped" {
			t.Errorf("after reuse, %s: %s, want skipped", name, what)
		}
	}
	// A different seed matches nothing.
	seed := tinyRunConfig(t, filepath.Join(root, "seed"), data, "baseline")
	seed.Seed, seed.ReuseFrom = 5, []string{dir}
	_, log = runTiny(t, seed)
	if strings.Contains(log, "reused") {
		t.Fatalf("stages of another seed were reused:\n%s", log)
	}
}

func TestDescribeChange(t *testing.T) {
	old := fingerprint.Settings{"baseline.lr": "0.05", "stage.import": "a", "seed": "1"}
	cur := fingerprint.Settings{"baseline.lr": "0.1", "stage.import": "b", "seed": "1"}
	if got, want := describeChange(old, cur), "baseline.lr 0.05 → 0.1; the stage it consumes changed (import)"; got != want {
		t.Fatalf("describeChange = %q, want %q", got, want)
	}
	if got := describeChange(nil, fingerprint.Settings{}); !strings.Contains(got, "older pgaug") {
		t.Fatalf("a record without inputs: %q", got)
	}
}

// A method variant runs its method with its keys set, in stages of its
// own beside the plain method's, from the same converged model; a variant
// may set only its method's keys.
func TestMethodVariants(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	cfg := tinyRunConfig(t, filepath.Join(root, "run"), filepath.Join(root, "d.arrow"), "cutout", "cutout@big")
	cfg.Variants = map[string]map[string]string{"big": {"augment.cutout_size": "12"}}
	sum, log := runTiny(t, cfg)
	wantActions(t, log, map[string]string{"import": "starting", "converge": "starting", "cutout": "starting", "infer cutout": "starting",
		"cutout@big": "starting", "infer cutout@big": "starting", "infer converge": "starting"})
	var plain, big *MethodResult
	for i := range sum.Methods {
		switch sum.Methods[i].Method {
		case "cutout":
			plain = &sum.Methods[i]
		case "cutout@big":
			big = &sum.Methods[i]
		}
	}
	if plain == nil || big == nil || plain.Classifier == big.Classifier {
		t.Fatalf("methods %+v", sum.Methods)
	}
	for _, s := range sum.Stages {
		if s.Name == "cutout@big" && s.Inputs["augment.cutout_size"] != "12" || s.Name == "cutout" && s.Inputs["augment.cutout_size"] != "8" {
			t.Errorf("stage %s records cutout size %q", s.Name, s.Inputs["augment.cutout_size"])
		}
	}
	if plain.Test.MeanLoss == big.Test.MeanLoss {
		t.Errorf("a 12-pixel Cutout gave the 8-pixel one's test loss: the variant's key was not applied")
	}
	bad := cfg
	bad.Variants = map[string]map[string]string{"big": {"baseline.lr": "0.1"}}
	if err := bad.check(); err == nil || !strings.Contains(err.Error(), "baseline.lr") {
		t.Errorf("a variant setting the converge stage's key: %v", err)
	}
	bad.Methods = []string{"cutout@none"}
	if err := bad.check(); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("an undefined variant: %v", err)
	}
	// The configuration with its variants reads back from the run's config.toml.
	back, err := LoadRunConfig(filepath.Join(cfg.Dir, "config.toml"))
	if err != nil || back.Variants["big"]["augment.cutout_size"] != "12" {
		t.Fatalf("config.toml's variants: %v, %v", back.Variants, err)
	}
}

// noisemask.start converged heats the converge stage's classifier: the
// heated stage consumes converge (a changed converge setting runs it
// again), where by default it consumes only the import and is untouched by
// converge's settings. A bad value is refused before anything runs.
func TestNoiseMaskStart(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	data := filepath.Join(root, "d.arrow")
	for _, start := range []string{"", "converged"} {
		cfg := tinyRunConfig(t, filepath.Join(root, "run"+start), data, "noisemask")
		cfg.NoiseMask.Epochs, cfg.NoiseMask.Batch, cfg.NoiseMask.Grid = 1, 16, "4"
		cfg.Finetune.Epochs, cfg.Finetune.Warmup, cfg.Finetune.AverageLast = 1, 0, 0
		cfg.NoiseMask.Start = start
		sum, _ := runTiny(t, cfg)
		var heated StageRecord
		for _, s := range sum.Stages {
			if s.Name == "noisemask" {
				heated = s
			}
		}
		_, consumesConverge := heated.Inputs["stage.converge"]
		if consumesConverge != (start == "converged") {
			t.Fatalf("start %q: the heated stage's inputs %v (consumes converge: %v)", start, heated.Inputs, consumesConverge)
		}
		if _, ok := heated.Inputs["noisemask.start"]; ok != (start != "") {
			t.Fatalf("start %q: noisemask.start in the fingerprint: %v, want %v (unset, it leaves older fingerprints as they were)", start, ok, start != "")
		}
		changed := cfg
		changed.Baseline.LR = 0.0123
		_, log := runTiny(t, changed)
		want := "skipped"
		if start == "converged" {
			want = "re-run"
		}
		if got := stageActions(log)["noisemask"]; got != want {
			t.Fatalf("start %q, converge changed: noisemask %s, want %s\n%s", start, got, want, log)
		}
	}
	bad := tinyRunConfig(t, filepath.Join(root, "bad"), data, "noisemask")
	bad.NoiseMask.Start = "pretrained"
	if _, err := RunPipeline(context.Background(), bad, io.Discard); err == nil || !strings.Contains(err.Error(), `noisemask.start "pretrained"`) {
		t.Fatalf("a bad noisemask.start: %v", err)
	}
}
