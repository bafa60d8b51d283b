package special

import (
	"testing"

	"github.com/pgaug/pgaug/trainer/ops/optest"
)

func TestUsePreallocDo(t *testing.T) {
	x := optest.Dense(optest.Uniform(1, 12, 0.1, 5), 3, 4)
	v := optest.Dense(optest.Uniform(2, 12, -1, 1), 3, 4)
	for k := orderLnGamma; k <= 2; k++ {
		optest.CheckPrealloc(t, &valueOp{order: k, rank: 2}, x)
		optest.CheckPrealloc(t, &scaleOp{order: k + 1, rank: 2}, x, v)
	}
}
