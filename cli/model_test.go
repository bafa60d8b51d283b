package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/onnx/onnxio"
)

// writeTestModel saves y = Relu(Conv(x, w)) with a symbolic batch dimension,
// a 2x3x3x3 weight and metadata, and returns its path.
func writeTestModel(t *testing.T) string {
	t.Helper()
	b := onnxio.NewGraphBuilder("tiny_cnn")
	b.AddInput("x", onnxio.DTypeFloat32, "batch", 3, 8, 8)
	b.AddInitializer(onnxio.Float32Tensor("w", []int64{2, 3, 3, 3}, make([]float32, 54)))
	b.AddNode("Conv", []string{"x", "w"}, []string{"c"}, onnxio.AttrInts("pads", 1, 1, 1, 1))
	b.AddNode("Relu", []string{"c"}, []string{"y"})
	b.AddOutput("y", onnxio.DTypeFloat32, "batch", 2, 8, 8)
	m, err := b.Model(13, "pgaug-test", map[string]string{"classes": "2"})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tiny.onnx")
	if err := onnxio.Save(p, m); err != nil {
		t.Fatal(err)
	}
	return p
}

func runApp(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	app := NewApp(&out, &errOut)
	err = app.Run(intersperse(app, append([]string{"pgaug"}, args...)))
	return out.String(), errOut.String(), err
}

func TestModelInspectText(t *testing.T) {
	p := writeTestModel(t)
	out, _, err := runApp("model", "inspect", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"file:        " + p,
		"IR version:  8",
		"producer:    pgaug-test",
		"opsets:      ai.onnx 13",
		"parameters:  54 in 1 initializers",
		"x  float32  [batch 3 8 8]",
		"y  float32  [batch 2 8 8]",
		"operators (2 kinds, 2 nodes):",
		"Conv  1",
		"classes:  2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestModelInspectJSON(t *testing.T) {
	p := writeTestModel(t)
	out, _, err := runApp("model", "inspect", "--json", p)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		File       string
		IRVersion  int64 `json:"ir_version"`
		Parameters int64
		Inputs     []struct {
			Name  string
			Type  string
			Shape []any
		}
		Operators []struct {
			OpType string `json:"op_type"`
			Count  int
		}
		Metadata map[string]string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.File != p || got.IRVersion != 8 || got.Parameters != 54 || got.Metadata["classes"] != "2" {
		t.Errorf("summary %+v", got)
	}
	if len(got.Inputs) != 1 || got.Inputs[0].Name != "x" || got.Inputs[0].Type != "float32" ||
		len(got.Inputs[0].Shape) != 4 || got.Inputs[0].Shape[0] != "batch" || got.Inputs[0].Shape[1] != 3.0 {
		t.Errorf("inputs %+v, want x float32 [\"batch\", 3, 8, 8]", got.Inputs)
	}
	if len(got.Operators) != 2 || got.Operators[0].OpType != "Conv" || got.Operators[1].OpType != "Relu" {
		t.Errorf("operators %+v, want Conv and Relu", got.Operators)
	}
}

func TestModelInspectErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.onnx")
	os.WriteFile(corrupt, []byte("\x08\x07\x12\x05trunc"), 0o644)
	missing := filepath.Join(dir, "missing.onnx")
	for _, p := range []string{corrupt, missing} {
		_, _, err := runApp("model", "inspect", p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.HasPrefix(err.Error(), "model inspect: ") {
			t.Errorf("inspect %s: error %v, want one that starts with \"model inspect: \" and names the file", p, err)
		}
	}
	_, _, err := runApp("model", "inspect")
	if err == nil || !strings.Contains(err.Error(), "want one model file, got 0 arguments") {
		t.Errorf("inspect without a file: error %v", err)
	}
	if ec, ok := err.(cli.ExitCoder); !ok || ec.ExitCode() != 2 {
		t.Errorf("inspect without a file: error %v, want a usage error with exit code 2", err)
	}
}
