package netstep_test

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

// tinyModel imports a 2-4-2 perceptron (Gemm, Relu, Gemm) with fixed weights.
// A real model comes from a file: importer.ImportFile("resnet18.onnx").
func tinyModel() (*importer.Model, error) {
	b := onnxio.NewGraphBuilder("mlp")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 2)
	b.AddOutput("logits", onnxio.DTypeFloat32, "N", 2)
	b.AddInitializer(onnxio.Float32Tensor("fc1.weight", []int64{4, 2}, []float32{0.5, -0.3, -0.4, 0.6, 0.3, 0.2, -0.2, -0.5}))
	b.AddInitializer(onnxio.Float32Tensor("fc1.bias", []int64{4}, []float32{0.1, 0.1, 0.1, 0.1}))
	b.AddInitializer(onnxio.Float32Tensor("fc2.weight", []int64{2, 4}, []float32{0.2, 0.3, -0.1, 0.4, -0.3, 0.1, 0.2, -0.2}))
	b.AddInitializer(onnxio.Float32Tensor("fc2.bias", []int64{2}, []float32{0, 0}))
	b.AddNode("Gemm", []string{"x", "fc1.weight", "fc1.bias"}, []string{"h"}, onnxio.AttrInt("transB", 1))
	b.AddNode("Relu", []string{"h"}, []string{"r"})
	b.AddNode("Gemm", []string{"r", "fc2.weight", "fc2.bias"}, []string{"logits"}, onnxio.AttrInt("transB", 1))
	mp, err := b.Model(17, "example", nil)
	if err != nil {
		return nil, err
	}
	return importer.Import(mp, importer.Options{Source: "mlp"})
}

// A separable batch: the class is which of the two features is larger.
var (
	x = tensor.New(tensor.WithShape(4, 2), tensor.WithBacking([]float32{
		1, 0,
		0, 1,
		2, 0.5,
		0.5, 2,
	}))
	labels = []int{0, 1, 0, 1}
)

// Training a classifier: each Step runs forward and backward on the batch
// with the cross-entropy against one-hot targets, then updates the weights
// with the optimizer. The loss falls as the model fits the batch.
func ExampleNet_Step() {
	m, err := tinyModel()
	if err != nil {
		fmt.Println(err)
		return
	}
	net := netstep.New(m, netstep.CrossEntropy)
	defer net.Close()

	targets, _ := loss.OneHot(labels, 2)
	opt := &optim.SGD{Momentum: 0.9}
	for step := 1; step <= 12; step++ {
		r, err := net.Step(x, opt, 0.1, targets)
		if err != nil {
			fmt.Println(err)
			return
		}
		if step == 1 || step%4 == 0 {
			fmt.Printf("step %2d: loss %.3f\n", step, r.Loss)
		}
	}
	// Output:
	// step  1: loss 0.653
	// step  4: loss 0.531
	// step  8: loss 0.259
	// step 12: loss 0.052
}

// Prediction: Forward runs the model in inference mode and returns its
// logits (N×K); the predicted class is the largest.
func ExampleNet_Forward() {
	m, err := tinyModel()
	if err != nil {
		fmt.Println(err)
		return
	}
	net := netstep.New(m, netstep.CrossEntropy)
	defer net.Close()

	targets, _ := loss.OneHot(labels, 2)
	opt := &optim.SGD{Momentum: 0.9}
	for step := 0; step < 20; step++ {
		if _, err := net.Step(x, opt, 0.1, targets); err != nil {
			fmt.Println(err)
			return
		}
	}

	out, err := net.Forward(x)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("logits shape:", out.Shape())
	z := out.Data().([]float32)
	for i, label := range labels {
		pred := 0
		if z[2*i+1] > z[2*i] {
			pred = 1
		}
		fmt.Printf("sample %d: label %d, predicted %d\n", i, label, pred)
	}
	// Output:
	// logits shape: (4, 2)
	// sample 0: label 0, predicted 0
	// sample 1: label 1, predicted 1
	// sample 2: label 0, predicted 0
	// sample 3: label 1, predicted 1
}

// ForwardBackward without a step leaves the gradients for Params, e.g. to
// clip them before stepping by hand.
func ExampleNet_Params() {
	m, err := tinyModel()
	if err != nil {
		fmt.Println(err)
		return
	}
	net := netstep.New(m, netstep.CrossEntropy)
	defer net.Close()

	targets, _ := loss.OneHot(labels, 2)
	if _, err := net.ForwardBackward(x, targets); err != nil {
		fmt.Println(err)
		return
	}
	params, err := net.Params(x.Shape())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range params {
		fmt.Println(p.Name, len(p.Value))
	}
	if err := netstep.CheckFinite(params); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("gradient norm %.3f\n", optim.ClipGradNorm(params, 1))
	if err := optim.NewAdam(0).Step(params, 1e-3); err != nil {
		fmt.Println(err)
	}
	// Output:
	// fc1.weight 8
	// fc1.bias 4
	// fc2.weight 8
	// fc2.bias 2
	// gradient norm 0.483
}
