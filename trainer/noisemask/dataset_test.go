package noisemask

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/optest"
)

func TestNewDatasetParams(t *testing.T) {
	p, err := NewDatasetParams(64, 7)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := NewDatasetParams(64, 7)
	r, _ := NewDatasetParams(64, 8)
	if !slices.Equal(p.A, q.A) || !slices.Equal(p.B, q.B) {
		t.Error("the same seed gave different parameters")
	}
	if slices.Equal(p.A, r.A) {
		t.Error("different seeds gave the same parameters")
	}
	if slices.Equal(p.A, p.B) {
		t.Error("a_dataset and b_dataset are equal")
	}
	// N(0, 1): 4096 values each.
	for _, x := range [][]float32{p.A, p.B} {
		mean, variance := momentsOf(x)
		if math.Abs(mean) > 5/math.Sqrt(4096) || math.Abs(variance-1) > 0.12 {
			t.Errorf("initial values: mean %.3f variance %.3f, want N(0, 1)", mean, variance)
		}
	}
	if _, err := NewDatasetParams(0, 1); err == nil {
		t.Error("no error for grid 0")
	}
}

// TestUpdateByHand checks the moving average on a 2×2 grid, batch 2.
func TestUpdateByHand(t *testing.T) {
	p := &DatasetParams{Grid: 2, A: []float32{1, 2, 3, 4}, B: []float32{-1, 0, 1, 2}}
	aImg := []float32{
		0, 4, 8, -2, // image 0
		2, 0, 4, 6, // image 1
	}
	bImg := []float32{
		1, 1, 1, 1,
		3, -1, 5, 0,
	}
	if err := p.Update(aImg, bImg, 2, 0.75); err != nil {
		t.Fatal(err)
	}
	// a: 0.75·a + 0.25·mean: means 1, 2, 6, 2.
	wantA := []float32{0.75*1 + 0.25*1, 0.75*2 + 0.25*2, 0.75*3 + 0.25*6, 0.75*4 + 0.25*2}
	// b: means 2, 0, 3, 0.5.
	wantB := []float32{0.75*-1 + 0.25*2, 0, 0.75*1 + 0.25*3, 0.75*2 + 0.25*0.5}
	optest.AssertClose(t, "a_dataset", p.A, wantA, 1e-7, 0)
	optest.AssertClose(t, "b_dataset", p.B, wantB, 1e-7, 0)
	// τ_d = 1 freezes, τ_d = 0 replaces by the mean.
	q := p.Clone()
	if err := q.Update(aImg, bImg, 2, 1); err != nil || !slices.Equal(q.A, p.A) {
		t.Errorf("τ_d = 1 changed the parameters (err %v)", err)
	}
	if err := q.Update(aImg, bImg, 2, 0); err != nil || !slices.Equal(q.A, []float32{1, 2, 6, 2}) {
		t.Errorf("τ_d = 0: a_dataset = %v, want the batch mean (err %v)", q.A, err)
	}
	for _, bad := range []func() error{
		func() error { return p.Update(aImg[:6], bImg, 2, 0.9) },
		func() error { return p.Update(aImg, bImg, 3, 0.9) },
		func() error { return p.Update(aImg, bImg, 0, 0.9) },
		func() error { return p.Update(aImg, bImg, 2, 1.5) },
		func() error { return p.Update(aImg, bImg, 2, math.NaN()) },
		func() error {
			x := slices.Clone(aImg)
			x[3] = float32(math.Inf(1))
			return p.Update(x, bImg, 2, 0.9)
		},
	} {
		if err := bad(); err == nil {
			t.Error("Update: no error for bad arguments")
		}
	}
}

func TestMixHost(t *testing.T) {
	p := &DatasetParams{Grid: 2, A: []float32{1, 2, 3, 4}, B: []float32{-1, 0, 1, 2}}
	aImg := []float32{0, 4, 8, -2, 2, 0, 4, 6}
	bImg := []float32{1, 1, 1, 1, 3, -1, 5, 0}
	a, b, err := p.Mix(aImg, bImg, 2, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	for k := range a {
		i := k % 4
		wa := 0.9*float64(p.A[i]) + 0.1*float64(aImg[k])
		wb := 0.9*float64(p.B[i]) + 0.1*float64(bImg[k])
		if math.Abs(float64(a[k])-wa) > 1e-6 || math.Abs(float64(b[k])-wb) > 1e-6 {
			t.Errorf("Mix[%d] = %v, %v, want %v, %v", k, a[k], b[k], wa, wb)
		}
	}
	if _, _, err := p.Mix(aImg, bImg[:4], 2, 0.9); err == nil {
		t.Error("Mix: no error for mismatched sizes")
	}
	if _, _, err := p.Mix(aImg, bImg, 2, -0.1); err == nil {
		t.Error("Mix: no error for τ_i < 0")
	}
}

// TestMixNodeGradient checks the forward value against Mix and that the
// gradient reaching a_img (b_img) is (1−τ_i) times the upstream gradient.
func TestMixNodeGradient(t *testing.T) {
	const batch, grid, tau = 3, 2, 0.9
	p, _ := NewDatasetParams(grid, 11)
	aImg := optest.Uniform(1, batch*grid*grid, -2, 2)
	bImg := optest.Uniform(2, batch*grid*grid, -2, 2)
	build := func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		mg, err := p.MixNode(in[0], in[1], tau)
		if err != nil {
			return nil, err
		}
		// A + 2·B: the two gradients are told apart by their factor.
		b2, err := gorgonia.Mul(mg.B, gorgonia.NewConstant(float32(2)))
		if err != nil {
			return nil, err
		}
		return gorgonia.Add(mg.A, b2)
	}
	dy := optest.Uniform(3, batch*grid*grid, -1, 1)
	out, grads := optest.RunGraph(t, build, []*tensor.Dense{optest.Dense(aImg, batch, grid*grid), optest.Dense(bImg, batch, grid*grid)}, dy)
	ha, hb, err := p.Mix(aImg, bImg, batch, tau)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, len(ha))
	for i := range want {
		want[i] = ha[i] + 2*hb[i]
	}
	optest.AssertClose(t, "A + 2B", out, want, 1e-6, 1e-6)
	wa, wb := make([]float32, len(dy)), make([]float32, len(dy))
	for i, d := range dy {
		wa[i] = float32(1-tau) * d
		wb[i] = 2 * float32(1-tau) * d
	}
	optest.AssertClose(t, "d/da_img", grads[0], wa, 1e-7, 1e-5)
	optest.AssertClose(t, "d/db_img", grads[1], wb, 1e-7, 1e-5)
}

