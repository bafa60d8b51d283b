package modelops

import (
	"fmt"
	"strings"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// HeadChange reports what ReplaceHead did.
type HeadChange struct {
	Node       string   `json:"node"`              // the classifier node (Gemm, or the MatMul of MatMul+Add)
	Op         string   `json:"op"`                // "Gemm", "MatMul+Add" or "MatMul"
	Weight     string   `json:"weight"`            // the weight tensor replaced
	Bias       string   `json:"bias,omitempty"`    // the bias tensor replaced or added
	BiasAdded  bool     `json:"bias_added"`        // a Gemm without bias got one
	InFeatures int64    `json:"in_features"`       // the layer's input width
	OldClasses int64    `json:"old_classes"`       // the layer's previous output width
	NewClasses int64    `json:"new_classes"`       // its new output width
	Output     string   `json:"output"`            // the graph output it feeds
	Through    []string `json:"through,omitempty"` // the nodes between the layer and the output
	Seed       uint64   `json:"seed"`
}

func (h *HeadChange) String() string {
	s := fmt.Sprintf("replaced the classifier %s (%s) with a fresh %d→%d layer (seed %d; was %d classes): weight %q",
		h.Node, h.Op, h.InFeatures, h.NewClasses, h.Seed, h.OldClasses, h.Weight)
	if h.Bias != "" {
		verb := "bias"
		if h.BiasAdded {
			verb = "new bias"
		}
		s += fmt.Sprintf(", %s %q", verb, h.Bias)
	}
	return s + fmt.Sprintf("; output %q is now %d wide", h.Output, h.NewClasses)
}

// passThrough lists the operators that may sit between the classifier and
// the graph output: they keep the last (class) dimension as it is.
var passThrough = map[string]bool{
	"Identity": true, "Dropout": true, "Softmax": true, "LogSoftmax": true,
	"Sigmoid": true, "Flatten": true, "Relu": true, "Tanh": true,
}

// ReplaceHead replaces the final classifier layer of a model with a fresh
// classes-way layer, changing model in place (clone it first to keep the
// original). The layer is the last Gemm (or MatMul followed by an Add of a
// bias, or a bare MatMul) feeding the model's single output, possibly through
// Identity, Dropout, Softmax, LogSoftmax, Sigmoid, Relu, Tanh or Flatten
// nodes. Its weight and bias keep their names and get PyTorch's default
// Linear initialisation, U(±1/√in_features), drawn from seed as package zoo
// draws it (so a zoo model's head and a head replaced with the same seed and
// names are equal); a Gemm without bias gets one. The output's last
// dimension becomes classes and value_info entries of the values the change
// reshapes are dropped. The weight and bias must be initializers or Constant
// nodes read by the layer alone.
func ReplaceHead(model *onnxpb.ModelProto, classes int, seed uint64) (*HeadChange, error) {
	h, err := replaceHead(model, classes, seed)
	if err != nil {
		return nil, fmt.Errorf("modelops: replacing the head: %w", err)
	}
	return h, nil
}

func replaceHead(model *onnxpb.ModelProto, classes int, seed uint64) (*HeadChange, error) {
	if classes < 1 {
		return nil, fmt.Errorf("%d classes, want at least 1", classes)
	}
	ix, err := indexGraph(model)
	if err != nil {
		return nil, err
	}
	outs := ix.g.GetOutput()
	if len(outs) != 1 {
		names := make([]string, len(outs))
		for i, o := range outs {
			names[i] = o.GetName()
		}
		return nil, fmt.Errorf("the model has %d outputs %v; a classifier has exactly one", len(outs), names)
	}
	out := outs[0]
	h := &HeadChange{Output: out.GetName(), NewClasses: int64(classes), Seed: seed}
	reshaped := map[string]bool{out.GetName(): true}

	// Walk back from the output through class-preserving nodes.
	v := out.GetName()
	var layer *onnxpb.NodeProto
	for {
		n := ix.producer[v]
		if n == nil {
			return nil, fmt.Errorf("output %q is not computed by a node (it is an input or an initializer)", out.GetName())
		}
		if op := n.GetOpType(); op == "Gemm" || op == "MatMul" || op == "Add" {
			layer = n
			break
		}
		if !passThrough[n.GetOpType()] {
			via := ""
			if len(h.Through) > 0 {
				via = " through " + strings.Join(h.Through, ", ")
			}
			return nil, fmt.Errorf("output %q comes%s from %s; want a Gemm, MatMul+Add or MatMul classifier, reached through %s only",
				out.GetName(), via, nodeLabel(n), passThroughList())
		}
		if n.GetOpType() == "Flatten" && attrInt(n, "axis", 1) != 1 {
			return nil, fmt.Errorf("%s between the classifier and output %q has axis %d; only axis 1 keeps the class dimension",
				nodeLabel(n), out.GetName(), attrInt(n, "axis", 1))
		}
		if len(ix.consumers[v]) > 1 && v != out.GetName() {
			return nil, fmt.Errorf("value %q before output %q is also read by other nodes; the head is not a plain chain", v, out.GetName())
		}
		if len(n.GetInput()) == 0 {
			return nil, fmt.Errorf("%s has no input", nodeLabel(n))
		}
		h.Through = append([]string{nodeLabel(n)}, h.Through...)
		v = n.GetInput()[0]
		reshaped[v] = true
	}
	for _, c := range ix.consumers[v] {
		if len(c.GetOutput()) == 0 || !reshaped[c.GetOutput()[0]] {
			return nil, fmt.Errorf("the classifier output %q is also read by %s; replacing it would change that node's input", v, nodeLabel(c))
		}
	}

	switch layer.GetOpType() {
	case "Gemm":
		err = replaceGemm(ix, layer, h, classes, seed)
	case "MatMul":
		err = replaceMatMul(ix, layer, nil, h, classes, seed)
	case "Add":
		err = replaceMatMulAdd(ix, layer, h, classes, seed)
	}
	if err != nil {
		return nil, err
	}
	ix.dropValueInfo(reshaped)
	if rank := len(out.GetType().GetTensorType().GetShape().GetDim()); rank > 0 {
		setDim(out, rank-1, int64(classes))
	}
	return h, nil
}

func passThroughList() string {
	return "Identity, Dropout, Softmax, LogSoftmax, Sigmoid, Relu, Tanh or Flatten(axis=1)"
}

func replaceGemm(ix *graphIndex, n *onnxpb.NodeProto, h *HeadChange, classes int, seed uint64) error {
	h.Node, h.Op = n.GetName(), "Gemm"
	label := nodeLabel(n)
	if attrInt(n, "transA", 0) != 0 {
		return fmt.Errorf("%s has transA=1; want the activations as A (N×features)", label)
	}
	if len(n.GetInput()) < 2 {
		return fmt.Errorf("%s has %d inputs, want A, B and optionally C", label, len(n.GetInput()))
	}
	w, err := ix.constant(n.GetInput()[1], "weight (B) of "+label)
	if err != nil {
		return err
	}
	if len(w.dims) != 2 {
		return fmt.Errorf("weight %q of %s has shape %v, want 2-D", w.name, label, w.dims)
	}
	if err := ix.exclusive(w, n); err != nil {
		return err
	}
	transB := attrInt(n, "transB", 0) != 0
	var newDims []int64
	if transB { // PyTorch's layout: classes × features
		h.OldClasses, h.InFeatures = w.dims[0], w.dims[1]
		newDims = []int64{int64(classes), h.InFeatures}
	} else {
		h.InFeatures, h.OldClasses = w.dims[0], w.dims[1]
		newDims = []int64{h.InFeatures, int64(classes)}
	}
	var b *constTensor
	if len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
		if b, err = ix.constant(n.GetInput()[2], "bias (C) of "+label); err != nil {
			return err
		}
		if numel(b.dims) != h.OldClasses && numel(b.dims) != 1 {
			return fmt.Errorf("bias %q of %s has shape %v, want %d values (one per class)", b.name, label, b.dims, h.OldClasses)
		}
		if err := ix.exclusive(b, n); err != nil {
			return err
		}
	}
	bound := linearBound(h.InFeatures)
	h.Weight = w.name
	ix.set(w, newDims, uniform(w.name, int(numel(newDims)), bound, seed))
	// A new layer: alpha and beta go back to 1.
	removeAttrs(n, "alpha", "beta")
	if b == nil {
		name := biasName(ix, w.name)
		ix.addInitializer(name, []int64{int64(classes)}, uniform(name, classes, bound, seed))
		for len(n.Input) < 3 {
			n.Input = append(n.Input, "")
		}
		n.Input[2] = name
		h.Bias, h.BiasAdded = name, true
		return nil
	}
	h.Bias = b.name
	ix.set(b, []int64{int64(classes)}, uniform(b.name, classes, bound, seed))
	return nil
}

