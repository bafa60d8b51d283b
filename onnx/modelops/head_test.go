package modelops_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/zoo"
)

// A zoo ResNet-18's Gemm head (transB=1, PyTorch layout) becomes a 3-class
// layer: new shapes, values within PyTorch's Linear bound, the output shape
// follows, nothing else changes, and the model runs.
func TestReplaceHeadGemm(t *testing.T) {
	m := buildZoo(t, "resnet18", zoo.Options{Classes: 10, Size: 32, Seed: 1})
	before := proto.Clone(m).(*onnxpb.ModelProto)
	h, err := modelops.ReplaceHead(m, 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	if h.Op != "Gemm" || h.Weight != "fc.weight" || h.Bias != "fc.bias" || h.BiasAdded || h.InFeatures != 512 ||
		h.OldClasses != 10 || h.NewClasses != 3 || h.Output != "logits" {
		t.Fatalf("report %+v", h)
	}
	w, wd := initializer(t, m, "fc.weight")
	b, bd := initializer(t, m, "fc.bias")
	if !slices.Equal(wd, []int64{3, 512}) || !slices.Equal(bd, []int64{3}) {
		t.Fatalf("new head shapes %v, %v", wd, bd)
	}
	bound := 1 / math.Sqrt(512)
	var maxAbs float64
	for _, v := range append(append([]float32{}, w...), b...) {
		maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
	}
	if maxAbs > bound || maxAbs < 0.9*bound {
		t.Errorf("head values reach %.4g, want U(±%.4g) filling its range", maxAbs, bound)
	}
	if got := dims(m.GetGraph().GetOutput()[0]); !slices.Equal(got, []int64{-1, 3}) {
		t.Errorf("output dims %v, want [N 3]", got)
	}
	// The same seed and names give the head a zoo model of 3 classes has.
	ref := buildZoo(t, "resnet18", zoo.Options{Classes: 3, Size: 32, Seed: 9})
	rw, _ := initializer(t, ref, "fc.weight")
	if !slices.Equal(rw, w) {
		t.Error("ReplaceHead's fc.weight differs from the zoo's with the same seed")
	}
	for _, ti := range before.GetGraph().GetInitializer() {
		if strings.HasPrefix(ti.GetName(), "fc.") {
			continue
		}
		after, _ := initializer(t, m, ti.GetName())
		orig, _, _ := onnxio.TensorToFloat32(ti)
		if !slices.Equal(after, orig) {
			t.Errorf("%s changed", ti.GetName())
		}
	}
	out := forward(t, m, []int{2, 3, 32, 32}, normal(1, 2*3*32*32))
	if !slices.Equal([]int(out.Shape()), []int{2, 3}) {
		t.Errorf("output shape %v", out.Shape())
	}
}

// MatMul + Add + Softmax (a head without Gemm, transposed layout).
func TestReplaceHeadMatMulAddSoftmax(t *testing.T) {
	b := onnxio.NewGraphBuilder("mlp")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 4)
	b.AddInitializer(onnxio.Float32Tensor("W", []int64{4, 6}, normal(2, 24)))
	b.AddInitializer(onnxio.Float32Tensor("b", []int64{6}, normal(3, 6)))
	b.AddNode("MatMul", []string{"x", "W"}, []string{"z"})
	b.AddNode("Add", []string{"z", "b"}, []string{"s"})
	b.AddNode("Softmax", []string{"s"}, []string{"p"}, onnxio.AttrInt("axis", -1))
	b.AddOutput("p", onnxio.DTypeFloat32, "N", 6)
	m := mustModel(t, b)
	m.Graph.ValueInfo = []*onnxpb.ValueInfoProto{{Name: proto.String("s")}}
	h, err := modelops.ReplaceHead(m, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if h.Op != "MatMul+Add" || h.Weight != "W" || h.Bias != "b" || h.InFeatures != 4 || h.OldClasses != 6 || len(h.Through) != 1 {
		t.Fatalf("report %+v", h)
	}
	if _, wd := initializer(t, m, "W"); !slices.Equal(wd, []int64{4, 2}) {
		t.Errorf("W is %v, want [4 2]", wd)
	}
	if len(m.GetGraph().GetValueInfo()) != 0 {
		t.Errorf("stale value_info kept: %v", m.GetGraph().GetValueInfo())
	}
	out := forward(t, m, []int{3, 4}, normal(4, 12))
	p := out.Data().([]float32)
	for r := 0; r < 3; r++ {
		if s := p[2*r] + p[2*r+1]; math.Abs(float64(s)-1) > 1e-5 || !slices.Equal([]int(out.Shape()), []int{3, 2}) {
			t.Fatalf("softmax row %d sums to %v (shape %v)", r, s, out.Shape())
		}
	}
}

// A Gemm with transB=0, alpha 2 and no bias: the new layer is plain (alpha
// dropped) and gets a bias.
func TestReplaceHeadAddsBias(t *testing.T) {
	b := onnxio.NewGraphBuilder("g")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 5)
	b.AddInitializer(onnxio.Float32Tensor("head.weight", []int64{5, 7}, normal(2, 35)))
	n := b.AddNode("Gemm", []string{"x", "head.weight"}, []string{"y"}, onnxio.AttrFloat("alpha", 2))
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 7)
	m := mustModel(t, b)
	h, err := modelops.ReplaceHead(m, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !h.BiasAdded || h.Bias != "head.bias" || h.InFeatures != 5 || h.OldClasses != 7 {
		t.Fatalf("report %+v", h)
	}
	if len(n.GetAttribute()) != 0 || len(n.GetInput()) != 3 || n.GetInput()[2] != "head.bias" {
		t.Fatalf("node after the change: %v", n)
	}
	x := normal(5, 10)
	out := forward(t, m, []int{2, 5}, x).Data().([]float32)
	w, _ := initializer(t, m, "head.weight")
	bias, _ := initializer(t, m, "head.bias")
	for r := 0; r < 2; r++ {
		for k := 0; k < 4; k++ {
			want := float64(bias[k])
			for f := 0; f < 5; f++ {
				want += float64(x[r*5+f]) * float64(w[f*4+k])
			}
			if math.Abs(want-float64(out[r*4+k])) > 1e-5 {
				t.Fatalf("y[%d,%d] = %v, want x·W+b = %v", r, k, out[r*4+k], want)
			}
		}
	}
}

