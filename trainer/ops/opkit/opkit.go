package opkit

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TensorType is the gorgonia type of a float tensor of the given rank (a
// scalar for rank 0).
func TensorType(rank int) hm.Type {
	a := hm.TypeVariable('a')
	if rank == 0 {
		return a
	}
	return gorgonia.TensorType{Dims: rank, Of: a}
}

// CheckFloat32 reports an error naming op when n is nil or not float32.
func CheckFloat32(op, what string, n *gorgonia.Node) error {
	if n == nil {
		return fmt.Errorf("%s: %s is nil", op, what)
	}
	dt, err := DtypeOf(n)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", op, what, err)
	}
	if dt != tensor.Float32 {
		return fmt.Errorf("%s: %s is %v, want float32", op, what, dt)
	}
	return nil
}

func DtypeOf(n *gorgonia.Node) (tensor.Dtype, error) {
	switch t := n.Type().(type) {
	case tensor.Dtype:
		return t, nil
	case gorgonia.TensorType:
		if dt, ok := t.Of.(tensor.Dtype); ok {
			return dt, nil
		}
	case *gorgonia.TensorType:
		if dt, ok := t.Of.(tensor.Dtype); ok {
			return dt, nil
		}
	}
	return tensor.Dtype{}, fmt.Errorf("node %q has type %v, not a float tensor", n.Name(), n.Type())
}

// ShapeOf returns the static shape of a node ([] for a scalar).
func ShapeOf(n *gorgonia.Node) tensor.Shape {
	s := n.Shape()
	if s.IsScalar() {
		return tensor.Shape{}
	}
	return s.Clone()
}

// InputShape extracts the shape given to InferShape.
func InputShape(op string, ds gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := ds.(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%s: input shape is %T, want tensor.Shape", op, ds)
	}
	return s, nil
}

// Float32Data returns the float32 elements of a value without copying when
// possible (a view is materialised). The result must not be modified. scalar
// reports a gorgonia Scalar (*gorgonia.F32) as opposed to a tensor, possibly
// of rank 0.
func Float32Data(op string, v gorgonia.Value) (data []float32, shape tensor.Shape, scalar bool, err error) {
	switch t := v.(type) {
	case *tensor.Dense:
		if t.Dtype() != tensor.Float32 {
			return nil, nil, false, fmt.Errorf("%s: input is %v, want float32", op, t.Dtype())
		}
		if t.Shape().IsScalar() {
			f, ok := t.Data().(float32)
			if !ok {
				return nil, nil, false, fmt.Errorf("%s: rank-0 tensor holds %T", op, t.Data())
			}
			return []float32{f}, tensor.Shape{}, false, nil
		}
		if t.RequiresIterator() {
			m, ok := t.Materialize().(*tensor.Dense)
			if !ok {
				return nil, nil, false, fmt.Errorf("%s: cannot materialise a view of shape %v", op, t.Shape())
			}
			t = m
		}
		d := t.Float32s()
		if len(d) != t.Shape().TotalSize() {
			return nil, nil, false, fmt.Errorf("%s: tensor of shape %v holds %d elements", op, t.Shape(), len(d))
		}
		return d, t.Shape(), false, nil
	case *gorgonia.F32:
		return []float32{float32(*t)}, tensor.Shape{}, true, nil
	case nil:
		return nil, nil, false, fmt.Errorf("%s: input value is nil", op)
	}
	return nil, nil, false, fmt.Errorf("%s: input is %T with %T data, want float32", op, v, v.Data())
}

// Output is the destination of an operator: a reused preallocated tensor, a
// new tensor, or a scalar.
type Output struct {
	Dense  *tensor.Dense
	Data   []float32
	Scalar bool // a gorgonia Scalar, else a rank-0 tensor when dense is nil
}

func (o Output) Value() gorgonia.Value {
	switch {
	case o.Dense != nil:
		return o.Dense
	case o.Scalar:
		return gorgonia.NewF32(o.Data[0])
	}
	return tensor.New(tensor.FromScalar(o.Data[0]))
}

// NewOutput returns a destination of the given shape. prealloc (which may be
// nil) is reused when it is a float32 tensor of that shape that shares no
// memory with the inputs; otherwise a new tensor is allocated. The contents
// are unspecified: the operator must write every element. A scalar shape
// gives a gorgonia Scalar when scalar is set, else a rank-0 tensor.
func NewOutput(prealloc gorgonia.Value, shape tensor.Shape, scalar bool, inputs ...[]float32) Output {
	if shape.IsScalar() {
		return Output{Data: make([]float32, 1), Scalar: scalar}
	}
	n := shape.TotalSize()
	if p, ok := prealloc.(*tensor.Dense); ok && p.Dtype() == tensor.Float32 && p.Shape().Eq(shape) && !p.RequiresIterator() {
		if d := p.Float32s(); len(d) == n && !overlapsAny(d, inputs) {
			return Output{Dense: p, Data: d}
		}
	}
	d := make([]float32, n)
	return Output{Dense: tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(d)), Data: d}
}

func overlapsAny(d []float32, others [][]float32) bool {
	if len(d) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(d)))
	hi := lo + uintptr(len(d))*4
	for _, o := range others {
		if len(o) == 0 {
			continue
		}
		olo := uintptr(unsafe.Pointer(unsafe.SliceData(o)))
		ohi := olo + uintptr(len(o))*4
		if olo < hi && lo < ohi {
			return true
		}
	}
	return false
}

// MinParallelWork is the number of element operations below which a loop
// runs on the calling goroutine.
const MinParallelWork = 1 << 15

// ParallelFor calls fn on contiguous chunks of [0, n), concurrently when work
// (an estimate of the element operations of the whole loop) is large enough.
func ParallelFor(n, work int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 || work < MinParallelWork {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
