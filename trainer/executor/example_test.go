package executor_test

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/executor"
)

// A loss and its gradient, planned once and run twice: the second run
// writes into the buffers of the first.
func ExampleCompile() {
	g := gorgonia.NewGraph()
	w := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(3), gorgonia.WithName("w"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{1, 2, 3}))))
	x := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(3), gorgonia.WithName("x"))
	loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(gorgonia.Must(gorgonia.HadamardProd(w, x))))))
	grads, err := gorgonia.Grad(loss, w)
	if err != nil {
		panic(err)
	}
	prog, err := executor.Compile(executor.CPU{}, loss, grads[0])
	if err != nil {
		panic(err)
	}
	defer prog.Close()
	for _, xv := range [][]float32{{1, 1, 1}, {1, 0, 2}} {
		if err := gorgonia.Let(x, tensor.New(tensor.WithShape(3), tensor.WithBacking(xv))); err != nil {
			panic(err)
		}
		if err := prog.Run(); err != nil {
			panic(err)
		}
		l, _ := prog.Value(loss)
		dw, _ := prog.Value(grads[0])
		fmt.Println("loss", l.Data(), "dloss/dw", dw.Data())
	}
	// Output:
	// loss 14 dloss/dw [2 4 6]
	// loss 37 dloss/dw [2 0 24]
}
