package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/ort"
)

// The demo runs end to end: the trained model beats the untrained one on the
// test split (scored by ONNX Runtime), and the exported model carries its
// provenance.
func TestDemoEndToEnd(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	rep, err := Demo(context.Background(), DemoConfig{Dir: dir, Seed: 2, Images: 600, Size: 32, Epochs: 8, Version: "test", Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	u, b := rep.Test["untrained"], rep.Test["baseline"]
	if !(b.AUROC > u.AUROC) || b.AUROC < 0.9 {
		t.Fatalf("untrained AUROC %.3f, trained %.3f\n%s", u.AUROC, b.AUROC, out.String())
	}
	var saved DemoReport
	raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil || json.Unmarshal(raw, &saved) != nil || saved.Test["baseline"].N != b.N {
		t.Fatalf("report.json: %v", err)
	}
	m, err := importer.ImportFile(rep.Trained)
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{}
	for _, kv := range m.Proto.GetMetadataProps() {
		meta[kv.GetKey()] = kv.GetValue()
	}
	if meta["pgaug.method"] != "baseline" || meta["pgaug.epochs"] != "8" || !strings.Contains(meta["pgaug.optimizer"], "sgd") {
		t.Fatalf("provenance metadata: %v", meta)
	}
}
