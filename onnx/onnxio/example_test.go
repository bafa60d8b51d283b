package onnxio_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// buildExampleModel builds y = Relu(x·Wᵀ + b), a one-layer perceptron with
// 3 inputs and 2 outputs and a dynamic batch dimension.
func buildExampleModel() *onnxpb.ModelProto {
	b := onnxio.NewGraphBuilder("perceptron")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 3)
	b.AddInitializer(onnxio.Float32Tensor("W", []int64{2, 3}, []float32{1, 0, -1, 0.5, 0.5, 0.5}))
	b.AddInitializer(onnxio.Float32Tensor("b", []int64{2}, []float32{0, -1}))
	b.AddNode("Gemm", []string{"x", "W", "b"}, []string{"z"}, onnxio.AttrInt("transB", 1))
	b.AddNode("Relu", []string{"z"}, []string{"y"})
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 2)
	m, err := b.Model(13, "example", map[string]string{"task": "demo"})
	if err != nil {
		log.Fatal(err)
	}
	return m
}

func ExampleNewGraphBuilder() {
	m := buildExampleModel()
	fmt.Println("IR version", m.GetIrVersion())
	for _, n := range m.GetGraph().GetNode() {
		fmt.Println(n.GetName(), n.GetInput(), "->", n.GetOutput())
	}
	// Output:
	// IR version 8
	// Gemm_1 [x W b] -> [z]
	// Relu_1 [z] -> [y]
}

func ExampleSummary_WriteText() {
	s := onnxio.Inspect(buildExampleModel())
	if err := s.WriteText(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// IR version:  8
	// producer:    example
	// graph:       perceptron
	// opsets:      ai.onnx 13
	// parameters:  8 in 2 initializers
	// inputs (1):
	//   x  float32  [N 3]
	// outputs (1):
	//   y  float32  [N 2]
	// operators (2 kinds, 2 nodes):
	//   Gemm  1
	//   Relu  1
	// metadata:
	//   task:  demo
}

func ExampleSave() {
	dir, err := os.MkdirTemp("", "onnxio-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "perceptron.onnx")
	// Tensors of 16 bytes or more go to perceptron.onnx.data.
	if err := onnxio.Save(path, buildExampleModel(), onnxio.WithExternalData(16)); err != nil {
		log.Fatal(err)
	}
	m, err := onnxio.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	for _, init := range m.GetGraph().GetInitializer() {
		data, dims, err := onnxio.TensorToFloat32(init)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(init.GetName(), dims, data)
	}
	// Output:
	// W [2 3] [1 0 -1 0.5 0.5 0.5]
	// b [2] [0 -1]
}

func ExampleTensorFromProto() {
	tp, err := (&onnxio.Tensor{Name: "half", DType: onnxio.DTypeFloat16, Dims: []int64{3}, Float32: []float32{0.1, 1, 70000}}).Proto()
	if err != nil {
		log.Fatal(err)
	}
	t, err := onnxio.TensorFromProto(tp)
	if err != nil {
		log.Fatal(err)
	}
	// 0.1 rounds to the nearest float16; 70000 is beyond its range.
	fmt.Println(t.DType, t.Dims, t.Float32, len(tp.GetRawData()), "bytes")
	// Output:
	// float16 [3] [0.099975586 1 +Inf] 6 bytes
}

func ExampleTensorToInt64() {
	shape := onnxio.Int64Tensor("shape", []int64{2}, []int64{-1, 784})
	data, dims, err := onnxio.TensorToInt64(shape)
	fmt.Println(data, dims, err)
	_, _, err = onnxio.TensorToInt64(onnxio.Float32Tensor("w", []int64{1}, []float32{1}))
	fmt.Println(err)
	// Output:
	// [-1 784] [2] <nil>
	// tensor "w": element type is float32, want an integer type (int8 to int64, uint8 to uint32)
}

func ExampleReadTensorFile() {
	// Written by numpy.save(numpy.arange(6).reshape(2, 3) * 0.5 as float32).
	t, err := onnxio.ReadTensorFile(filepath.Join("testdata", "npy", "f4.npy"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.DType, t.Dims, t.Float32)
	// Output:
	// float32 [2 3] [0 0.5 1 1.5 2 2.5]
}

func ExampleConstantValue() {
	b := onnxio.NewGraphBuilder("g")
	n := b.AddNode("Constant", nil, []string{"axes"}, onnxio.AttrInts("value_ints", 2, 3))
	tp, err := onnxio.ConstantValue(n)
	if err != nil {
		log.Fatal(err)
	}
	data, dims, _ := onnxio.TensorToInt64(tp)
	fmt.Println(tp.GetName(), dims, data)
	// Output:
	// axes [2] [2 3]
}

func ExampleDefaultOpset() {
	v, err := onnxio.DefaultOpset(buildExampleModel())
	fmt.Println(v, err)
	// Output:
	// 13 <nil>
}
