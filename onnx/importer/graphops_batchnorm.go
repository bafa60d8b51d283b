package importer

import (
	"fmt"

	"github.com/pgaug/pgaug/trainer/ops/batchnorm"
)

func init() {
	graphOps["BatchNormalization"] = buildBatchNorm
}

func buildBatchNorm(b *builder, n *nodeCtx, in []value) ([]value, error) {
	st := b.m.BN[n.name]
	if st == nil {
		return nil, fmt.Errorf("no running statistics were imported for this node")
	}
	if n.opset < 9 && n.attrInt("spatial", 1) != 1 {
		return nil, n.unsupported("spatial=0", "spatial=1 (per-channel statistics)")
	}
	for i := 1; i < len(n.outputs); i++ {
		if n.outputs[i] != "" {
			return nil, n.unsupported("with running-statistics outputs", "the normalised output only (pgaug keeps the statistics itself)")
		}
	}
	x, err := b.node(in[0], n.inputs[0])
	if err != nil {
		return nil, err
	}
	scale, err := b.node(in[1], n.inputs[1])
	if err != nil {
		return nil, err
	}
	bias, err := b.node(in[2], n.inputs[2])
	if err != nil {
		return nil, err
	}
	p := batchnorm.Params{Mode: b.m.mode}
	if n.attrInt("training_mode", 0) == 1 {
		// The file asks for batch statistics whatever the mode.
		p.Mode = batchnorm.NewModeFlag(batchnorm.Train)
	}
	return nodeValue(batchnorm.BatchNorm(x, scale, bias, st.State, p))
}
