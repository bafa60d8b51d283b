package reduce

import (
	"testing"

	"github.com/pgaug/pgaug/trainer/ops/optest"
)

func TestUsePreallocDo(t *testing.T) {
	x := optest.Dense(optest.Uniform(1, 120, -3, 3), 2, 3, 4, 5)
	for _, c := range []struct {
		axes []int
		keep bool
	}{{[]int{1}, true}, {[]int{2, 3}, false}, {[]int{0, 1, 2, 3}, true}} {
		op := &reduceOp{name: "ReduceMean", axes: c.axes, keepDims: c.keep, mean: true, rank: 4}
		optest.CheckPrealloc(t, op, x)
		shape, err := op.InferShape(x.Shape())
		if err != nil {
			t.Fatal(err)
		}
		dy := optest.Dense(optest.Uniform(2, shape.TotalSize(), -1, 1), shape...)
		optest.CheckPrealloc(t, &reduceGradOp{fwd: *op}, x, dy)
	}
	dy := optest.Dense(optest.Uniform(3, 120, -1, 1), 2, 3, 4, 5)
	for _, op := range []*softmaxOp{{axis: 1, rank: 4}, {axis: 3, log: true, rank: 4}, {axis: 1, coerce: true, rank: 4}} {
		optest.CheckPrealloc(t, op, x)
		y, err := op.Do(x)
		if err != nil {
			t.Fatal(err)
		}
		optest.CheckPrealloc(t, &softmaxGradOp{fwd: *op}, y, dy)
	}
}
