package cli

import (
	"fmt"
	"io"
	"math"
	"runtime"

	"github.com/urfave/cli/v2"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/trainer/blas"
	"github.com/pgaug/pgaug/trainer/executor"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check that gorgonia, the BLAS and ONNX Runtime load and work",
		Description: "Runs a tiny gorgonia graph (forward and gradient, checked against the hand-computed\n" +
			"values), reports the BLAS the binary was built with, and loads ONNX Runtime.",
		Action: func(c *cli.Context) error {
			return runChecks(c, c.App.Writer)
		},
	}
}

// check is one line of the doctor's report.
type check struct {
	name string
	run  func() (string, error)
}

func runChecks(c *cli.Context, w io.Writer) error {
	checks := []check{
		{"go runtime", func() (string, error) {
			return fmt.Sprintf("%s %s/%s, %d CPUs", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU()), nil
		}},
		{"BLAS", func() (string, error) { return blas.Name(), nil }},
		{"gorgonia graph", checkGorgonia},
		{"ONNX Runtime", func() (string, error) {
			p, err := loadORT(c)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("version %s loaded from %s", ort.Version(), p), nil
		}},
	}
	failed := 0
	for _, ch := range checks {
		msg, err := ch.run()
		if err != nil {
			failed++
			fmt.Fprintf(w, "FAIL  %-15s %v\n", ch.name, err)
			continue
		}
		fmt.Fprintf(w, "ok    %-15s %s\n", ch.name, msg)
	}
	if failed > 0 {
		return cli.Exit(fmt.Sprintf("%d of %d checks failed", failed, len(checks)), 1)
	}
	return nil
}

// checkGorgonia builds loss = sum(W·x + b)² style graph on a 2×3 weight,
// runs forward and backward with the executor the training steps use and
// compares with the values computed by hand.
func checkGorgonia() (string, error) {
	g := gorgonia.NewGraph()
	wv := []float32{1, 2, 3, 4, 5, 6}
	xv := []float32{1, -1, 2}
	w := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 3), gorgonia.WithName("doctor.w"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(append([]float32(nil), wv...)))))
	x := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(3), gorgonia.WithName("doctor.x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(3), tensor.WithBacking(append([]float32(nil), xv...)))))
	y, err := gorgonia.Mul(w, x)
	if err != nil {
		return "", fmt.Errorf("building W·x: %w", err)
	}
	sq, err := gorgonia.Square(y)
	if err != nil {
		return "", fmt.Errorf("building square: %w", err)
	}
	loss, err := gorgonia.Sum(sq)
	if err != nil {
		return "", fmt.Errorf("building sum: %w", err)
	}
	grads, err := gorgonia.Grad(loss, w)
	if err != nil {
		return "", fmt.Errorf("symbolic gradient: %w", err)
	}
	prog, err := executor.Compile(nil, loss, grads[0])
	if err != nil {
		return "", fmt.Errorf("planning the graph: %w", err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		return "", fmt.Errorf("running the graph: %w", err)
	}
	// y = [1-2+6, 4-5+12] = [5, 11]; loss = 25+121 = 146; dL/dW = 2·y·xᵀ.
	lv, err := prog.Value(loss)
	if err != nil {
		return "", fmt.Errorf("reading the loss: %w", err)
	}
	if got, ok := lv.Data().(float32); !ok || got != 146 {
		return "", fmt.Errorf("loss = %v, want 146", lv.Data())
	}
	gv, err := prog.Value(grads[0])
	if err != nil {
		return "", fmt.Errorf("reading dL/dW: %w", err)
	}
	grad := gv.Data().([]float32)
	yv := []float32{5, 11}
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			want := 2 * yv[i] * xv[j]
			if math.Abs(float64(grad[i*3+j]-want)) > 1e-6 {
				return "", fmt.Errorf("dL/dW[%d,%d] = %v, want %v", i, j, grad[i*3+j], want)
			}
		}
	}
	return "forward and gradient of a 2x3 graph match the hand-computed values", nil
}
