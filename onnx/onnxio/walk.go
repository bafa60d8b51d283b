package onnxio

import "github.com/pgaug/pgaug/onnx/onnxpb"

// forEachTensor calls fn for every TensorProto stored in m: graph
// initializers, sparse initializers, tensor-valued node attributes, and the
// same inside subgraphs (If/Loop/Scan bodies), model-local functions and
// training graphs. It stops at the first error.
func forEachTensor(m *onnxpb.ModelProto, fn func(*onnxpb.TensorProto) error) error {
	if err := forEachGraphTensor(m.GetGraph(), fn); err != nil {
		return err
	}
	for _, f := range m.GetFunctions() {
		if err := forEachNodeTensor(f.GetNode(), fn); err != nil {
			return err
		}
	}
	for _, ti := range m.GetTrainingInfo() {
		if err := forEachGraphTensor(ti.GetInitialization(), fn); err != nil {
			return err
		}
		if err := forEachGraphTensor(ti.GetAlgorithm(), fn); err != nil {
			return err
		}
	}
	return nil
}

func forEachGraphTensor(g *onnxpb.GraphProto, fn func(*onnxpb.TensorProto) error) error {
	if g == nil {
		return nil
	}
	for _, t := range g.GetInitializer() {
		if err := fn(t); err != nil {
			return err
		}
	}
	for _, st := range g.GetSparseInitializer() {
		if err := forEachSparse(st, fn); err != nil {
			return err
		}
	}
	return forEachNodeTensor(g.GetNode(), fn)
}

func forEachNodeTensor(nodes []*onnxpb.NodeProto, fn func(*onnxpb.TensorProto) error) error {
	for _, n := range nodes {
		for _, a := range n.GetAttribute() {
			if err := forEachAttrTensor(a, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func forEachAttrTensor(a *onnxpb.AttributeProto, fn func(*onnxpb.TensorProto) error) error {
	if t := a.GetT(); t != nil {
		if err := fn(t); err != nil {
			return err
		}
	}
	for _, t := range a.GetTensors() {
		if err := fn(t); err != nil {
			return err
		}
	}
	if err := forEachSparse(a.GetSparseTensor(), fn); err != nil {
		return err
	}
	for _, st := range a.GetSparseTensors() {
		if err := forEachSparse(st, fn); err != nil {
			return err
		}
	}
	if err := forEachGraphTensor(a.GetG(), fn); err != nil {
		return err
	}
	for _, g := range a.GetGraphs() {
		if err := forEachGraphTensor(g, fn); err != nil {
			return err
		}
	}
	return nil
}

func forEachSparse(st *onnxpb.SparseTensorProto, fn func(*onnxpb.TensorProto) error) error {
	if st == nil {
		return nil
	}
	if v := st.GetValues(); v != nil {
		if err := fn(v); err != nil {
			return err
		}
	}
	if ix := st.GetIndices(); ix != nil {
		return fn(ix)
	}
	return nil
}

// forEachGraph calls fn for g and every subgraph nested in its nodes'
// attributes, depth first.
func forEachGraph(g *onnxpb.GraphProto, fn func(*onnxpb.GraphProto)) {
	if g == nil {
		return
	}
	fn(g)
	for _, n := range g.GetNode() {
		for _, a := range n.GetAttribute() {
			forEachGraph(a.GetG(), fn)
			for _, sub := range a.GetGraphs() {
				forEachGraph(sub, fn)
			}
		}
	}
}
