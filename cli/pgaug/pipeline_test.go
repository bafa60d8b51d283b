package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pgaug pipeline run C.toml, then the same with a changed setting, runs
// again the stage it belongs to and what follows, and says which setting
// changed; --reuse-from takes another run's finished stages with the same
// inputs, through the built binary.
func TestPipelineRerunsWhatAChangedSettingTouches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline four times through the built binary")
	}
	bin := pgaugBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "d.arrow")
	runBinary(t, bin, "data", "import", "synthetic", "-o", data, "--count", "120", "--size", "16", "--classes", "2", "--seed", "5")
	config := func(name, run string, methods string) string {
		p := filepath.Join(dir, name)
		toml := fmt.Sprintf(`dir = %q
methods = [%s]
seed = 3
[data]
path = %q
[models]
classifier = "zoo:smallcnn"
[baseline]
epochs = 1
batch = 16
[augment]
epochs = 1
batch = 16
`, run, methods, data)
		if err := os.WriteFile(p, []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := filepath.Join(dir, "run")
	c := config("c.toml", run, `"baseline"`)
	out := runBinary(t, bin, "pipeline", "run", c)
	if strings.Contains(out, "skipped") {
		t.Fatalf("a first run skipped stages:\n%s", out)
	}
	out = runBinary(t, bin, "pipeline", "run", c, "--baseline.lr", "0.0123")
	for _, want := range []string{
		"import: already done",
		"converge: baseline.lr 0.05 → 0.0123 since it ran: removing its results and running it again",
		"baseline: the stage it consumes changed (converge) since it ran",
		"infer converge: the stage it consumes changed (converge) since it ran",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the re-run with --baseline.lr 0.0123 does not say %q:\n%s", want, out)
		}
	}
	out = runBinary(t, bin, "pipeline", "run", c, "--baseline.lr", "0.0123", "--data.workers", "3")
	if strings.Contains(out, "starting") {
		t.Fatalf("a re-run with the same settings (and other workers) ran stages again:\n%s", out)
	}

	other := config("other.toml", filepath.Join(dir, "other"), `"baseline", "cutout"`)
	out = runBinary(t, bin, "pipeline", "run", other, "--baseline.lr", "0.0123", "--reuse-from", run)
	for _, want := range []string{"import: reused from", "converge: reused from", "baseline: reused from", "cutout: starting"} {
		if !strings.Contains(out, want) {
			t.Errorf("--reuse-from: the log does not say %q:\n%s", want, out)
		}
	}
}
