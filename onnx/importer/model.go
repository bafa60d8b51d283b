package importer

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/trainer/ops/batchnorm"
)

// Opset range the importer accepts for the default ONNX domain.
const (
	MinOpset = 7
	MaxOpset = 25

	MinIRVersion = 3
	MaxIRVersion = 13
)

// Origin says where a parameter's value came from in the ONNX file, so that
// an exporter can write it back in the same place.
type Origin int

// Where a parameter can come from.
const (
	FromInitializer  Origin = iota // a graph initializer
	FromConstantNode               // the value attribute of a Constant node
	FromFolded                     // computed at import by a constant sub-graph
)

// Param is a named parameter of an imported model. Value is shared by every
// graph built from the model: updating it (a solver step) updates the model.
type Param struct {
	Name      string
	Value     *tensor.Dense // float32
	Trainable bool
	Origin    Origin
	Node      string // the Constant node (FromConstantNode) or producing node (FromFolded)
}

// BatchNormStats ties the running statistics of one BatchNormalization node
// to the ONNX values they came from. State is updated in place by
// training-mode forward passes of every graph built from the model.
type BatchNormStats struct {
	Node              string
	MeanName, VarName string
	State             *batchnorm.State
}

// IOSpec describes a graph input or output: dims are -1 where dynamic, with
// the symbolic name (if any) in DimNames.
type IOSpec struct {
	Name     string
	ElemType onnxpb.TensorProto_DataType
	Dims     []int64
	DimNames []string
}

// Model is an imported ONNX model.
type Model struct {
	Source  string // file name or description, used in errors
	Proto   *onnxpb.ModelProto
	Opset   int64
	Inputs  []IOSpec
	Outputs []IOSpec

	Params    []*Param
	paramByID map[string]*Param
	BN        map[string]*BatchNormStats // by node name

	// InputGradients makes graphs compute gradients with respect to the
	// model's inputs (for saliency maps). Off by default: the first layer
	// then skips its input gradient, which no training step needs.
	InputGradients bool

	consts map[string]*hostTensor // import-time constants (not parameters)
	nodes  []*nodeCtx             // nodes left to build, topological order
	mode   *batchnorm.ModeFlag    // shared by every BatchNormalization of every graph
	seq    atomic.Int64           // unique names for constant nodes
}

// Options tune an import.
type Options struct {
	// Source names the model in errors (e.g. the file name).
	Source string
}

// ImportFile loads and imports an ONNX file.
func ImportFile(file string) (*Model, error) {
	mp, err := onnxio.Load(file)
	if err != nil {
		return nil, err
	}
	m, err := Import(mp, Options{Source: file})
	if err != nil {
		return nil, fmt.Errorf("importing %s: %w", file, err)
	}
	return m, nil
}

// ConstantInputs lists the graph inputs that the model uses only where
// ONNX needs a build-time constant (a Reshape's shape, a Resize's scales,
// Pad's pads, ...). Give their values with BuildOptions.Constants.
func (m *Model) ConstantInputs() []string {
	var out []string
	for _, in := range m.Inputs {
		used, allConst := false, true
		for _, n := range m.nodes {
			for slot, name := range n.inputs {
				if name == in.Name {
					used = true
					allConst = allConst && isConstSlot(n.op, slot)
				}
			}
		}
		if used && allConst {
			out = append(out, in.Name)
		}
	}
	return out
}

// Param returns the parameter called name, or nil.
func (m *Model) Param(name string) *Param { return m.paramByID[name] }

// SetTraining switches every graph built from the model between training
// mode (batch statistics in BatchNormalization, running statistics updated)
// and inference mode. Statistics are never reset by a switch.
func (m *Model) SetTraining(on bool) {
	if on {
		m.mode.Set(batchnorm.Train)
	} else {
		m.mode.Set(batchnorm.Eval)
	}
}

