package ort_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/ort"
)

// classifier builds probs = Softmax(x·Wᵀ + b): 3 inputs, 2 classes and a
// dynamic batch dimension N, with W = [[1 0 -1] [0.5 0.5 0.5]] and b = [0 -1].
func classifier() *onnxpb.ModelProto {
	b := onnxio.NewGraphBuilder("classifier")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 3)
	b.AddOutput("probs", onnxio.DTypeFloat32, "N", 2)
	b.AddInitializer(onnxio.Float32Tensor("W", []int64{2, 3}, []float32{1, 0, -1, 0.5, 0.5, 0.5}))
	b.AddInitializer(onnxio.Float32Tensor("b", []int64{2}, []float32{0, -1}))
	b.AddNode("Gemm", []string{"x", "W", "b"}, []string{"logits"}, onnxio.AttrInt("transB", 1))
	b.AddNode("Softmax", []string{"logits"}, []string{"probs"}, onnxio.AttrInt("axis", 1))
	mp, err := b.Model(13, "example", nil)
	if err != nil {
		log.Fatal(err)
	}
	return mp
}

// printRows prints a row-major float32 tensor with 4 decimals, one row a line.
func printRows(t ort.Tensor) {
	cols := int(t.Shape[len(t.Shape)-1])
	for i := 0; i < len(t.Float32); i += cols {
		for j, v := range t.Float32[i : i+cols] {
			if j > 0 {
				fmt.Print(" ")
			}
			fmt.Printf("%.4f", v)
		}
		fmt.Println()
	}
}

// Load ONNX Runtime, open a session on a model held in memory and run it on
// a batch of two.
func Example() {
	// Init finds the library through PGAUG_ORT_LIB or the project-local copy
	// that scripts/setup.sh installs; an explicit path may be given instead.
	if _, err := ort.Init(""); err != nil {
		log.Fatal(err)
	}
	data, err := proto.Marshal(classifier())
	if err != nil {
		log.Fatal(err)
	}
	s, err := ort.NewSessionFromBytes(data, ort.SessionOptions{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// Logits: [-2 2] and [4 0.5].
	x := ort.Float32Tensor([]int64{2, 3}, []float32{1, 2, 3, 3, 1, -1})
	out, err := s.Run(map[string]ort.Tensor{"x": x})
	if err != nil {
		log.Fatal(err)
	}
	probs := out["probs"]
	fmt.Println(s.Device(), probs.Shape)
	printRows(probs)
	// Output:
	// cpu [2 2]
	// 0.0180 0.9820
	// 0.9707 0.0293
}

// Open a session on a model file and describe its inputs and outputs.
func ExampleNewSession() {
	if _, err := ort.Init(""); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "ort-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "classifier.onnx")
	if err := onnxio.Save(path, classifier()); err != nil {
		log.Fatal(err)
	}

	s, err := ort.NewSession(path, ort.SessionOptions{Device: ort.DeviceCPU, Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for _, v := range append(s.Inputs(), s.Outputs()...) {
		fmt.Println(v.Name, v.ElemType, v.Shape) // -1: the dynamic batch dimension
	}
	out, err := s.Run(map[string]ort.Tensor{"x": ort.Float32Tensor([]int64{1, 3}, []float32{0, 0, 0})})
	if err != nil {
		log.Fatal(err)
	}
	printRows(out["probs"])
	// Output:
	// x float32 [-1 3]
	// probs float32 [-1 2]
	// 0.7311 0.2689
}

// RunInto writes the outputs into the caller's tensors, so a loop that
// reuses them allocates no tensor memory.
func ExampleSession_RunInto() {
	if _, err := ort.Init(""); err != nil {
		log.Fatal(err)
	}
	data, err := proto.Marshal(classifier())
	if err != nil {
		log.Fatal(err)
	}
	s, err := ort.NewSessionFromBytes(data, ort.SessionOptions{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	x := ort.Float32Tensor([]int64{1, 3}, make([]float32, 3))
	probs := ort.Float32Tensor([]int64{1, 2}, make([]float32, 2))
	for _, row := range [][]float32{{1, 2, 3}, {3, 1, -1}, {0, 0, 0}} {
		copy(x.Float32, row)
		if err := s.RunInto(map[string]ort.Tensor{"x": x}, map[string]ort.Tensor{"probs": probs}); err != nil {
			log.Fatal(err)
		}
		printRows(probs)
	}
	// Output:
	// 0.0180 0.9820
	// 0.9707 0.0293
	// 0.7311 0.2689
}

// Inputs are checked against the model before running: a wrong shape is an
// error naming the input and what the model expects.
func ExampleSession_Run_badInput() {
	if _, err := ort.Init(""); err != nil {
		log.Fatal(err)
	}
	data, err := proto.Marshal(classifier())
	if err != nil {
		log.Fatal(err)
	}
	s, err := ort.NewSessionFromBytes(data, ort.SessionOptions{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	_, err = s.Run(map[string]ort.Tensor{"x": ort.Float32Tensor([]int64{1, 4}, make([]float32, 4))})
	fmt.Println(err)
	// Output:
	// ort: running model bytes: input "x": got shape [1 4], the model wants [-1 3] (-1: any size)
}
