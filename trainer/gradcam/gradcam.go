package gradcam

import (
	"fmt"
	"math"
	"strings"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/onnx/exporter"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/trainer/executor"
)

// DefaultThreshold is the mask threshold of the APGA paper's Grad-CAM
// baseline: keep the pixels whose scaled map is above 0.5.
const DefaultThreshold = 0.5

// probeSide is the spatial side used to inspect a model whose input has
// dynamic spatial dimensions (only to choose and check the layer).
const probeSide = 224

// Explainer computes Grad-CAM maps of one layer of a classifier. It is not
// safe for concurrent use.
type Explainer struct {
	m         *importer.Model
	input     string
	layer     string
	threshold float32
	graphs    map[string]*camGraph
}

type camGraph struct {
	g                   *importer.Graph
	x, onehot           *gorgonia.Node
	fwd, full           *executor.Program
	logits, actNode, dA *gorgonia.Node
	k                   int    // classes
	act                 [4]int // N, C, h', w' of the layer
}

// New prepares Grad-CAM at the named ONNX value of m (a layer's output:
// see [Layers]); "" chooses [DefaultLayer]. The model must have one float
// input N×C×H×W and its first output must be the N×K logits. The model is
// run in inference mode (SetTraining(false) for the duration of each call,
// then restored).
func New(m *importer.Model, layer string) (*Explainer, error) {
	if m == nil {
		return nil, fmt.Errorf("gradcam: nil model")
	}
	input, err := inputName(m)
	if err != nil {
		return nil, err
	}
	g, err := probe(m, input)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	if layer == "" {
		layer, err = defaultLayer(m, g)
		if err != nil {
			return nil, err
		}
	} else if err := checkLayer(m, g, layer); err != nil {
		return nil, err
	}
	return &Explainer{m: m, input: input, layer: layer, threshold: DefaultThreshold, graphs: map[string]*camGraph{}}, nil
}

// FrozenCopy returns an independent copy of m (exported and imported
// again: same weights and BatchNorm statistics, nothing shared), in
// inference mode with every parameter frozen, so that training m further
// does not change the maps of an Explainer built on the copy.
func FrozenCopy(m *importer.Model) (*importer.Model, error) {
	mp, err := exporter.Export(m, exporter.Options{})
	if err != nil {
		return nil, fmt.Errorf("gradcam: copying %s: %w", m.Source, err)
	}
	c, err := importer.Import(mp, importer.Options{Source: m.Source + " (frozen copy)"})
	if err != nil {
		return nil, fmt.Errorf("gradcam: copying %s: %w", m.Source, err)
	}
	c.SetTraining(false)
	for _, p := range c.Params {
		p.Trainable = false
	}
	return c, nil
}

// Layer returns the ONNX value the maps are taken from (the one chosen
// automatically when New was given "").
func (e *Explainer) Layer() string { return e.layer }

// Threshold returns the mask threshold (DefaultThreshold unless set).
func (e *Explainer) Threshold() float32 { return e.threshold }

// SetThreshold sets the mask threshold; it must lie in [0, 1).
func (e *Explainer) SetThreshold(t float32) error {
	if !(t >= 0 && t < 1) {
		return fmt.Errorf("gradcam: threshold %v is outside [0, 1)", t)
	}
	e.threshold = t
	return nil
}

// Close releases the machines of every cached graph.
func (e *Explainer) Close() {
	for k, cg := range e.graphs {
		cg.fwd.Close()
		cg.full.Close()
		delete(e.graphs, k)
	}
}

// Maps returns, for a batch x of n images c×h×w (row-major float32), the
// Grad-CAM map of each image's top-1 class at the input resolution, scaled
// to [0, 1] per image (n×h×w, row-major), and the top-1 classes.
func (e *Explainer) Maps(x []float32, n, c, h, w int) (cams []float32, top1 []int, err error) {
	if n <= 0 || c <= 0 || h <= 0 || w <= 0 {
		return nil, nil, fmt.Errorf("gradcam: batch shape %d×%d×%d×%d: every dimension must be positive", n, c, h, w)
	}
	if len(x) != n*c*h*w {
		return nil, nil, fmt.Errorf("gradcam: %d values given for a batch of %d×%d×%d×%d, want %d", len(x), n, c, h, w, n*c*h*w)
	}
	raw, ah, aw, top1, err := e.rawCAMs(x, n, c, h, w)
	if err != nil {
		return nil, nil, err
	}
	cams = make([]float32, n*h*w)
	for i := range n {
		up := bilinear(raw[i*ah*aw:(i+1)*ah*aw], ah, aw, h, w)
		minMax(up)
		for j, v := range up {
			cams[i*h*w+j] = float32(v)
		}
	}
	return cams, top1, nil
}

