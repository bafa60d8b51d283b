package modelops_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/zoo"
)

// Give a 1000-class network a fresh 2-class head.
func ExampleReplaceHead() {
	m, err := zoo.Build("smallcnn", zoo.Options{Classes: 1000, Size: 16})
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := modelops.ReplaceHead(m, 2, 7)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h)
	// Output:
	// replaced the classifier /fc/Gemm (Gemm) with a fresh 64→2 layer (seed 7; was 1000 classes): weight "fc.weight", bias "fc.bias"; output "logits" is now 2 wide
}

// Make an RGB network take grayscale input.
func ExampleAdaptInputChannels() {
	m, err := zoo.Build("resnet18", zoo.Options{Classes: 2, Size: 32})
	if err != nil {
		fmt.Println(err)
		return
	}
	ch, err := modelops.AdaptInputChannels(m, 1, modelops.ChannelSum)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ch)
	// Output:
	// adapted the first convolution "/conv1/Conv" (weight "conv1.weight") from 3 to 1 input channels (sum of the filters); input "input" is now N×1×…
}

// Convert a saved model: one input channel, 3 classes, the stem frozen.
func ExampleConvert() {
	dir, _ := os.MkdirTemp("", "convert")
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "in.onnx"), filepath.Join(dir, "out.onnx")
	m, _ := zoo.Build("smallcnn", zoo.Options{Classes: 10, Size: 16})
	if err := onnxio.Save(in, m); err != nil {
		fmt.Println(err)
		return
	}
	r, err := modelops.Convert(in, out, modelops.ConvertOptions{
		Classes: 3, InChannels: 1, Freeze: []string{"conv1.*", "bn1.*"},
		Verify: modelops.VerifyOptions{ORT: modelops.ORTOff},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Inputs, r.Outputs, r.Frozen, r.Verified.OutputShape)
	// Output:
	// [input [N×1×16×16]] [logits [N×3]] 3 [2 3]
}

// Load one model's weights into another by tensor name: here a trained
// 10-class network's backbone into a fresh 2-class one (the differently
// shaped head is reported and left as it is).
func ExampleLoadWeights() {
	trained, _ := zoo.Build("smallcnn", zoo.Options{Classes: 10, Size: 16, Seed: 1})
	fresh, _ := zoo.Build("smallcnn", zoo.Options{Classes: 2, Size: 16, Seed: 2})
	r, err := modelops.LoadWeights(fresh, trained, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(r.Loaded), "loaded; mismatched:", r.Mismatched)
	// Output:
	// 15 loaded; mismatched: [fc.weight: [10 64] in the source, [2 64] here fc.bias: [10] in the source, [2] here]
}
