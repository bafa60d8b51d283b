package importer_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// perceptron builds y = Relu(x·Wᵀ + b): 3 inputs, 2 outputs, a dynamic
// batch dimension N, with W = [[1 0 -1] [0.5 0.5 0.5]] and b = [0 -1].
func perceptron() *onnxpb.ModelProto {
	b := onnxio.NewGraphBuilder("perceptron")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 3)
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 2)
	b.AddInitializer(onnxio.Float32Tensor("fc.weight", []int64{2, 3}, []float32{1, 0, -1, 0.5, 0.5, 0.5}))
	b.AddInitializer(onnxio.Float32Tensor("fc.bias", []int64{2}, []float32{0, -1}))
	b.AddNode("Gemm", []string{"x", "fc.weight", "fc.bias"}, []string{"z"}, onnxio.AttrInt("transB", 1))
	b.AddNode("Relu", []string{"z"}, []string{"y"})
	mp, err := b.Model(17, "example", nil)
	if err != nil {
		log.Fatal(err)
	}
	return mp
}

// printRows prints a float32 matrix with 4 decimals, one row a line.
func printRows(t *tensor.Dense) {
	d := t.Data().([]float32)
	cols := t.Shape()[len(t.Shape())-1]
	for i := 0; i < len(d); i += cols {
		for j, v := range d[i : i+cols] {
			if j > 0 {
				fmt.Print(" ")
			}
			fmt.Printf("%.4f", v)
		}
		fmt.Println()
	}
}

// Import a model, look at its parameters, build a graph for a batch of two
// and run it.
func Example() {
	m, err := importer.Import(perceptron(), importer.Options{Source: "perceptron"})
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range m.Params {
		fmt.Println(p.Name, p.Value.Shape(), p.Trainable)
	}
	all, trainable := m.NumParams()
	fmt.Println("params:", all, "trainable:", trainable)

	// The batch dimension is dynamic: give the shape to build for.
	g, err := m.Build(map[string][]int{"x": {2, 3}})
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	x := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, 3, 1, -1}))
	out, err := g.Forward(x)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("inputs:", g.InputNames, "output shape:", out[0].Shape())
	printRows(out[0])
	// Output:
	// fc.weight (2, 3) true
	// fc.bias (2) true
	// params: 8 trainable: 8
	// inputs: [x] output shape: (2, 2)
	// 0.0000 2.0000
	// 4.0000 0.5000
}

// Load a model from a file and describe its inputs and outputs.
func ExampleImportFile() {
	dir, err := os.MkdirTemp("", "importer-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "perceptron.onnx")
	if err := onnxio.Save(path, perceptron()); err != nil {
		log.Fatal(err)
	}

	m, err := importer.ImportFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("opset", m.Opset)
	for _, spec := range append(m.Inputs, m.Outputs...) {
		fmt.Printf("%s %v dims %v names %q\n", spec.Name, spec.ElemType, spec.Dims, spec.DimNames)
	}
	// Output:
	// opset 17
	// x FLOAT dims [-1 3] names ["N" ""]
	// y FLOAT dims [-1 2] names ["N" ""]
}

// Every graph built from a model shares the parameters' storage: changing a
// Param's value (as an optimizer step does) changes what the graphs compute.
func ExampleModel_Build() {
	m, err := importer.Import(perceptron(), importer.Options{})
	if err != nil {
		log.Fatal(err)
	}
	g, err := m.Build(map[string][]int{"x": {1, 3}})
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	x := tensor.New(tensor.WithShape(1, 3), tensor.WithBacking([]float32{1, 2, 3}))

	out, err := g.Forward(x)
	if err != nil {
		log.Fatal(err)
	}
	printRows(out[0])

	bias := m.Param("fc.bias").Value.Data().([]float32)
	bias[0] = 2.5 // z = -2 + 2.5: the first unit is no longer cut off by Relu
	if out, err = g.Forward(x); err != nil {
		log.Fatal(err)
	}
	printRows(out[0])
	// Output:
	// 0.0000 2.0000
	// 0.5000 2.0000
}

// Freeze parameters by name (a shell glob, or a regular expression after
// "re:") so that training leaves them alone.
func ExampleModel_Freeze() {
	m, err := importer.Import(perceptron(), importer.Options{})
	if err != nil {
		log.Fatal(err)
	}
	n, err := m.Freeze("*.bias")
	fmt.Println("frozen:", n, err)
	all, trainable := m.NumParams()
	fmt.Println("params:", all, "trainable:", trainable)

	// A pattern that matches nothing is an error, not a silent no-op.
	_, err = m.Freeze("features.*")
	fmt.Println(err)

	// Unfreeze counts the parameters it changed.
	n, _ = m.Unfreeze("re:^fc\\.")
	_, trainable = m.NumParams()
	fmt.Println("unfrozen:", n, "trainable:", trainable)
	// Output:
	// frozen: 1 <nil>
	// params: 8 trainable: 6
	// pattern "features.*" matches no parameter of model perceptron (e.g. fc.weight, fc.bias)
	// unfrozen: 1 trainable: 8
}

// An operator the importer does not handle is reported as one
// *UnsupportedError naming the operator and the node.
func ExampleUnsupportedError() {
	b := onnxio.NewGraphBuilder("fft")
	b.AddInput("x", onnxio.DTypeFloat32, 4, 2)
	b.AddOutput("y", onnxio.DTypeFloat32, 4, 2)
	b.AddNode("DFT", []string{"x"}, []string{"y"})
	mp, err := b.Model(17, "example", nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = importer.Import(mp, importer.Options{Source: "fft.onnx"})
	var ue *importer.UnsupportedError
	if errors.As(err, &ue) {
		fmt.Println(ue.Op, ue.Node, ue.Opset, ue.What)
	}
	// Output:
	// DFT DFT_1 17 operator
}
