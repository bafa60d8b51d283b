package activation

import (
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/pgaug/pgaug/trainer/ops/optest"
)

func TestUsePreallocDo(t *testing.T) {
	x := optest.Dense(optest.Uniform(1, 24, -5, 5), 2, 3, 4)
	dy := optest.Dense(optest.Uniform(2, 24, -1, 1), 2, 3, 4)
	for _, f := range []fn{{kind: kindRelu}, {kind: kindLeakyRelu, a: 0.1}, {kind: kindClip, a: -1, b: 2},
		{kind: kindHardSigmoid, a: 0.2, b: 0.5}, {kind: kindHardSwish}} {
		optest.CheckPrealloc(t, &activationOp{f: f, rank: 3}, x)
		optest.CheckPrealloc(t, &activationGradOp{f: f, rank: 3}, x, dy)
	}
	// Scalars pass through as scalars.
	v, err := (&activationOp{f: fn{kind: kindRelu}}).Do(gorgonia.NewF32(-2))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := v.(*gorgonia.F32); !ok || *s != 0 {
		t.Errorf("Relu of the scalar -2 = %v (%T)", v, v)
	}
}
