package transfer_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/pipeline/transfer"
)

// The layers of a zoo network, its default feature layer, and the cut
// model's output.
func ExampleCutAt() {
	m, err := zoo.Build("smallcnn", zoo.Options{Classes: 2, InChannels: 1, Size: 28, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	layers := transfer.Layers(m)
	fmt.Println(len(layers), "layers, the last:", layers[len(layers)-3:])
	def, err := transfer.DefaultLayer(m)
	if err != nil {
		log.Fatal(err)
	}
	cut, err := transfer.CutAt(m, def)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("default:", def, "→ output", cut.GetGraph().GetOutput()[0].GetName())
	_, err = transfer.CutAt(m, "fc7")
	fmt.Println(err != nil)
	// Output:
	// 14 layers, the last: [/GlobalAveragePool_output_0 /Flatten_output_0 logits]
	// default: /Flatten_output_0 → output /Flatten_output_0
	// true
}

// Penultimate features of a batch with ONNX Runtime.
func ExampleNewExtractor() {
	if _, err := ort.Init(""); err != nil {
		log.Fatal(err)
	}
	m, _ := zoo.Build("smallcnn", zoo.Options{Classes: 2, InChannels: 1, Size: 28, Seed: 1})
	path := filepath.Join(os.TempDir(), "smallcnn.onnx")
	if err := onnxio.Save(path, m); err != nil {
		log.Fatal(err)
	}
	e, err := transfer.NewExtractor(path, "", ort.SessionOptions{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	x := make([]float32, 4*1*28*28)
	feats, d, err := e.Features(x, 4, 1, 28, 28)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Layer(), d, len(feats))
}

// The transfer evaluation of a model on a dataset, as `pgaug eval transfer`
// runs it.
func ExampleRun() {
	if _, err := ort.Init(""); err != nil {
		log.Fatal(err)
	}
	res, err := transfer.Run(context.Background(), transfer.Config{
		Model: "runs/demo/baseline.onnx", Data: "runs/demo/data",
		Trials: 10, Seed: 1, Probe: transfer.ProbeBoth, Output: "runs/demo/transfer.json", Progress: os.Stderr,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("MLP probe accuracy %.3f\n", res.MLP.Accuracy)
	for _, s := range res.FewShot {
		if s.Skipped == "" {
			fmt.Printf("k=%d: %.3f [%.3f, %.3f]\n", s.K, s.Accuracy.Mean, s.Accuracy.Lo, s.Accuracy.Hi)
		}
	}
}