// SetMode sets the BatchNormalization mode of every graph built from the
// model; SetTraining(on) is SetMode(batchnorm.Train) or
// SetMode(batchnorm.Eval). batchnorm.Recount is training mode that leaves
// the running statistics alone: for a second training pass over a batch
// whose statistics a training pass has already counted.
func (m *Model) SetMode(mode batchnorm.Mode) { m.mode.Set(mode) }

// Training reports whether the model is in training mode, set by
// SetTraining or SetMode (false after Import).
func (m *Model) Training() bool {
	mode := m.mode.Mode()
	return mode == batchnorm.Train || mode == batchnorm.Recount
}

// NumParams returns the number of parameter elements (all, and trainable).
func (m *Model) NumParams() (all, trainable int) {
	for _, p := range m.Params {
		n := p.Value.Shape().TotalSize()
		all += n
		if p.Trainable {
			trainable += n
		}
	}
	return
}

// Freeze marks the parameters whose names match any pattern as not
// trainable. A pattern is a shell glob (path.Match: "features.*",
// "*.bias") or, prefixed with "re:", a regular expression. It returns how many
// parameters were frozen; a pattern that matches nothing is an error (a typo
// would otherwise train what the user meant to freeze).
func (m *Model) Freeze(patterns ...string) (int, error) {
	return m.setTrainable(false, patterns)
}

// Unfreeze is the reverse of Freeze.
func (m *Model) Unfreeze(patterns ...string) (int, error) {
	return m.setTrainable(true, patterns)
}

func (m *Model) setTrainable(on bool, patterns []string) (int, error) {
	count := 0
	for _, pat := range patterns {
		match, err := nameMatcher(pat)
		if err != nil {
			return count, err
		}
		hit := 0
		for _, p := range m.Params {
			if match(p.Name) {
				hit++
				if p.Trainable != on {
					p.Trainable = on
					count++
				}
			}
		}
		if hit == 0 {
			return count, fmt.Errorf("pattern %q matches no parameter of %s (e.g. %s)", pat, m.Source, m.exampleNames(3))
		}
	}
	return count, nil
}

