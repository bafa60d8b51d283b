package pipeline

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/pipeline/infer"
	"github.com/pgaug/pgaug/trainer/apga"
)

// The sampled preset's exported policy records its mask rule, and ONNX
// Runtime's test-time augmentation with it scores the val split as the
// training run's own TTA did (the rule, the blur fill and the per-image
// fallback alike).
func TestSampledTTAWithONNXRuntimeMatchesTraining(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	cfg := tinyRunConfig(t, filepath.Join(root, "run"), filepath.Join(root, "d.arrow"), "baseline")
	d := cfg.Data.Path
	mc := apga.SampledPreset()
	mc.TTA = true
	res, err := TrainAPGA(context.Background(), APGAConfig{
		Common:     Common{Data: d, OutDir: filepath.Join(root, "apga"), Epochs: 2, Batch: 16, Seed: 2, Workers: 1, Schedule: "cosine", Version: "test"},
		Classifier: "zoo:smallcnn", Policy: "zoo:unet-small", ClassifierOpt: Optim{Name: "adam", LR: 1e-4}, PolicyOpt: Optim{Name: "adam", LR: 3e-3}, Method: mc,
	})
	if err != nil {
		t.Fatal(err)
	}
	mp, err := onnxio.Load(res.Policy)
	if err != nil {
		t.Fatal(err)
	}
	rule, err := apga.ParseMaskRule(onnxio.MetadataValue(mp, apga.MetadataKey))
	if err != nil || rule.Fill != apga.FillBlur || rule.Top != mc.KeepTarget || rule.Grid != 4 {
		t.Fatalf("the policy's mask rule %+v (%v)", rule, err)
	}
	out, err := infer.Run(context.Background(), infer.Config{Model: res.Classifier, Policy: res.Policy, TTA: true, Data: d, Split: "val",
		Output: filepath.Join(root, "tta.arrow"), Batch: 16, Threads: 1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := res.Final["val_tta"]
	got := *out.Metrics
	if got.N != want.N || math.Abs(got.Accuracy-want.Accuracy) > 1e-9 || math.Abs(got.AUROC-want.AUROC) > 1e-3 || math.Abs(got.MeanLoss-want.MeanLoss) > 1e-3 {
		t.Fatalf("ONNX Runtime TTA: n %d accuracy %v AUROC %v loss %v; training's TTA: n %d accuracy %v AUROC %v loss %v",
			got.N, got.Accuracy, got.AUROC, got.MeanLoss, want.N, want.Accuracy, want.AUROC, want.MeanLoss)
	}
}
