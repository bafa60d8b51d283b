package checkpoint_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/trainer/checkpoint"
	"github.com/pgaug/pgaug/trainer/optim"
)

// Save checkpoints at evaluation points, keeping the newest two, and resume
// from the latest one. A real loop also calls AddModel / RestoreModel for
// each network.
func Example() {
	dir, _ := os.MkdirTemp("", "ckpt")
	defer os.RemoveAll(dir)

	w := []float32{1, -1}
	opt := &optim.SGD{Momentum: 0.9}
	pcg := rand.NewPCG(1, 2)
	r := rand.New(pcg)
	for step := int64(1); step <= 300; step++ {
		g := []float32{float32(r.NormFloat64()), float32(r.NormFloat64())}
		opt.Step([]optim.Param{{Name: "w", Value: w, Grad: g}}, 0.01)
		if step%100 != 0 {
			continue
		}
		s := checkpoint.NewState()
		s.Step, s.Epoch = step, step/150
		s.Scalars["baseline_ema"] = 0.25
		s.Vectors["w"] = w // small host vector (a model would go through AddModel)
		s.Meta["method"] = "example"
		if err := s.AddOptimizer("opt", opt); err != nil {
			fmt.Println(err)
			return
		}
		if err := s.AddRNG("data", pcg); err != nil {
			fmt.Println(err)
			return
		}
		if _, err := checkpoint.Save(dir, s, 2); err != nil {
			fmt.Println(err)
			return
		}
	}

	// After a restart:
	paths, _ := checkpoint.List(dir)
	for _, p := range paths {
		fmt.Println(filepath.Base(p))
	}
	path, ok, err := checkpoint.Latest(dir)
	if err != nil || !ok {
		fmt.Println("nothing to resume", err)
		return
	}
	s, err := checkpoint.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	opt2, pcg2 := &optim.SGD{Momentum: 0.9}, rand.NewPCG(0, 0)
	if err := s.RestoreOptimizer("opt", opt2); err != nil {
		fmt.Println(err)
		return
	}
	if err := s.RestoreRNG("data", pcg2); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("resume at step", s.Step, "epoch", s.Epoch, s.Meta["method"], s.Scalars["baseline_ema"])
	fmt.Println("same weights:", s.Vectors["w"][0] == w[0] && s.Vectors["w"][1] == w[1])
	fmt.Println("same next draw:", rand.New(pcg2).Uint64() == r.Uint64())
	// Output:
	// ckpt-000000000200.pgck
	// ckpt-000000000300.pgck
	// resume at step 300 epoch 2 example 0.25
	// same weights: true
	// same next draw: true
}
