package onnxio_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

func TestOpsetVersion(t *testing.T) {
	m := &onnxpb.ModelProto{OpsetImport: []*onnxpb.OperatorSetIdProto{
		{Domain: proto.String("ai.onnx"), Version: proto.Int64(11)},
		{Domain: proto.String("com.microsoft"), Version: proto.Int64(1)},
		{Domain: proto.String(""), Version: proto.Int64(13)},
	}}
	if v, ok := onnxio.OpsetVersion(m, ""); !ok || v != 13 {
		t.Errorf(`OpsetVersion("") = %d, %v; want the highest default-domain import, 13`, v, ok)
	}
	if v, ok := onnxio.OpsetVersion(m, "ai.onnx"); !ok || v != 13 {
		t.Errorf(`OpsetVersion("ai.onnx") = %d, %v; want 13`, v, ok)
	}
	if v, ok := onnxio.OpsetVersion(m, "com.microsoft"); !ok || v != 1 {
		t.Errorf(`OpsetVersion("com.microsoft") = %d, %v; want 1`, v, ok)
	}
	if _, ok := onnxio.OpsetVersion(m, "ai.onnx.ml"); ok {
		t.Error(`OpsetVersion("ai.onnx.ml") found an import that is not there`)
	}
	only := &onnxpb.ModelProto{OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String("com.microsoft"), Version: proto.Int64(1)}}}
	if _, err := onnxio.DefaultOpset(only); err == nil || !strings.Contains(err.Error(), "com.microsoft 1") {
		t.Errorf("DefaultOpset without a default import: error %v", err)
	}
}

func TestConstantValue(t *testing.T) {
	node := func(attr *onnxpb.AttributeProto) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{OpType: proto.String("Constant"), Output: []string{"c"}, Attribute: []*onnxpb.AttributeProto{attr}}
	}
	cases := []struct {
		attr *onnxpb.AttributeProto
		want onnxio.Tensor
	}{
		{onnxio.AttrTensor("value", onnxio.Float32Tensor("ignored", []int64{2}, []float32{1, 2})),
			onnxio.Tensor{Name: "c", DType: onnxio.DTypeFloat32, Dims: []int64{2}, Float32: []float32{1, 2}}},
		{&onnxpb.AttributeProto{Name: proto.String("value_float"), F: proto.Float32(0.5)},
			onnxio.Tensor{Name: "c", DType: onnxio.DTypeFloat32, Dims: []int64{}, Float32: []float32{0.5}}},
		{&onnxpb.AttributeProto{Name: proto.String("value_floats"), Floats: []float32{1, 2, 3}},
			onnxio.Tensor{Name: "c", DType: onnxio.DTypeFloat32, Dims: []int64{3}, Float32: []float32{1, 2, 3}}},
		{&onnxpb.AttributeProto{Name: proto.String("value_int"), I: proto.Int64(-4)},
			onnxio.Tensor{Name: "c", DType: onnxio.DTypeInt64, Dims: []int64{}, Int64: []int64{-4}}},
		{&onnxpb.AttributeProto{Name: proto.String("value_ints"), Ints: []int64{1, 3}},
			onnxio.Tensor{Name: "c", DType: onnxio.DTypeInt64, Dims: []int64{2}, Int64: []int64{1, 3}}},
	}
	for _, c := range cases {
		t.Run(c.attr.GetName(), func(t *testing.T) {
			tp, err := onnxio.ConstantValue(node(c.attr))
			if err != nil {
				t.Fatal(err)
			}
			got, err := onnxio.TensorFromProto(tp)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, c.want) {
				t.Errorf("got %+v, want %+v", *got, c.want)
			}
		})
	}
	strs := node(&onnxpb.AttributeProto{Name: proto.String("value_strings")})
	strs.Name = proto.String("labels")
	if _, err := onnxio.ConstantValue(strs); err == nil || !strings.Contains(err.Error(), `node "labels": Constant attribute "value_strings" is not supported`) {
		t.Errorf("value_strings: error %v", err)
	}
	relu := &onnxpb.NodeProto{OpType: proto.String("Relu"), Name: proto.String("r")}
	if _, err := onnxio.ConstantValue(relu); err == nil || !strings.Contains(err.Error(), `node "r": is Relu, want a Constant node`) {
		t.Errorf("Relu node: error %v", err)
	}
}

// TestConstantValueConformance decodes the Constant of the conformance
// test_relu_expanded_ver18 model, which computes y = Max(x, CastLike(Zero)),
// and checks the test's expected output is max(x, value) with it.
func TestConstantValueConformance(t *testing.T) {
	dir := nodeTest(t, "test_relu_expanded_ver18")
	m, err := onnxio.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := onnxio.DefaultOpset(m); err != nil || v != 18 {
		t.Errorf("DefaultOpset = %d, %v; want 18 (the test's name says ver18)", v, err)
	}
	n := m.GetGraph().GetNode()[0]
	tp, err := onnxio.ConstantValue(n)
	if err != nil {
		t.Fatal(err)
	}
	zero, dims, err := onnxio.TensorToFloat32(tp)
	if err != nil {
		t.Fatal(err)
	}
	if len(zero) != 1 || len(dims) != 0 || tp.GetName() != n.GetOutput()[0] {
		t.Fatalf("constant %q = %v dims %v, want a scalar named after the node output", tp.GetName(), zero, dims)
	}
	x, err := onnxio.ReadTensorFile(filepath.Join(dir, "test_data_set_0", "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	y, err := onnxio.ReadTensorFile(filepath.Join(dir, "test_data_set_0", "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x.Float32 {
		if want := max(v, zero[0]); y.Float32[i] != want {
			t.Fatalf("element %d: expected output %g, max(%g, constant %g) = %g", i, y.Float32[i], v, zero[0], want)
		}
	}
}
