package modelops_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/torchref"
	"github.com/pgaug/pgaug/onnx/zoo"
)

// replicate copies each sample's single plane into c channels.
func replicate(gray []float32, n, c, plane int) []float32 {
	out := make([]float32, 0, n*c*plane)
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			out = append(out, gray[i*plane:(i+1)*plane]...)
		}
	}
	return out
}

// With "sum", a 1- or 2-channel ResNet-10-T adapted from the RGB one gives
// for a gray image exactly what the RGB network gives for that image
// replicated to RGB: the whole network's output, BatchNorm and all.
func TestAdaptInputChannelsSumPreservesGrayResponse(t *testing.T) {
	rgb := buildZoo(t, "resnet10t", zoo.Options{Classes: 4, Size: 32, Seed: 5})
	const n, plane = 2, 32 * 32
	gray := normal(7, n*plane)
	want := forward(t, rgb, []int{n, 3, 32, 32}, replicate(gray, n, 3, plane)).Data().([]float32)
	for _, c := range []int{1, 2} {
		m := proto.Clone(rgb).(*onnxpb.ModelProto)
		ch, err := modelops.AdaptInputChannels(m, c, modelops.ChannelSum)
		if err != nil {
			t.Fatal(err)
		}
		if !ch.Changed || ch.From != 3 || ch.To != int64(c) || ch.Weight != "conv1.0.weight" || ch.Input != "input" {
			t.Fatalf("report %+v", ch)
		}
		if d := dims(m.GetGraph().GetInput()[0]); !slices.Equal(d, []int64{-1, int64(c), 32, 32}) {
			t.Fatalf("input dims %v", d)
		}
		got := forward(t, m, []int{n, c, 32, 32}, replicate(gray, n, c, plane)).Data().([]float32)
		var worst float64
		for i := range want {
			worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > 1e-4 {
			t.Errorf("%d channels: output differs from the RGB network's by %.3g", c, worst)
		}
	}
}

// convOnly is y = Conv(x, w) with a bias, a 3-channel 3×3 filter bank.
func convOnly(t *testing.T) *onnxpb.ModelProto {
	b := onnxio.NewGraphBuilder("conv")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 3, 6, 6)
	b.AddInitializer(onnxio.Float32Tensor("w", []int64{4, 3, 3, 3}, normal(1, 108)))
	b.AddInitializer(onnxio.Float32Tensor("b", []int64{4}, make([]float32, 4)))
	b.AddNode("Conv", []string{"x", "w", "b"}, []string{"y"}, onnxio.AttrInts("pads", 1, 1, 1, 1))
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 4, 6, 6)
	return mustModel(t, b)
}

// "mean" gives every channel the mean filter: the response to a gray image
// is the RGB response scaled by 1/3, and the filter is (R+G+B)/3.
func TestAdaptInputChannelsMean(t *testing.T) {
	rgb := convOnly(t)
	m := proto.Clone(rgb).(*onnxpb.ModelProto)
	if _, err := modelops.AdaptInputChannels(m, 1, modelops.ChannelMean); err != nil {
		t.Fatal(err)
	}
	w0, _ := initializer(t, rgb, "w")
	w1, d := initializer(t, m, "w")
	if !slices.Equal(d, []int64{4, 1, 3, 3}) {
		t.Fatalf("weight dims %v", d)
	}
	for o := 0; o < 4; o++ {
		for k := 0; k < 9; k++ {
			want := (w0[o*27+k] + w0[o*27+9+k] + w0[o*27+18+k]) / 3
			if math.Abs(float64(w1[o*9+k]-want)) > 1e-6 {
				t.Fatalf("filter %d tap %d: %v, want the mean %v", o, k, w1[o*9+k], want)
			}
		}
	}
	gray := normal(2, 36)
	ref := forward(t, rgb, []int{1, 3, 6, 6}, replicate(gray, 1, 3, 36)).Data().([]float32)
	got := forward(t, m, []int{1, 1, 6, 6}, gray).Data().([]float32)
	for i := range ref {
		if math.Abs(float64(got[i]-ref[i]/3)) > 1e-5 {
			t.Fatalf("response %d: %v, want a third of %v", i, got[i], ref[i])
		}
	}
}

func TestAdaptInputChannelsNoOpAndConstantWeight(t *testing.T) {
	m := convOnly(t)
	before := proto.Clone(m)
	ch, err := modelops.AdaptInputChannels(m, 3, modelops.ChannelSum)
	if err != nil || ch.Changed || !proto.Equal(before, m) {
		t.Fatalf("3 → 3 channels: %+v, %v; model changed: %v", ch, err, !proto.Equal(before, m))
	}

	// The weight held by a Constant node instead of an initializer.
	b := onnxio.NewGraphBuilder("conv")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 3, 4, 4)
	wt := onnxio.Float32Tensor("", []int64{2, 3, 1, 1}, []float32{1, 2, 3, 4, 5, 6})
	b.AddNode("Constant", nil, []string{"w"}, onnxio.AttrTensor("value", wt))
	b.AddNode("Conv", []string{"x", "w"}, []string{"y"})
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 2, 4, 4)
	cm := mustModel(t, b)
	if _, err := modelops.AdaptInputChannels(cm, 1, modelops.ChannelSum); err != nil {
		t.Fatal(err)
	}
	v, err := onnxio.ConstantValue(cm.GetGraph().GetNode()[0])
	if err != nil {
		t.Fatal(err)
	}
	got, d, _ := onnxio.TensorToFloat32(v)
	if !slices.Equal(d, []int64{2, 1, 1, 1}) || !slices.Equal(got, []float32{6, 15}) {
		t.Fatalf("Constant weight now %v %v, want [2 1 1 1] [6 15]", d, got)
	}
}

