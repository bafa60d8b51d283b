package gradcam_test

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/torchref"
	"github.com/pgaug/pgaug/trainer/gradcam"
)

// quadrantBatch: image 0 is bright (+1) in its top-right quadrant and
// slightly dark (−0.1) elsewhere; image 1 is dark (−1) in its bottom-left
// quadrant and slightly bright (+0.1) elsewhere.
func quadrantBatch() []float32 {
	x := make([]float32, 2*16*16)
	for y := range 16 {
		for c := range 16 {
			if y < 8 && c >= 8 {
				x[y*16+c] = 1
			} else {
				x[y*16+c] = -0.1
			}
			if y >= 8 && c < 8 {
				x[256+y*16+c] = -1
			} else {
				x[256+y*16+c] = 0.1
			}
		}
	}
	return x
}

func TestQuadrantEvidence(t *testing.T) {
	m := quadrantModel(t)
	before := snapshot(m)
	for _, layer := range []string{"", "feat"} {
		e, err := gradcam.New(m, layer)
		if err != nil {
			t.Fatal(err)
		}
		if layer == "" && e.Layer() != "pooled" {
			t.Fatalf("default layer %q, want %q (the input of GlobalAveragePool)", e.Layer(), "pooled")
		}
		cams, top1, err := e.Maps(quadrantBatch(), 2, 1, 16, 16)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(top1, []int{0, 1}) {
			t.Fatalf("top-1 %v, want [0 1]", top1)
		}
		masks, _, err := e.Masks(quadrantBatch(), 2, 1, 16, 16)
		if err != nil {
			t.Fatal(err)
		}
		for i, inQuadrant := range []func(y, x int) bool{
			func(y, x int) bool { return y < 8 && x >= 8 },
			func(y, x int) bool { return y >= 8 && x < 8 },
		} {
			var in, all float64
			for y := range 16 {
				for x := range 16 {
					v := cams[i*256+y*16+x]
					if v < 0 || v > 1 {
						t.Fatalf("%s image %d: map value %v outside [0, 1]", e.Layer(), i, v)
					}
					all += float64(v)
					if inQuadrant(y, x) {
						in += float64(v)
					}
					want := float32(0)
					if inQuadrant(y, x) {
						want = 1
					}
					if masks[i*256+y*16+x] != want {
						t.Fatalf("%s image %d: mask at (%d,%d) is %v, want %v", e.Layer(), i, y, x, masks[i*256+y*16+x], want)
					}
				}
			}
			if in/all < 0.9 {
				t.Fatalf("%s image %d: %.2f of the map's mass in the evidence quadrant, want ≥ 0.9", e.Layer(), i, in/all)
			}
		}
		e.Close()
	}
	checkUnchanged(t, before, m)
}

func TestZeroCAMIsZeroMap(t *testing.T) {
	e, err := gradcam.New(quadrantModel(t), "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cams, _, err := e.Maps(make([]float32, 16*16), 1, 1, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range cams {
		if v != 0 {
			t.Fatalf("map[%d] = %v for an all-zero activation, want 0", i, v)
		}
	}
}

func TestErrors(t *testing.T) {
	m := quadrantModel(t)
	_, err := gradcam.New(m, "nope")
	if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "feat") || !strings.Contains(err.Error(), "pooled") {
		t.Fatalf("unknown layer: got %v, want an error naming it and listing feat and pooled", err)
	}
	_, err = gradcam.New(m, "flat")
	if err == nil || !strings.Contains(err.Error(), "4-D") {
		t.Fatalf("2-D layer: got %v, want an error asking for a 4-D feature map", err)
	}
	_, err = gradcam.New(m, "x")
	if err == nil {
		t.Fatal("the graph input accepted as a layer")
	}
	e, err := gradcam.New(m, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, _, err := e.Maps(make([]float32, 10), 1, 1, 16, 16); err == nil || !strings.Contains(err.Error(), "256") {
		t.Fatalf("short batch: got %v, want an error naming the 256 values expected", err)
	}
	if _, _, err := e.Maps(nil, 0, 1, 16, 16); err == nil {
		t.Fatal("empty batch accepted")
	}
	if _, _, err := e.Maps(make([]float32, 2*16*16), 1, 2, 16, 16); err == nil {
		t.Fatal("two channels accepted by a one-channel model")
	}
	if err := e.SetThreshold(1.5); err == nil {
		t.Fatal("threshold 1.5 accepted")
	}
	layers, err := gradcam.Layers(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"conv", "feat", "pooled", "gap"}; !slices.Equal(layers, want) {
		t.Fatalf("Layers = %v, want %v", layers, want)
	}
}

// TestBatchAndRepeat: the images of a batch are independent (inference
// mode), repeated calls give bit-identical maps (no gradient accumulates),
// the model's mode is restored and its parameters and BatchNorm statistics
// are untouched.
func TestBatchAndRepeat(t *testing.T) {
	m := zooModel(t, "smallcnn", 4, 3, 16)
	m.SetTraining(true)
	before := snapshot(m)
	e, err := gradcam.New(m, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const n, c, s = 3, 3, 16
	x := make([]float32, n*c*s*s)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	cams, top1, err := e.Maps(x, n, c, s, s)
	if err != nil {
		t.Fatal(err)
	}
	again, top1b, err := e.Maps(x, n, c, s, s)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cams, again) || !slices.Equal(top1, top1b) {
		t.Fatal("a second call on the same batch gives different maps")
	}
	for i := range n {
		one, t1, err := e.Maps(x[i*c*s*s:(i+1)*c*s*s], 1, c, s, s)
		if err != nil {
			t.Fatal(err)
		}
		if t1[0] != top1[i] {
			t.Fatalf("image %d: top-1 %d alone, %d in the batch", i, t1[0], top1[i])
		}
		if d := maxAbsDiff(one, cams[i*s*s:(i+1)*s*s]); d > 1e-5 {
			t.Fatalf("image %d: map alone differs from the batch's by %.3g", i, d)
		}
	}
	if !m.Training() {
		t.Fatal("the model's training mode was not restored")
	}
	checkUnchanged(t, before, m)

	// A frozen copy gives the same maps and does not follow the original.
	fc, err := gradcam.FrozenCopy(m)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := gradcam.New(fc, e.Layer())
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	for _, p := range m.Params {
		clear(p.Value.Data().([]float32))
	}
	cf, _, err := ef.Maps(x, n, c, s, s)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(cf, cams); d > 1e-6 {
		t.Fatalf("frozen copy: maps differ by %.3g", d)
	}
}

