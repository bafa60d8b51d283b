package opkit

import (
	"sync/atomic"
	"testing"

	"gorgonia.org/tensor"
)

func TestParallelForCoversEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		hits := make([]int32, n)
		ParallelFor(n, MinParallelWork*2, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&hits[i], 1)
			}
		})
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, h)
			}
		}
	}
}

func TestNewOutputReusesOnlyASafeBuffer(t *testing.T) {
	shape := tensor.Shape{2, 3}
	pre := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(make([]float32, 6)))
	if o := NewOutput(pre, shape, false); o.Dense != pre {
		t.Fatal("a free preallocated tensor of the right shape must be reused")
	}
	in := pre.Data().([]float32)
	if o := NewOutput(pre, shape, false, in); o.Dense == pre {
		t.Fatal("a preallocated tensor that shares memory with an input must not be reused")
	}
	if o := NewOutput(pre, tensor.Shape{3, 2}, false); o.Dense == pre || len(o.Data) != 6 {
		t.Fatal("a preallocated tensor of another shape must not be reused")
	}
	if o := NewOutput(nil, tensor.ScalarShape(), true); len(o.Data) != 1 || !o.Scalar {
		t.Fatal("scalar output")
	}
}