func (m *Model) exampleNames(k int) string {
	var names []string
	for i, p := range m.Params {
		if i == k {
			break
		}
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

func nameMatcher(pat string) (func(string) bool, error) {
	if rest, ok := strings.CutPrefix(pat, "re:"); ok {
		re, err := regexp.Compile(rest)
		if err != nil {
			return nil, fmt.Errorf("freeze pattern %q: %w", pat, err)
		}
		return re.MatchString, nil
	}
	if _, err := path.Match(pat, ""); err != nil {
		return nil, fmt.Errorf("freeze pattern %q: %w", pat, err)
	}
	return func(s string) bool { ok, _ := path.Match(pat, s); return ok }, nil
}

// Import converts an ONNX model. The model proto is kept (Model.Proto) for export.
func Import(mp *onnxpb.ModelProto, opts Options) (*Model, error) {
	g := mp.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("the model has no graph")
	}
	m := &Model{
		Source:    opts.Source,
		Proto:     mp,
		paramByID: map[string]*Param{},
		BN:        map[string]*BatchNormStats{},
		consts:    map[string]*hostTensor{},
		mode:      batchnorm.NewModeFlag(batchnorm.Eval),
	}
	if m.Source == "" {
		m.Source = "model " + g.GetName()
	}
	if ir := mp.GetIrVersion(); ir < MinIRVersion || ir > MaxIRVersion {
		return nil, fmt.Errorf("IR version %d is not supported (%d to %d are)", ir, MinIRVersion, MaxIRVersion)
	}
	m.Opset = -1
	for _, os := range mp.GetOpsetImport() {
		if d := os.GetDomain(); d == "" || d == "ai.onnx" {
			m.Opset = os.GetVersion()
		}
	}
	if m.Opset < 0 {
		return nil, &UnsupportedError{Op: "model", Node: g.GetName(), Opset: -1, What: "without a default-domain (ai.onnx) opset import",
			Supported: fmt.Sprintf("default-domain opsets %d to %d", MinOpset, MaxOpset)}
	}
	if m.Opset < MinOpset || m.Opset > MaxOpset {
		return nil, fmt.Errorf("default-domain opset %d is not supported (%d to %d are)", m.Opset, MinOpset, MaxOpset)
	}

	inits := map[string]*onnxpb.TensorProto{}
	var initOrder []string
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = t
		initOrder = append(initOrder, t.GetName())
	}
	if len(g.GetSparseInitializer()) > 0 {
		return nil, fmt.Errorf("sparse initializers are not supported")
	}
	for _, vi := range g.GetInput() {
		if _, isInit := inits[vi.GetName()]; isInit {
			continue // IR < 4 lists initializers as inputs too
		}
		spec, err := ioSpec(vi)
		if err != nil {
			return nil, fmt.Errorf("graph input %q: %w", vi.GetName(), err)
		}
		m.Inputs = append(m.Inputs, spec)
	}
	for _, vi := range g.GetOutput() {
		spec, err := ioSpec(vi)
		if err != nil {
			return nil, fmt.Errorf("graph output %q: %w", vi.GetName(), err)
		}
		m.Outputs = append(m.Outputs, spec)
	}

	nodes, err := m.sortNodes(g, inits)
	if err != nil {
		return nil, err
	}

	// Static constant folding: everything computable without graph inputs.
	known := map[string]*hostTensor{}
	knownOrigin := map[string]Origin{}
	knownNode := map[string]string{}
	for _, name := range initOrder {
		h, err := hostFromProto(inits[name])
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", name, err)
		}
		known[name] = h
		knownOrigin[name] = FromInitializer
	}
	var rest []*nodeCtx
	for _, n := range nodes {
		if err := n.checkSupported(); err != nil {
			return nil, err
		}
		if n.allInputsIn(known) {
			if host, ok := hostOps[n.op]; ok && n.op != "Shape" {
				ins := make([]*hostTensor, len(n.inputs))
				for i, in := range n.inputs {
					if in != "" {
						ins[i] = known[in]
					}
				}
				outs, err := host(n, ins)
				if err != nil {
					return nil, nodeError(n, err)
				}
				for i, o := range outs {
					if i < len(n.outputs) && n.outputs[i] != "" {
						known[n.outputs[i]] = o
						knownNode[n.outputs[i]] = n.name
						if n.op == "Constant" {
							knownOrigin[n.outputs[i]] = FromConstantNode
						} else {
							knownOrigin[n.outputs[i]] = FromFolded
						}
					}
				}
				continue
			}
		}
		rest = append(rest, n)
	}
	m.nodes = rest

	// Classify the constants the remaining nodes consume.
	isParam := map[string]bool{}
	isState := map[string]bool{}
	for _, n := range rest {
		for slot, in := range n.inputs {
			h, ok := known[in]
			if in == "" || !ok || !h.isFloat {
				continue
			}
			switch slotRole(n.op, slot) {
			case roleWeight:
				isParam[in] = true
			case roleState:
				isState[in] = true
			case roleValue:
				// A float initializer in a differentiable slot is a parameter
				// (e.g. a bias added after MatMul); small Constant-node
				// values (scales, epsilons) stay constants.
				if knownOrigin[in] == FromInitializer && h.numel() > 1 {
					isParam[in] = true
				}
			}
		}
	}
	for name := range isState {
		delete(isParam, name)
	}
	names := make([]string, 0, len(known))
	for name := range known {
		names = append(names, name)
	}
	// Parameters in initializer order first, then the rest by name.
	order := map[string]int{}
	for i, n := range initOrder {
		order[n] = i
	}
	sort.SliceStable(names, func(a, b int) bool {
		oa, okA := order[names[a]]
		ob, okB := order[names[b]]
		switch {
		case okA && okB:
			return oa < ob
		case okA != okB:
			return okA
		}
		return names[a] < names[b]
	})
	for _, name := range names {
		h := known[name]
		if !isParam[name] {
			m.consts[name] = h
			continue
		}
		shape := h.shape
		var val *tensor.Dense
		data := append([]float32(nil), h.f...)
		if len(shape) == 0 {
			val = tensor.New(tensor.WithShape(1), tensor.WithBacking(data))
		} else {
			val = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
		}
		p := &Param{Name: name, Value: val, Trainable: true, Origin: knownOrigin[name], Node: knownNode[name]}
		m.Params = append(m.Params, p)
		m.paramByID[name] = p
	}
	for _, n := range rest {
		if n.op != "BatchNormalization" {
			continue
		}
		if len(n.inputs) < 5 {
			return nil, nodeError(n, fmt.Errorf("BatchNormalization needs 5 inputs (X, scale, B, mean, var), got %d", len(n.inputs)))
		}
		mean, okM := known[n.inputs[3]]
		variance, okV := known[n.inputs[4]]
		if !okM || !okV {
			return nil, n.unsupported(fmt.Sprintf("with running mean %q and variance %q given as graph inputs", n.inputs[3], n.inputs[4]),
				"running statistics stored in the model (initializers or constants)")
		}
		if mean.numel() != variance.numel() {
			return nil, nodeError(n, fmt.Errorf("running mean has %d values, variance %d", mean.numel(), variance.numel()))
		}
		st := batchnorm.NewState(mean.numel(), float64(n.attrFloat("epsilon", batchnorm.DefaultEpsilon)),
			batchnorm.MomentumFromONNX(float64(n.attrFloat("momentum", float32(batchnorm.MomentumToONNX(batchnorm.DefaultMomentum))))))
		if err := st.SetStats(mean.floats(), variance.floats()); err != nil {
			return nil, nodeError(n, err)
		}
		m.BN[n.name] = &BatchNormStats{Node: n.name, MeanName: n.inputs[3], VarName: n.inputs[4], State: st}
	}
	return m, nil
}

