package modelops

import (
	"fmt"
	"math"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// SetOutputProbability makes a sigmoid-output network (a segmentation
// policy: Conv, or Gemm/MatMul+Add, then Sigmoid into the one graph output)
// start at probability p everywhere its weights give a zero pre-activation:
// the bias of the layer before the sigmoid becomes logit(p). The rest of
// the pre-activation is left as it is, so the output is p only on average.
// It returns the bias tensor's name. The bias must belong to that layer
// alone.
func SetOutputProbability(m *onnxpb.ModelProto, p float64) (string, error) {
	if !(p > 0 && p < 1) {
		return "", fmt.Errorf("output probability %v outside (0, 1)", p)
	}
	ix, out, err := indexSingleOutput(m)
	if err != nil {
		return "", err
	}
	sig := ix.producer[out]
	if sig == nil || sig.GetOpType() != "Sigmoid" {
		what := "a graph input"
		if sig != nil {
			what = nodeLabel(sig)
		}
		return "", fmt.Errorf("output %q is produced by %s; an output bias needs a Sigmoid there", out, what)
	}
	c, biasName, err := layerBias(ix, sig.GetInput()[0], "the Sigmoid")
	if err != nil {
		return "", err
	}
	data := make([]float32, len(c.data))
	for i := range data {
		data[i] = float32(math.Log(p / (1 - p)))
	}
	ix.set(c, c.dims, data)
	return biasName, nil
}

// SetOutputBias sets the bias of the layer that produces a network's one
// output (a Conv, ConvTranspose or Gemm with a bias, or an Add of an
// initializer) to values, one per output: the way a network is made to
// start at chosen outputs (a noise policy at chosen noise parameters). The
// bias must have exactly len(values) elements and belong to that layer
// alone. It returns the bias tensor's name.
func SetOutputBias(m *onnxpb.ModelProto, values []float32) (string, error) {
	ix, out, err := indexSingleOutput(m)
	if err != nil {
		return "", err
	}
	c, biasName, err := layerBias(ix, out, fmt.Sprintf("output %q", out))
	if err != nil {
		return "", err
	}
	if len(c.data) != len(values) {
		return "", fmt.Errorf("the bias %q of output %q has %d elements, %d values given", biasName, out, len(c.data), len(values))
	}
	ix.set(c, c.dims, append([]float32(nil), values...))
	return biasName, nil
}

// layerBias finds the bias of the layer producing value (what names the
// value's consumer in errors): the third input of a Conv, ConvTranspose or
// Gemm, or the initializer an Add adds; it must belong to that layer alone.
func layerBias(ix *graphIndex, value, consumer string) (*constTensor, string, error) {
	layer := ix.producer[value]
	if layer == nil {
		return nil, "", fmt.Errorf("%s's input %q is a graph input", consumer, value)
	}
	var biasName string
	switch layer.GetOpType() {
	case "Conv", "ConvTranspose", "Gemm":
		if len(layer.GetInput()) < 3 || layer.GetInput()[2] == "" {
			return nil, "", fmt.Errorf("%s before %s has no bias", nodeLabel(layer), consumer)
		}
		biasName = layer.GetInput()[2]
	case "Add":
		for _, in := range layer.GetInput() {
			if _, ok := ix.inits[in]; ok {
				biasName = in
			}
		}
		if biasName == "" {
			return nil, "", fmt.Errorf("%s before %s adds no initializer", nodeLabel(layer), consumer)
		}
	default:
		return nil, "", fmt.Errorf("%s follows %s; an output bias needs a Conv, ConvTranspose, Gemm or Add there", consumer, nodeLabel(layer))
	}
	c, err := ix.constant(biasName, "the bias of "+nodeLabel(layer))
	if err != nil {
		return nil, "", err
	}
	if err := ix.exclusive(c, layer); err != nil {
		return nil, "", err
	}
	return c, biasName, nil
}

// indexSingleOutput indexes m's graph and names its one output (an output
// bias needs exactly one).
func indexSingleOutput(m *onnxpb.ModelProto) (*graphIndex, string, error) {
	ix, err := indexGraph(m)
	if err != nil {
		return nil, "", err
	}
	outs := m.GetGraph().GetOutput()
	if len(outs) != 1 {
		return nil, "", fmt.Errorf("the model has %d outputs; an output bias needs exactly one", len(outs))
	}
	return ix, outs[0].GetName(), nil
}
