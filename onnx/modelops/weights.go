package modelops

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// StateDict returns a model's named float tensors with their dims and
// values, as a PyTorch state_dict names them: the initializers, the values
// of Constant nodes, and the outputs of Identity nodes that copy one of
// those (PyTorch's exporter writes equal tensors once and aliases the
// others through Identity nodes, e.g. several zero biases).
func StateDict(m *onnxpb.ModelProto) (map[string]*onnxio.Tensor, error) {
	ix, err := indexGraph(m)
	if err != nil {
		return nil, fmt.Errorf("modelops: %w", err)
	}
	out := map[string]*onnxio.Tensor{}
	for _, t := range ix.g.GetInitializer() {
		if onnxio.DType(t.GetDataType()) != onnxio.DTypeFloat32 {
			continue
		}
		v, err := onnxio.TensorFromProto(t)
		if err != nil {
			return nil, fmt.Errorf("modelops: %w", err)
		}
		out[t.GetName()] = v
	}
	for _, n := range ix.g.GetNode() {
		if n.GetOpType() != "Constant" {
			continue
		}
		tp, err := onnxio.ConstantValue(n)
		if err != nil || onnxio.DType(tp.GetDataType()) != onnxio.DTypeFloat32 {
			continue
		}
		v, err := onnxio.TensorFromProto(tp)
		if err != nil {
			return nil, fmt.Errorf("modelops: %w", err)
		}
		out[n.GetOutput()[0]] = v
	}
	for _, n := range ix.g.GetNode() {
		if n.GetOpType() != "Identity" || len(n.GetInput()) != 1 || len(n.GetOutput()) != 1 {
			continue
		}
		if src, ok := out[n.GetInput()[0]]; ok {
			alias := *src
			alias.Name = n.GetOutput()[0]
			out[alias.Name] = &alias
		}
	}
	return out, nil
}

// LoadReport says what LoadWeights copied.
type LoadReport struct {
	Loaded     []string `json:"loaded"`     // tensors of the destination given the source's values
	Missing    []string `json:"missing"`    // destination tensors the source does not have
	Mismatched []string `json:"mismatched"` // same name, different shape ("name: [dims] vs [dims]")
	Unused     []string `json:"unused"`     // source tensors the destination does not have
}

// LoadWeights copies into dst's float initializers the values of the
// tensors of src with the same names (src's StateDict: initializers,
// Constant values and their Identity aliases), so that weights exported
// from PyTorch load into a zoo model, or a trained model's weights into a
// fresh copy. Shapes must match. With strict, a destination initializer
// that src lacks or has with another shape is an error and dst is left
// unchanged; without, such tensors keep their values and the report lists
// them.
func LoadWeights(dst, src *onnxpb.ModelProto, strict bool) (*LoadReport, error) {
	from, err := StateDict(src)
	if err != nil {
		return nil, err
	}
	ix, err := indexGraph(dst)
	if err != nil {
		return nil, fmt.Errorf("modelops: loading weights: %w", err)
	}
	r := &LoadReport{}
	type copyOp struct {
		index int
		t     *onnxio.Tensor
	}
	var plan []copyOp
	used := map[string]bool{}
	for i, t := range ix.g.GetInitializer() {
		if onnxio.DType(t.GetDataType()) != onnxio.DTypeFloat32 {
			continue
		}
		s, ok := from[t.GetName()]
		if !ok {
			r.Missing = append(r.Missing, t.GetName())
			continue
		}
		used[t.GetName()] = true
		if !slices.Equal(s.Dims, t.GetDims()) {
			r.Mismatched = append(r.Mismatched, fmt.Sprintf("%s: %v in the source, %v here", t.GetName(), s.Dims, t.GetDims()))
			continue
		}
		plan = append(plan, copyOp{i, s})
		r.Loaded = append(r.Loaded, t.GetName())
	}
	for name := range from {
		if !used[name] {
			r.Unused = append(r.Unused, name)
		}
	}
	sort.Strings(r.Unused)
	if strict && (len(r.Missing) > 0 || len(r.Mismatched) > 0) {
		var parts []string
		if len(r.Missing) > 0 {
			parts = append(parts, fmt.Sprintf("%d tensors missing from the source (%s)", len(r.Missing), firstFew(r.Missing, 5)))
		}
		if len(r.Mismatched) > 0 {
			parts = append(parts, fmt.Sprintf("%d with another shape (%s)", len(r.Mismatched), firstFew(r.Mismatched, 5)))
		}
		return r, fmt.Errorf("modelops: loading weights: %s", strings.Join(parts, "; "))
	}
	for _, c := range plan {
		ix.g.Initializer[c.index] = onnxio.Float32Tensor(c.t.Name, c.t.Dims, append([]float32(nil), c.t.Float32...))
	}
	return r, nil
}

func firstFew(s []string, k int) string {
	if len(s) <= k {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:k], ", ") + fmt.Sprintf(", … %d more", len(s)-k)
}
