package onnxio

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// Summary describes a model: what Inspect returns and `pgaug model inspect`
// prints.
type Summary struct {
	IRVersion       int64             `json:"ir_version"`
	ProducerName    string            `json:"producer_name,omitempty"`
	ProducerVersion string            `json:"producer_version,omitempty"`
	Domain          string            `json:"domain,omitempty"`
	ModelVersion    int64             `json:"model_version,omitempty"`
	GraphName       string            `json:"graph_name,omitempty"`
	Opsets          []Opset           `json:"opsets"`
	Inputs          []ValueSummary    `json:"inputs"`
	Outputs         []ValueSummary    `json:"outputs"`
	Operators       []OperatorCount   `json:"operators"`
	Nodes           int               `json:"nodes"`
	Initializers    int               `json:"initializers"`
	Parameters      int64             `json:"parameters"`
	ConstantNodes   int               `json:"constant_nodes"`
	ConstantParams  int64             `json:"constant_parameters"`
	Metadata        map[string]string `json:"metadata,omitempty"`
}

// Opset is an imported operator set; Domain is "ai.onnx" for the default
// domain.
type Opset struct {
	Domain  string `json:"domain"`
	Version int64  `json:"version"`
}

// ValueSummary is a graph input or output: its element type and shape.
// Type is the element type name ("float32", ...) for tensors, or the kind of
// value ("sequence", "map", "optional", "sparse_tensor") otherwise.
type ValueSummary struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Shape []Dim  `json:"shape"` // nil when the rank is unknown
}

// Dim is one dimension of a declared shape: a fixed size (Value >= 0), a
// symbolic one (Param, e.g. "N"), or an unknown one (Value -1, Param "").
type Dim struct {
	Value int64
	Param string
}

// String returns the size, the symbol, or "?" for an unknown dimension.
func (d Dim) String() string {
	switch {
	case d.Param != "":
		return d.Param
	case d.Value >= 0:
		return strconv.FormatInt(d.Value, 10)
	}
	return "?"
}

// MarshalJSON writes a fixed size as a number, a symbol as a string and an
// unknown dimension as null.
func (d Dim) MarshalJSON() ([]byte, error) {
	switch {
	case d.Param != "":
		return json.Marshal(d.Param)
	case d.Value >= 0:
		return json.Marshal(d.Value)
	}
	return []byte("null"), nil
}

// OperatorCount is how many nodes use one operator. OpType is qualified with
// its domain ("com.microsoft.FusedConv") unless it is in the default one.
type OperatorCount struct {
	OpType string `json:"op_type"`
	Count  int    `json:"count"`
}

// Inspect summarises m. Graph inputs that are initializers (as IR versions
// before 4 list them) are not reported as inputs. Operators are counted over
// the main graph and its subgraphs and sorted by name; Parameters counts the
// elements of the main graph's initializers and ConstantParams those of its
// Constant nodes.
func Inspect(m *onnxpb.ModelProto) Summary {
	g := m.GetGraph()
	s := Summary{
		IRVersion:       m.GetIrVersion(),
		ProducerName:    m.GetProducerName(),
		ProducerVersion: m.GetProducerVersion(),
		Domain:          m.GetDomain(),
		ModelVersion:    m.GetModelVersion(),
		GraphName:       g.GetName(),
		Opsets:          []Opset{},
		Inputs:          []ValueSummary{},
		Outputs:         []ValueSummary{},
		Operators:       []OperatorCount{},
		Initializers:    len(g.GetInitializer()) + len(g.GetSparseInitializer()),
	}
	for _, o := range m.GetOpsetImport() {
		s.Opsets = append(s.Opsets, Opset{Domain: domainName(o.GetDomain()), Version: o.GetVersion()})
	}
	isInit := map[string]bool{}
	for _, t := range g.GetInitializer() {
		isInit[t.GetName()] = true
		s.Parameters += elementCount(t.GetDims())
	}
	for _, st := range g.GetSparseInitializer() {
		isInit[st.GetValues().GetName()] = true
		s.Parameters += elementCount(st.GetValues().GetDims())
	}
	for _, v := range g.GetInput() {
		if !isInit[v.GetName()] {
			s.Inputs = append(s.Inputs, summarizeValue(v))
		}
	}
	for _, v := range g.GetOutput() {
		s.Outputs = append(s.Outputs, summarizeValue(v))
	}
	for _, n := range g.GetNode() {
		if n.GetOpType() != "Constant" || canonicalDomain(n.GetDomain()) != "" {
			continue
		}
		s.ConstantNodes++
		if tp, err := ConstantValue(n); err == nil {
			s.ConstantParams += elementCount(tp.GetDims())
		}
	}
	counts := map[string]int{}
	forEachGraph(g, func(sub *onnxpb.GraphProto) {
		for _, n := range sub.GetNode() {
			op := n.GetOpType()
			if d := canonicalDomain(n.GetDomain()); d != "" {
				op = d + "." + op
			}
			counts[op]++
			s.Nodes++
		}
	})
	for op, c := range counts {
		s.Operators = append(s.Operators, OperatorCount{OpType: op, Count: c})
	}
	sort.Slice(s.Operators, func(i, j int) bool { return s.Operators[i].OpType < s.Operators[j].OpType })
	if props := m.GetMetadataProps(); len(props) > 0 {
		s.Metadata = make(map[string]string, len(props))
		for _, kv := range props {
			s.Metadata[kv.GetKey()] = kv.GetValue()
		}
	}
	return s
}

