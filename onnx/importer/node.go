package importer

import (
	"fmt"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// nodeCtx is an ONNX node with its attributes indexed.
type nodeCtx struct {
	proto   *onnxpb.NodeProto
	name    string
	op      string
	domain  string
	opset   int64
	inputs  []string
	outputs []string
	attrs   map[string]*onnxpb.AttributeProto
}

func newNodeCtx(np *onnxpb.NodeProto, index int, opset int64) *nodeCtx {
	n := &nodeCtx{
		proto: np, name: np.GetName(), op: np.GetOpType(), domain: np.GetDomain(), opset: opset,
		inputs: np.GetInput(), outputs: np.GetOutput(), attrs: map[string]*onnxpb.AttributeProto{},
	}
	if n.name == "" {
		first := ""
		if len(n.outputs) > 0 {
			first = n.outputs[0]
		}
		n.name = fmt.Sprintf("%s_%d(%s)", n.op, index, first)
	}
	for _, a := range np.GetAttribute() {
		n.attrs[a.GetName()] = a
	}
	return n
}

func (n *nodeCtx) checkSupported() error {
	if n.domain != "" && n.domain != "ai.onnx" {
		return &UnsupportedError{Op: n.op, Node: n.name, Opset: n.opset, What: fmt.Sprintf("operator of domain %q", n.domain),
			Supported: "the default ONNX domain: " + supportedList()}
	}
	_, g := graphOps[n.op]
	_, h := hostOps[n.op]
	if !g && !h {
		return &UnsupportedError{Op: n.op, Node: n.name, Opset: n.opset, What: "operator", Supported: supportedList()}
	}
	return nil
}

func (n *nodeCtx) allInputsIn(known map[string]*hostTensor) bool {
	for _, in := range n.inputs {
		if in == "" {
			continue
		}
		if _, ok := known[in]; !ok {
			return false
		}
	}
	return true
}

func (n *nodeCtx) unsupported(what, supported string) error {
	return &UnsupportedError{Op: n.op, Node: n.name, Opset: n.opset, What: what, Supported: supported}
}

func (n *nodeCtx) attrInt(name string, def int64) int64 {
	if a, ok := n.attrs[name]; ok {
		return a.GetI()
	}
	return def
}

func (n *nodeCtx) attrFloat(name string, def float32) float32 {
	if a, ok := n.attrs[name]; ok {
		return a.GetF()
	}
	return def
}

func (n *nodeCtx) attrString(name, def string) string {
	if a, ok := n.attrs[name]; ok {
		return string(a.GetS())
	}
	return def
}

func (n *nodeCtx) attrInts(name string) ([]int64, bool) {
	a, ok := n.attrs[name]
	if !ok {
		return nil, false
	}
	return a.GetInts(), true
}

func (n *nodeCtx) has(name string) bool { _, ok := n.attrs[name]; return ok }

// input returns input i's name, or "" when absent.
func (n *nodeCtx) input(i int) string {
	if i < len(n.inputs) {
		return n.inputs[i]
	}
	return ""
}

// Roles of an operator's input slots, used to decide which constants are
// trainable parameters.
type slotRoleKind int

const (
	roleNone   slotRoleKind = iota // not differentiable (shapes, axes, scales, ...)
	roleValue                      // a differentiable operand
	roleWeight                     // a layer weight: always a parameter when constant
	roleState                      // running statistics
)

func slotRole(op string, slot int) slotRoleKind {
	switch op {
	case "Conv", "ConvTranspose":
		if slot >= 1 {
			return roleWeight
		}
	case "Gemm":
		if slot >= 1 {
			return roleWeight
		}
	case "MatMul", "PRelu":
		if slot == 1 {
			return roleWeight
		}
	case "BatchNormalization", "InstanceNormalization":
		switch slot {
		case 1, 2:
			return roleWeight
		case 3, 4:
			return roleState
		}
	case "Add", "Sub", "Mul", "Div", "Sum", "Concat", "Min", "Max":
		return roleValue
	case "Pow":
		// The base; an exponent stays a constant (x², x^0.5, ...).
		if slot == 0 {
			return roleValue
		}
	}
	return roleNone
}

// constSlots lists, per operator, the input slots that must be constant at
// build time (shapes, axes, scales, bounds, ...).
var constSlots = map[string][]int{
	"Resize": {1, 2, 3}, "Upsample": {1}, "Pad": {1, 2, 3}, "Reshape": {1}, "Clip": {1, 2},
	"Squeeze": {1}, "Unsqueeze": {1}, "ReduceMean": {1}, "ReduceSum": {1}, "Slice": {1, 2, 3, 4},
	"Expand": {1}, "ConstantOfShape": {0}, "Dropout": {1, 2}, "Range": {0, 1, 2},
}

func isConstSlot(op string, slot int) bool {
	for _, s := range constSlots[op] {
		if s == slot {
			return true
		}
	}
	return false
}