// Masks is Maps followed by the threshold: 1 where the map is above
// Threshold(), else 0 (n×h×w). Use augment.ApplyMask to keep those pixels.
func (e *Explainer) Masks(x []float32, n, c, h, w int) (masks []float32, top1 []int, err error) {
	cams, top1, err := e.Maps(x, n, c, h, w)
	if err != nil {
		return nil, nil, err
	}
	for i, v := range cams {
		if v > e.threshold {
			cams[i] = 1
		} else {
			cams[i] = 0
		}
	}
	return cams, top1, nil
}

// RawMaps returns the cam before up-sampling and scaling, ReLU(Σ_k w_k·A_k),
// at the layer's resolution (n×h'×w'), with h', w' and the top-1 classes.
func (e *Explainer) RawMaps(x []float32, n, c, h, w int) (cams []float32, hh, ww int, top1 []int, err error) {
	if n <= 0 || c <= 0 || h <= 0 || w <= 0 || len(x) != n*c*h*w {
		return nil, 0, 0, nil, fmt.Errorf("gradcam: %d values given for a batch of %d×%d×%d×%d (every dimension positive, %d values expected)", len(x), n, c, h, w, n*c*h*w)
	}
	raw, hh, ww, top1, err := e.rawCAMs(x, n, c, h, w)
	if err != nil {
		return nil, 0, 0, nil, err
	}
	cams = make([]float32, len(raw))
	for i, v := range raw {
		cams[i] = float32(v)
	}
	return cams, hh, ww, top1, nil
}

