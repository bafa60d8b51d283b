package verify

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/ort"
)

// Options say what to verify.
type Options struct {
	// Inputs by graph-input order (nil: seeded random normal inputs).
	Inputs []*onnxio.Tensor
	// Expect gives expected outputs by graph-output order (optional).
	Expect []*onnxio.Tensor
	// Shapes fixes dynamic input dimensions for random inputs, by input name.
	Shapes map[string][]int
	// Batch replaces a dynamic first dimension of random inputs (default 2).
	Batch int
	// Seed seeds the random inputs.
	Seed uint64
	// Tolerance is the largest relative error accepted (default 1e-4:
	// two float32 evaluations of a whole network such as ResNet-50 or
	// DenseNet-169 differ by rounding alone by up to about 1e-5, see
	// onnx/torchref; a wrong operator by 1e-2 or more).
	Tolerance float64
	// SkipORT verifies against Expect only.
	SkipORT bool
	// Threads for ONNX Runtime (0: its default).
	Threads int
	// ModelBytes, when set, is the serialised model ONNX Runtime runs
	// (instead of the file at the path, which then only names the model).
	ModelBytes []byte
}

func (o *Options) defaults() {
	if o.Tolerance == 0 {
		o.Tolerance = 1e-4
	}
	if o.Batch == 0 {
		o.Batch = 2
	}
}

// Diff is the comparison of one output.
type Diff struct {
	Output         string
	Against        string // "onnxruntime" or "expected"
	Shape          []int
	MaxAbs, MaxRel float64
}

// Report is the result of Verify.
type Report struct {
	Model     string
	Inputs    map[string][]int
	Diffs     []Diff
	Tolerance float64
	// Outputs are the shapes of the gorgonia outputs, by graph-output order.
	Outputs [][]int
	// NonFinite names the first NaN or infinite element of the gorgonia
	// outputs ("" when every element is finite).
	NonFinite string
}

// OK reports whether every difference is within the tolerance.
func (r Report) OK() bool {
	for _, d := range r.Diffs {
		if !(d.MaxRel <= r.Tolerance) {
			return false
		}
	}
	return true
}

// WriteText prints the report as a table.
func (r Report) WriteText(w io.Writer) error {
	names := make([]string, 0, len(r.Inputs))
	for n := range r.Inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	if _, err := fmt.Fprintf(w, "model %s\n", r.Model); err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintf(w, "  input  %-24s %s\n", n, shapeString(r.Inputs[n]))
	}
	fmt.Fprintf(w, "  %-24s %-12s %-16s %12s %12s\n", "output", "against", "shape", "max abs", "max rel")
	for _, d := range r.Diffs {
		status := "ok"
		if !(d.MaxRel <= r.Tolerance) {
			status = "ABOVE TOLERANCE"
		}
		fmt.Fprintf(w, "  %-24s %-12s %-16s %12.3g %12.3g  %s\n", d.Output, d.Against, shapeString(d.Shape), d.MaxAbs, d.MaxRel, status)
	}
	verdict := "within"
	if !r.OK() {
		verdict = "ABOVE"
	}
	_, err := fmt.Fprintf(w, "%s tolerance %.3g\n", verdict, r.Tolerance)
	return err
}

// File verifies the ONNX model at path. ONNX Runtime must be loaded (ort.Init)
// unless opts.SkipORT.
func File(path string, opts Options) (Report, error) {
	m, err := importer.ImportFile(path)
	if err != nil {
		return Report{}, err
	}
	return Model(m, path, opts)
}

// Model verifies an imported model whose ONNX file is at path (what ONNX
// Runtime runs).
func Model(m *importer.Model, path string, opts Options) (Report, error) {
	opts.defaults()
	rep := Report{Model: path, Inputs: map[string][]int{}, Tolerance: opts.Tolerance}
	inputs, err := makeInputs(m, opts)
	if err != nil {
		return rep, err
	}
	build := importer.BuildOptions{Shapes: map[string][]int{}, Constants: map[string]*onnxio.Tensor{}}
	constant := map[string]bool{}
	for _, n := range m.ConstantInputs() {
		constant[n] = true
	}
	var dense []*tensor.Dense
	for i, spec := range m.Inputs {
		in := inputs[i]
		rep.Inputs[spec.Name] = in.Shape()
		if constant[spec.Name] {
			build.Constants[spec.Name] = in
			continue
		}
		d, err := toDense(in)
		if err != nil {
			return rep, fmt.Errorf("input %q: %w", spec.Name, err)
		}
		build.Shapes[spec.Name] = in.Shape()
		dense = append(dense, d)
	}
	g, err := m.BuildWith(build)
	if err != nil {
		return rep, err
	}
	defer g.Close()
	m.SetTraining(false)
	got, err := g.Forward(dense...)
	if err != nil {
		return rep, err
	}
	for i, o := range got {
		rep.Outputs = append(rep.Outputs, []int(o.Shape().Clone()))
		if rep.NonFinite != "" {
			continue
		}
		for j, x := range o.Data().([]float32) {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				rep.NonFinite = fmt.Sprintf("output %q element %d is %v", m.Outputs[i].Name, j, x)
				break
			}
		}
	}
	if !opts.SkipORT {
		ref, err := runORT(path, opts.ModelBytes, m, inputs, opts.Threads)
		if err != nil {
			return rep, err
		}
		for i, spec := range m.Outputs {
			rep.Diffs = append(rep.Diffs, compare(spec.Name, "onnxruntime", got[i], ref[i]))
		}
	}
	for i, e := range opts.Expect {
		if i >= len(got) {
			return rep, fmt.Errorf("%d expected outputs given, the model has %d outputs", len(opts.Expect), len(got))
		}
		want, err := e.AsFloat32()
		if err != nil {
			return rep, fmt.Errorf("expected output %d: %w", i, err)
		}
		if len(want) != got[i].Shape().TotalSize() {
			return rep, fmt.Errorf("expected output %d has %d values, output %q has shape %v", i, len(want), m.Outputs[i].Name, got[i].Shape())
		}
		rep.Diffs = append(rep.Diffs, compare(m.Outputs[i].Name, "expected", got[i], want))
	}
	return rep, nil
}

