package elementwise

import (
	"fmt"

	"gorgonia.org/tensor"
)

// BroadcastShape returns the NumPy broadcast of two shapes.
func BroadcastShape(a, b tensor.Shape) (tensor.Shape, error) {
	n := max(len(a), len(b))
	out := make(tensor.Shape, n)
	for i := 0; i < n; i++ {
		da, db := dimFromRight(a, n-1-i), dimFromRight(b, n-1-i)
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast (axis %d: %d vs %d)", a, b, i, da, db)
		}
	}
	return out, nil
}

// dimFromRight returns the size of s at position k counted in a rank-n
// frame (k = 0 is the leftmost axis of that frame); missing axes are 1.
func dimFromRight(s tensor.Shape, fromRight int) int {
	i := len(s) - 1 - fromRight
	if i < 0 {
		return 1
	}
	return s[i]
}

// broadcastStrides returns, for an operand of shape s viewed in the output
// frame out, the element stride of each output axis (0 on broadcast axes).
func broadcastStrides(s, out tensor.Shape) []int {
	n := len(out)
	strides := make([]int, n)
	stride := 1
	for i := n - 1; i >= 0; i-- {
		d := dimFromRight(s, n-1-i)
		if d == 1 && out[i] != 1 {
			strides[i] = 0
		} else {
			strides[i] = stride
		}
		stride *= d
	}
	return strides
}

func numel(s tensor.Shape) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// forEach calls f(offA, offB, offOut, run) over the output in runs along the
// last axis: for k in [0,run) the elements are a[offA+k*sa], b[offB+k*sb],
// out[offOut+k], where sa, sb are the last-axis strides.
func forEach(out tensor.Shape, sa, sb []int, f func(offA, offB, offOut, run int)) {
	n := len(out)
	if n == 0 {
		f(0, 0, 0, 1)
		return
	}
	run := out[n-1]
	if run == 0 {
		return
	}
	outer := numel(out) / run
	idx := make([]int, n-1)
	offA, offB := 0, 0
	for o := 0; o < outer; o++ {
		f(offA, offB, o*run, run)
		// advance the multi-index over axes 0..n-2
		for ax := n - 2; ax >= 0; ax-- {
			idx[ax]++
			offA += sa[ax]
			offB += sb[ax]
			if idx[ax] < out[ax] {
				break
			}
			offA -= sa[ax] * out[ax]
			offB -= sb[ax] * out[ax]
			idx[ax] = 0
		}
	}
}
