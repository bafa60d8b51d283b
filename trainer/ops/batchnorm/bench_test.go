package batchnorm

import (
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/optest"
)

var benchShape = []int{8, 64, 56, 56}

// BenchmarkOps times the operators alone (forward, backward statistics, dx,
// dscale, dbias) on 8×64×56×56, reusing the output tensors as a tape machine
// does from its second run on.
func BenchmarkOps(b *testing.B) {
	for _, mode := range []Mode{Train, Eval} {
		b.Run(mode.String(), func(b *testing.B) {
			c := benchShape[1]
			x := optest.Dense(channelData(1, benchShape), benchShape...)
			dy := optest.Dense(optest.Uniform(2, optest.Numel(benchShape), -1, 1), benchShape...)
			scale, bias := optest.Dense(optest.Uniform(3, c, 0.5, 1.5), c), optest.Dense(optest.Uniform(4, c, -0.5, 0.5), c)
			fwd := &bnOp{state: NewState(c, DefaultEpsilon, DefaultMomentum), flag: NewModeFlag(mode), rank: 4}
			stats := &bnStatsOp{fwd: *fwd}
			gx := &bnGradXOp{fwd: *fwd}
			gs, gb := &bnGradParamOp{fwd: *fwd}, &bnGradParamOp{fwd: *fwd, bias: true}
			var y, dx gorgonia.Value
			b.SetBytes(int64(4 * optest.Numel(benchShape)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var err error
				if y, err = fwd.UsePreallocDo(y, x, scale, bias); err != nil {
					b.Fatal(err)
				}
				s, err := stats.Do(x, dy)
				if err != nil {
					b.Fatal(err)
				}
				if dx, err = gx.UsePreallocDo(dx, x, scale, dy, s); err != nil {
					b.Fatal(err)
				}
				if _, err = gs.Do(s); err != nil {
					b.Fatal(err)
				}
				if _, err = gb.Do(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchGraph times a whole training step of y = BN(x), loss = Σ y⊙dy on a
// tape machine (so it includes gorgonia's product and sum).
func benchGraph(b *testing.B, bn func(x, scale, bias *gorgonia.Node) (*gorgonia.Node, error)) {
	c := benchShape[1]
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(benchShape...), gorgonia.WithName("x"),
		gorgonia.WithValue(optest.Dense(channelData(1, benchShape), benchShape...)))
	dy := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(benchShape...), gorgonia.WithName("dy"),
		gorgonia.WithValue(optest.Dense(optest.Uniform(2, optest.Numel(benchShape), -1, 1), benchShape...)))
	scale := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(c), gorgonia.WithName("scale"), gorgonia.WithValue(optest.Dense(optest.Uniform(3, c, 0.5, 1.5), c)))
	bias := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(c), gorgonia.WithName("bias"), gorgonia.WithValue(optest.Dense(optest.Uniform(4, c, -0.5, 0.5), c)))
	y, err := bn(x, scale, bias)
	if err != nil {
		b.Fatal(err)
	}
	p, err := gorgonia.HadamardProd(y, dy)
	if err != nil {
		b.Fatal(err)
	}
	loss, err := gorgonia.Sum(p)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gorgonia.Grad(loss, x, scale, bias); err != nil {
		b.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(x, scale, bias))
	defer vm.Close()
	b.SetBytes(int64(4 * optest.Numel(benchShape)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		vm.Reset()
	}
}

// BenchmarkGraphTrain is a training step of this package's BatchNorm.
func BenchmarkGraphTrain(b *testing.B) {
	st := NewState(benchShape[1], DefaultEpsilon, DefaultMomentum)
	flag := NewModeFlag(Train)
	benchGraph(b, func(x, scale, bias *gorgonia.Node) (*gorgonia.Node, error) {
		return BatchNorm(x, scale, bias, st, Params{Mode: flag})
	})
}

// BenchmarkGraphGorgonia is the same step with gorgonia's own BatchNorm (in
// training mode, where it is correct), for comparison.
func BenchmarkGraphGorgonia(b *testing.B) {
	benchGraph(b, func(x, scale, bias *gorgonia.Node) (*gorgonia.Node, error) {
		c := benchShape[1]
		s4, err := gorgonia.Reshape(scale, tensor.Shape{1, c, 1, 1})
		if err != nil {
			return nil, err
		}
		b4, err := gorgonia.Reshape(bias, tensor.Shape{1, c, 1, 1})
		if err != nil {
			return nil, err
		}
		y, _, _, _, err := gorgonia.BatchNorm(x, s4, b4, DefaultMomentum, DefaultEpsilon)
		return y, err
	})
}

// BenchmarkGraphLossOnly is the same graph without BatchNorm (y = x): what
// the loss and gorgonia's machinery cost on their own.
func BenchmarkGraphLossOnly(b *testing.B) {
	benchGraph(b, func(x, scale, bias *gorgonia.Node) (*gorgonia.Node, error) {
		// scale and bias must stay in the graph for Grad: add 0·Σscale·Σbias.
		s, err := gorgonia.Sum(scale)
		if err != nil {
			return nil, err
		}
		t, err := gorgonia.Sum(bias)
		if err != nil {
			return nil, err
		}
		st, err := gorgonia.Mul(s, t)
		if err != nil {
			return nil, err
		}
		zero, err := gorgonia.Mul(st, gorgonia.NewConstant(float32(0)))
		if err != nil {
			return nil, err
		}
		return gorgonia.Add(x, zero)
	})
}
