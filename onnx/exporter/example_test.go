package exporter_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/exporter"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/trainer/loss"
	"github.com/pgaug/pgaug/trainer/netstep"
	"github.com/pgaug/pgaug/trainer/optim"
)

// linear imports logits = x·Wᵀ + b, a 3-input 2-class linear classifier
// built at the given opset, with W = [[1 0 -1] [0.5 0.5 0.5]] and b = [0 -1].
func linear(opset int64) *importer.Model {
	b := onnxio.NewGraphBuilder("linear")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 3)
	b.AddOutput("logits", onnxio.DTypeFloat32, "N", 2)
	b.AddInitializer(onnxio.Float32Tensor("fc.weight", []int64{2, 3}, []float32{1, 0, -1, 0.5, 0.5, 0.5}))
	b.AddInitializer(onnxio.Float32Tensor("fc.bias", []int64{2}, []float32{0, -1}))
	b.AddNode("Gemm", []string{"x", "fc.weight", "fc.bias"}, []string{"logits"}, onnxio.AttrInt("transB", 1))
	mp, err := b.Model(opset, "example", nil)
	if err != nil {
		log.Fatal(err)
	}
	m, err := importer.Import(mp, importer.Options{Source: "linear"})
	if err != nil {
		log.Fatal(err)
	}
	return m
}

// printVec prints float32 values with 4 decimals.
func printVec(name string, v []float32) {
	fmt.Print(name)
	for _, x := range v {
		fmt.Printf(" %.4f", x)
	}
	fmt.Println()
}

// Change a weight of an imported model, export it with training metadata,
// save it and read it back.
func ExampleExport() {
	m := linear(17)
	m.Param("fc.bias").Value.Data().([]float32)[1] = 0.25

	mp, err := exporter.Export(m, exporter.Options{
		ProducerVersion: "1.0",
		Metadata:        map[string]string{"method": "finetune", "epochs": "3"},
	})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "exporter-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "linear.onnx")
	if err := onnxio.Save(path, mp); err != nil {
		log.Fatal(err)
	}

	saved, err := onnxio.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(saved.GetProducerName(), saved.GetProducerVersion(), onnxio.MetadataValue(saved, "method"))
	for _, t := range saved.GetGraph().GetInitializer() {
		v, dims, err := onnxio.TensorToFloat32(t)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(dims, " ")
		printVec(t.GetName(), v)
	}
	// Export does not modify the imported model's proto.
	orig, _, _ := onnxio.TensorToFloat32(m.Proto.GetGraph().GetInitializer()[1])
	printVec("original fc.bias", orig)
	// Output:
	// pgaug 1.0 finetune
	// [2 3] fc.weight 1.0000 0.0000 -1.0000 0.5000 0.5000 0.5000
	// [2] fc.bias 0.0000 0.2500
	// original fc.bias 0.0000 -1.0000
}

// Train an imported model for one step and export the trained weights: the
// exported model, imported again, computes what the trained one does.
func Example_train() {
	m := linear(17)
	net := netstep.New(m, netstep.CrossEntropy)
	defer net.Close()

	// Both samples are misclassified: logits [-2 2] and [4 0.5].
	x := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, 3, 1, -1}))
	target, err := loss.OneHot([]int{0, 1}, 2)
	if err != nil {
		log.Fatal(err)
	}
	r, err := net.Step(x, &optim.SGD{}, 0.1, target)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("loss before the step: %.4f\n", r.Loss)
	trained, err := net.Forward(x)
	if err != nil {
		log.Fatal(err)
	}
	printVec("trained logits: ", trained.Data().([]float32))

	mp, err := exporter.Export(m, exporter.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range mp.GetGraph().GetInitializer() {
		v, _, _ := onnxio.TensorToFloat32(t)
		printVec(t.GetName()+":", v)
	}

	reloaded, err := importer.Import(mp, importer.Options{Source: "exported"})
	if err != nil {
		log.Fatal(err)
	}
	g, err := reloaded.Build(map[string][]int{"x": {2, 3}})
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	out, err := g.Forward(x)
	if err != nil {
		log.Fatal(err)
	}
	printVec("exported logits:", out[0].Data().([]float32))
	// Output:
	// loss before the step: 3.7740
	// trained logits:  -1.4091 1.4091 3.5649 0.9351
	// fc.weight: 0.9035 0.0497 -0.8042 0.5965 0.4503 0.3042
	// fc.bias: 0.0006 -1.0006
	// exported logits: -1.4091 1.4091 3.5649 0.9351
}

// A model older than opset 13 is exported at opset 13.
func Example_opsetUpgrade() {
	m := linear(9)
	mp, err := exporter.Export(m, exporter.Options{})
	if err != nil {
		log.Fatal(err)
	}
	opset, err := onnxio.DefaultOpset(mp)
	fmt.Println(m.Opset, "->", opset, err)
	// Output:
	// 9 -> 13 <nil>
}
