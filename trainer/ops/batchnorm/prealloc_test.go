package batchnorm

import "testing"

func TestUsePreallocDo(t *testing.T) {
	shape := []int{2, 3, 4, 5}
	x := dense(channelData(1, shape), shape...)
	dy := dense(uniform(2, numel(shape), -1, 1), shape...)
	scale, bias := dense([]float32{0.5, 1, 1.5}, 3), dense([]float32{-1, 0, 1}, 3)
	for _, m := range []Mode{Train, Eval} {
		op := &bnOp{state: NewState(3, DefaultEpsilon, DefaultMomentum), flag: NewModeFlag(m), rank: 4}
		checkPrealloc(t, op, x, scale, bias)
		s, err := (&bnStatsOp{fwd: *op}).Do(x, dy)
		if err != nil {
			t.Fatal(err)
		}
		checkPrealloc(t, &bnGradXOp{fwd: *op}, x, scale, dy, s)
	}
}
