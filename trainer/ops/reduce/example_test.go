package reduce_test

import (
	"fmt"
	"log"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/reduce"
)

func ExampleReduceMean() {
	g := gorgonia.NewGraph()
	// N×C×H×W = 1×2×2×2: global average pooling is the mean over H and W.
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 2, 2, 2), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(1, 2, 2, 2), tensor.WithBacking([]float32{1, 2, 3, 4, 10, 20, 30, 40}))))
	gap, err := reduce.ReduceMean(x, []int{2, 3}, true)
	if err != nil {
		log.Fatal(err)
	}
	p, err := reduce.Softmax(x, 1) // over the channels
	if err != nil {
		log.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(gap.Shape(), gap.Value().Data())
	fmt.Printf("%.4f\n", p.Value().Data().([]float32)[:2])
	// Output:
	// (1, 2, 1, 1) [2.5 25]
	// [0.0001 0.0000]
}
