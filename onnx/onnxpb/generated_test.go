package onnxpb_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// TestGeneratedCodeIsCurrent regenerates onnx.pb.go into a temporary
// directory with scripts/gen-proto.sh and fails when it differs from the
// committed file (other than the protoc version line in the header).
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Fatalf("protoc not found (apt-get install protobuf-compiler, or scripts/setup.sh --test-deps): %v", err)
	}
	out := t.TempDir()
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "gen-proto.sh"), out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/gen-proto.sh: %v\n%s", err, msg)
	}
	fresh, err := os.ReadFile(filepath.Join(out, "onnx.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("onnx.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := withoutProtocVersion(fresh), withoutProtocVersion(committed); !bytes.Equal(a, b) {
		t.Errorf("onnx.pb.go is stale: run scripts/gen-proto.sh (%d bytes generated, %d committed)", len(a), len(b))
	}
}

// withoutProtocVersion drops the "// \tprotoc vX" header line, which depends
// on the installed protoc and not on the schema.
func withoutProtocVersion(src []byte) []byte {
	var keep [][]byte
	for _, line := range bytes.Split(src, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("// \tprotoc ")) {
			continue
		}
		keep = append(keep, line)
	}
	return bytes.Join(keep, []byte("\n"))
}

// TestDecodesConformanceModelWithoutUnknownFields checks the schema covers
// what real exporters write: a conformance model decodes with every field
// known to the generated types.
func TestDecodesConformanceModelWithoutUnknownFields(t *testing.T) {
	const model = "onnx-conformance/node/test_conv_with_strides_padding/model.onnx"
	var path string
	var data []byte
	var err error
	// The shared test data sits beside the checkout (../shared) or inside it (shared/).
	for _, shared := range []string{"../../../shared", "../../shared"} {
		path = filepath.Join(shared, model)
		if data, err = os.ReadFile(path); err == nil {
			break
		}
	}
	if err != nil {
		t.Skipf("conformance data not present: %v", err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(m.ProtoReflect().GetUnknown()) != 0 || len(m.GetGraph().ProtoReflect().GetUnknown()) != 0 {
		t.Errorf("%s: unknown fields left after decoding", path)
	}
	if got := m.GetGraph().GetNode()[0].GetOpType(); got != "Conv" {
		t.Errorf("first node op_type = %q, want Conv", got)
	}
}
