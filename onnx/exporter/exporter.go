package exporter

import (
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// Producer is written into every exported model.
const Producer = "pgaug"

// Options tune an export.
type Options struct {
	// ProducerVersion is the pgaug version (defaults to "dev").
	ProducerVersion string
	// Metadata is added to the model's metadata_props (training provenance:
	// method, dataset, seed, epochs, ...). Existing keys are overwritten.
	Metadata map[string]string
}

// MinExportOpset is the lowest opset an exported model carries.
const MinExportOpset = 13

// Export returns a new ModelProto with m's current values. m.Proto is not modified.
func Export(m *importer.Model, opts Options) (*onnxpb.ModelProto, error) {
	out := proto.Clone(m.Proto).(*onnxpb.ModelProto)
	g := out.GetGraph()

	values := map[string][]float32{}
	dims := map[string][]int64{}
	for _, p := range m.Params {
		values[p.Name] = p.Value.Data().([]float32)
	}
	for _, bn := range m.BN {
		values[bn.MeanName], values[bn.VarName] = bn.State.Stats()
	}

	// Original dims of every value we write (parameters may be stored with a
	// different but equivalent shape, e.g. [1] for a scalar).
	for _, t := range g.GetInitializer() {
		dims[t.GetName()] = t.GetDims()
	}
	producers := map[string]*onnxpb.NodeProto{}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			producers[o] = n
		}
	}
	for name := range values {
		if _, ok := dims[name]; ok {
			continue
		}
		if p := m.Param(name); p != nil {
			dims[name] = intsToInt64(p.Value.Shape())
		} else {
			dims[name] = []int64{int64(len(values[name]))}
		}
		if n := producers[name]; n != nil && n.GetOpType() == "Constant" {
			if t, err := onnxio.ConstantValue(n); err == nil {
				dims[name] = t.GetDims()
			}
		}
	}

	written := map[string]bool{}
	for _, t := range g.GetInitializer() {
		v, ok := values[t.GetName()]
		if !ok {
			continue
		}
		if err := checkSize(t.GetName(), dims[t.GetName()], v); err != nil {
			return nil, err
		}
		*t = *onnxio.Float32Tensor(t.GetName(), dims[t.GetName()], v)
		written[t.GetName()] = true
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	removed := map[*onnxpb.NodeProto]bool{}
	for _, name := range names {
		if written[name] {
			continue
		}
		v := values[name]
		if err := checkSize(name, dims[name], v); err != nil {
			return nil, err
		}
		n := producers[name]
		if n != nil && n.GetOpType() == "Constant" && len(n.GetOutput()) == 1 {
			n.Attribute = []*onnxpb.AttributeProto{{
				Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(),
				T: onnxio.Float32Tensor("", dims[name], v),
			}}
			continue
		}
		// Computed by a constant sub-graph: becomes an initializer.
		g.Initializer = append(g.Initializer, onnxio.Float32Tensor(name, dims[name], v))
		if n != nil {
			removed[n] = true
		}
	}
	if len(removed) > 0 {
		kept := g.Node[:0]
		for _, n := range g.Node {
			if !removed[n] {
				kept = append(kept, n)
			}
		}
		g.Node = kept
		pruneDead(g)
	}

	if m.Opset < MinExportOpset {
		if err := upgradeTo13(out, m.Opset); err != nil {
			return nil, fmt.Errorf("exporting %s (opset %d) at opset %d: %w", m.Source, m.Opset, MinExportOpset, err)
		}
	}
	out.ProducerName = proto.String(Producer)
	ver := opts.ProducerVersion
	if ver == "" {
		ver = "dev"
	}
	out.ProducerVersion = proto.String(ver)
	setMetadata(out, opts.Metadata)
	return out, nil
}

func intsToInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

func checkSize(name string, dims []int64, v []float32) error {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	if n != int64(len(v)) {
		return fmt.Errorf("parameter %q has %d values, its ONNX shape %v holds %d", name, len(v), dims, n)
	}
	return nil
}

// pruneDead removes nodes none of whose outputs is used by another node or
// is a graph output, and initializers and inputs nothing uses any more.
func pruneDead(g *onnxpb.GraphProto) {
	for {
		used := map[string]bool{}
		for _, o := range g.GetOutput() {
			used[o.GetName()] = true
		}
		for _, n := range g.GetNode() {
			for _, in := range n.GetInput() {
				used[in] = true
			}
		}
		kept := g.Node[:0]
		changed := false
		for _, n := range g.Node {
			live := false
			for _, o := range n.GetOutput() {
				if used[o] {
					live = true
					break
				}
			}
			if live {
				kept = append(kept, n)
			} else {
				changed = true
			}
		}
		g.Node = kept
		if !changed {
			inits := g.Initializer[:0]
			dropped := map[string]bool{}
			for _, t := range g.Initializer {
				if used[t.GetName()] {
					inits = append(inits, t)
				} else {
					dropped[t.GetName()] = true
				}
			}
			g.Initializer = inits
			// IR < 4 lists initializers among the inputs: drop the copies of
			// the initializers just removed, never a real input.
			ins := g.Input[:0]
			for _, in := range g.Input {
				if !dropped[in.GetName()] {
					ins = append(ins, in)
				}
			}
			g.Input = ins
			return
		}
	}
}

func setMetadata(m *onnxpb.ModelProto, kv map[string]string) {
	if len(kv) == 0 {
		return
	}
	idx := map[string]int{}
	for i, p := range m.MetadataProps {
		idx[p.GetKey()] = i
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if i, ok := idx[k]; ok {
			m.MetadataProps[i].Value = proto.String(kv[k])
			continue
		}
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(kv[k])})
	}
}
