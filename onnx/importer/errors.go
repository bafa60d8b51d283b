package importer

import (
	"fmt"
	"sort"
	"strings"
)

// UnsupportedError says that a node uses an operator, attribute value or
// opset the importer does not handle.
type UnsupportedError struct {
	Op, Node  string
	Opset     int64
	What      string // what is not supported ("operator", "attribute mode=cubic", ...)
	Supported string // what would be
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("node %q: %s %s (opset %d) is not supported; supported: %s", e.Node, e.Op, e.What, e.Opset, e.Supported)
}

// SupportedOperators lists the ONNX operators the importer handles (graph or
// constant-folded), sorted.
func SupportedOperators() []string {
	set := map[string]bool{}
	for k := range graphOps {
		set[k] = true
	}
	for k := range hostOps {
		set[k] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func supportedList() string { return strings.Join(SupportedOperators(), ", ") }

// nodeError wraps err with the node's identity.
func nodeError(n *nodeCtx, err error) error {
	return fmt.Errorf("node %q (%s, opset %d): %w", n.name, n.op, n.opset, err)
}

func graphOpList() string {
	out := make([]string, 0, len(graphOps))
	for k := range graphOps {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
