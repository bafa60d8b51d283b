package onnxio

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// DefaultDomain is the alternative name of the default ONNX operator domain,
// which models usually write as "".
const DefaultDomain = "ai.onnx"

// OpsetVersion returns the version m imports for the operator domain
// ("" and "ai.onnx" both name the default domain), and whether m imports it.
// When a domain is imported more than once the highest version counts, as
// the ONNX spec says.
func OpsetVersion(m *onnxpb.ModelProto, domain string) (int64, bool) {
	domain = canonicalDomain(domain)
	var v int64
	found := false
	for _, o := range m.GetOpsetImport() {
		if canonicalDomain(o.GetDomain()) == domain {
			if !found || o.GetVersion() > v {
				v = o.GetVersion()
			}
			found = true
		}
	}
	return v, found
}

// DefaultOpset returns the version of the default ONNX domain that m
// imports, or an error when it imports none.
func DefaultOpset(m *onnxpb.ModelProto) (int64, error) {
	v, ok := OpsetVersion(m, "")
	if !ok {
		return 0, fmt.Errorf("model imports no default-domain (ai.onnx) opset; it imports %s", describeOpsets(m))
	}
	return v, nil
}

func canonicalDomain(d string) string {
	if d == DefaultDomain {
		return ""
	}
	return d
}

func describeOpsets(m *onnxpb.ModelProto) string {
	if len(m.GetOpsetImport()) == 0 {
		return "nothing"
	}
	s := ""
	for i, o := range m.GetOpsetImport() {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", domainName(o.GetDomain()), o.GetVersion())
	}
	return s
}

// domainName returns d, or "ai.onnx" for the default domain.
func domainName(d string) string {
	if d == "" {
		return DefaultDomain
	}
	return d
}

// ConstantValue returns the tensor a Constant node produces, from whichever
// of its value attributes is set: value (a tensor), value_float or
// value_int (scalars), value_floats or value_ints (1-D). The tensor is named
// after the node's output. sparse_value and the string attributes are
// refused with an error naming the node.
func ConstantValue(n *onnxpb.NodeProto) (*onnxpb.TensorProto, error) {
	node := nodeName(n)
	if n.GetOpType() != "Constant" || canonicalDomain(n.GetDomain()) != "" {
		return nil, fmt.Errorf("node %s: is %s, want a Constant node", node, n.GetOpType())
	}
	if len(n.GetOutput()) != 1 {
		return nil, fmt.Errorf("node %s: Constant has %d outputs, want 1", node, len(n.GetOutput()))
	}
	if len(n.GetAttribute()) != 1 {
		return nil, fmt.Errorf("node %s: Constant has %d attributes, want exactly one value attribute", node, len(n.GetAttribute()))
	}
	out := n.GetOutput()[0]
	a := n.GetAttribute()[0]
	var tp *onnxpb.TensorProto
	switch a.GetName() {
	case "value":
		if a.GetT() == nil {
			return nil, fmt.Errorf("node %s: attribute value holds no tensor", node)
		}
		tp = proto.Clone(a.GetT()).(*onnxpb.TensorProto)
		tp.Name = &out
		return tp, nil
	case "value_float":
		tp = &onnxpb.TensorProto{DataType: int32Ptr(int32(DTypeFloat32)), FloatData: []float32{a.GetF()}}
	case "value_floats":
		tp = &onnxpb.TensorProto{DataType: int32Ptr(int32(DTypeFloat32)), Dims: []int64{int64(len(a.GetFloats()))},
			FloatData: append([]float32(nil), a.GetFloats()...)}
	case "value_int":
		tp = &onnxpb.TensorProto{DataType: int32Ptr(int32(DTypeInt64)), Int64Data: []int64{a.GetI()}}
	case "value_ints":
		tp = &onnxpb.TensorProto{DataType: int32Ptr(int32(DTypeInt64)), Dims: []int64{int64(len(a.GetInts()))},
			Int64Data: append([]int64(nil), a.GetInts()...)}
	default:
		return nil, fmt.Errorf("node %s: Constant attribute %q is not supported (want value, value_float, value_floats, value_int or value_ints)", node, a.GetName())
	}
	tp.Name = &out
	return tp, nil
}

func nodeName(n *onnxpb.NodeProto) string {
	if n.GetName() != "" {
		return fmt.Sprintf("%q", n.GetName())
	}
	return fmt.Sprintf("(unnamed %s -> %v)", n.GetOpType(), n.GetOutput())
}
