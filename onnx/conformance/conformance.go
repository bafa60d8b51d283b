package conformance

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
)

// Status is the outcome of one case.
type Status int

// Case outcomes.
const (
	Passed  Status = iota
	Failed         // ran, outputs differ (or the import failed for another reason)
	Skipped        // uses an operator, attribute or input type the importer does not support
	// MatchesRuntime: the outputs differ from the case's expected outputs but
	// match ONNX Runtime's on the same model and inputs (the ONNX reference
	// and ONNX Runtime disagree; pgaug follows the runtime it exports to).
	MatchesRuntime
	// IllConditioned: the expected output cannot be reproduced in float32
	// whatever the summation order; what it implies was checked instead.
	IllConditioned
)

func (s Status) String() string {
	return [...]string{"passed", "failed", "skipped", "matches ONNX Runtime, not the reference output", "ill-conditioned, checked otherwise"}[s]
}

// Result is the outcome of one case.
type Result struct {
	Name   string
	Status Status
	Detail string // why it failed or was skipped
	MaxAbs float64
}

// Tolerance of the comparison: |got − want| ≤ Atol + Rtol·|want| (the ONNX
// backend tests use rtol 1e-3 and atol 1e-7; float32 kernels that sum in a
// different order need a slightly larger atol).
type Tolerance struct{ Rtol, Atol float64 }

// DefaultTolerance is the tolerance the conformance tests use.
var DefaultTolerance = Tolerance{Rtol: 1e-3, Atol: 1e-5}

// RunCase runs the case in dir (its first test data set).
func RunCase(dir string, tol Tolerance) Result {
	r := Result{Name: filepath.Base(dir)}
	mp, err := onnxio.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return fail(r, err)
	}
	m, err := importer.Import(mp, importer.Options{Source: r.Name})
	if err != nil {
		return classify(r, err)
	}
	inputs, err := readTensors(filepath.Join(dir, "test_data_set_0"), "input")
	if err != nil {
		return fail(r, err)
	}
	expected, err := readTensors(filepath.Join(dir, "test_data_set_0"), "output")
	if err != nil {
		return fail(r, err)
	}
	if len(inputs) != len(m.Inputs) {
		return fail(r, fmt.Errorf("%d input files for %d graph inputs", len(inputs), len(m.Inputs)))
	}
	constant := map[string]bool{}
	for _, name := range m.ConstantInputs() {
		constant[name] = true
	}
	opts := importer.BuildOptions{Shapes: map[string][]int{}, Constants: map[string]*onnxio.Tensor{}}
	var dense []*tensor.Dense
	for i, in := range inputs {
		name := m.Inputs[i].Name
		if constant[name] {
			opts.Constants[name] = in
			continue
		}
		if !in.IsFloat() {
			return skip(r, fmt.Sprintf("input %d is %v (graph inputs must be floating point)", i, in.DType))
		}
		shape := make([]int, len(in.Dims))
		for k, d := range in.Dims {
			shape[k] = int(d)
		}
		opts.Shapes[name] = shape
		data, err := in.AsFloat32()
		if err != nil {
			return fail(r, err)
		}
		if len(shape) == 0 {
			dense = append(dense, tensor.New(tensor.FromScalar(data[0])))
		} else {
			dense = append(dense, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)))
		}
	}
	g, err := m.BuildWith(opts)
	if err != nil {
		return classify(r, err)
	}
	defer g.Close()
	outs, err := g.Forward(dense...)
	if err != nil {
		return fail(r, err)
	}
	if len(outs) < len(expected) {
		return fail(r, fmt.Errorf("%d outputs, %d expected", len(outs), len(expected)))
	}
	for i, want := range expected {
		if !want.IsFloat() {
			return skip(r, fmt.Sprintf("output %d is %v", i, want.DType))
		}
		wd, err := want.AsFloat32()
		if err != nil {
			return fail(r, err)
		}
		got := outs[i]
		gd := got.Data().([]float32)
		if len(gd) != len(wd) || !sameShape(got.Shape(), want.Dims) {
			return fail(r, fmt.Errorf("output %d has shape %v, want %v", i, got.Shape(), want.Dims))
		}
		for k := range wd {
			d := math.Abs(float64(gd[k]) - float64(wd[k]))
			if math.IsNaN(d) && !(math.IsNaN(float64(gd[k])) && math.IsNaN(float64(wd[k]))) {
				return fail(r, fmt.Errorf("output %d element %d is %v, want %v", i, k, gd[k], wd[k]))
			}
			r.MaxAbs = math.Max(r.MaxAbs, d)
			if d > tol.Atol+tol.Rtol*math.Abs(float64(wd[k])) {
				r = fail(r, fmt.Errorf("output %d element %d is %v, want %v (|diff| %.3g)", i, k, gd[k], wd[k], d))
				return againstRuntime(r, dir, inputs, outs, tol)
			}
		}
	}
	r.Status = Passed
	return r
}

