package onnxio_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/onnx/onnxio"
)

func TestInspectBuiltModel(t *testing.T) {
	b := onnxio.NewGraphBuilder("net")
	b.AddInput("image", onnxio.DTypeFloat32, "N", 3, -1, 8)
	b.AddInitializer(onnxio.Float32Tensor("w", []int64{4, 3, 3, 3}, make([]float32, 108)))
	b.AddInitializer(onnxio.Float32Tensor("bias", []int64{4}, make([]float32, 4)))
	b.AddNode("Conv", []string{"image", "w", "bias"}, []string{"c"}, onnxio.AttrInts("pads", 1, 1, 1, 1))
	b.AddNode("Relu", []string{"c"}, []string{"r"})
	b.AddNode("Constant", nil, []string{"k"}, onnxio.AttrTensor("value", onnxio.Float32Tensor("", []int64{2, 5}, make([]float32, 10))))
	b.AddNode("Relu", []string{"r"}, []string{"y"})
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 4, -1, 8)
	b.AddOutput("k", onnxio.DTypeFloat32, 2, 5)
	m, err := b.Model(13, "pgaug", map[string]string{"classes": "4"})
	if err != nil {
		t.Fatal(err)
	}
	s := onnxio.Inspect(m)
	if s.Parameters != 112 || s.Initializers != 2 || s.ConstantParams != 10 || s.ConstantNodes != 1 {
		t.Errorf("parameters %d in %d initializers, constants %d in %d nodes; want 112 in 2, 10 in 1",
			s.Parameters, s.Initializers, s.ConstantParams, s.ConstantNodes)
	}
	wantOps := []onnxio.OperatorCount{{OpType: "Constant", Count: 1}, {OpType: "Conv", Count: 1}, {OpType: "Relu", Count: 2}}
	if !reflect.DeepEqual(s.Operators, wantOps) || s.Nodes != 4 {
		t.Errorf("operators %v (%d nodes), want %v (4 nodes)", s.Operators, s.Nodes, wantOps)
	}
	if len(s.Inputs) != 1 || s.Inputs[0].Type != "float32" || onnxio.ShapeString(s.Inputs[0].Shape) != "[N 3 ? 8]" {
		t.Errorf("inputs %+v, want image float32 [N 3 ? 8]", s.Inputs)
	}
	if s.IRVersion != 8 || s.ProducerName != "pgaug" || s.Metadata["classes"] != "4" || len(s.Opsets) != 1 || s.Opsets[0] != (onnxio.Opset{Domain: "ai.onnx", Version: 13}) {
		t.Errorf("summary header %+v", s)
	}

	var text bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"IR version:  8", "opsets:      ai.onnx 13", "image  float32  [N 3 ? 8]",
		"parameters:  112 in 2 initializers (+ 10 in 1 Constant nodes)", "Relu      2", "classes:  4"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text summary lacks %q:\n%s", want, text.String())
		}
	}

	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	json.Unmarshal(js, &decoded)
	shape := decoded["inputs"].([]any)[0].(map[string]any)["shape"]
	if !reflect.DeepEqual(shape, []any{"N", 3.0, nil, 8.0}) {
		t.Errorf("JSON input shape %v, want [\"N\", 3, null, 8]", shape)
	}
}

// TestInspectConformanceModel checks Inspect on an exported network: IR 3
// lists initializers among the graph inputs, which must not be reported as
// inputs, and the parameter count must equal the sum over initializers.
func TestInspectConformanceModel(t *testing.T) {
	m, err := onnxio.Load(filepath.Join(conformanceDir(t), "light", "light_resnet50.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	s := onnxio.Inspect(m)
	if len(s.Inputs) != 1 || s.Inputs[0].Name != "gpu_0/data_0" || onnxio.ShapeString(s.Inputs[0].Shape) != "[1 3 224 224]" {
		t.Errorf("inputs %+v, want only gpu_0/data_0 [1 3 224 224]", s.Inputs)
	}
	var params int64
	for _, init := range m.GetGraph().GetInitializer() {
		n, _ := onnxio.NumElements(init.GetDims())
		params += n
	}
	if s.Parameters != params || s.Initializers != len(m.GetGraph().GetInitializer()) {
		t.Errorf("parameters %d in %d initializers, want %d in %d", s.Parameters, s.Initializers, params, len(m.GetGraph().GetInitializer()))
	}
	count := map[string]int{}
	for _, n := range m.GetGraph().GetNode() {
		count[n.GetOpType()]++
	}
	for _, op := range s.Operators {
		if count[op.OpType] != op.Count {
			t.Errorf("operator %s counted %d, graph has %d", op.OpType, op.Count, count[op.OpType])
		}
	}
	if len(s.Operators) != len(count) || count["Conv"] != 53 {
		t.Errorf("%d operator kinds (Conv %d), want %d kinds and ResNet-50's 53 Conv layers", len(s.Operators), count["Conv"], len(count))
	}
}

func TestMetadataValue(t *testing.T) {
	b := onnxio.NewGraphBuilder("g")
	b.AddInput("x", onnxio.DTypeFloat32, 1)
	b.AddOutput("y", onnxio.DTypeFloat32, 1)
	b.AddNode("Identity", []string{"x"}, []string{"y"})
	m, err := b.Model(13, "test", map[string]string{"pgaug.method": "apga"})
	if err != nil {
		t.Fatal(err)
	}
	if got := onnxio.MetadataValue(m, "pgaug.method"); got != "apga" {
		t.Fatalf("pgaug.method = %q", got)
	}
	if got := onnxio.MetadataValue(m, "missing"); got != "" {
		t.Fatalf("missing key gave %q", got)
	}
}
