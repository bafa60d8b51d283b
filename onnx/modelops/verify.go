package modelops

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/onnx/verify"
)

// ORTCheck says whether Verify compares the gorgonia forward pass with ONNX
// Runtime.
type ORTCheck string

// The ONNX Runtime checks.
const (
	ORTAuto    ORTCheck = "auto"    // compare when the library loads; otherwise note why not (the default)
	ORTOff     ORTCheck = "off"     // do not compare
	ORTRequire ORTCheck = "require" // compare; a library that does not load is an error
)

// ParseORTCheck accepts "auto", "off" and "require" ("" is auto).
func ParseORTCheck(s string) (ORTCheck, error) {
	switch c := ORTCheck(s); c {
	case "":
		return ORTAuto, nil
	case ORTAuto, ORTOff, ORTRequire:
		return c, nil
	}
	return "", fmt.Errorf("ONNX Runtime check %q: want %q, %q or %q", s, ORTAuto, ORTOff, ORTRequire)
}

// VerifyOptions tune Verify. Zero values take the defaults.
type VerifyOptions struct {
	// Source names the model in errors.
	Source string
	// Batch is the batch size of the test input (default 2).
	Batch int
	// Size is the side used for dynamic spatial input dimensions (default
	// 224); fixed dimensions are used as they are.
	Size int
	// Channels is used for a dynamic channel dimension (default 3).
	Channels int
	// ORT chooses the ONNX Runtime comparison (default ORTAuto); ORTLib is
	// the library path passed to ort.Init ("" looks it up as ort.Locate
	// does).
	ORT    ORTCheck
	ORTLib string
	// Tolerance is the largest accepted relative difference between
	// gorgonia and ONNX Runtime, max|a−b| / max|b| (default 1e-4: two
	// float32 evaluations of a whole network differ by rounding alone by up
	// to about 1e-5, see onnx/torchref, whatever kernels the CPU gets; a
	// wrong operator by 1e-2 or more).
	Tolerance float64
}

// Verification is what Verify found.
type Verification struct {
	InputShape  []int `json:"input_shape"`
	OutputShape []int `json:"output_shape"` // the first output's
	Params      int   `json:"params"`       // parameter elements as imported
	Trainable   int   `json:"trainable"`
	// ORTChecked says whether ONNX Runtime ran the model; ORTRelErr is then
	// the largest relative difference over the outputs. ORTNote says why it
	// did not run, when it did not.
	ORTChecked bool    `json:"ort_checked"`
	ORTRelErr  float64 `json:"ort_rel_err,omitempty"`
	ORTNote    string  `json:"ort_note,omitempty"`
}

func (v *Verification) String() string {
	s := fmt.Sprintf("imports and runs: input %v → output %v, finite; %d parameters (%d trainable)", v.InputShape, v.OutputShape, v.Params, v.Trainable)
	if v.ORTChecked {
		return s + fmt.Sprintf("; ONNX Runtime agrees (max relative difference %.2g)", v.ORTRelErr)
	}
	if v.ORTNote != "" {
		return s + "; ONNX Runtime not compared: " + v.ORTNote
	}
	return s
}

// Verify imports m with package importer, runs a gorgonia forward pass on a
// seeded random batch, checks that every output is finite, and (as
// opts.ORT says) that ONNX Runtime computes the same outputs. The model
// must have one float input.
func Verify(m *onnxpb.ModelProto, opts VerifyOptions) (*Verification, error) {
	v, err := verifyModel(m, opts)
	if err != nil {
		src := opts.Source
		if src == "" {
			src = "model " + m.GetGraph().GetName()
		}
		return v, fmt.Errorf("modelops: verifying %s: %w", src, err)
	}
	return v, nil
}

func verifyModel(m *onnxpb.ModelProto, opts VerifyOptions) (*Verification, error) {
	if opts.Batch <= 0 {
		opts.Batch = 2
	}
	if opts.Size <= 0 {
		opts.Size = 224
	}
	if opts.Channels <= 0 {
		opts.Channels = 3
	}
	if opts.Tolerance <= 0 {
		opts.Tolerance = 1e-4
	}
	check, err := ParseORTCheck(string(opts.ORT))
	if err != nil {
		return nil, err
	}
	im, err := importer.Import(m, importer.Options{Source: opts.Source})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	v := &Verification{}
	v.Params, v.Trainable = im.NumParams()
	if len(im.Inputs) != 1 {
		return v, fmt.Errorf("the model has %d inputs; verification needs exactly one", len(im.Inputs))
	}
	spec := im.Inputs[0]
	shape := make([]int, len(spec.Dims))
	for i, d := range spec.Dims {
		switch {
		case d > 0:
			shape[i] = int(d)
		case i == 0:
			shape[i] = opts.Batch
		case i == 1:
			shape[i] = opts.Channels
		default:
			shape[i] = opts.Size
		}
	}
	v.InputShape = shape
	n := 1
	for _, d := range shape {
		n *= d
	}
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	// The forward pass and the comparison with ONNX Runtime are package
	// verify's; here only which comparison to ask for.
	vo := verify.Options{Inputs: []*onnxio.Tensor{{Name: spec.Name, DType: onnxio.DTypeFloat32, Dims: dims, Float32: data}}, Tolerance: opts.Tolerance, SkipORT: true}
	switch {
	case check == ORTOff:
		v.ORTNote = "not asked for"
	default:
		if _, err := ort.Init(opts.ORTLib); err != nil {
			if check == ORTRequire {
				return v, err
			}
			v.ORTNote = err.Error()
			break
		}
		if size := proto.Size(m); size > onnxio.MaxProtoSize {
			if check == ORTRequire {
				return v, fmt.Errorf("the model is %d bytes, too large to hand to ONNX Runtime in memory", size)
			}
			v.ORTNote = "the model is too large to hand to ONNX Runtime in memory"
			break
		}
		raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			return v, fmt.Errorf("serializing for ONNX Runtime: %w", err)
		}
		vo.SkipORT, vo.ModelBytes = false, raw
	}
	rep, err := verify.Model(im, opts.Source, vo)
	if err != nil {
		return v, err
	}
	if len(rep.Outputs) > 0 {
		v.OutputShape = rep.Outputs[0]
	}
	if rep.NonFinite != "" {
		return v, errors.New(rep.NonFinite)
	}
	if vo.SkipORT {
		return v, nil
	}
	for _, d := range rep.Diffs {
		v.ORTRelErr = math.Max(v.ORTRelErr, d.MaxRel)
		if !(d.MaxRel <= opts.Tolerance) {
			return v, fmt.Errorf("output %q: gorgonia and ONNX Runtime differ by %.3g (relative), over the tolerance %.3g", d.Output, d.MaxRel, opts.Tolerance)
		}
	}
	v.ORTChecked = true
	return v, nil
}

// RelErr is max|got − want| / max|want| (the absolute difference when want
// is all zeros); NaN in either gives +Inf.
func RelErr(got, want []float32) float64 {
	var d, m float64
	for i := range want {
		a, b := float64(got[i]), float64(want[i])
		if math.IsNaN(a) || math.IsNaN(b) {
			return math.Inf(1)
		}
		d = math.Max(d, math.Abs(a-b))
		m = math.Max(m, math.Abs(b))
	}
	if m == 0 {
		return d
	}
	return d / m
}
