package modelops

import (
	"fmt"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// ChannelMode says how AdaptInputChannels turns a first convolution's
// filters over Cin channels into filters over C channels.
type ChannelMode string

// The channel modes. Let S be the sum of a filter's Cin channel slices.
const (
	// ChannelSum gives each of the C new channels S/C, so that an image
	// whose C channels all hold the same plane g responds exactly as the
	// original network did to g replicated over its Cin channels. For C = 1
	// the new filter is S: a grayscale model that sees a gray image as the
	// RGB model saw that image converted to RGB. This is what
	// scripts/export_pretrained.py does (mean · Cin/C).
	ChannelSum ChannelMode = "sum"
	// ChannelMean gives each new channel the mean S/Cin; the response to a
	// replicated plane is scaled by C/Cin (1/3 for RGB → 1 channel), the
	// convention of some libraries (averaging the RGB filters).
	ChannelMean ChannelMode = "mean"
)

// ParseChannelMode accepts "sum" and "mean".
func ParseChannelMode(s string) (ChannelMode, error) {
	switch m := ChannelMode(s); m {
	case ChannelSum, ChannelMean:
		return m, nil
	}
	return "", fmt.Errorf("channel mode %q: want %q or %q", s, ChannelSum, ChannelMean)
}

// ChannelChange reports what AdaptInputChannels did.
type ChannelChange struct {
	Input   string      `json:"input"`  // the graph input
	Node    string      `json:"node"`   // the first convolution
	Weight  string      `json:"weight"` // its weight tensor
	From    int64       `json:"from"`   // input channels before
	To      int64       `json:"to"`     // and after
	Mode    ChannelMode `json:"mode"`
	Changed bool        `json:"changed"` // false when the model already had To channels
}

func (c *ChannelChange) String() string {
	if !c.Changed {
		return fmt.Sprintf("input %q already has %d channels: first convolution %q left as it is", c.Input, c.To, c.Node)
	}
	return fmt.Sprintf("adapted the first convolution %q (weight %q) from %d to %d input channels (%s of the filters); input %q is now N×%d×…",
		c.Node, c.Weight, c.From, c.To, c.Mode, c.Input, c.To)
}

// AdaptInputChannels makes a model take c input channels by rebuilding the
// weight of its first convolution (the Conv that reads the graph input) from
// the Cin-channel filters as mode says (see ChannelSum and ChannelMean), and
// sets the input's channel dimension to c. The model is changed in place.
// The graph input must feed exactly one node, a Conv with group 1, whose
// weight (an initializer or Constant node) it reads alone; the bias is kept.
// When the model already has c channels nothing changes.
func AdaptInputChannels(model *onnxpb.ModelProto, c int, mode ChannelMode) (*ChannelChange, error) {
	ch, err := adaptInputChannels(model, c, mode)
	if err != nil {
		return nil, fmt.Errorf("modelops: adapting the input channels: %w", err)
	}
	return ch, nil
}

func adaptInputChannels(model *onnxpb.ModelProto, c int, mode ChannelMode) (*ChannelChange, error) {
	if c < 1 {
		return nil, fmt.Errorf("%d channels, want at least 1", c)
	}
	if _, err := ParseChannelMode(string(mode)); err != nil {
		return nil, err
	}
	ix, err := indexGraph(model)
	if err != nil {
		return nil, err
	}
	conv, input, err := ix.firstConv()
	if err != nil {
		return nil, err
	}
	label := nodeLabel(conv)
	if g := attrInt(conv, "group", 1); g != 1 {
		return nil, fmt.Errorf("%s has group=%d; only an ordinary (group 1) first convolution can be adapted", label, g)
	}
	if len(conv.GetInput()) < 2 {
		return nil, fmt.Errorf("%s has no weight input", label)
	}
	w, err := ix.constant(conv.GetInput()[1], "weight of "+label)
	if err != nil {
		return nil, err
	}
	if len(w.dims) < 3 {
		return nil, fmt.Errorf("weight %q of %s has shape %v, want O×Cin×k…", w.name, label, w.dims)
	}
	if err := ix.exclusive(w, conv); err != nil {
		return nil, err
	}
	out, cin := w.dims[0], w.dims[1]
	ch := &ChannelChange{Input: input.GetName(), Node: conv.GetName(), Weight: w.name, From: cin, To: int64(c), Mode: mode}
	if cin == int64(c) {
		return ch, nil
	}
	spatial := numel(w.dims[2:])
	dims := append([]int64{out, int64(c)}, w.dims[2:]...)
	data := make([]float32, numel(dims))
	div := float64(c)
	if mode == ChannelMean {
		div = float64(cin)
	}
	sum := make([]float64, spatial)
	for o := int64(0); o < out; o++ {
		clear(sum)
		for i := int64(0); i < cin; i++ {
			src := w.data[(o*cin+i)*spatial : (o*cin+i+1)*spatial]
			for k, v := range src {
				sum[k] += float64(v)
			}
		}
		for j := int64(0); j < int64(c); j++ {
			dst := data[(o*int64(c)+j)*spatial : (o*int64(c)+j+1)*spatial]
			for k := range dst {
				dst[k] = float32(sum[k] / div)
			}
		}
	}
	ix.set(w, dims, data)
	setDim(input, 1, int64(c))
	ch.Changed = true
	return ch, nil
}

// firstConv finds the Conv that reads the graph's data input.
func (ix *graphIndex) firstConv() (*onnxpb.NodeProto, *onnxpb.ValueInfoProto, error) {
	inputs := ix.dataInputs()
	if len(inputs) != 1 {
		names := make([]string, len(inputs))
		for i, in := range inputs {
			names[i] = in.GetName()
		}
		return nil, nil, fmt.Errorf("the model has %d data inputs %v, want one image input", len(inputs), names)
	}
	in := inputs[0]
	users := ix.consumers[in.GetName()]
	if len(users) != 1 || users[0].GetOpType() != "Conv" || users[0].GetInput()[0] != in.GetName() {
		labels := make([]string, len(users))
		for i, u := range users {
			labels[i] = nodeLabel(u)
		}
		return nil, nil, fmt.Errorf("input %q is read by %v; want exactly one node, a Conv taking it as X (preprocessing before the first convolution is not supported)", in.GetName(), labels)
	}
	return users[0], in, nil
}