// rawCAMs runs the network forward, picks the top-1 classes, runs it again
// with the backward pass to the layer and forms ReLU(Σ_k w_k·A_k) (float64).
func (e *Explainer) rawCAMs(x []float32, n, c, h, w int) ([]float64, int, int, []int, error) {
	cg, err := e.graphFor([]int{n, c, h, w})
	if err != nil {
		return nil, 0, 0, nil, err
	}
	if e.m.Training() {
		e.m.SetTraining(false)
		defer e.m.SetTraining(true)
	}
	xt := tensor.New(tensor.WithShape(n, c, h, w), tensor.WithBacking(append([]float32(nil), x...)))
	if err := gorgonia.Let(cg.x, xt); err != nil {
		return nil, 0, 0, nil, fmt.Errorf("gradcam: setting the input: %w", err)
	}
	if err := cg.fwd.Run(); err != nil {
		return nil, 0, 0, nil, fmt.Errorf("gradcam: %s: forward pass: %w", e.m.Source, err)
	}
	lv, err := cg.fwd.Value(cg.logits)
	if err != nil {
		return nil, 0, 0, nil, fmt.Errorf("gradcam: %s: %w", e.m.Source, err)
	}
	logits, ok := lv.Data().([]float32)
	if !ok || len(logits) != n*cg.k {
		return nil, 0, 0, nil, fmt.Errorf("gradcam: %s: the logits are %T of shape %v, want %d×%d float32", e.m.Source, lv.Data(), lv.Shape(), n, cg.k)
	}
	top1 := make([]int, n)
	oh := make([]float32, n*cg.k)
	for i := range n {
		row := logits[i*cg.k : (i+1)*cg.k]
		best := 0
		for j, v := range row {
			if math.IsNaN(float64(v)) {
				return nil, 0, 0, nil, fmt.Errorf("gradcam: %s: logit %d of image %d is NaN", e.m.Source, j, i)
			}
			if v > row[best] {
				best = j
			}
		}
		top1[i] = best
		oh[i*cg.k+best] = 1
	}
	if err := gorgonia.Let(cg.onehot, tensor.New(tensor.WithShape(n, cg.k), tensor.WithBacking(oh))); err != nil {
		return nil, 0, 0, nil, fmt.Errorf("gradcam: setting the one-hot classes: %w", err)
	}
	if err := cg.full.Run(); err != nil {
		return nil, 0, 0, nil, fmt.Errorf("gradcam: %s: backward pass to %q: %w", e.m.Source, e.layer, err)
	}
	av, err := cg.full.Value(cg.actNode)
	if err != nil {
		return nil, 0, 0, nil, fmt.Errorf("gradcam: %s: %w", e.m.Source, err)
	}
	dav, err := cg.full.Value(cg.dA)
	if err != nil {
		return nil, 0, 0, nil, fmt.Errorf("gradcam: %s: %w", e.m.Source, err)
	}
	a, _ := av.Data().([]float32)
	da, _ := dav.Data().([]float32)
	_, kc, ah, aw := cg.act[0], cg.act[1], cg.act[2], cg.act[3]
	if len(a) != n*kc*ah*aw || len(da) != len(a) {
		return nil, 0, 0, nil, fmt.Errorf("gradcam: %s: activation and gradient of %q have %d and %d values, want %d", e.m.Source, e.layer, len(a), len(da), n*kc*ah*aw)
	}
	hw := ah * aw
	raw := make([]float64, n*hw)
	for i := range n {
		out := raw[i*hw : (i+1)*hw]
		for k := range kc {
			off := (i*kc + k) * hw
			var s float64
			for _, g := range da[off : off+hw] {
				s += float64(g)
			}
			wk := s / float64(hw)
			if wk == 0 {
				continue
			}
			for j, v := range a[off : off+hw] {
				out[j] += wk * float64(v)
			}
		}
		for j, v := range out {
			if !(v > 0) { // ReLU; NaN (should not happen) becomes 0 too
				out[j] = 0
			}
		}
	}
	return raw, ah, aw, top1, nil
}

func (e *Explainer) graphFor(shape []int) (*camGraph, error) {
	key := fmt.Sprint(shape)
	if cg, ok := e.graphs[key]; ok {
		return cg, nil
	}
	g, err := e.m.Build(map[string][]int{e.input: shape})
	if err != nil {
		return nil, fmt.Errorf("gradcam: %w", err)
	}
	if len(g.Inputs) != 1 || len(g.Outputs) == 0 {
		return nil, fmt.Errorf("gradcam: %s: %d graph inputs and %d outputs, want 1 input and the logits as first output", e.m.Source, len(g.Inputs), len(g.Outputs))
	}
	logits := g.Outputs[0]
	ls := logits.Shape()
	if ls.Dims() != 2 || ls[0] != shape[0] {
		return nil, fmt.Errorf("gradcam: %s: the first output %q has shape %v, want the logits %d×K", e.m.Source, e.m.Outputs[0].Name, ls, shape[0])
	}
	act, err := g.Value(e.layer)
	if err != nil {
		return nil, fmt.Errorf("gradcam: %w", err)
	}
	as := act.Shape()
	if as.Dims() != 4 || as[0] != shape[0] {
		return nil, fmt.Errorf("gradcam: layer %q of %s has shape %v for input %v, want N×C×h×w with N = %d", e.layer, e.m.Source, as, shape, shape[0])
	}
	cg := &camGraph{g: g, x: g.Inputs[0], k: ls[1], act: [4]int{as[0], as[1], as[2], as[3]}}
	tag := fmt.Sprintf("gradcam%v", shape)
	cg.onehot = gorgonia.NewTensor(g.G, tensor.Float32, 2, gorgonia.WithShape(ls[0], ls[1]), gorgonia.WithName(tag+".onehot"))
	prod, err := gorgonia.HadamardProd(logits, cg.onehot)
	if err != nil {
		return nil, fmt.Errorf("gradcam: selecting the top-1 logits: %w", err)
	}
	score, err := gorgonia.Sum(prod)
	if err != nil {
		return nil, fmt.Errorf("gradcam: summing the top-1 logits: %w", err)
	}
	one := gorgonia.NewScalar(g.G, tensor.Float32, gorgonia.WithName(tag+".one"), gorgonia.WithValue(float32(1)))
	// gorgonia.Grad only accepts input nodes; Backpropagate takes any node.
	grads, err := gorgonia.Backpropagate(gorgonia.Nodes{score}, gorgonia.Nodes{one}, gorgonia.Nodes{act})
	if err != nil {
		return nil, fmt.Errorf("gradcam: %s: backward pass from the logits to %q: %w", e.m.Source, e.layer, err)
	}
	cg.logits, cg.actNode, cg.dA = logits, act, grads[0]
	// Two programs: the forward pass alone (to find the top-1 classes), then
	// forward and backward to the layer. A program computes only what its
	// roots need, which leaves out the nodes that Backpropagate adds below
	// the layer (the pull-back of the layer's own operator).
	if cg.fwd, err = executor.Compile(nil, logits); err != nil {
		return nil, fmt.Errorf("gradcam: %s: %w", e.m.Source, err)
	}
	if cg.full, err = executor.Compile(nil, act, grads[0]); err != nil {
		return nil, fmt.Errorf("gradcam: %s: %w", e.m.Source, err)
	}
	e.graphs[key] = cg
	return cg, nil
}

