package special

import "testing"

func TestUsePreallocDo(t *testing.T) {
	x := dense(uniform(1, 12, 0.1, 5), 3, 4)
	v := dense(uniform(2, 12, -1, 1), 3, 4)
	for k := orderLnGamma; k <= 2; k++ {
		checkPrealloc(t, &valueOp{order: k, rank: 2}, x)
		checkPrealloc(t, &scaleOp{order: k + 1, rank: 2}, x, v)
	}
}