// againstRuntime re-checks a failed case against ONNX Runtime (when it is
// loaded): matching it turns the failure into MatchesRuntime.
func againstRuntime(r Result, dir string, inputs []*onnxio.Tensor, outs []*tensor.Dense, tol Tolerance) Result {
	if ort.Version() == "" {
		return r
	}
	s, err := ort.NewSession(filepath.Join(dir, "model.onnx"), ort.SessionOptions{})
	if err != nil {
		return r
	}
	defer s.Close()
	feed := map[string]ort.Tensor{}
	for i, info := range s.Inputs() {
		in := inputs[i]
		if in.IsFloat() {
			f, _ := in.AsFloat32()
			feed[info.Name] = ort.Float32Tensor(in.Dims, f)
		} else {
			feed[info.Name] = ort.Int64Tensor(in.Dims, in.Int64)
		}
	}
	res, err := s.Run(feed)
	if err != nil {
		return r
	}
	for i, info := range s.Outputs() {
		want := res[info.Name].Float32
		got := outs[i].Data().([]float32)
		if len(want) != len(got) {
			return r
		}
		for k := range want {
			if math.Abs(float64(got[k])-float64(want[k])) > tol.Atol+tol.Rtol*math.Abs(float64(want[k])) {
				return r
			}
		}
	}
	r.Status = MatchesRuntime
	return r
}

func sameShape(s tensor.Shape, dims []int64) bool {
	if s.IsScalar() {
		for _, d := range dims {
			if d != 1 {
				return false
			}
		}
		return true
	}
	if len(s) != len(dims) {
		return false
	}
	for i := range s {
		if int64(s[i]) != dims[i] {
			return false
		}
	}
	return true
}

func fail(r Result, err error) Result {
	r.Status, r.Detail = Failed, err.Error()
	return r
}

func skip(r Result, why string) Result {
	r.Status, r.Detail = Skipped, why
	return r
}

func classify(r Result, err error) Result {
	var ue *importer.UnsupportedError
	if errors.As(err, &ue) {
		return skip(r, fmt.Sprintf("%s %s", ue.Op, ue.What))
	}
	return fail(r, err)
}

func readTensors(dir, prefix string) ([]*onnxio.Tensor, error) {
	var out []*onnxio.Tensor
	for i := 0; ; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%s_%d.pb", prefix, i))
		if _, err := os.Stat(p); err != nil {
			break
		}
		t, err := onnxio.ReadTensorFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// RunAll runs every case directory under root (sorted by name).
func RunAll(root string, tol Tolerance) ([]Result, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(root, e.Name(), "model.onnx")); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	out := make([]Result, 0, len(names))
	for _, n := range names {
		out = append(out, RunCase(filepath.Join(root, n), tol))
	}
	return out, nil
}

// Summary counts results by status and lists the failures and skip reasons.
func Summary(results []Result) string {
	var c [5]int
	var b strings.Builder
	reasons := map[string]int{}
	for _, r := range results {
		c[r.Status]++
		switch r.Status {
		case Failed:
			fmt.Fprintf(&b, "  FAIL %s: %s\n", r.Name, r.Detail)
		case Skipped:
			reasons[r.Detail]++
		case MatchesRuntime:
			fmt.Fprintf(&b, "  %s matches ONNX Runtime but not the reference output: %s\n", r.Name, r.Detail)
		}
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  skipped ×%d: %s\n", reasons[k], k)
	}
	return fmt.Sprintf("%d cases: %d passed, %d failed, %d skipped as unsupported, %d match ONNX Runtime but not the reference\n%s",
		len(results), c[Passed], c[Failed], c[Skipped], c[MatchesRuntime], b.String())
}
