package modelops

import (
	"math"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/trainer/netstep"
)

// A Conv with zero weights before the Sigmoid then outputs exactly p; the
// zoo's segmentation policies take the bias of their last convolution.
func TestSetOutputProbability(t *testing.T) {
	b := onnxio.NewGraphBuilder("policy")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 1, 4, 4)
	b.AddOutput("p", onnxio.DTypeFloat32, "N", 1, 4, 4)
	b.AddInitializer(onnxio.Float32Tensor("final.weight", []int64{1, 1, 1, 1}, []float32{0}))
	b.AddInitializer(onnxio.Float32Tensor("final.bias", []int64{1}, []float32{-3}))
	b.AddNode("Conv", []string{"x", "final.weight", "final.bias"}, []string{"z"})
	b.AddNode("Sigmoid", []string{"z"}, []string{"p"})
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	name, err := SetOutputProbability(mp, 0.9)
	if err != nil || name != "final.bias" {
		t.Fatalf("SetOutputProbability: %q, %v", name, err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "policy"})
	if err != nil {
		t.Fatal(err)
	}
	net := netstep.New(m, netstep.BinaryCrossEntropy)
	defer net.Close()
	out, err := net.Forward(tensor.New(tensor.WithShape(2, 1, 4, 4), tensor.WithBacking(make([]float32, 32))))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out.Data().([]float32) {
		if math.Abs(float64(v)-0.9) > 1e-6 {
			t.Fatalf("output %d is %v, want 0.9", i, v)
		}
	}

	for _, arch := range []string{"unet-small", "ternausnet11"} {
		zm, err := zoo.Build(arch, zoo.Options{Classes: 1, InChannels: 1, Size: 32})
		if err != nil {
			t.Fatal(err)
		}
		name, err := SetOutputProbability(zm, 0.75)
		if err != nil || !strings.Contains(name, "bias") {
			t.Errorf("%s: %q, %v", arch, name, err)
		}
	}
	cls, err := zoo.Build("smallcnn", zoo.Options{Classes: 2, Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SetOutputProbability(cls, 0.5); err == nil || !strings.Contains(err.Error(), "Sigmoid") {
		t.Errorf("a classifier without a sigmoid output: %v", err)
	}
	if _, err := SetOutputProbability(mp, 1); err == nil {
		t.Error("p = 1 must be refused")
	}
}

// A Gemm with zero weights then outputs exactly the values set; the zoo's
// classifiers (the noise policy's feature extractors) take the bias of
// their last Gemm.
func TestSetOutputBias(t *testing.T) {
	b := onnxio.NewGraphBuilder("head")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 3)
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 4)
	b.AddInitializer(onnxio.Float32Tensor("fc.weight", []int64{4, 3}, make([]float32, 12)))
	b.AddInitializer(onnxio.Float32Tensor("fc.bias", []int64{4}, []float32{9, 9, 9, 9}))
	b.AddNode("Gemm", []string{"x", "fc.weight", "fc.bias"}, []string{"y"}, onnxio.AttrInt("transB", 1))
	mp, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{2.5, -1, 0.25, 3}
	name, err := SetOutputBias(mp, want)
	if err != nil || name != "fc.bias" {
		t.Fatalf("SetOutputBias: %q, %v", name, err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "head"})
	if err != nil {
		t.Fatal(err)
	}
	net := netstep.New(m, netstep.CrossEntropy)
	defer net.Close()
	out, err := net.Forward(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, -4, 5, 6})))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out.Data().([]float32) {
		if v != want[i%4] {
			t.Fatalf("output %d is %v, want %v", i, v, want[i%4])
		}
	}
	if _, err := SetOutputBias(mp, []float32{1, 2}); err == nil || !strings.Contains(err.Error(), "has 4 elements, 2 values given") {
		t.Errorf("2 values for a bias of 4: %v", err)
	}

	for _, arch := range []string{"smallcnn", "resnet10t"} {
		zm, err := zoo.Build(arch, zoo.Options{Classes: 8, InChannels: 1, Size: 32})
		if err != nil {
			t.Fatal(err)
		}
		if name, err := SetOutputBias(zm, make([]float32, 8)); err != nil || !strings.Contains(name, "bias") {
			t.Errorf("%s: %q, %v", arch, name, err)
		}
	}
	seg, err := zoo.Build("unet-small", zoo.Options{Classes: 1, InChannels: 1, Size: 32})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SetOutputBias(seg, []float32{0}); err == nil || !strings.Contains(err.Error(), "Sigmoid") {
		t.Errorf("a network ending in a Sigmoid: %v", err)
	}
}
