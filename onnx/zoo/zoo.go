package zoo

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

const producer = "pgaug"

// Metadata keys written into every zoo model's metadata_props.
const (
	MetaArch      = "pgaug.zoo.arch"       // the network's name, e.g. "resnet18"
	MetaSeed      = "pgaug.zoo.seed"       // the initialisation seed, decimal
	MetaInputSize = "pgaug.zoo.input_size" // the input side S the graph was built for
)

// Tasks a network is built for.
const (
	Classification = "classification" // output "logits", N×classes
	Segmentation   = "segmentation"   // output "probability", N×1×S×S
)

// Options choose a network's variant. Zero values take the network's
// defaults (Info.DefaultClasses, 3 input channels, Info.DefaultSize).
type Options struct {
	// Classes is the number of output classes (the logits' width). It must
	// be 1 (or 0) for ternausnet11, whose output is one probability map.
	Classes int
	// InChannels is the number of input channels (3 for RGB, 1 for
	// grayscale). The first convolution is initialised for this width
	// directly, as the original would be with this many input channels.
	InChannels int
	// Size is the input side S: the graph's input is N×C×S×S with a
	// dynamic batch N, as a PyTorch export traced at S×S is.
	Size int
	// Seed makes the initialisation reproducible: the same seed gives the
	// same weights, bit for bit. Each tensor is drawn from its own stream,
	// derived from the seed and the tensor's name.
	Seed uint64
}

// Info describes a zoo network.
type Info struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Origin says whose parameter names and initialisation the network
	// reproduces, so that the original's pretrained weights load by name.
	Origin string `json:"origin"`
	Task   string `json:"task"`
	Output string `json:"output"` // the output's name: "logits" or "probability"
	// Params is the number of trainable parameters (BatchNorm running
	// statistics excluded, as PyTorch counts) at the defaults: 3 input
	// channels and DefaultClasses classes.
	Params         int64 `json:"params"`
	DefaultClasses int   `json:"default_classes"`
	DefaultSize    int   `json:"default_size"`
	MinSize        int   `json:"min_size"`
	// SizeMultiple, when above 1, is what the input side must be a
	// multiple of.
	SizeMultiple int `json:"size_multiple,omitempty"`
}

// Input describes the expected input in words.
func (i Info) Input() string {
	s := fmt.Sprintf("%s: float32 %s×C×S×S, S ≥ %d", InputName, BatchDim, i.MinSize)
	if i.SizeMultiple > 1 {
		s += fmt.Sprintf(" and a multiple of %d", i.SizeMultiple)
	}
	return s + fmt.Sprintf(" (default C = 3, S = %d)", i.DefaultSize)
}

type entry struct {
	info  Info
	build func(arch string, o Options) (*net, val)
}

var registry = []entry{
	{Info{Name: "smallcnn", Description: "a small, fast CNN for tests and demos: three 3×3 conv-BN-ReLU blocks (16, 32, 64 channels), global average pooling, a linear classifier",
		Origin: "pgaug (initialised like torchvision's ResNets)", Task: Classification, Output: LogitsName,
		DefaultClasses: 10, DefaultSize: 32, MinSize: 4}, buildSmallCNN},
	{Info{Name: "resnet10t", Description: "ResNet-10-T: BasicBlock ×[1, 1, 1, 1] with a tiered 3-conv stem (24, 32, 64) and average-pool downsampling",
		Origin: "timm resnet10t (as scripts/export_pretrained.py builds it)", Task: Classification, Output: LogitsName,
		DefaultClasses: 1000, DefaultSize: 224, MinSize: 32}, func(a string, o Options) (*net, val) { return buildResNet(a, resnet10tSpec, o) }},
	{Info{Name: "resnet18", Description: "ResNet-18: BasicBlock ×[2, 2, 2, 2], 7×7 stem",
		Origin: "torchvision.models.resnet18", Task: Classification, Output: LogitsName,
		DefaultClasses: 1000, DefaultSize: 224, MinSize: 32}, func(a string, o Options) (*net, val) { return buildResNet(a, resnet18Spec, o) }},
	{Info{Name: "resnet50", Description: "ResNet-50 (v1.5): Bottleneck ×[3, 4, 6, 3], 7×7 stem",
		Origin: "torchvision.models.resnet50", Task: Classification, Output: LogitsName,
		DefaultClasses: 1000, DefaultSize: 224, MinSize: 32}, func(a string, o Options) (*net, val) { return buildResNet(a, resnet50Spec, o) }},
	{Info{Name: "densenet121", Description: "DenseNet-121 (BC): dense blocks of [6, 12, 24, 16] layers, growth rate 32",
		Origin: "torchvision.models.densenet121", Task: Classification, Output: LogitsName,
		DefaultClasses: 1000, DefaultSize: 224, MinSize: 32}, func(a string, o Options) (*net, val) { return buildDenseNet(a, densenet121Blocks, o) }},
	{Info{Name: "densenet169", Description: "DenseNet-169 (BC): dense blocks of [6, 12, 32, 32] layers, growth rate 32",
		Origin: "torchvision.models.densenet169", Task: Classification, Output: LogitsName,
		DefaultClasses: 1000, DefaultSize: 224, MinSize: 32}, func(a string, o Options) (*net, val) { return buildDenseNet(a, densenet169Blocks, o) }},
	{Info{Name: "ternausnet11", Description: "TernausNet-11: a U-Net with a VGG11 encoder and transposed-conv decoder; one-channel sigmoid output at the input resolution (a per-pixel probability map)",
		Origin: "ternaus/TernausNet UNet11 (as scripts/export_pretrained.py builds it)", Task: Segmentation, Output: ProbabilityName,
		DefaultClasses: 1, DefaultSize: 224, MinSize: 32, SizeMultiple: 32}, buildTernausNet},
	{Info{Name: "unet-small", Description: "a light U-Net (16, 32, 64 channels, 128 at the centre; transposed-conv decoder); one-channel sigmoid output at the input resolution: a fast APGA policy for small images",
		Origin: "pgaug (PyTorch default initialisation)", Task: Segmentation, Output: ProbabilityName,
		DefaultClasses: 1, DefaultSize: 64, MinSize: 8, SizeMultiple: 8}, buildSmallUNet},
}

