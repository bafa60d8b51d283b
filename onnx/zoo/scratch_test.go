package zoo_test

import (
	"math/rand/v2"
	"testing"

	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
	"gorgonia.org/tensor"
)

func TestScratch(t *testing.T) {
	type v struct {
		name      string
		size, n   int
		lr, mom   float64
		adam      bool
		steps     int
	}
	for _, c := range []v{
		{"resnet50", 32, 4, 0.01, 0, false, 6},
		{"resnet50", 32, 8, 0.01, 0.9, false, 6},
		{"resnet50", 64, 4, 0.01, 0.9, false, 6},
		{"ternausnet11", 32, 2, 3e-3, 0, true, 6},
		{"ternausnet11", 32, 2, 1e-2, 0.9, false, 6},
		{"ternausnet11", 32, 2, 1e-3, 0, true, 10},
	} {
		classes := 2
		if c.name == "ternausnet11" {
			classes = 1
		}
		m, _ := zoo.Build(c.name, zoo.Options{Classes: classes, Size: c.size, Seed: 1})
		rng := rand.New(rand.NewPCG(8, 8))
		var x, y *tensor.Dense
		kind := netstep.CrossEntropy
		if classes == 1 {
			kind = netstep.BinaryCrossEntropy
			x, y = segTask(rng, c.n, 3, c.size)
		} else {
			x, y = classTask(rng, c.n, 3, c.size, 2)
		}
		net := netstep.New(importModel(t, m, c.name), kind)
		var opt optim.Optimizer = &optim.SGD{Momentum: c.mom}
		if c.adam {
			opt = optim.NewAdam(0)
		}
		var losses []float32
		for i := 0; i < c.steps; i++ {
			r, err := net.Step(x, y, opt, c.lr)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, r.Loss)
		}
		r, _ := net.ForwardBackward(x, y)
		losses = append(losses, r.Loss)
		t.Logf("%+v %v", c, losses)
		net.Close()
	}
}
