package optim_test

import (
	"fmt"

	"github.com/pgaug/pgaug/trainer/optim"
)

// SGD with momentum minimising f(x) = ½(x−3)², whose gradient is x−3.
// The velocity carries x past the minimum at step 5.
// The caller computes the gradient, then Step updates Value in place.
func ExampleSGD() {
	x := optim.Param{Name: "x", Value: []float32{0}, Grad: []float32{0}}
	opt := &optim.SGD{Momentum: 0.9}
	for step := 1; step <= 5; step++ {
		x.Grad[0] = x.Value[0] - 3
		if err := opt.Step([]optim.Param{x}, 0.1); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("step %d: x = %.4f\n", step, x.Value[0])
	}
	// Output:
	// step 1: x = 0.3000
	// step 2: x = 0.8400
	// step 3: x = 1.5420
	// step 4: x = 2.3196
	// step 5: x = 3.0875
}

// Adam on the same quadratic: its first steps have size ≈ lr whatever the
// scale of the gradient.
func ExampleAdam() {
	x := optim.Param{Name: "x", Value: []float32{0}, Grad: []float32{0}}
	opt := optim.NewAdam(0)
	for step := 1; step <= 4; step++ {
		x.Grad[0] = x.Value[0] - 3
		if err := opt.Step([]optim.Param{x}, 0.5); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("step %d: x = %.4f\n", step, x.Value[0])
	}
	_, steps := opt.State()
	fmt.Println("steps taken:", steps)
	// Output:
	// step 1: x = 0.5000
	// step 2: x = 0.9956
	// step 3: x = 1.4823
	// step 4: x = 1.9541
	// steps taken: 4
}

// AdamW decays the weights directly (decoupled from the gradient): with a
// zero gradient, only the decay moves the value, by lr·λ·x.
func ExampleNewAdamW() {
	w := optim.Param{Name: "w", Value: []float32{1}, Grad: []float32{0}}
	opt := optim.NewAdamW(0.1)
	if err := opt.Step([]optim.Param{w}, 0.5); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("w = %.4f\n", w.Value[0])
	// Output: w = 0.9500
}

// The optimizer state is keyed by parameter name and can be restored into a
// fresh optimizer (e.g. from a checkpoint) to continue exactly.
func ExampleSGD_State() {
	p := optim.Param{Name: "w", Value: []float32{1}, Grad: []float32{2}}
	a := &optim.SGD{Momentum: 0.9}
	_ = a.Step([]optim.Param{p}, 0.1)

	buf, steps := a.State()
	b := &optim.SGD{Momentum: 0.9}
	b.SetState(buf, steps)

	q := optim.Param{Name: "w", Value: []float32{p.Value[0]}, Grad: []float32{2}}
	_ = a.Step([]optim.Param{p}, 0.1)
	_ = b.Step([]optim.Param{q}, 0.1)
	fmt.Printf("%.4f %.4f\n", p.Value[0], q.Value[0])
	// Output: 0.4200 0.4200
}

// ClipGradNorm rescales the gradients so that their joint norm is at most
// maxNorm and returns the norm before clipping: here ‖(3, 4)‖ = 5.
func ExampleClipGradNorm() {
	params := []optim.Param{
		{Name: "a", Value: []float32{0}, Grad: []float32{3}},
		{Name: "b", Value: []float32{0}, Grad: []float32{4}},
	}
	norm := optim.ClipGradNorm(params, 1)
	fmt.Printf("norm %.4f, clipped grads %.4f %.4f\n", norm, params[0].Grad[0], params[1].Grad[0])
	// Output: norm 5.0000, clipped grads 0.6000 0.8000
}
