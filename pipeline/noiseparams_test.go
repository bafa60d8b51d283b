package pipeline

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/pipeline/fingerprint"
)

// The noise-parameter chart is drawn from a heating run's step records
// (with the bound's lines when there is one) and skipped for a log without
// the values (a run from before they were logged).
func TestDrawNoiseParams(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, MetricsLog)
	var b strings.Builder
	for s := 10; s <= 100; s += 10 {
		fmt.Fprintf(&b, `{"kind":"step","step":%d,"epoch":1,"values":{"loss":0.5,"a_img_mean":%g,"b_img_mean":%g,"a_dataset_mean":%g,"b_dataset_mean":0.1}}`+"\n",
			s, 0.02*float64(s), -0.01*float64(s), 0.01*float64(s))
	}
	b.WriteString(`{"kind":"epoch","epoch":1,"mean":{"loss":0.5}}` + "\n")
	if err := os.WriteFile(logPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, NoiseParamsFile)
	ok, err := drawNoiseParams(logPath, path, 3, "noise parameters")
	if err != nil || !ok {
		t.Fatalf("drawNoiseParams: %v, %v", ok, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if img, err := png.Decode(f); err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("the chart is not a PNG image: %v", err)
	}
	old := filepath.Join(dir, "old.jsonl")
	if err := os.WriteFile(old, []byte(`{"kind":"step","step":10,"values":{"loss":0.5,"objective":6}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, err := drawNoiseParams(old, filepath.Join(dir, "old.png"), 0, "x"); err != nil || ok {
		t.Fatalf("a log without the parameters: drew %v, error %v", ok, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "old.png")); err == nil {
		t.Fatal("a chart was written for a log without the parameters")
	}
}

// The new noise-mask keys: param_bound defaults to the loss's own bound
// (negative), baseline_decay to 0.9, and both can be set.
func TestNoiseMaskBoundKeys(t *testing.T) {
	c := DefaultRunConfig()
	if c.NoiseMask.ParamBound >= 0 || c.NoiseMask.BaselineDecay != 0.9 {
		t.Fatalf("defaults: param_bound %v, baseline_decay %v", c.NoiseMask.ParamBound, c.NoiseMask.BaselineDecay)
	}
	for k, v := range map[string]string{"noisemask.param_bound": "2.5", "noisemask.baseline_decay": "0.99", "noisemask.loss": "scaled"} {
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Get(k); got != v {
			t.Fatalf("%s = %q, want %q", k, got, v)
		}
	}
	if c.NoiseMask.ParamBound != 2.5 || c.NoiseMask.BaselineDecay != 0.99 {
		t.Fatalf("set: %+v", c.NoiseMask)
	}
}

// The noise start keys: unset, they stay out of the stage fingerprint (so
// the stages of older runs are not re-run), set, they enter it; both reach
// TrainNoiseMask's fingerprint the same way.
func TestNoiseStartKeys(t *testing.T) {
	c := DefaultRunConfig()
	before, err := fingerprint.Of(c.NoiseMask, "noisemask.", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"noisemask.noise_start_mean", "noisemask.noise_start_std"} {
		if _, ok := before[k]; ok {
			t.Errorf("%s is in the default fingerprint", k)
		}
	}
	for k, v := range map[string]string{"noisemask.noise_start_mean": "0.95", "noisemask.noise_start_std": "0.05"} {
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Get(k); got != v {
			t.Fatalf("%s = %q, want %q", k, got, v)
		}
	}
	after, err := fingerprint.Of(c.NoiseMask, "noisemask.", nil)
	if err != nil {
		t.Fatal(err)
	}
	if after["noisemask.noise_start_mean"] != "0.95" || after["noisemask.noise_start_std"] != "0.05" {
		t.Errorf("set keys missing from the fingerprint: %v", after)
	}
	nm, err := fingerprint.Of(NoiseMaskConfig{}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := nm["NoiseStartMean"]; ok {
		t.Errorf("an unset NoiseStartMean is in TrainNoiseMask's fingerprint: %v", nm)
	}
}