// elementCount is NumElements for summaries: invalid dims count as 0.
func elementCount(dims []int64) int64 {
	n, err := NumElements(dims)
	if err != nil {
		return 0
	}
	return n
}

func summarizeValue(v *onnxpb.ValueInfoProto) ValueSummary {
	vs := ValueSummary{Name: v.GetName()}
	tp := v.GetType()
	var shape *onnxpb.TensorShapeProto
	switch {
	case tp.GetTensorType() != nil:
		vs.Type = DType(tp.GetTensorType().GetElemType()).String()
		shape = tp.GetTensorType().GetShape()
	case tp.GetSparseTensorType() != nil:
		vs.Type = "sparse_tensor(" + DType(tp.GetSparseTensorType().GetElemType()).String() + ")"
		shape = tp.GetSparseTensorType().GetShape()
	case tp.GetSequenceType() != nil:
		vs.Type = "sequence"
	case tp.GetMapType() != nil:
		vs.Type = "map"
	case tp.GetOptionalType() != nil:
		vs.Type = "optional"
	default:
		vs.Type = "unknown"
	}
	if shape != nil {
		vs.Shape = make([]Dim, len(shape.GetDim()))
		for i, d := range shape.GetDim() {
			switch {
			case d.GetDimParam() != "":
				vs.Shape[i] = Dim{Param: d.GetDimParam()}
			case d.GetValue() != nil:
				vs.Shape[i] = Dim{Value: d.GetDimValue()}
			default:
				vs.Shape[i] = Dim{Value: -1}
			}
		}
	}
	return vs
}

// ShapeString formats a declared shape as "[N 3 224 224]", or "[?]" with
// unknown rank.
func ShapeString(shape []Dim) string {
	if shape == nil {
		return "[?]"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// WriteText writes s as aligned, human-readable text.
func (s Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("IR version:\t%d\n", s.IRVersion)
	producer := strings.TrimSpace(s.ProducerName + " " + s.ProducerVersion)
	if producer == "" {
		producer = "(not recorded)"
	}
	p("producer:\t%s\n", producer)
	if s.Domain != "" || s.ModelVersion != 0 {
		p("model:\t%s version %d\n", s.Domain, s.ModelVersion)
	}
	if s.GraphName != "" {
		p("graph:\t%s\n", s.GraphName)
	}
	opsets := make([]string, len(s.Opsets))
	for i, o := range s.Opsets {
		opsets[i] = fmt.Sprintf("%s %d", o.Domain, o.Version)
	}
	p("opsets:\t%s\n", strings.Join(opsets, ", "))
	p("parameters:\t%d in %d initializers", s.Parameters, s.Initializers)
	if s.ConstantNodes > 0 {
		p(" (+ %d in %d Constant nodes)", s.ConstantParams, s.ConstantNodes)
	}
	p("\n")
	for _, sec := range []struct {
		title  string
		values []ValueSummary
	}{{"inputs", s.Inputs}, {"outputs", s.Outputs}} {
		p("%s (%d):\n", sec.title, len(sec.values))
		for _, v := range sec.values {
			p("  %s\t%s\t%s\n", v.Name, v.Type, ShapeString(v.Shape))
		}
	}
	p("operators (%d kinds, %d nodes):\n", len(s.Operators), s.Nodes)
	for _, o := range s.Operators {
		p("  %s\t%d\n", o.OpType, o.Count)
	}
	if len(s.Metadata) > 0 {
		keys := make([]string, 0, len(s.Metadata))
		for k := range s.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		p("metadata:\n")
		for _, k := range keys {
			p("  %s:\t%s\n", k, s.Metadata[k])
		}
	}
	return tw.Flush()
}

// MetadataValue returns the model's metadata_props value for key ("" when
// absent).
func MetadataValue(m *onnxpb.ModelProto, key string) string {
	for _, p := range m.GetMetadataProps() {
		if p.GetKey() == key {
			return p.GetValue()
		}
	}
	return ""
}
