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
