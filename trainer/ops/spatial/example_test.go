package spatial_test

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/spatial"
)

// A 3×3 convolution with stride 2 and ONNX-style asymmetric padding (one row
// at the top, none at the bottom), and the gradient of its sum with respect
// to the weight.
func ExampleConv2D() {
	g := gorgonia.NewGraph()
	xs := make([]float32, 1*1*4*4)
	for i := range xs {
		xs[i] = float32(i)
	}
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 1, 4, 4), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(1, 1, 4, 4), tensor.WithBacking(xs))))
	w := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 1, 3, 3), gorgonia.WithName("w"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(1, 1, 3, 3), tensor.WithBacking([]float32{0, 0, 0, 0, 1, 0, 0, 0, 0}))))

	y, err := spatial.Conv2D(x, w, spatial.ConvParams{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 0, 0}})
	if err != nil {
		fmt.Println(err)
		return
	}
	cost, _ := gorgonia.Sum(y)
	if _, err := gorgonia.Grad(cost, w); err != nil {
		fmt.Println(err)
		return
	}
	var yv gorgonia.Value
	gorgonia.Read(y, &yv)
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(w))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	dw, _ := w.Grad()
	fmt.Println("y shape:", yv.Shape())
	fmt.Println("y:", yv.Data())
	fmt.Println("dL/dw:", dw.Data())
	// Output:
	// y shape: (1, 1, 2, 2)
	// y: [0 2 8 10]
	// dL/dw: [5 10 12 10 20 24 18 36 40]
}