func inputName(m *importer.Model) (string, error) {
	var names []string
	consts := map[string]bool{}
	for _, c := range m.ConstantInputs() {
		consts[c] = true
	}
	for _, in := range m.Inputs {
		if !consts[in.Name] {
			names = append(names, in.Name)
		}
	}
	if len(names) != 1 {
		return "", fmt.Errorf("gradcam: %s has %d image inputs %v; Grad-CAM needs exactly one", m.Source, len(names), names)
	}
	return names[0], nil
}

// probe builds a graph for one image at the model's declared size (or
// probeSide for dynamic spatial dimensions), to inspect the layers' shapes.
func probe(m *importer.Model, input string) (*importer.Graph, error) {
	var spec importer.IOSpec
	for _, s := range m.Inputs {
		if s.Name == input {
			spec = s
		}
	}
	if len(spec.Dims) != 4 {
		return nil, fmt.Errorf("gradcam: input %q of %s has rank %d, want N×C×H×W", input, m.Source, len(spec.Dims))
	}
	shape := []int{1, 0, 0, 0}
	for i := 1; i < 4; i++ {
		d := int(spec.Dims[i])
		if d <= 0 {
			if i == 1 {
				return nil, fmt.Errorf("gradcam: input %q of %s has a dynamic channel dimension", input, m.Source)
			}
			d = probeSide
		}
		shape[i] = d
	}
	g, err := m.Build(map[string][]int{input: shape})
	if err != nil {
		return nil, fmt.Errorf("gradcam: %w", err)
	}
	return g, nil
}

// Layers lists the values of m that Grad-CAM can use: the 4-D values
// (N×C×h×w, the batch first) computed by graph nodes, in graph order, for
// one image at the model's declared input size (224 for dynamic sides).
func Layers(m *importer.Model) ([]string, error) {
	input, err := inputName(m)
	if err != nil {
		return nil, err
	}
	g, err := probe(m, input)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	return layers(g), nil
}

func layers(g *importer.Graph) []string {
	var out []string
	for _, name := range g.ValueNames() {
		n, err := g.Value(name)
		if err != nil {
			continue
		}
		if s := n.Shape(); s.Dims() == 4 && s[0] == 1 && !isGraphInput(g, n) {
			out = append(out, name)
		}
	}
	return out
}

func isGraphInput(g *importer.Graph, n *gorgonia.Node) bool {
	for _, in := range g.Inputs {
		if in == n {
			return true
		}
	}
	return false
}

// DefaultLayer returns the layer Grad-CAM uses by default: the last 4-D
// feature value before global pooling, that is the input of the last ONNX
// node (in graph order) that turns a 4-D value with more than one spatial
// position into one without spatial extent (global pooling, a reduction over
// the spatial axes, Flatten, Reshape). For torchvision's ResNets that is the
// output of layer4 (its last ReLU), for DenseNets the ReLU after features.
func DefaultLayer(m *importer.Model) (string, error) {
	input, err := inputName(m)
	if err != nil {
		return "", err
	}
	g, err := probe(m, input)
	if err != nil {
		return "", err
	}
	defer g.Close()
	return defaultLayer(m, g)
}

