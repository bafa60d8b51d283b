package zoo_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/zoo"
)

// Build a seeded one-channel ResNet-18 with 2 classes for 64×64 inputs and
// save it.
func ExampleBuild() {
	m, err := zoo.Build("resnet18", zoo.Options{Classes: 2, InChannels: 1, Size: 64, Seed: 7})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := onnxio.Inspect(m)
	fmt.Println(s.Inputs[0].Name, onnxio.ShapeString(s.Inputs[0].Shape))
	fmt.Println(s.Outputs[0].Name, onnxio.ShapeString(s.Outputs[0].Shape))
	fmt.Println(m.GetGraph().GetInitializer()[0].GetName(), m.GetGraph().GetInitializer()[0].GetDims())

	dir, _ := os.MkdirTemp("", "zoo")
	defer os.RemoveAll(dir)
	if err := onnxio.Save(filepath.Join(dir, "resnet18.onnx"), m); err != nil {
		fmt.Println(err)
	}
	// Output:
	// input [N 1 64 64]
	// logits [N 2]
	// conv1.weight [64 1 7 7]
}

func ExampleList() {
	for _, info := range zoo.List() {
		fmt.Printf("%-12s %-14s %9d params, output %s\n", info.Name, info.Task, info.Params, info.Output)
	}
	// Output:
	// smallcnn     classification     24346 params, output logits
	// resnet10t    classification   5435488 params, output logits
	// resnet18     classification  11689512 params, output logits
	// resnet50     classification  25557032 params, output logits
	// densenet121  classification   7978856 params, output logits
	// densenet169  classification  14149480 params, output logits
	// ternausnet11 segmentation    22927393 params, output probability
	// unet-small   segmentation      535793 params, output probability
}

func ExampleParamCount() {
	n, err := zoo.ParamCount("densenet121", zoo.Options{Classes: 2})
	fmt.Println(n, err)
	// Output:
	// 6955906 <nil>
}
