package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
)

// The demo runs end to end with both methods and the baseline, writes the
// experiment and run reports, and a second run skips every finished stage
// and gives the same numbers.
func TestDemoEndToEndAndResume(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := DemoConfig{Dir: dir, Seeds: []uint64{2}, Images: 600, Size: 32, Epochs: 4, Version: "test"}
	var out bytes.Buffer
	cfg.Out = &out
	res, err := Demo(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	names := map[string]bool{}
	for _, m := range res.Methods {
		names[m.Method] = true
	}
	for _, want := range []string{"converged start", "baseline", "apga", "noisemask"} {
		if !names[want] {
			t.Errorf("method %q missing from the results: %v", want, names)
		}
	}
	start := res.Methods[0].Metrics["auroc"].Mean
	if start < 0.8 {
		t.Errorf("the converged model's test AUROC is %.3f; the synthetic task is easy\n%s", start, out.String())
	}
	seedDir := filepath.Join(dir, "seed-2")
	for _, f := range []string{"experiment.html", "results.md", "results.json", "figures/methods.png",
		"seed-2/report.html", "seed-2/report.json", "seed-2/figures/val-accuracy.png", "seed-2/config.toml",
		"seed-2/apga/policy.onnx", "seed-2/noisemask/histogram.png", "seed-2/noisemask/noise-params.png", "seed-2/finetune/classifier.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the demo did not write %s", f)
		}
	}
	page, _ := os.ReadFile(filepath.Join(seedDir, "report.html"))
	for _, want := range []string{"apga/grids/step-", "noisemask/histogram.png", "noisemask/noise-params.png", "figures/train-loss.png", "converged start"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html does not show %q", want)
		}
	}
	mp, err := onnxio.Load(filepath.Join(seedDir, "finetune", "classifier.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if onnxio.MetadataValue(mp, "pgaug.method") != "finetune" || onnxio.MetadataValue(mp, "pgaug.heating") == "" {
		t.Errorf("the fine-tuned model does not record its heating")
	}
	if h := onnxio.MetadataValue(mp, "pgaug.heating"); !strings.Contains(h, "noise_start=0.95/0.05") {
		t.Errorf("the demo's heating %q: want the mild noise start 0.95/0.05", h)
	}

	// Re-run: every stage is skipped and the table is the same.
	var again bytes.Buffer
	cfg.Out = &again
	res2, err := Demo(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(again.String(), ": starting") || !strings.Contains(again.String(), "already done") {
		t.Errorf("the re-run trained again:\n%s", again.String())
	}
	a, _ := json.Marshal(res.Methods)
	b, _ := json.Marshal(res2.Methods)
	if string(a) != string(b) {
		t.Errorf("the re-run's results differ")
	}
}

func TestStatByHand(t *testing.T) {
	s := NewStat([]float64{0.8, 0.9, 1.0})
	// mean 0.9, sample std 0.1, t(0.975, 2) = 4.302653, half-width 0.1·4.302653/√3 = 0.248414
	if d := s.Mean - 0.9; d*d > 1e-24 || (s.Std-0.1)*(s.Std-0.1) > 1e-20 {
		t.Fatalf("mean %v std %v", s.Mean, s.Std)
	}
	if h := s.CI95[1] - s.Mean; (h-0.248414)*(h-0.248414) > 1e-12 {
		t.Fatalf("95%% half-width %v, want 0.248414", h)
	}
	if c := NewStat([]float64{0.9, 1.0, 1.0}).Within(0, 1); c.CI95[1] != 1 || !(c.CI95[0] > 0.8 && c.CI95[0] < 0.9) {
		t.Fatalf("an accuracy interval clipped to [0, 1]: %v", c.CI95)
	}
	if one := NewStat([]float64{0.7}); one.Std != 0 || one.CI95 != [2]float64{0.7, 0.7} {
		t.Fatalf("one value: %+v", one)
	}
}
