package probe

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
)

// xor draws points around (±1, ±1) labelled by the sign of x·y: no linear
// classifier does better than chance.
func xor(seed uint64, n int) Data {
	rng := rand.New(rand.NewPCG(seed, 3))
	d := Data{D: 2, Classes: 2}
	for i := 0; i < n; i++ {
		sx, sy := float64(2*(i%2)-1), float64(2*((i/2)%2)-1)
		d.X = append(d.X, float32(sx+0.25*rng.NormFloat64()), float32(sy+0.25*rng.NormFloat64()))
		y := 0
		if sx*sy > 0 {
			y = 1
		}
		d.Labels = append(d.Labels, y)
		d.N++
	}
	return d
}

func TestMLPLearnsXOR(t *testing.T) {
	train, test := xor(1, 400), xor(2, 200)
	cfg := MLPConfig{Hidden: 16, Epochs: 60, Batch: 32, LR: 0.01, Seed: 3}
	m, err := FitMLP(context.Background(), train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Evaluate(m, test)
	if err != nil {
		t.Fatal(err)
	}
	if r.Accuracy < 0.97 {
		t.Errorf("MLP accuracy %v on XOR, want >= 0.97 (final loss %v)", r.Accuracy, m.Loss)
	}
	lr, err := FitLogReg(train, LogRegConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := Evaluate(lr, test); r.Accuracy > 0.7 {
		t.Errorf("logistic regression accuracy %v on XOR: the data are not XOR-like", r.Accuracy)
	}
	m2, err := FitMLP(context.Background(), train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.W1, m2.W1) || !reflect.DeepEqual(m.W2, m2.W2) || m.Loss != m2.Loss {
		t.Error("two MLP fits with the same seed differ")
	}
	cfg.Seed = 4
	m3, err := FitMLP(context.Background(), train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(m.W1, m3.W1) {
		t.Error("another seed gave the same MLP")
	}
}

func TestMLPStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FitMLP(ctx, xor(1, 40), MLPConfig{}); err == nil {
		t.Error("FitMLP ran on a cancelled context")
	}
	if _, err := FitMLP(context.Background(), xor(1, 40), MLPConfig{LR: -1}); err == nil {
		t.Error("FitMLP accepted a negative learning rate")
	}
}
