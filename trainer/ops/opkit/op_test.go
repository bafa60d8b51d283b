package opkit

import (
	"hash"
	"hash/fnv"
	"strings"
	"testing"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// wantErr fails unless err is an error whose message contains want.
func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one containing %q", err, want)
	}
}

func TestCheckArity(t *testing.T) {
	if err := CheckArity("Op", 2, 2); err != nil {
		t.Fatal(err)
	}
	wantErr(t, CheckArity("Op", 1, 2), "Op: got 1 inputs, want 2")
}

func TestUnaryShape(t *testing.T) {
	in := tensor.Shape{2, 3}
	s, err := UnaryShape("Op", []gorgonia.DimSizer{in})
	if err != nil || !s.Eq(in) {
		t.Fatalf("UnaryShape = %v, %v, want %v", s, err, in)
	}
	if s[0] = 9; in[0] != 2 {
		t.Fatal("UnaryShape must return a copy")
	}
	_, err = UnaryShape("Op", []gorgonia.DimSizer{in, in})
	wantErr(t, err, "Op: got 2 inputs, want 1")
}

func TestGradShapeChecks(t *testing.T) {
	x, dy := tensor.Shape{2, 3}, tensor.Shape{3, 2}
	_, _, err := GradShapes("Op gradient", []gorgonia.DimSizer{x})
	wantErr(t, err, "Op gradient: got 1 inputs, want 2")
	gx, gdy, err := GradShapes("Op gradient", []gorgonia.DimSizer{x, dy})
	if err != nil || !gx.Eq(x) || !gdy.Eq(dy) {
		t.Fatalf("GradShapes = %v, %v, %v", gx, gdy, err)
	}

	if err := CheckGradShape("Op gradient", x, x); err != nil {
		t.Fatal(err)
	}
	wantErr(t, CheckGradShape("Op gradient", dy, x), "Op gradient: output gradient has shape (3, 2), want (2, 3)")

	s, err := ElementwiseGradShape("Op gradient", []gorgonia.DimSizer{x, x.Clone()})
	if err != nil || !s.Eq(x) {
		t.Fatalf("ElementwiseGradShape = %v, %v", s, err)
	}
	_, err = ElementwiseGradShape("Op gradient", []gorgonia.DimSizer{x, dy})
	wantErr(t, err, "Op gradient: output gradient has shape (3, 2), want the input's (2, 3)")
	_, err = ElementwiseGradShape("Op gradient", []gorgonia.DimSizer{x})
	wantErr(t, err, "Op gradient: got 1 inputs, want 2")
}

func TestGradData(t *testing.T) {
	x := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1, 2, 3, 4}))
	dy := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{5, 6, 7, 8}))
	xd, dyd, shape, scalar, err := GradData("Op gradient", []gorgonia.Value{x, dy})
	if err != nil || len(xd) != 4 || dyd[3] != 8 || !shape.Eq(tensor.Shape{2, 2}) || scalar {
		t.Fatalf("GradData = %v, %v, %v, %v, %v", xd, dyd, shape, scalar, err)
	}
	short := tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{1, 2, 3}))
	_, _, _, _, err = GradData("Op gradient", []gorgonia.Value{x, short})
	wantErr(t, err, "Op gradient: output gradient has 3 elements, want 4")
	_, _, _, _, err = GradData("Op gradient", []gorgonia.Value{x})
	wantErr(t, err, "Op gradient: got 1 inputs, want 2")

	// GradValues leaves the sizes to the caller and returns both shapes.
	_, dyd, _, dys, err := GradValues("Op gradient", []gorgonia.Value{x, short})
	if err != nil || len(dyd) != 3 || !dys.Eq(tensor.Shape{3}) {
		t.Fatalf("GradValues = %v, %v, %v", dyd, dys, err)
	}

	_, _, _, err = UnaryData("Op", []gorgonia.Value{x, dy})
	wantErr(t, err, "Op: got 2 inputs, want 1")
	if d, _, scalar, err := UnaryData("Op", []gorgonia.Value{gorgonia.NewF32(3)}); err != nil || d[0] != 3 || !scalar {
		t.Fatalf("UnaryData(scalar) = %v, %v, %v", d, scalar, err)
	}
}

type hashOnly string

func (h hashOnly) WriteHash(w hash.Hash) { w.Write([]byte(h)) }

func TestHashcodeIsFNVOfWriteHash(t *testing.T) {
	h := fnv.New32a()
	h.Write([]byte("pgaug.op/1"))
	if got, want := Hashcode(hashOnly("pgaug.op/1")), h.Sum32(); got != want {
		t.Fatalf("Hashcode = %#x, want %#x", got, want)
	}
}

func TestFnType(t *testing.T) {
	a := hm.TypeVariable('a')
	m := gorgonia.TensorType{Dims: 2, Of: a}
	if got, want := FnType(2, 0, 2), hm.NewFnType(m, a, m); !got.Eq(want) {
		t.Fatalf("FnType(2, 0, 2) = %v, want %v", got, want)
	}
	var p Plain
	if p.ReturnsPtr() || p.CallsExtern() || p.OverwritesInput() != -1 {
		t.Fatal("Plain: a new value, in Go, overwriting no input")
	}
}

func TestApplyAndUnaryGrad(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 2, gorgonia.WithShape(2, 3), gorgonia.WithName("x"))
	i := gorgonia.NewTensor(g, tensor.Int, 1, gorgonia.WithShape(3), gorgonia.WithName("i"))
	_, err := ApplyUnary("Op", i, func(int) gorgonia.Op { t.Fatal("no operator for an int input"); return nil })
	wantErr(t, err, "Op: input is int, want float32")
	_, err = UnaryGrad("Op", gorgonia.Nodes{x, x}, x, nil)
	wantErr(t, err, "Op gradient: got 2 inputs, want 1")
}
