package modelops_test

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/zoo"
)

func buildZoo(t *testing.T, name string, o zoo.Options) *onnxpb.ModelProto {
	t.Helper()
	m, err := zoo.Build(name, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// forward imports m and runs it (inference mode) on x of the given shape.
func forward(t *testing.T, m *onnxpb.ModelProto, shape []int, x []float32) *tensor.Dense {
	t.Helper()
	im, err := importer.Import(m, importer.Options{Source: "test model"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := im.Build(map[string][]int{im.Inputs[0].Name: shape})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	outs, err := g.Forward(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), x...))))
	if err != nil {
		t.Fatal(err)
	}
	return outs[0]
}

func normal(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// initializer returns the named initializer's values and dims.
func initializer(t *testing.T, m *onnxpb.ModelProto, name string) ([]float32, []int64) {
	t.Helper()
	for _, ti := range m.GetGraph().GetInitializer() {
		if ti.GetName() == name {
			d, dims, err := onnxio.TensorToFloat32(ti)
			if err != nil {
				t.Fatal(err)
			}
			return d, dims
		}
	}
	t.Fatalf("no initializer %q", name)
	return nil, nil
}

// dims returns a value_info's dims (symbolic ones as -1).
func dims(vi *onnxpb.ValueInfoProto) []int64 {
	var out []int64
	for _, d := range vi.GetType().GetTensorType().GetShape().GetDim() {
		if d.GetDimParam() != "" {
			out = append(out, -1)
			continue
		}
		out = append(out, d.GetDimValue())
	}
	return out
}

func mustModel(t *testing.T, b *onnxio.GraphBuilder) *onnxpb.ModelProto {
	t.Helper()
	m, err := b.Model(17, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
