package onnxio_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// mustBuildAddModel builds y = Relu(x + w) with x of shape [N, 4] and the
// initializer w = [1, -2, 3, -4], at opset 13.
func mustBuildAddModel(t testing.TB) *onnxpb.ModelProto {
	t.Helper()
	b := onnxio.NewGraphBuilder("add_relu")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 4)
	b.AddInitializer(onnxio.Float32Tensor("w", []int64{4}, []float32{1, -2, 3, -4}))
	b.AddNode("Add", []string{"x", "w"}, []string{"sum"})
	b.AddNode("Relu", []string{"sum"}, []string{"y"})
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 4)
	m, err := b.Model(13, "pgaug-test", map[string]string{"purpose": "test", "author": "pgaug"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGraphBuilderModel(t *testing.T) {
	m := mustBuildAddModel(t)
	if m.GetIrVersion() != 8 {
		t.Errorf("IR version %d, want 8 for opset 13", m.GetIrVersion())
	}
	if v, err := onnxio.DefaultOpset(m); err != nil || v != 13 {
		t.Errorf("DefaultOpset = %d, %v; want 13", v, err)
	}
	g := m.GetGraph()
	if g.GetName() != "add_relu" || len(g.GetNode()) != 2 || len(g.GetInitializer()) != 1 {
		t.Fatalf("graph %q has %d nodes, %d initializers", g.GetName(), len(g.GetNode()), len(g.GetInitializer()))
	}
	if a, r := g.GetNode()[0].GetName(), g.GetNode()[1].GetName(); a != "Add_1" || r != "Relu_1" {
		t.Errorf("node names %q %q, want Add_1 Relu_1", a, r)
	}
	dims := g.GetInput()[0].GetType().GetTensorType().GetShape().GetDim()
	if len(dims) != 2 || dims[0].GetDimParam() != "N" || dims[1].GetDimValue() != 4 {
		t.Errorf("input shape %v, want [N 4]", dims)
	}
	props := m.GetMetadataProps()
	if len(props) != 2 || props[0].GetKey() != "author" || props[1].GetValue() != "test" {
		t.Errorf("metadata %v, want author=pgaug, purpose=test in key order", props)
	}
	// The model survives the wire format unchanged.
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := onnxio.Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back, m) {
		t.Error("model differs after a Marshal/Decode round trip")
	}
}

func TestGraphBuilderDynamicDimAndAttributes(t *testing.T) {
	b := onnxio.NewGraphBuilder("g")
	b.AddInput("x", onnxio.DTypeFloat32, -1, int64(3))
	b.AddNode("Transpose", []string{"x"}, []string{"xt"}, onnxio.AttrInts("perm", 1, 0))
	n := b.AddNode("LeakyRelu", []string{"xt"}, []string{"y"}, onnxio.AttrFloat("alpha", 0.5))
	b.AddOutput("y", onnxio.DTypeFloat32, 3, -1)
	m, err := b.Model(17, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := m.GetGraph().GetInput()[0].GetType().GetTensorType().GetShape().GetDim()[0]
	if d.GetValue() != nil {
		t.Errorf("dim -1 stored as %v, want neither dim_value nor dim_param", d)
	}
	if a := n.GetAttribute()[0]; a.GetType() != onnxpb.AttributeProto_FLOAT || a.GetF() != 0.5 {
		t.Errorf("alpha attribute %v", a)
	}
	if a := m.GetGraph().GetNode()[0].GetAttribute()[0]; a.GetType() != onnxpb.AttributeProto_INTS || len(a.GetInts()) != 2 || a.GetInts()[0] != 1 {
		t.Errorf("perm attribute %v", a)
	}
	if s := onnxio.AttrString("mode", "constant"); s.GetType() != onnxpb.AttributeProto_STRING || string(s.GetS()) != "constant" {
		t.Errorf("AttrString = %v", s)
	}
	if s := onnxio.AttrInt("axis", -1); s.GetType() != onnxpb.AttributeProto_INT || s.GetI() != -1 {
		t.Errorf("AttrInt = %v", s)
	}
	if s := onnxio.AttrFloats("scales", 1, 2); s.GetType() != onnxpb.AttributeProto_FLOATS || len(s.GetFloats()) != 2 {
		t.Errorf("AttrFloats = %v", s)
	}
}

func TestGraphBuilderErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *onnxio.GraphBuilder)
		want  string
	}{
		{"undefined input", func(b *onnxio.GraphBuilder) {
			b.AddNode("Relu", []string{"nope"}, []string{"y"})
		}, `node "Relu_1" (Relu): input "nope" is not a graph input`},
		{"defined twice", func(b *onnxio.GraphBuilder) {
			b.AddNode("Relu", []string{"x"}, []string{"y"})
			b.AddNode("Neg", []string{"x"}, []string{"y"})
		}, `value "y" is defined twice`},
		{"bad dim", func(b *onnxio.GraphBuilder) {
			b.AddInput("z", onnxio.DTypeFloat32, -3)
			b.AddNode("Relu", []string{"x"}, []string{"y"})
		}, `input "z": dim 0 is -3`},
		{"bad dim type", func(b *onnxio.GraphBuilder) {
			b.AddInput("z", onnxio.DTypeFloat32, 2.5)
			b.AddNode("Relu", []string{"x"}, []string{"y"})
		}, `dim 0 is a float64`},
		{"output not produced", func(b *onnxio.GraphBuilder) {
			b.AddNode("Relu", []string{"x"}, []string{"other"})
		}, `output "y" is not produced`},
		{"duplicate attribute", func(b *onnxio.GraphBuilder) {
			b.AddNode("LeakyRelu", []string{"x"}, []string{"y"}, onnxio.AttrFloat("alpha", 1), onnxio.AttrFloat("alpha", 2))
		}, `attribute "alpha" given twice`},
		{"duplicate node name", func(b *onnxio.GraphBuilder) {
			b.AddNode("Relu", []string{"x"}, []string{"r"}).Name = proto.String("Neg_1")
			b.AddNode("Neg", []string{"r"}, []string{"y"})
		}, `node name "Neg_1" is used twice`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := onnxio.NewGraphBuilder("bad")
			b.AddInput("x", onnxio.DTypeFloat32, 2)
			c.build(b)
			b.AddOutput("y", onnxio.DTypeFloat32, 2)
			_, err := b.Model(13, "", nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `graph "bad"`) {
				t.Errorf("error %v, want it to name graph \"bad\" and say %q", err, c.want)
			}
		})
	}
}

func TestIRVersionForOpset(t *testing.T) {
	for opset, want := range map[int64]int64{7: 8, 13: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10} {
		if got, err := onnxio.IRVersionForOpset(opset); err != nil || got != want {
			t.Errorf("IRVersionForOpset(%d) = %d, %v; want %d", opset, got, err, want)
		}
	}
	for _, opset := range []int64{6, 23} {
		if _, err := onnxio.IRVersionForOpset(opset); err == nil {
			t.Errorf("IRVersionForOpset(%d): no error", opset)
		}
	}
}
