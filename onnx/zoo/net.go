package zoo

import (
	"fmt"
	"strings"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// Opset is the default-domain opset of every zoo model.
const Opset = 17

// Names of the graph input and outputs.
const (
	InputName       = "input"
	LogitsName      = "logits"      // classifiers: N×classes
	ProbabilityName = "probability" // ternausnet11: N×1×S×S
	BatchDim        = "N"           // the symbolic batch dimension
)

// param is a parameter tensor to create: a weight, a bias or a
// BatchNormalization statistic, with its initialisation.
type param struct {
	name  string
	dims  []int64
	init  initSpec
	state bool // a running statistic, not a trainable parameter
}

func (p param) numel() int64 {
	n := int64(1)
	for _, d := range p.dims {
		n *= d
	}
	return n
}

type node struct {
	name, op string
	in, out  []string
	attrs    []*onnxpb.AttributeProto
}

// val is an NCHW value of the graph being described (rank 2 after Flatten:
// h = w = 0).
type val struct {
	name    string
	c, h, w int
}

// net describes a network: its parameters with their initialisation and its
// nodes. Nothing is allocated for the weights until model is called, so
// parameter counts are cheap. The first error is kept and later calls are
// no-ops, so architectures read as straight-line code.
type net struct {
	arch   string
	params []param
	nodes  []node
	used   map[string]int
	input  val
	err    error
}

func newNet(arch string, inChannels, size int) *net {
	return &net{arch: arch, used: map[string]int{}, input: val{name: InputName, c: inChannels, h: size, w: size}}
}

func (n *net) fail(format string, a ...any) {
	if n.err == nil {
		n.err = fmt.Errorf(format, a...)
	}
}

func (n *net) addParam(name string, dims []int64, init initSpec, state bool) string {
	n.params = append(n.params, param{name: name, dims: dims, init: init, state: state})
	return name
}

// addNode appends a node named after the module path and operator (as
// PyTorch's exporter names them: "/layer1.0/conv1/Conv"); its output value
// takes the node's name with "_output_0".
func (n *net) addNode(path, op string, in []string, attrs ...*onnxpb.AttributeProto) string {
	name := "/" + strings.ReplaceAll(path, ".", "/") + "/" + op
	if path == "" {
		name = "/" + op
	}
	if k := n.used[name]; k > 0 {
		n.used[name]++
		name = fmt.Sprintf("%s_%d", name, k)
	} else {
		n.used[name] = 1
	}
	out := name + "_output_0"
	n.nodes = append(n.nodes, node{name: name, op: op, in: in, out: []string{out}, attrs: attrs})
	return out
}

// rename makes v, the output of the last node, the graph output called name.
func (n *net) rename(v val, name string) val {
	if n.err != nil {
		return v
	}
	last := &n.nodes[len(n.nodes)-1]
	if last.out[0] != v.name {
		n.fail("%s: output %q is not produced by the last node", n.arch, v.name)
		return v
	}
	last.out[0] = name
	v.name = name
	return v
}

// outSize is the output side of a convolution or pooling window: floor (or
// ceil, for ceil_mode pools, with PyTorch's rule that the last window must
// start inside the padded input) of (in + 2·pad − k)/stride + 1.
func outSize(in, k, stride, pad int, ceil bool) int {
	span := in + 2*pad - k
	if span < 0 {
		return 0
	}
	out := span/stride + 1
	if ceil && span%stride != 0 {
		out++
		if (out-1)*stride >= in+pad {
			out--
		}
	}
	return out
}

func (n *net) checkSize(path string, v val) val {
	if n.err == nil && (v.h < 1 || v.w < 1) {
		n.fail("%s: the input side %d is too small: %s would produce an empty %d×%d map", n.arch, n.input.h, path, v.h, v.w)
	}
	return v
}

// conv adds a 2-D convolution path.weight (cout×x.c×k×k) with optional
// path.bias, initialised as wInit(dims) says (bias with bInit).
func (n *net) conv(path string, x val, cout, k, stride, pad int, wInit func([]int64) initSpec, bInit *initSpec) val {
	if n.err != nil {
		return x
	}
	dims := []int64{int64(cout), int64(x.c), int64(k), int64(k)}
	in := []string{x.name, n.addParam(path+".weight", dims, wInit(dims), false)}
	if bInit != nil {
		in = append(in, n.addParam(path+".bias", []int64{int64(cout)}, *bInit, false))
	}
	out := n.addNode(path, "Conv", in,
		onnxio.AttrInts("dilations", 1, 1), onnxio.AttrInt("group", 1),
		onnxio.AttrInts("kernel_shape", int64(k), int64(k)),
		onnxio.AttrInts("pads", int64(pad), int64(pad), int64(pad), int64(pad)),
		onnxio.AttrInts("strides", int64(stride), int64(stride)))
	return n.checkSize(path, val{out, cout, outSize(x.h, k, stride, pad, false), outSize(x.w, k, stride, pad, false)})
}

// convTranspose adds a transposed convolution path.weight (x.c×cout×k×k) and
// path.bias with PyTorch's default initialisation.
func (n *net) convTranspose(path string, x val, cout, k, stride, pad, outPad int) val {
	if n.err != nil {
		return x
	}
	dims := []int64{int64(x.c), int64(cout), int64(k), int64(k)}
	init := torchDefault(dims)
	w := n.addParam(path+".weight", dims, init, false)
	b := n.addParam(path+".bias", []int64{int64(cout)}, init, false)
	out := n.addNode(path, "ConvTranspose", []string{x.name, w, b},
		onnxio.AttrInts("dilations", 1, 1), onnxio.AttrInt("group", 1),
		onnxio.AttrInts("kernel_shape", int64(k), int64(k)),
		onnxio.AttrInts("output_padding", int64(outPad), int64(outPad)),
		onnxio.AttrInts("pads", int64(pad), int64(pad), int64(pad), int64(pad)),
		onnxio.AttrInts("strides", int64(stride), int64(stride)))
	side := func(s int) int { return (s-1)*stride - 2*pad + k + outPad }
	return n.checkSize(path, val{out, cout, side(x.h), side(x.w)})
}

// bn adds BatchNormalization over x's channels: path.weight = 1,
// path.bias = 0, path.running_mean = 0, path.running_var = 1 (PyTorch's
// BatchNorm2d: eps 1e-5, momentum 0.1, which ONNX writes as 0.9).
func (n *net) bn(path string, x val) val {
	if n.err != nil {
		return x
	}
	c := []int64{int64(x.c)}
	in := []string{x.name,
		n.addParam(path+".weight", c, constInit(1), false),
		n.addParam(path+".bias", c, constInit(0), false),
		n.addParam(path+".running_mean", c, constInit(0), true),
		n.addParam(path+".running_var", c, constInit(1), true),
	}
	out := n.addNode(path, "BatchNormalization", in, onnxio.AttrFloat("epsilon", 1e-5), onnxio.AttrFloat("momentum", 0.9))
	x.name = out
	return x
}

func (n *net) unary(path, op string, x val) val {
	if n.err != nil {
		return x
	}
	x.name = n.addNode(path, op, []string{x.name})
	return x
}

func (n *net) relu(path string, x val) val { return n.unary(path, "Relu", x) }

func (n *net) maxPool(path string, x val, k, stride, pad int) val {
	if n.err != nil {
		return x
	}
	out := n.addNode(path, "MaxPool", []string{x.name},
		onnxio.AttrInt("ceil_mode", 0), onnxio.AttrInts("kernel_shape", int64(k), int64(k)),
		onnxio.AttrInts("pads", int64(pad), int64(pad), int64(pad), int64(pad)),
		onnxio.AttrInts("strides", int64(stride), int64(stride)))
	return n.checkSize(path, val{out, x.c, outSize(x.h, k, stride, pad, false), outSize(x.w, k, stride, pad, false)})
}

// avgPool is an unpadded average pool (count_include_pad is irrelevant
// without padding; with ceil_mode a partial last window averages the
// elements it covers, as PyTorch's count_include_pad=False does).
func (n *net) avgPool(path string, x val, k, stride int, ceil bool) val {
	if n.err != nil {
		return x
	}
	cm := int64(0)
	if ceil {
		cm = 1
	}
	out := n.addNode(path, "AveragePool", []string{x.name},
		onnxio.AttrInt("ceil_mode", cm), onnxio.AttrInt("count_include_pad", 0),
		onnxio.AttrInts("kernel_shape", int64(k), int64(k)),
		onnxio.AttrInts("pads", 0, 0, 0, 0), onnxio.AttrInts("strides", int64(stride), int64(stride)))
	return n.checkSize(path, val{out, x.c, outSize(x.h, k, stride, 0, ceil), outSize(x.w, k, stride, 0, ceil)})
}

func (n *net) add(path string, a, b val) val {
	if n.err != nil {
		return a
	}
	if a.c != b.c || a.h != b.h || a.w != b.w {
		n.fail("%s: %s: cannot add %d×%d×%d and %d×%d×%d", n.arch, path, a.c, a.h, a.w, b.c, b.h, b.w)
		return a
	}
	a.name = n.addNode(path, "Add", []string{a.name, b.name})
	return a
}

// concat joins values along the channel axis (one value is passed through).
func (n *net) concat(path string, xs ...val) val {
	if n.err != nil || len(xs) == 1 {
		return xs[0]
	}
	names := make([]string, len(xs))
	out := xs[0]
	out.c = 0
	for i, x := range xs {
		if x.h != xs[0].h || x.w != xs[0].w {
			n.fail("%s: %s: cannot concatenate a %d×%d map with a %d×%d one", n.arch, path, xs[0].h, xs[0].w, x.h, x.w)
			return xs[0]
		}
		names[i] = x.name
		out.c += x.c
	}
	out.name = n.addNode(path, "Concat", names, onnxio.AttrInt("axis", 1))
	return out
}

// head adds GlobalAveragePool, Flatten and a Linear layer path (Gemm with
// transB=1: weight classes×features as in PyTorch) producing the graph's
// logits. The weight has PyTorch's default Linear initialisation; the bias
// too, or zero when zeroBias.
func (n *net) head(path string, x val, classes int, zeroBias bool) val {
	if n.err != nil {
		return x
	}
	x = n.unary("", "GlobalAveragePool", x)
	x.h, x.w = 0, 0
	x.name = n.addNode("", "Flatten", []string{x.name}, onnxio.AttrInt("axis", 1))
	dims := []int64{int64(classes), int64(x.c)}
	init := torchDefault(dims)
	bInit := init
	if zeroBias {
		bInit = constInit(0)
	}
	w := n.addParam(path+".weight", dims, init, false)
	b := n.addParam(path+".bias", []int64{int64(classes)}, bInit, false)
	out := n.addNode(path, "Gemm", []string{x.name, w, b},
		onnxio.AttrFloat("alpha", 1), onnxio.AttrFloat("beta", 1), onnxio.AttrInt("transB", 1))
	return n.rename(val{name: out, c: classes}, LogitsName)
}

// counts returns the number of trainable parameter elements and of running
// statistics.
func (n *net) counts() (trainable, state int64) {
	for _, p := range n.params {
		if p.state {
			state += p.numel()
		} else {
			trainable += p.numel()
		}
	}
	return
}

// model materialises the network as an ONNX model: input "input"
// N×C×S×S, the given output, and every parameter drawn from seed.
func (n *net) model(out val, seed uint64, doc string, metadata map[string]string) (*onnxpb.ModelProto, error) {
	if n.err != nil {
		return nil, n.err
	}
	b := onnxio.NewGraphBuilder(n.arch)
	b.AddInput(InputName, onnxio.DTypeFloat32, BatchDim, n.input.c, n.input.h, n.input.w)
	for _, p := range n.params {
		b.AddInitializer(onnxio.Float32Tensor(p.name, p.dims, fill(p.name, int(p.numel()), p.init, seed)))
	}
	for _, nd := range n.nodes {
		b.AddNode(nd.op, nd.in, nd.out, nd.attrs...).Name = &nd.name
	}
	if out.h > 0 {
		b.AddOutput(out.name, onnxio.DTypeFloat32, BatchDim, out.c, out.h, out.w)
	} else {
		b.AddOutput(out.name, onnxio.DTypeFloat32, BatchDim, out.c)
	}
	m, err := b.Model(Opset, producer, metadata)
	if err != nil {
		return nil, fmt.Errorf("zoo: building %s: %w", n.arch, err)
	}
	m.DocString = &doc
	return m, nil
}
