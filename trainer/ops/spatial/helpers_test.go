package spatial

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randData returns n values uniform in [-1, 1).
func randData(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(rng.Float64()*2 - 1)
	}
	return d
}

// distinctData returns n values, a random permutation of well separated
// levels (gaps of 0.05), so finite differences never flip a max.
func distinctData(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 11))
	d := make([]float32, n)
	for i, p := range rng.Perm(n) {
		d[i] = float32(p)*0.05 - float32(n)*0.025
	}
	return d
}

func dense(data []float32, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), data...)))
}

func prod(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// maxAbsDiff returns max |a-b| and max |b| (the reference's scale, at least 1).
func maxAbsDiff(a, b []float32) (diff, scale float64) {
	scale = 1
	for i := range a {
		diff = math.Max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = math.Max(scale, math.Abs(float64(b[i])))
	}
	return diff, scale
}

// expectClose fails when got and want differ by more than tol·scale.
func expectClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for _, v := range got {
		if math.IsNaN(float64(v)) {
			t.Fatalf("%s: NaN in the result", what)
		}
	}
	d, s := maxAbsDiff(got, want)
	if d > tol*s {
		t.Fatalf("%s: max abs error %.3g > %.1g × scale %.3g", what, d, tol, s)
	}
}

// ---------------------------------------------------------------------------
// Running graphs.

type builder func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error)

func inputNodes(g *gorgonia.ExprGraph, inputs []*tensor.Dense) []*gorgonia.Node {
	nodes := make([]*gorgonia.Node, len(inputs))
	for i, in := range inputs {
		nodes[i] = gorgonia.NodeFromAny(g, in, gorgonia.WithName(fmt.Sprintf("in%d", i)))
	}
	return nodes
}

// forwardBackward runs build on the inputs and returns the output and the
// gradients of Σ out ⊙ r with respect to every input (r = nil: forward only).
func forwardBackward(t testing.TB, build builder, inputs []*tensor.Dense, r []float32) ([]float32, tensor.Shape, [][]float32) {
	t.Helper()
	g := gorgonia.NewGraph()
	nodes := inputNodes(g, inputs)
	out, err := build(g, nodes)
	if err != nil {
		t.Fatalf("building the graph: %v", err)
	}
	var ov gorgonia.Value
	gorgonia.Read(out, &ov)
	var opts []gorgonia.VMOpt
	if r != nil {
		if len(r) != out.Shape().TotalSize() {
			t.Fatalf("r has %d values for output %v", len(r), out.Shape())
		}
		dy := gorgonia.NewTensor(g, tensor.Float32, out.Dims(), gorgonia.WithShape(out.Shape()...), gorgonia.WithName("dy"),
			gorgonia.WithValue(dense(r, out.Shape()...)))
		if _, err := gorgonia.Backpropagate(gorgonia.Nodes{out}, gorgonia.Nodes{dy}, nodes); err != nil {
			t.Fatalf("backpropagate: %v", err)
		}
		opts = append(opts, gorgonia.BindDualValues(nodes...))
	}
	vm := gorgonia.NewTapeMachine(g, opts...)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatalf("run: %v", err)
	}
	res := append([]float32(nil), ov.Data().([]float32)...)
	var grads [][]float32
	if r != nil {
		for i, n := range nodes {
			gv, err := n.Grad()
			if err != nil {
				t.Fatalf("gradient of input %d: %v", i, err)
			}
			grads = append(grads, append([]float32(nil), gv.Data().([]float32)...))
		}
	}
	return res, ov.Shape().Clone(), grads
}

// ---------------------------------------------------------------------------
// PyTorch.

const torchPython = "/usr/bin/python3"

const torchPreamble = `
import numpy as np, torch, torch.nn.functional as F
torch.set_num_threads(1)
def load(name, shape, grad=False):
    t = torch.from_numpy(np.fromfile(name, dtype='<f4').reshape(shape).copy()).double()
    if grad:
        t.requires_grad_(True)
    return t
def save(name, t):
    np.ascontiguousarray(t.detach().numpy().astype('<f4')).tofile(name)
`

// torchJob collects inputs and Python lines, runs them in one interpreter
// and reads the saved outputs back. Tensors are float64 in PyTorch.
type torchJob struct {
	dir    string
	script strings.Builder
	nIn    int
	outs   []string
}