func replaceMatMulAdd(ix *graphIndex, add *onnxpb.NodeProto, h *HeadChange, classes int, seed uint64) error {
	label := nodeLabel(add)
	if len(add.GetInput()) != 2 {
		return fmt.Errorf("%s has %d inputs, want 2", label, len(add.GetInput()))
	}
	for i, in := range add.GetInput() {
		mm := ix.producer[in]
		if mm == nil || mm.GetOpType() != "MatMul" {
			continue
		}
		b, err := ix.constant(add.GetInput()[1-i], "bias of "+label)
		if err != nil {
			return err
		}
		if err := ix.exclusive(b, add); err != nil {
			return err
		}
		if len(ix.consumers[in]) != 1 {
			return fmt.Errorf("the MatMul output %q is also read by other nodes than %s", in, label)
		}
		return replaceMatMul(ix, mm, b, h, classes, seed)
	}
	return fmt.Errorf("output %q comes from %s, which adds no MatMul output to a bias; want a Gemm or MatMul+Add classifier", h.Output, label)
}

func replaceMatMul(ix *graphIndex, mm *onnxpb.NodeProto, b *constTensor, h *HeadChange, classes int, seed uint64) error {
	h.Node, h.Op = mm.GetName(), "MatMul"
	if b != nil {
		h.Op = "MatMul+Add"
	}
	label := nodeLabel(mm)
	if len(mm.GetInput()) != 2 {
		return fmt.Errorf("%s has %d inputs, want 2", label, len(mm.GetInput()))
	}
	w, err := ix.constant(mm.GetInput()[1], "weight (B) of "+label)
	if err != nil {
		return err
	}
	if len(w.dims) != 2 {
		return fmt.Errorf("weight %q of %s has shape %v, want 2-D (features × classes)", w.name, label, w.dims)
	}
	if err := ix.exclusive(w, mm); err != nil {
		return err
	}
	h.InFeatures, h.OldClasses = w.dims[0], w.dims[1]
	if b != nil && numel(b.dims) != h.OldClasses && numel(b.dims) != 1 {
		return fmt.Errorf("bias %q has shape %v, want %d values (one per class)", b.name, b.dims, h.OldClasses)
	}
	bound := linearBound(h.InFeatures)
	h.Weight = w.name
	dims := []int64{h.InFeatures, int64(classes)}
	ix.set(w, dims, uniform(w.name, int(numel(dims)), bound, seed))
	if b != nil {
		h.Bias = b.name
		ix.set(b, []int64{int64(classes)}, uniform(b.name, classes, bound, seed))
	}
	return nil
}

// biasName names a new bias after its weight ("fc.weight" → "fc.bias"),
// avoiding names in use.
func biasName(ix *graphIndex, weight string) string {
	base := weight + "_bias"
	if p, ok := strings.CutSuffix(weight, ".weight"); ok {
		base = p + ".bias"
	}
	name := base
	for k := 1; ix.taken(name); k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	return name
}

func (ix *graphIndex) taken(name string) bool {
	if _, ok := ix.inits[name]; ok {
		return true
	}
	if _, ok := ix.producer[name]; ok {
		return true
	}
	for _, in := range ix.g.GetInput() {
		if in.GetName() == name {
			return true
		}
	}
	return false
}