func TestReplaceHeadErrors(t *testing.T) {
	shared := func() *onnxpb.ModelProto {
		b := onnxio.NewGraphBuilder("g")
		b.AddInput("x", onnxio.DTypeFloat32, "N", 3)
		b.AddInitializer(onnxio.Float32Tensor("W", []int64{3, 3}, normal(1, 9)))
		b.AddNode("MatMul", []string{"x", "W"}, []string{"h"})
		b.AddNode("Gemm", []string{"h", "W"}, []string{"y"})
		b.AddOutput("y", onnxio.DTypeFloat32, "N", 3)
		return mustModel(t, b)
	}
	computed := func() *onnxpb.ModelProto {
		b := onnxio.NewGraphBuilder("g")
		b.AddInput("x", onnxio.DTypeFloat32, "N", 3)
		b.AddInput("w", onnxio.DTypeFloat32, 3, 3)
		b.AddNode("Gemm", []string{"x", "w"}, []string{"y"})
		b.AddOutput("y", onnxio.DTypeFloat32, "N", 3)
		return mustModel(t, b)
	}
	reshaped := func() *onnxpb.ModelProto {
		b := onnxio.NewGraphBuilder("g")
		b.AddInput("x", onnxio.DTypeFloat32, "N", 3)
		b.AddInitializer(onnxio.Float32Tensor("W", []int64{3, 4}, normal(1, 12)))
		b.AddInitializer(onnxio.Int64Tensor("shape", []int64{2}, []int64{-1, 2}))
		b.AddNode("Gemm", []string{"x", "W"}, []string{"z"})
		b.AddNode("Reshape", []string{"z", "shape"}, []string{"y"})
		b.AddOutput("y", onnxio.DTypeFloat32, "N", 2)
		return mustModel(t, b)
	}
	for _, c := range []struct {
		what    string
		m       *onnxpb.ModelProto
		classes int
		want    string
	}{
		{"segmentation output", buildZoo(t, "ternausnet11", zoo.Options{Size: 32}), 2, `comes through node "/Sigmoid" (Sigmoid) from node "/final/Conv" (Conv)`},
		{"no classes", buildZoo(t, "smallcnn", zoo.Options{Size: 8}), 0, "want at least 1"},
		{"shared weight", shared(), 2, `tensor "W" is also read by [node "MatMul_1" (MatMul)]`},
		{"weight is an input", computed(), 2, `"w" is a graph input, want an initializer or a Constant node`},
		{"reshape before the output", reshaped(), 2, `node "Reshape_1" (Reshape)`},
	} {
		before := proto.Clone(c.m)
		_, err := modelops.ReplaceHead(c.m, c.classes, 0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.what, err, c.want)
		}
		if !proto.Equal(before, c.m) {
			t.Errorf("%s: the model was changed by a failed ReplaceHead", c.what)
		}
	}
}