func newTorchJob(t testing.TB) *torchJob {
	j := &torchJob{dir: t.TempDir()}
	j.script.WriteString(torchPreamble)
	return j
}

// input writes data and returns a Python expression loading it.
func (j *torchJob) input(t testing.TB, data []float32, grad bool, shape ...int) string {
	t.Helper()
	name := fmt.Sprintf("in%d.bin", j.nIn)
	j.nIn++
	buf := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(filepath.Join(j.dir, name), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = fmt.Sprint(s)
	}
	g := "False"
	if grad {
		g = "True"
	}
	return fmt.Sprintf("load(%q, [%s], %s)", name, strings.Join(dims, ","), g)
}

func (j *torchJob) line(format string, args ...any) {
	fmt.Fprintf(&j.script, format+"\n", args...)
}

// output saves a Python expression's value and returns its index.
func (j *torchJob) output(expr string) int {
	name := fmt.Sprintf("out%d.bin", len(j.outs))
	j.outs = append(j.outs, name)
	j.line("save(%q, %s)", name, expr)
	return len(j.outs) - 1
}

// run executes the script; any failure fails the test (never skipped: CI
// installs python3-torch).
func (j *torchJob) run(t testing.TB) [][]float32 {
	t.Helper()
	cmd := exec.Command(torchPython, "-c", j.script.String())
	cmd.Dir = j.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("PyTorch reference failed (%v): %s\nscript:\n%s", err, out, j.script.String())
	}
	res := make([][]float32, len(j.outs))
	for i, name := range j.outs {
		b, err := os.ReadFile(filepath.Join(j.dir, name))
		if err != nil {
			t.Fatalf("reading the PyTorch output: %v", err)
		}
		v := make([]float32, len(b)/4)
		for k := range v {
			v[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
		}
		res[i] = v
	}
	return res
}

// ---------------------------------------------------------------------------
// Naive references, straight from the ONNX definitions, in float64.

type naiveConv struct {
	kh, kw, sh, sw, dh, dw int
	pads                   [4]int // top, left, bottom, right
	group                  int
}

// conv is ONNX Conv: x N×C×H×W, w O×C/g×kh×kw.
func (p naiveConv) conv(x []float32, xs []int, w []float32, o int, b []float32) ([]float32, []int) {
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	oh := (h+p.pads[0]+p.pads[2]-(p.kh-1)*p.dh-1)/p.sh + 1
	ow := (wd+p.pads[1]+p.pads[3]-(p.kw-1)*p.dw-1)/p.sw + 1
	cg, og := c/p.group, o/p.group
	y := make([]float32, n*o*oh*ow)
	for in := 0; in < n; in++ {
		for oc := 0; oc < o; oc++ {
			gi := oc / og
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					if b != nil {
						s = float64(b[oc])
					}
					for ci := 0; ci < cg; ci++ {
						for ki := 0; ki < p.kh; ki++ {
							iy := oy*p.sh - p.pads[0] + ki*p.dh
							if iy < 0 || iy >= h {
								continue
							}
							for kj := 0; kj < p.kw; kj++ {
								ix := ox*p.sw - p.pads[1] + kj*p.dw
								if ix < 0 || ix >= wd {
									continue
								}
								xv := x[((in*c+gi*cg+ci)*h+iy)*wd+ix]
								wv := w[((oc*cg+ci)*p.kh+ki)*p.kw+kj]
								s += float64(xv) * float64(wv)
							}
						}
					}
					y[((in*o+oc)*oh+oy)*ow+ox] = float32(s)
				}
			}
		}
	}
	return y, []int{n, o, oh, ow}
}

// convTranspose is ONNX ConvTranspose with explicit pads and an output size
// (out): x N×C×H×W, w C×M/g×kh×kw; the output is N×M×out[0]×out[1].
func (p naiveConv) convTranspose(x []float32, xs []int, w []float32, m int, out [2]int, b []float32) ([]float32, []int) {
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	cg, mg := c/p.group, m/p.group
	acc := make([]float64, n*m*out[0]*out[1])
	for in := 0; in < n; in++ {
		for ci := 0; ci < c; ci++ {
			gi := ci / cg
			for iy := 0; iy < h; iy++ {
				for ix := 0; ix < wd; ix++ {
					xv := float64(x[((in*c+ci)*h+iy)*wd+ix])
					for mo := 0; mo < mg; mo++ {
						oc := gi*mg + mo
						for ki := 0; ki < p.kh; ki++ {
							oy := iy*p.sh - p.pads[0] + ki*p.dh
							if oy < 0 || oy >= out[0] {
								continue
							}
							for kj := 0; kj < p.kw; kj++ {
								ox := ix*p.sw - p.pads[1] + kj*p.dw
								if ox < 0 || ox >= out[1] {
									continue
								}
								acc[((in*m+oc)*out[0]+oy)*out[1]+ox] += xv * float64(w[((ci*mg+mo)*p.kh+ki)*p.kw+kj])
							}
						}
					}
				}
			}
		}
	}
	y := make([]float32, len(acc))
	plane := out[0] * out[1]
	for i, v := range acc {
		if b != nil {
			v += float64(b[(i/plane)%m])
		}
		y[i] = float32(v)
	}
	return y, []int{n, m, out[0], out[1]}
}

