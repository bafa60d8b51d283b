package activation_test

import (
	"fmt"
	"log"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/activation"
)

func ExampleLeakyRelu() {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 1, gorgonia.WithShape(4), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithBacking([]float32{-2, -0.5, 0, 3}))))
	y, err := activation.LeakyRelu(x, activation.DefaultLeakyReluAlpha)
	if err != nil {
		log.Fatal(err)
	}
	loss, err := gorgonia.Sum(y)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := gorgonia.Grad(loss, x); err != nil {
		log.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		log.Fatal(err)
	}
	dx, _ := x.Grad()
	fmt.Println(y.Value().Data(), dx.Data())
	// Output: [-0.02 -0.005 0 3] [0.01 0.01 0.01 1]
}