func ioSpec(vi *onnxpb.ValueInfoProto) (IOSpec, error) {
	spec := IOSpec{Name: vi.GetName()}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return spec, fmt.Errorf("only tensor inputs and outputs are supported")
	}
	spec.ElemType = onnxpb.TensorProto_DataType(tt.GetElemType())
	for _, d := range tt.GetShape().GetDim() {
		if v, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue > 0 {
			spec.Dims = append(spec.Dims, v.DimValue)
			spec.DimNames = append(spec.DimNames, "")
		} else {
			spec.Dims = append(spec.Dims, -1)
			spec.DimNames = append(spec.DimNames, d.GetDimParam())
		}
	}
	return spec, nil
}

// sortNodes returns the nodes in topological order (ONNX requires it, but
// some writers do not respect it) and checks every input is produced.
func (m *Model) sortNodes(g *onnxpb.GraphProto, inits map[string]*onnxpb.TensorProto) ([]*nodeCtx, error) {
	available := map[string]bool{"": true}
	for name := range inits {
		available[name] = true
	}
	for _, in := range g.GetInput() {
		available[in.GetName()] = true
	}
	pending := make([]*nodeCtx, 0, len(g.GetNode()))
	for i, np := range g.GetNode() {
		pending = append(pending, newNodeCtx(np, i, m.Opset))
	}
	var out []*nodeCtx
	for len(pending) > 0 {
		progressed := false
		next := pending[:0]
		for _, n := range pending {
			ready := true
			for _, in := range n.inputs {
				if !available[in] {
					ready = false
					break
				}
			}
			if !ready {
				next = append(next, n)
				continue
			}
			out = append(out, n)
			for _, o := range n.outputs {
				available[o] = true
			}
			progressed = true
		}
		pending = next
		if !progressed {
			n := pending[0]
			for _, in := range n.inputs {
				if !available[in] {
					return nil, nodeError(n, fmt.Errorf("input %q is produced by no node, initializer or graph input (or the graph has a cycle)", in))
				}
			}
		}
	}
	return out, nil
}
