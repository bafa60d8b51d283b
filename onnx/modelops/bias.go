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
	ix, err := indexGraph(m)
	if err != nil {
		return "", err
	}
	outs := m.GetGraph().GetOutput()
	if len(outs) != 1 {
		return "", fmt.Errorf("the model has %d outputs; an output bias needs exactly one", len(outs))
	}
	sig := ix.producer[outs[0].GetName()]
	if sig == nil || sig.GetOpType() != "Sigmoid" {
		what := "a graph input"
		if sig != nil {
			what = nodeLabel(sig)
		}
		return "", fmt.Errorf("output %q is produced by %s; an output bias needs a Sigmoid there", outs[0].GetName(), what)
	}
	layer := ix.producer[sig.GetInput()[0]]
	if layer == nil {
		return "", fmt.Errorf("the Sigmoid's input %q is a graph input", sig.GetInput()[0])
	}
	var biasName string
	switch layer.GetOpType() {
	case "Conv", "ConvTranspose", "Gemm":
		if len(layer.GetInput()) < 3 || layer.GetInput()[2] == "" {
			return "", fmt.Errorf("%s before the Sigmoid has no bias", nodeLabel(layer))
		}
		biasName = layer.GetInput()[2]
	case "Add":
		for _, in := range layer.GetInput() {
			if _, ok := ix.inits[in]; ok {
				biasName = in
			}
		}
		if biasName == "" {
			return "", fmt.Errorf("%s before the Sigmoid adds no initializer", nodeLabel(layer))
		}
	default:
		return "", fmt.Errorf("the Sigmoid follows %s; an output bias needs a Conv, ConvTranspose, Gemm or Add there", nodeLabel(layer))
	}
	c, err := ix.constant(biasName, "the bias of "+nodeLabel(layer))
	if err != nil {
		return "", err
	}
	if err := ix.exclusive(c, layer); err != nil {
		return "", err
	}
	data := make([]float32, len(c.data))
	for i := range data {
		data[i] = float32(math.Log(p / (1 - p)))
	}
	ix.set(c, c.dims, data)
	return biasName, nil
}
