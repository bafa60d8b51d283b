package gradcam_test

import (
	"encoding/json"
	"math"
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

func readNPY(t *testing.T, path string) *onnxio.Tensor {
	t.Helper()
	x, err := onnxio.ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func readFloat64s(t *testing.T, path string) []float64 {
	t.Helper()
	x, err := torchref.ReadFloat64s(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// camDeviation is testdata/gradcam_ref.py's float32_deviation.json: the
// largest deviations of float64 runs under float32 probes (see
// torchref.Deviation), per image and relative for logits and raw cams,
// absolute for the maps in [0, 1].
type camDeviation struct {
	UnitRoundoff float64 `json:"unit_roundoff"`
	Probes       int     `json:"probes"`
	Logits       float64 `json:"logits"`
	Raw          float64 `json:"raw"`
	RawMid       float64 `json:"raw_mid"`
	Maps         float64 `json:"maps"`
	Top1Changed  bool    `json:"top1_changed"`
	Top1Margin   float64 `json:"top1_margin"`
}

// TestMatchesPyTorch compares maps of seeded torchvision networks (eval
// mode, randomised BatchNorm statistics) with Grad-CAM computed in PyTorch
// in float64 with hooks (testdata/gradcam_ref.py), within
// torchref.Tolerance of what float32 probes of the same computation deviate.
func TestMatchesPyTorch(t *testing.T) {
	torchref.Require(t)
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
			js, err := os.ReadFile(filepath.Join(dir, "float32_deviation.json"))
			if err != nil {
				t.Fatal(err)
			}
			var dev camDeviation
			if err := json.Unmarshal(js, &dev); err != nil {
				t.Fatal(err)
			}
			if dev.UnitRoundoff != torchref.U || dev.Probes < 2 {
				t.Fatalf("float32_deviation.json: unit roundoff %g, %d probes", dev.UnitRoundoff, dev.Probes)
			}
			// The comparison needs classes that float32 cannot swap.
			if dev.Top1Changed || dev.Top1Margin <= 2*torchref.Tolerance(dev.Logits) {
				t.Fatalf("ill-conditioned reference: the top-1 logit leads by %.3g (relative), float32 probes deviate by %.3g and changed a top-1 class: %v; pick another seed",
					dev.Top1Margin, dev.Logits, dev.Top1Changed)
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
			wantRawT := readNPY(t, filepath.Join(dir, "raw.npy"))
			wantRaw := readFloat64s(t, filepath.Join(dir, "raw.npy"))
			wantMaps := readFloat64s(t, filepath.Join(dir, "maps.npy"))

			raw, hh, ww, top1, err := e.RawMaps(x.Float32, c.bs, 3, c.size, c.size)
			if err != nil {
				t.Fatal(err)
			}
			if hh != int(wantRawT.Dims[1]) || ww != int(wantRawT.Dims[2]) {
				t.Fatalf("layer %q is %d×%d, PyTorch's %v", e.Layer(), hh, ww, wantRawT.Dims)
			}
			for i := range top1 {
				if int64(top1[i]) != wantTop[i] {
					t.Fatalf("top-1 %v, PyTorch %v", top1, wantTop)
				}
			}
			k := hh * ww
			worstRaw := 0.0
			for i := range c.bs {
				re := torchref.RelErr(raw[i*k:(i+1)*k], wantRaw[i*k:(i+1)*k])
				if re > torchref.Tolerance(dev.Raw) {
					t.Fatalf("image %d: raw cam relative error %.3g against PyTorch in float64; %s", i, re, torchref.Explain(dev.Raw))
				}
				worstRaw = max(worstRaw, re)
			}
			maps, _, err := e.Maps(x.Float32, c.bs, 3, c.size, c.size)
			if err != nil {
				t.Fatal(err)
			}
			// Maps are in [0, 1]: the tolerance is absolute, and the float32
			// bilinear up-sampling of the cams adds (4·side + 15)·u relative
			// to the cam's range (see noisemask's bilinearTol).
			mapTol := torchref.Tolerance(dev.Maps) + float64(4*max(hh, ww)+15)*torchref.U/(1-torchref.Tolerance(dev.Raw))
			d := 0.0
			for i, w := range wantMaps {
				d = max(d, math.Abs(float64(maps[i])-w))
			}
			if d > mapTol {
				t.Fatalf("scaled maps differ from PyTorch's (float64) by %.3g, tolerance %.3g (%s, plus the bilinear up-sampling's)", d, mapTol, torchref.Explain(dev.Maps))
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
				wantMid := readFloat64s(t, filepath.Join(dir, "raw_mid.npy"))
				km := len(wantMid) / c.bs
				for i := range c.bs {
					if re := torchref.RelErr(got[i*km:(i+1)*km], wantMid[i*km:(i+1)*km]); re > torchref.Tolerance(dev.RawMid) {
						t.Fatalf("cam at %s, image %d: relative error %.3g against PyTorch in float64; %s", mid, i, re, torchref.Explain(dev.RawMid))
					}
				}
			}
			t.Logf("layer %s (%d×%d); raw rel. error %.2g (%.2f of its %s); map abs. error %.2g (tolerance %.2g)",
				e.Layer(), hh, ww, worstRaw, worstRaw/torchref.Tolerance(dev.Raw), torchref.Explain(dev.Raw), d, mapTol)
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
