package resample_test

import (
	"fmt"
	"log"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/resample"
)

func ExampleResize() {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 1, 2, 2), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(1, 1, 2, 2), tensor.WithBacking([]float32{0, 1, 2, 3}))))
	// PyTorch's F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True).
	y, err := resample.Resize(x, resample.ResizeParams{
		Mode:       resample.Linear,
		Coordinate: resample.AlignCorners,
		Sizes:      []int{1, 1, 3, 3},
	})
	if err != nil {
		log.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(y.Shape(), y.Value().Data())
	// Output: (1, 1, 3, 3) [0 0.5 1 1 1.5 2 2 2.5 3]
}

func ExamplePad() {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(1, 4), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(1, 4), tensor.WithBacking([]float32{1, 2, 3, 4}))))
	// Two reflected elements before, and the last one cropped.
	y, err := resample.Pad(x, resample.PadParams{Pads: []int{0, 2, 0, -1}, Mode: resample.Reflect})
	if err != nil {
		log.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(y.Shape(), y.Value().Data())
	// Output: (1, 5) [3 2 1 2 3]
}
