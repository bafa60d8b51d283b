package conformance

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
)

// RunLight runs one of the ONNX project's "light" whole-network models
// (light_NAME.onnx beside light_NAME_output_0.pb): every weight is computed by
// a ConstantOfShape node and the input is arange(N)/N in the input's shape.
func RunLight(modelPath string, tol Tolerance) Result {
	r := Result{Name: strings.TrimSuffix(filepath.Base(modelPath), ".onnx")}
	start := time.Now()
	m, err := importer.ImportFile(modelPath)
	if err != nil {
		return classify(r, err)
	}
	if len(m.Inputs) != 1 {
		return fail(r, fmt.Errorf("%d graph inputs, want 1", len(m.Inputs)))
	}
	spec := m.Inputs[0]
	shape := make([]int, len(spec.Dims))
	size := 1
	for i, d := range spec.Dims {
		if d < 0 {
			return fail(r, fmt.Errorf("input %q has a dynamic dimension", spec.Name))
		}
		shape[i] = int(d)
		size *= int(d)
	}
	data := make([]float32, size)
	for i := range data {
		data[i] = float32(float64(i) / float64(size))
	}
	g, err := m.Build(map[string][]int{spec.Name: shape})
	if err != nil {
		return classify(r, err)
	}
	defer g.Close()
	outs, err := g.Forward(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)))
	if err != nil {
		return fail(r, err)
	}
	want, err := onnxio.ReadTensorFile(strings.TrimSuffix(modelPath, ".onnx") + "_output_0.pb")
	if err != nil {
		return fail(r, err)
	}
	wd, err := want.AsFloat32()
	if err != nil {
		return fail(r, err)
	}
	gd := outs[0].Data().([]float32)
	if len(gd) != len(wd) {
		return fail(r, fmt.Errorf("output has %d elements, want %d", len(gd), len(wd)))
	}
	for k := range wd {
		d := math.Abs(float64(gd[k]) - float64(wd[k]))
		r.MaxAbs = math.Max(r.MaxAbs, d)
		if !(d <= tol.Atol+tol.Rtol*math.Abs(float64(wd[k]))) {
			return fail(r, fmt.Errorf("output element %d is %v, want %v (|diff| %.3g)", k, gd[k], wd[k], d))
		}
	}
	r.Status = Passed
	r.Detail = fmt.Sprintf("%.1fs", time.Since(start).Seconds())
	return r
}
