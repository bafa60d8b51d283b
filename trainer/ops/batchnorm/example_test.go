package batchnorm_test

import (
	"fmt"
	"log"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/batchnorm"
)

func ExampleBatchNorm() {
	// One layer with 2 channels, ONNX attributes epsilon 1e-5, momentum 0.9.
	state := batchnorm.NewState(2, 1e-5, batchnorm.MomentumFromONNX(0.9))
	mode := batchnorm.NewModeFlag(batchnorm.Train) // shared by all layers

	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(4, 2), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(4, 2), tensor.WithBacking([]float32{1, 10, 2, 20, 3, 30, 4, 40}))))
	scale := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(2), gorgonia.WithName("scale"),
		gorgonia.WithValue(tensor.New(tensor.WithBacking([]float32{1, 1}))))
	bias := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(2), gorgonia.WithName("bias"),
		gorgonia.WithValue(tensor.New(tensor.WithBacking([]float32{0, 0}))))
	y, err := batchnorm.BatchNorm(x, scale, bias, state, batchnorm.Params{Mode: mode})
	if err != nil {
		log.Fatal(err)
	}
	var out gorgonia.Value
	gorgonia.Read(y, &out)
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()

	if err := vm.RunAll(); err != nil { // a training step
		log.Fatal(err)
	}
	vm.Reset()
	mean, variance := state.Stats()
	fmt.Printf("train: y[0] = %.4f, running mean %v, running var %.4f\n", out.Data().([]float32)[0], mean, variance)

	mode.Set(batchnorm.Eval) // no rebuild, statistics kept
	if err := vm.RunAll(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("eval:  y[0] = %.4f\n", out.Data().([]float32)[0])
	// Output:
	// train: y[0] = -1.3416, running mean [0.25 2.5], running var [1.0667 17.5667]
	// eval:  y[0] = 0.7262
}
