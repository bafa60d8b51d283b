package gradcam_test

import (
	"fmt"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/trainer/gradcam"
)

// Grad-CAM masks of a seeded one-channel classifier, at the layer chosen
// automatically (the last feature map before global pooling).
func ExampleNew() {
	mp, err := zoo.Build("smallcnn", zoo.Options{Classes: 2, InChannels: 1, Size: 32, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := importer.Import(mp, importer.Options{Source: "smallcnn"})
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := gradcam.New(m, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	fmt.Println("layer:", e.Layer())

	const n, c, h, w = 2, 1, 32, 32
	x := make([]float32, n*c*h*w)
	for i := range x {
		x[i] = float32(i%37) / 37
	}
	masks, top1, err := e.Masks(x, n, c, h, w)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(masks) == n*h*w, len(top1))
	// Output:
	// layer: /relu3/Relu_output_0
	// true 2
}

// The layers Grad-CAM can be taken from; an unknown name is an error that
// lists them.
func ExampleLayers() {
	mp, _ := zoo.Build("smallcnn", zoo.Options{Classes: 2, InChannels: 1, Size: 32, Seed: 1})
	m, _ := importer.Import(mp, importer.Options{Source: "smallcnn"})
	layers, err := gradcam.Layers(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(layers), layers[len(layers)-2:])
	if _, err := gradcam.New(m, "conv9"); err != nil {
		fmt.Println("error")
	}
	// Output:
	// 12 [/relu3/Relu_output_0 /GlobalAveragePool_output_0]
	// error
}