// naivePool is ONNX MaxPool / AveragePool written from the specification.
type naivePool struct {
	kh, kw, sh, sw, dh, dw int
	pads                   [4]int
	ceil, countPad         bool
}

func (p naivePool) outSize(in, pb, pe, k, s, d int) int {
	f := float64(in+pb+pe-((k-1)*d+1))/float64(s) + 1
	if !p.ceil {
		return int(math.Floor(f))
	}
	o := int(math.Ceil(f))
	if (o-1)*s >= in+pb { // the last window would start in the end padding
		o--
	}
	return o
}

// pool returns the output, its shape, and for max pooling the flat argmax of
// every output element (first maximum in row-major window order).
func (p naivePool) pool(max bool, x []float32, xs []int) ([]float32, []int, []int) {
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	oh := p.outSize(h, p.pads[0], p.pads[2], p.kh, p.sh, p.dh)
	ow := p.outSize(w, p.pads[1], p.pads[3], p.kw, p.sw, p.dw)
	y := make([]float32, n*c*oh*ow)
	arg := make([]int, len(y))
	for pl := 0; pl < n*c; pl++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				best, bi := math.Inf(-1), -1
				var sum float64
				var cnt, padCnt int
				for ki := 0; ki < p.kh; ki++ {
					iy := oy*p.sh - p.pads[0] + ki*p.dh
					for kj := 0; kj < p.kw; kj++ {
						ix := ox*p.sw - p.pads[1] + kj*p.dw
						if iy >= -p.pads[0] && iy < h+p.pads[2] && ix >= -p.pads[1] && ix < w+p.pads[3] {
							padCnt++
						}
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue
						}
						idx := (pl*h+iy)*w + ix
						v := float64(x[idx])
						cnt++
						sum += v
						if bi < 0 || v > best {
							best, bi = v, idx
						}
					}
				}
				o := (pl*oh+oy)*ow + ox
				switch {
				case max:
					y[o], arg[o] = float32(best), bi
				case p.countPad:
					y[o] = float32(sum / float64(padCnt))
				default:
					y[o] = float32(sum / float64(cnt))
				}
			}
		}
	}
	return y, []int{n, c, oh, ow}, arg
}

// grad returns the input gradient of Σ pool(x) ⊙ r.
func (p naivePool) grad(max bool, x []float32, xs []int, r []float32) []float32 {
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	_, ys, arg := p.pool(max, x, xs)
	oh, ow := ys[2], ys[3]
	dx := make([]float64, len(x))
	for pl := 0; pl < n*c; pl++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				o := (pl*oh+oy)*ow + ox
				if max {
					dx[arg[o]] += float64(r[o])
					continue
				}
				var cells []int
				padCnt := 0
				for ki := 0; ki < p.kh; ki++ {
					iy := oy*p.sh - p.pads[0] + ki*p.dh
					for kj := 0; kj < p.kw; kj++ {
						ix := ox*p.sw - p.pads[1] + kj*p.dw
						if iy >= -p.pads[0] && iy < h+p.pads[2] && ix >= -p.pads[1] && ix < w+p.pads[3] {
							padCnt++
						}
						if iy >= 0 && iy < h && ix >= 0 && ix < w {
							cells = append(cells, (pl*h+iy)*w+ix)
						}
					}
				}
				div := float64(len(cells))
				if p.countPad {
					div = float64(padCnt)
				}
				for _, i := range cells {
					dx[i] += float64(r[o]) / div
				}
			}
		}
	}
	out := make([]float32, len(dx))
	for i, v := range dx {
		out[i] = float32(v)
	}
	return out
}