func TestAdaptInputChannelsErrors(t *testing.T) {
	twoReaders := func() *onnxpb.ModelProto {
		b := onnxio.NewGraphBuilder("g")
		b.AddInput("x", onnxio.DTypeFloat32, "N", 3, 4, 4)
		b.AddInitializer(onnxio.Float32Tensor("w", []int64{2, 3, 1, 1}, normal(1, 6)))
		b.AddNode("Conv", []string{"x", "w"}, []string{"y"})
		b.AddNode("Relu", []string{"x"}, []string{"r"})
		b.AddOutput("y", onnxio.DTypeFloat32, "N", 2, 4, 4)
		b.AddOutput("r", onnxio.DTypeFloat32, "N", 3, 4, 4)
		return mustModel(t, b)
	}
	grouped := func() *onnxpb.ModelProto {
		b := onnxio.NewGraphBuilder("g")
		b.AddInput("x", onnxio.DTypeFloat32, "N", 3, 4, 4)
		b.AddInitializer(onnxio.Float32Tensor("w", []int64{3, 1, 1, 1}, normal(1, 3)))
		b.AddNode("Conv", []string{"x", "w"}, []string{"y"}, onnxio.AttrInt("group", 3))
		b.AddOutput("y", onnxio.DTypeFloat32, "N", 3, 4, 4)
		return mustModel(t, b)
	}
	for _, c := range []struct {
		what string
		m    *onnxpb.ModelProto
		c    int
		mode modelops.ChannelMode
		want string
	}{
		{"input read twice", twoReaders(), 1, modelops.ChannelSum, `input "x" is read by [node "Conv_1" (Conv) node "Relu_1" (Relu)]`},
		{"grouped conv", grouped(), 1, modelops.ChannelSum, "group=3"},
		{"bad mode", convOnly(t), 1, "median", `channel mode "median"`},
		{"zero channels", convOnly(t), 0, modelops.ChannelSum, "0 channels"},
	} {
		before := proto.Clone(c.m)
		_, err := modelops.AdaptInputChannels(c.m, c.c, c.mode)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.what, err, c.want)
		}
		if !proto.Equal(before, c.m) {
			t.Errorf("%s: the model was changed", c.what)
		}
	}
}

// scripts/export_pretrained.py --in-channels 1 builds the RGB network and
// averages its first filters times 3/C: the same as ChannelSum. Adapting
// the script's RGB export must give its 1-channel export.
func TestAdaptInputChannelsMatchesExportScript(t *testing.T) {
	torchref.Require(t)
	root, err := torchref.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	export := func(ch int) *onnxpb.ModelProto {
		p, _, err := torchref.Export(root, t.TempDir(), "resnet18", 3, ch, 32, 1, 0)
		if err != nil {
			t.Fatalf("exporting with PyTorch: %v", err)
		}
		m, err := onnxio.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	rgb, gray := export(3), export(1)
	rgbSD, err := modelops.StateDict(rgb)
	if err != nil {
		t.Fatal(err)
	}
	rgbConv1 := append([]float32(nil), rgbSD["conv1.weight"].Float32...)
	ch, err := modelops.AdaptInputChannels(rgb, 1, modelops.ChannelSum)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Weight != "conv1.weight" {
		t.Fatalf("adapted %q", ch.Weight)
	}
	want, err := modelops.StateDict(gray)
	if err != nil {
		t.Fatal(err)
	}
	got, err := modelops.StateDict(rgb)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		g := got[name]
		if g == nil || !slices.Equal(g.Dims, w.Dims) {
			t.Fatalf("%s: %v after adapting, the script's 1-channel export has %v", name, g, w.Dims)
		}
		for i := range w.Float32 {
			// Every tensor but the adapted filter is copied: bit for bit.
			// The filter's taps are (r+g+b)/C for the RGB taps r, g, b,
			// rounded by both sides: by PyTorch's float32 mean and scaling
			// (four roundings, γ₄) and by AdaptInputChannels (at most three),
			// so they differ by at most 7u·(|r|+|g|+|b|)/C.
			tol := 0.0
			if name == "conv1.weight" {
				const c = 1
				o, k := i/(c*49), i%49 // 64×1×7×7 from 64×3×7×7
				var abs float64
				for ci := 0; ci < 3; ci++ {
					abs += math.Abs(float64(rgbConv1[o*3*49+ci*49+k]))
				}
				tol = 7 * torchref.U * abs / c
			}
			if d := math.Abs(float64(g.Float32[i]) - float64(w.Float32[i])); d > tol {
				t.Fatalf("%s[%d]: %v, the script's %v (difference %.3g, tolerance %.3g)", name, i, g.Float32[i], w.Float32[i], d, tol)
			}
		}
	}
	if d := dims(rgb.GetGraph().GetInput()[0]); !slices.Equal(d, dims(gray.GetGraph().GetInput()[0])) {
		t.Errorf("input dims %v, the script's %v", d, dims(gray.GetGraph().GetInput()[0]))
	}

	// The PyTorch export's head is replaced as a zoo model's is, and the
	// result runs alike in gorgonia and ONNX Runtime.
	h, err := modelops.ReplaceHead(rgb, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if h.Weight != "fc.weight" || h.Bias != "fc.bias" || h.OldClasses != 3 || h.InFeatures != 512 {
		t.Fatalf("head %+v", h)
	}
	v, err := modelops.Verify(rgb, modelops.VerifyOptions{ORT: modelops.ORTRequire})
	if err != nil {
		t.Fatal(err)
	}
	if !v.ORTChecked || !slices.Equal(v.OutputShape, []int{2, 2}) || !slices.Equal(v.InputShape, []int{2, 1, 32, 32}) {
		t.Fatalf("verification %+v", v)
	}
}
