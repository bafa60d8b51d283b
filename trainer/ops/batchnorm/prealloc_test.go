package batchnorm

import (
	"testing"

	"github.com/pgaug/pgaug/trainer/ops/optest"
)

func TestUsePreallocDo(t *testing.T) {
	shape := []int{2, 3, 4, 5}
	x := optest.Dense(channelData(1, shape), shape...)
	dy := optest.Dense(optest.Uniform(2, optest.Numel(shape), -1, 1), shape...)
	scale, bias := optest.Dense([]float32{0.5, 1, 1.5}, 3), optest.Dense([]float32{-1, 0, 1}, 3)
	for _, m := range []Mode{Train, Eval} {
		op := &bnOp{state: NewState(3, DefaultEpsilon, DefaultMomentum), flag: NewModeFlag(m), rank: 4}
		optest.CheckPrealloc(t, op, x, scale, bias)
		s, err := (&bnStatsOp{fwd: *op}).Do(x, dy)
		if err != nil {
			t.Fatal(err)
		}
		optest.CheckPrealloc(t, &bnGradXOp{fwd: *op}, x, scale, dy, s)
	}
}