func compare(name, against string, got *tensor.Dense, want []float32) Diff {
	d := Diff{Output: name, Against: against, Shape: []int(got.Shape().Clone())}
	g := got.Data().([]float32)
	var scale float64
	for i := range want {
		diff := math.Abs(float64(g[i]) - float64(want[i]))
		if math.IsNaN(diff) {
			diff = math.Inf(1)
		}
		d.MaxAbs = math.Max(d.MaxAbs, diff)
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	d.MaxRel = d.MaxAbs / math.Max(scale, 1e-12)
	if d.MaxAbs == 0 {
		d.MaxRel = 0
	}
	return d
}

func runORT(path string, raw []byte, m *importer.Model, inputs []*onnxio.Tensor, threads int) ([][]float32, error) {
	var s *ort.Session
	var err error
	if raw != nil {
		s, err = ort.NewSessionFromBytes(raw, ort.SessionOptions{Threads: threads})
	} else {
		s, err = ort.NewSession(path, ort.SessionOptions{Threads: threads})
	}
	if err != nil {
		return nil, err
	}
	defer s.Close()
	feed := map[string]ort.Tensor{}
	for i, spec := range m.Inputs {
		in := inputs[i]
		switch {
		case in.DType == onnxio.DTypeInt64 || len(in.Int64) > 0:
			feed[spec.Name] = ort.Int64Tensor(in.Dims, in.Int64)
		default:
			f, err := in.AsFloat32()
			if err != nil {
				return nil, err
			}
			feed[spec.Name] = ort.Float32Tensor(in.Dims, f)
		}
	}
	outs, err := s.Run(feed)
	if err != nil {
		return nil, err
	}
	res := make([][]float32, len(m.Outputs))
	for i, spec := range m.Outputs {
		t, ok := outs[spec.Name]
		if !ok {
			return nil, fmt.Errorf("ONNX Runtime gave no output %q", spec.Name)
		}
		res[i] = t.Float32
	}
	return res, nil
}

func makeInputs(m *importer.Model, opts Options) ([]*onnxio.Tensor, error) {
	if opts.Inputs != nil {
		if len(opts.Inputs) != len(m.Inputs) {
			return nil, fmt.Errorf("%d input tensors given, the model has %d inputs (%v)", len(opts.Inputs), len(m.Inputs), names(m.Inputs))
		}
		return opts.Inputs, nil
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	out := make([]*onnxio.Tensor, len(m.Inputs))
	for i, spec := range m.Inputs {
		shape := opts.Shapes[spec.Name]
		if shape == nil {
			shape = make([]int, len(spec.Dims))
			for k, d := range spec.Dims {
				switch {
				case d > 0:
					shape[k] = int(d)
				case k == 0:
					shape[k] = opts.Batch
				default:
					return nil, fmt.Errorf("input %q has dynamic dimension %d (%q): give its shape (--shape %s=...)", spec.Name, k, spec.DimNames[k], spec.Name)
				}
			}
		}
		n := 1
		dims := make([]int64, len(shape))
		for k, d := range shape {
			n *= d
			dims[k] = int64(d)
		}
		data := make([]float32, n)
		for k := range data {
			data[k] = float32(rng.NormFloat64())
		}
		out[i] = &onnxio.Tensor{Name: spec.Name, DType: onnxio.DTypeFloat32, Dims: dims, Float32: data}
	}
	return out, nil
}

func names(specs []importer.IOSpec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.Name)
	}
	return out
}

func toDense(t *onnxio.Tensor) (*tensor.Dense, error) {
	f, err := t.AsFloat32()
	if err != nil {
		return nil, err
	}
	shape := t.Shape()
	if len(shape) == 0 {
		return tensor.New(tensor.FromScalar(f[0])), nil
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), f...))), nil
}

func shapeString(s []int) string {
	if len(s) == 0 {
		return "scalar"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}