func lookup(name string) (*entry, error) {
	for i := range registry {
		if registry[i].info.Name == name {
			return &registry[i], nil
		}
	}
	return nil, fmt.Errorf("zoo: no network %q (have %s)", name, strings.Join(Names(), ", "))
}

// Names lists the zoo's networks in List order.
func Names() []string {
	out := make([]string, len(registry))
	for i, e := range registry {
		out[i] = e.info.Name
	}
	return out
}

// List describes every network, with its parameter count at the defaults.
func List() []Info {
	out := make([]Info, len(registry))
	for i := range registry {
		out[i] = registry[i].describe()
	}
	return out
}

// Lookup describes the network called name.
func Lookup(name string) (Info, error) {
	e, err := lookup(name)
	if err != nil {
		return Info{}, err
	}
	return e.describe(), nil
}

func (e *entry) describe() Info {
	info := e.info
	n, _ := e.build(info.Name, Options{Classes: info.DefaultClasses, InChannels: 3, Size: info.DefaultSize})
	info.Params, _ = n.counts()
	return info
}

// resolve fills o's defaults and checks it against the network's limits.
func (e *entry) resolve(o Options) (Options, error) {
	info := e.info
	if o.Classes == 0 {
		o.Classes = info.DefaultClasses
	}
	if o.InChannels == 0 {
		o.InChannels = 3
	}
	if o.Size == 0 {
		o.Size = info.DefaultSize
	}
	switch {
	case o.Classes < 0:
		return o, fmt.Errorf("zoo: %s: %d classes, want at least 1", info.Name, o.Classes)
	case info.Task == Segmentation && o.Classes != 1:
		return o, fmt.Errorf("zoo: %s has a one-channel probability output; classes must be 1, not %d", info.Name, o.Classes)
	case o.InChannels < 0:
		return o, fmt.Errorf("zoo: %s: %d input channels, want at least 1", info.Name, o.InChannels)
	case o.Size < info.MinSize:
		return o, fmt.Errorf("zoo: %s: input size %d, want at least %d", info.Name, o.Size, info.MinSize)
	case info.SizeMultiple > 1 && o.Size%info.SizeMultiple != 0:
		return o, fmt.Errorf("zoo: %s: input size %d is not a multiple of %d (its 2×2 poolings and skip connections need one)", info.Name, o.Size, info.SizeMultiple)
	}
	return o, nil
}

// ParamCount returns the number of trainable parameters (BatchNorm running
// statistics excluded) of the network called name with options o, without
// allocating its weights.
func ParamCount(name string, o Options) (int64, error) {
	e, err := lookup(name)
	if err != nil {
		return 0, err
	}
	if o, err = e.resolve(o); err != nil {
		return 0, err
	}
	n, _ := e.build(name, o)
	if n.err != nil {
		return 0, fmt.Errorf("zoo: %w", n.err)
	}
	p, _ := n.counts()
	return p, nil
}

// Build returns the network called name as an ONNX model (opset 17): input
// "input" (float32 N×C×S×S, N dynamic), output "logits" (N×classes) or, for
// ternausnet11, "probability" (N×1×S×S), every parameter an initializer
// named as in the original's state_dict and initialised as the original
// initialises it, from o.Seed. The model's metadata records the network,
// the seed and the input size.
func Build(name string, o Options) (*onnxpb.ModelProto, error) {
	e, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if o, err = e.resolve(o); err != nil {
		return nil, err
	}
	n, out := e.build(name, o)
	if n.err != nil {
		return nil, fmt.Errorf("zoo: %w", n.err)
	}
	meta := map[string]string{
		MetaArch:      name,
		MetaSeed:      strconv.FormatUint(o.Seed, 10),
		MetaInputSize: strconv.Itoa(o.Size),
	}
	doc := fmt.Sprintf("%s: %s. Parameter names and initialisation as %s.", name, e.info.Description, e.info.Origin)
	return n.model(out, o.Seed, doc, meta)
}
