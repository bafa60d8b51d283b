package infer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/datasets/convert"
	"github.com/pgaug/pgaug/datasets/synthetic"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/onnx/zoo"
	"github.com/pgaug/pgaug/pipeline/infer"
)

// Predict the test split of a synthetic dataset with an (untrained) zoo
// network and read the predictions back.
func Example() {
	if _, err := ort.Init(""); err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "infer-example")
	defer os.RemoveAll(dir)
	data, model, out := filepath.Join(dir, "d.arrow"), filepath.Join(dir, "m.onnx"), filepath.Join(dir, "pred.arrow")
	cfg := synthetic.Default() // 600 grayscale 32×32 images, 2 classes
	if _, err := convert.Synthetic(cfg, convert.Options{Out: data}); err != nil {
		fmt.Println(err)
		return
	}
	m, err := zoo.Build("smallcnn", zoo.Options{Classes: 2, InChannels: 1, Size: 32})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := onnxio.Save(model, m); err != nil {
		fmt.Println(err)
		return
	}
	res, err := infer.Run(context.Background(), infer.Config{Model: model, Data: data, Output: out, Split: "test", Batch: 32, Threads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := infer.ReadPredictions(out)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Rows, "predictions of", p.Classes, "with metrics:", res.Metrics != nil)
	fmt.Println("first row:", p.IDs[0] != "", len(p.Prob(0)), "probabilities")
	// Output:
	// 90 predictions of [normal ring] with metrics: true
	// first row: true 2 probabilities
}
