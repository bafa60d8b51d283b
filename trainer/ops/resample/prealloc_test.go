package resample

import (
	"testing"

	"github.com/pgaug/pgaug/trainer/ops/optest"
)

func TestUsePreallocDo(t *testing.T) {
	x := optest.Dense(optest.Uniform(1, 2*3*4*5, -3, 3), 2, 3, 4, 5)
	for _, op := range []*resizeOp{
		{mode: Linear, coord: HalfPixel, scales: [2]float64{2, 1.5}},
		{mode: Nearest, coord: Asymmetric, nearest: Floor, bySize: true, sizes: [2]int{4, 5}}, // same shape as x
	} {
		optest.CheckPrealloc(t, op, x)
		s, err := op.InferShape(x.Shape())
		if err != nil {
			t.Fatal(err)
		}
		optest.CheckPrealloc(t, &resizeGradOp{fwd: *op}, x, optest.Dense(optest.Uniform(2, s.TotalSize(), -1, 1), s...))
	}
	for _, op := range []*padOp{
		{pads: []int{0, 0, 1, 2, 0, 0, 2, 1}, mode: Reflect},
		{pads: []int{1, 0, 0, -1, -1, 0, 0, 1}, mode: Edge}, // same shape as x
	} {
		optest.CheckPrealloc(t, op, x)
		s, err := op.InferShape(x.Shape())
		if err != nil {
			t.Fatal(err)
		}
		optest.CheckPrealloc(t, &padGradOp{fwd: *op}, x, optest.Dense(optest.Uniform(3, s.TotalSize(), -1, 1), s...))
	}
}