func defaultLayer(m *importer.Model, g *importer.Graph) (string, error) {
	shapeOf := func(name string) tensor.Shape {
		n, err := g.Value(name)
		if err != nil || isGraphInput(g, n) {
			return nil
		}
		return n.Shape()
	}
	best := ""
	for _, node := range m.Proto.GetGraph().GetNode() {
		collapses := false
		for _, o := range node.GetOutput() {
			s := shapeOf(o)
			if s == nil {
				continue
			}
			if s.Dims() < 4 || (s.Dims() == 4 && s[2]*s[3] == 1) {
				collapses = true
			}
		}
		if !collapses {
			continue
		}
		for _, in := range node.GetInput() {
			if s := shapeOf(in); s != nil && s.Dims() == 4 && s[2]*s[3] > 1 {
				best = in
			}
		}
	}
	if best == "" {
		return "", fmt.Errorf("gradcam: %s: no 4-D feature map with more than one position feeds a global pooling; name the layer (4-D values: %s)", m.Source, candidateList(layers(g)))
	}
	return best, nil
}

func checkLayer(m *importer.Model, g *importer.Graph, layer string) error {
	n, err := g.Value(layer)
	if err != nil || isGraphInput(g, n) {
		return fmt.Errorf("gradcam: %s has no layer %q; candidates (4-D values): %s", m.Source, layer, candidateList(layers(g)))
	}
	if s := n.Shape(); s.Dims() != 4 || s[0] != 1 {
		return fmt.Errorf("gradcam: layer %q of %s has shape %v for one image, want a 4-D feature map N×C×h×w; candidates: %s", layer, m.Source, s, candidateList(layers(g)))
	}
	return nil
}

// candidateList names the last candidates (those nearest the output, where
// Grad-CAM is usually taken) and how many there are.
func candidateList(c []string) string {
	const show = 12
	if len(c) == 0 {
		return "none"
	}
	if len(c) <= show {
		return strings.Join(c, ", ")
	}
	return fmt.Sprintf("… %s (the last %d of %d; gradcam.Layers lists all)", strings.Join(c[len(c)-show:], ", "), show, len(c))
}

// bilinear resizes an ih×iw map to oh×ow as PyTorch's
// interpolate(mode="bilinear", align_corners=False) with a target size.
func bilinear(src []float64, ih, iw, oh, ow int) []float64 {
	ys0, ys1, yl := axisWeights(ih, oh)
	xs0, xs1, xl := axisWeights(iw, ow)
	out := make([]float64, oh*ow)
	for y := range oh {
		r0, r1, ly := src[ys0[y]*iw:], src[ys1[y]*iw:], yl[y]
		for x := range ow {
			a, b, lx := xs0[x], xs1[x], xl[x]
			top := (1-lx)*r0[a] + lx*r0[b]
			bot := (1-lx)*r1[a] + lx*r1[b]
			out[y*ow+x] = (1-ly)*top + ly*bot
		}
	}
	return out
}

func axisWeights(in, out int) (i0, i1 []int, l []float64) {
	i0, i1, l = make([]int, out), make([]int, out), make([]float64, out)
	scale := float64(in) / float64(out)
	for d := range out {
		s := (float64(d)+0.5)*scale - 0.5
		if s < 0 {
			s = 0
		}
		a := int(s)
		if a > in-1 {
			a = in - 1
		}
		b := a + 1
		if b > in-1 {
			b = in - 1
		}
		i0[d], i1[d], l[d] = a, b, s-float64(a)
	}
	return
}

// minMax scales v to [0, 1] in place; a constant map becomes all zeros.
func minMax(v []float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo = math.Min(lo, x)
		hi = math.Max(hi, x)
	}
	r := hi - lo
	for i, x := range v {
		if r > 0 {
			v[i] = (x - lo) / r
		} else {
			v[i] = 0
		}
	}
}
