package special_test

import (
	"fmt"
	"log"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/special"
)

func ExampleLnGamma() {
	g := gorgonia.NewGraph()
	alpha := gorgonia.NewTensor(g, tensor.Float32, 1, gorgonia.WithShape(3), gorgonia.WithName("alpha"),
		gorgonia.WithValue(tensor.New(tensor.WithBacking([]float32{0.5, 1, 4}))))
	lg, err := special.LnGamma(alpha)
	if err != nil {
		log.Fatal(err)
	}
	loss, err := gorgonia.Sum(lg)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := gorgonia.Grad(loss, alpha); err != nil {
		log.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		log.Fatal(err)
	}
	d, _ := alpha.Grad() // ψ(α)
	fmt.Printf("lnΓ = %.6f\nψ   = %.6f\n", lg.Value().Data(), d.Data())
	// Output:
	// lnΓ = [0.572365 0.000000 1.791759]
	// ψ   = [-1.963510 -0.577216 1.256118]
}