// TestMixNodeBind runs one graph twice, with an Update and Bind between.
func TestMixNodeBind(t *testing.T) {
	const batch, grid = 2, 3
	n := grid * grid
	p, _ := NewDatasetParams(grid, 5)
	aImg := optest.Uniform(7, batch*n, -1, 1)
	bImg := optest.Uniform(8, batch*n, -1, 1)
	g := gorgonia.NewGraph()
	an := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(batch, n), gorgonia.WithName("a_img"), gorgonia.WithValue(optest.Dense(aImg, batch, n)))
	bn := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(batch, n), gorgonia.WithName("b_img"), gorgonia.WithValue(optest.Dense(bImg, batch, n)))
	mg, err := p.MixNode(an, bn, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.MixNode(an, bn, 0.5); err == nil {
		t.Error("a second MixNode in the same graph gave no error")
	}
	var av, bv gorgonia.Value
	gorgonia.Read(mg.A, &av)
	gorgonia.Read(mg.B, &bv)
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	for step := 0; step < 2; step++ {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		wa, wb, _ := p.Mix(aImg, bImg, batch, 0.5)
		optest.AssertClose(t, "A", optest.ValueData(t, av), wa, 1e-6, 0)
		optest.AssertClose(t, "B", optest.ValueData(t, bv), wb, 1e-6, 0)
		vm.Reset()
		before := slices.Clone(p.A)
		if err := p.Update(aImg, bImg, batch, 0.5); err != nil {
			t.Fatal(err)
		}
		if slices.Equal(before, p.A) {
			t.Fatal("Update did not change a_dataset")
		}
		if err := p.Bind(mg); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMixNodeErrors(t *testing.T) {
	p, _ := NewDatasetParams(2, 1)
	g := gorgonia.NewGraph()
	ok := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 4), gorgonia.WithName("ok"))
	wrong := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 5), gorgonia.WithName("wrong"))
	if _, err := p.MixNode(ok, wrong, 0.9); err == nil {
		t.Error("no error for a B×5 input with a 2×2 grid")
	}
	if _, err := p.MixNode(ok, ok, 2); err == nil {
		t.Error("no error for τ_i = 2")
	}
	if err := p.Bind(nil); err == nil {
		t.Error("Bind(nil): no error")
	}
}

func TestDatasetParamsJSON(t *testing.T) {
	p, _ := NewDatasetParams(5, 99)
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q DatasetParams
	if err := json.Unmarshal(data, &q); err != nil {
		t.Fatal(err)
	}
	if q.Grid != 5 || !slices.Equal(p.A, q.A) || !slices.Equal(p.B, q.B) {
		t.Fatalf("round trip changed the parameters:\n%s", data)
	}
	for _, bad := range []string{
		`{"grid": 2, "a_dataset": [1, 2, 3], "b_dataset": [1, 2, 3, 4]}`,
		`{"grid": 0, "a_dataset": [], "b_dataset": []}`,
		`{"grid": "x"}`,
	} {
		var r DatasetParams
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("no error for %s", bad)
		}
	}
	p.A[0] = float32(math.NaN())
	if _, err := json.Marshal(p); err == nil {
		t.Error("no error marshalling NaN")
	}
}

func TestEMA(t *testing.T) {
	e, err := NewEMA(0.5)
	if err != nil {
		t.Fatal(err)
	}
	if adv := e.Advantage(3); adv != 0 {
		t.Errorf("advantage before any update = %v, want 0", adv)
	}
	for _, c := range [][2]float64{{4, 4}, {2, 3}, {7, 5}} {
		before := *e
		if n := e.Next(c[0]); n != c[1] || *e != before {
			t.Errorf("Next(%v) = %v (want %v), EMA %+v → %+v (want it unchanged)", c[0], n, c[1], before, *e)
		}
		v, err := e.Update(c[0])
		if err != nil || v != c[1] {
			t.Errorf("Update(%v) = %v, %v, want %v", c[0], v, err, c[1])
		}
	}
	if adv := e.Advantage(6); adv != 1 {
		t.Errorf("Advantage(6) = %v, want 1", adv)
	}
	if _, err := e.Update(math.NaN()); err == nil || e.Value != 5 {
		t.Errorf("NaN update: err %v, value %v (want an error and 5 kept)", err, e.Value)
	}
	if _, err := NewEMA(1.1); err == nil {
		t.Error("NewEMA(1.1): no error")
	}
}