// ---------------------------------------------------------------------------
// PyTorch.

// torchAvailable skips the test when Debian's python3-torch is missing.
func torchAvailable(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(torchref.Python); err != nil {
		t.Skipf("PyTorch reference skipped: %s not found (install python3-torch and python3-torchvision)", torchref.Python)
	}
	if out, err := exec.Command(torchref.Python, "-c", "import torch, torchvision, numpy").CombinedOutput(); err != nil {
		t.Skipf("PyTorch reference skipped: %s cannot import torch, torchvision and numpy (install python3-torch and python3-torchvision): %v\n%s", torchref.Python, err, out)
	}
}

func readNPY(t *testing.T, path string) *onnxio.Tensor {
	t.Helper()
	x, err := onnxio.ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestMatchesPyTorch compares maps of seeded torchvision networks (eval
// mode, randomised BatchNorm statistics) with Grad-CAM computed in PyTorch
// with hooks (testdata/gradcam_ref.py).
func TestMatchesPyTorch(t *testing.T) {
	torchAvailable(t)
	if testing.Short() {
		t.Skip("exports torchvision networks with PyTorch (about 10 s)")
	}
	cases := []struct {
		arch              string
		classes, size, bs int
		producer          string // the ONNX op producing the default layer
	}{
		{"resnet18", 5, 96, 3, "Relu"},
		{"densenet121", 3, 64, 2, "Relu"},
	}
	for _, c := range cases {
		t.Run(c.arch, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(torchref.Python, filepath.Join("testdata", "gradcam_ref.py"), c.arch, dir,
				"--classes", strconv.Itoa(c.classes), "--size", strconv.Itoa(c.size), "--batch", strconv.Itoa(c.bs))
			cmd.Env = append(os.Environ(), "PYTHONWARNINGS=ignore")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("PyTorch reference failed: %v\n%s", err, out)
			}
			m, err := importer.ImportFile(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			before := snapshot(m)
			e, err := gradcam.New(m, "")
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if op := producerOp(m, e.Layer()); op != c.producer {
				t.Fatalf("default layer %q is produced by %s, want %s", e.Layer(), op, c.producer)
			}
			x := readNPY(t, filepath.Join(dir, "input.npy"))
			wantTop := readNPY(t, filepath.Join(dir, "top1.npy")).Int64
			wantRaw := readNPY(t, filepath.Join(dir, "raw.npy"))
			wantMaps := readNPY(t, filepath.Join(dir, "maps.npy")).Float32

			raw, hh, ww, top1, err := e.RawMaps(x.Float32, c.bs, 3, c.size, c.size)
			if err != nil {
				t.Fatal(err)
			}
			if hh != int(wantRaw.Dims[1]) || ww != int(wantRaw.Dims[2]) {
				t.Fatalf("layer %q is %d×%d, PyTorch's %v", e.Layer(), hh, ww, wantRaw.Dims)
			}
			for i := range top1 {
				if int64(top1[i]) != wantTop[i] {
					t.Fatalf("top-1 %v, PyTorch %v", top1, wantTop)
				}
			}
			for i := range c.bs {
				k := hh * ww
				if e := relErr(raw[i*k:(i+1)*k], wantRaw.Float32[i*k:(i+1)*k]); e > 1e-4 {
					t.Fatalf("image %d: raw cam relative error %.3g against PyTorch, want ≤ 1e-4", i, e)
				}
			}
			maps, _, err := e.Maps(x.Float32, c.bs, 3, c.size, c.size)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(maps, wantMaps); d > 1e-4 {
				t.Fatalf("scaled maps differ from PyTorch's by %.3g, want ≤ 1e-4", d)
			}
			if c.arch == "resnet18" {
				// layer4.0's output feeds layer4.1's conv1 and its residual
				// Add: its gradient is the sum of both, counted once.
				const mid = "/layer4/layer4.0/relu_1/Relu_output_0"
				em, err := gradcam.New(m, mid)
				if err != nil {
					t.Fatal(err)
				}
				defer em.Close()
				got, _, _, _, err := em.RawMaps(x.Float32, c.bs, 3, c.size, c.size)
				if err != nil {
					t.Fatal(err)
				}
				if e := relErr(got, readNPY(t, filepath.Join(dir, "raw_mid.npy")).Float32); e > 1e-4 {
					t.Fatalf("cam at %s: relative error %.3g against PyTorch, want ≤ 1e-4", mid, e)
				}
			}
			t.Logf("layer %s (%d×%d); raw rel. error %.2g, map abs. error %.2g", e.Layer(), hh, ww, relErr(raw, wantRaw.Float32), maxAbsDiff(maps, wantMaps))
			checkUnchanged(t, before, m)
		})
	}
}

func producerOp(m *importer.Model, value string) string {
	for _, n := range m.Proto.GetGraph().GetNode() {
		if slices.Contains(n.GetOutput(), value) {
			return n.GetOpType()
		}
	}
	return "(none)"
}
