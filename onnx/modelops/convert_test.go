package modelops_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/zoo"
)

func saveZoo(t *testing.T, name string, o zoo.Options) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".onnx")
	if err := onnxio.Save(p, buildZoo(t, name, o)); err != nil {
		t.Fatal(err)
	}
	return p
}

// Convert: a 3-channel, 4-class ResNet-10-T becomes a 1-channel, 2-class one
// with freeze patterns recorded; the file imports, the patterns apply, and
// ONNX Runtime agrees with gorgonia on it.
func TestConvert(t *testing.T) {
	in := saveZoo(t, "resnet10t", zoo.Options{Classes: 4, Size: 32, Seed: 2})
	out := filepath.Join(t.TempDir(), "out.onnx")
	freeze := []string{"conv1.*", "re:^layer1\\."}
	r, err := modelops.Convert(in, out, modelops.ConvertOptions{
		Classes: 2, Seed: 3, InChannels: 1, Freeze: freeze,
		Verify: modelops.VerifyOptions{ORT: modelops.ORTRequire},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Head == nil || r.Head.NewClasses != 2 || r.Channels == nil || r.Channels.To != 1 || r.Output != out {
		t.Fatalf("report %+v", r)
	}
	// 1e-4: two float32 evaluations of a ResNet-10-T differ by rounding by
	// under 1e-5 whatever the CPU (see VerifyOptions.Tolerance).
	if !r.Verified.ORTChecked || r.Verified.ORTRelErr > 1e-4 || !slices.Equal(r.Verified.OutputShape, []int{2, 2}) ||
		!slices.Equal(r.Verified.InputShape, []int{2, 1, 32, 32}) {
		t.Fatalf("verification %+v", r.Verified)
	}
	if !slices.Equal(r.Inputs, []string{"input [N×1×32×32]"}) || !slices.Equal(r.Outputs, []string{"logits [N×2]"}) {
		t.Errorf("inputs %v outputs %v", r.Inputs, r.Outputs)
	}
	m, err := onnxio.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	pats, err := modelops.FreezePatterns(m)
	if err != nil || !slices.Equal(pats, freeze) {
		t.Fatalf("recorded patterns %q, %v", pats, err)
	}
	im, err := importer.Import(m, importer.Options{Source: out})
	if err != nil {
		t.Fatal(err)
	}
	n, err := im.Freeze(pats...)
	if err != nil || n != r.Frozen || n == 0 {
		t.Fatalf("freezing the converted model: %d (report %d), %v", n, r.Frozen, err)
	}
	for _, p := range im.Params {
		frozen := strings.HasPrefix(p.Name, "conv1.") || strings.HasPrefix(p.Name, "layer1.")
		if p.Trainable == frozen {
			t.Errorf("%s: trainable %v", p.Name, p.Trainable)
		}
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"adapted the first convolution", "from 3 to 1 input channels", "fresh 512→2 layer", "pgaug.freeze", "ONNX Runtime agrees", "wrote:     " + out} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
}

// Failures leave the output file alone and say what is wrong.
func TestConvertErrors(t *testing.T) {
	in := saveZoo(t, "smallcnn", zoo.Options{Classes: 3, Size: 8})
	out := filepath.Join(t.TempDir(), "out.onnx")
	if err := os.WriteFile(out, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts modelops.ConvertOptions
		want string
	}{
		{modelops.ConvertOptions{Freeze: []string{"features.*"}}, `pattern "features.*" matches no parameter`},
		{modelops.ConvertOptions{Classes: -2}, "want positive values"},
		{modelops.ConvertOptions{InChannels: 1, ChannelMode: "avg"}, `channel mode "avg"`},
		{modelops.ConvertOptions{Verify: modelops.VerifyOptions{ORT: "sometimes"}}, `ONNX Runtime check "sometimes"`},
	} {
		_, err := modelops.Convert(in, out, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), in) {
			t.Errorf("%+v: error %v, want one naming %s and containing %q", c.opts, err, in, c.want)
		}
		if b, _ := os.ReadFile(out); string(b) != "previous" {
			t.Fatalf("%+v: a failed conversion overwrote the output", c.opts)
		}
	}
	if _, err := modelops.Convert(filepath.Join(t.TempDir(), "missing.onnx"), out, modelops.ConvertOptions{}); err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("missing input: %v", err)
	}
	// A model the importer does not support fails before anything else.
	b := onnxio.NewGraphBuilder("g")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 4)
	b.AddNode("Einsum", []string{"x"}, []string{"y"}, onnxio.AttrString("equation", "ni->n"))
	b.AddOutput("y", onnxio.DTypeFloat32, "N")
	_, _, err := modelops.ConvertModel(mustModel(t, b), "einsum.onnx", modelops.ConvertOptions{Classes: 2})
	if err == nil || !strings.Contains(err.Error(), "does not import") || !strings.Contains(err.Error(), "Einsum") {
		t.Errorf("unsupported operator: %v", err)
	}
}

// Converting in place replaces the file atomically with the converted model.
func TestConvertInPlace(t *testing.T) {
	p := saveZoo(t, "smallcnn", zoo.Options{Classes: 3, Size: 8})
	if _, err := modelops.Convert(p, p, modelops.ConvertOptions{Classes: 5, Verify: modelops.VerifyOptions{ORT: modelops.ORTOff}}); err != nil {
		t.Fatal(err)
	}
	m, err := onnxio.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := dims(m.GetGraph().GetOutput()[0]); !slices.Equal(d, []int64{-1, 5}) {
		t.Fatalf("output dims %v after converting in place", d)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the model (no temporary files)", len(entries))
	}
}

// Verify catches a model whose forward pass is not finite.
func TestVerifyNonFinite(t *testing.T) {
	b := onnxio.NewGraphBuilder("g")
	b.AddInput("x", onnxio.DTypeFloat32, "N", 8)
	b.AddNode("Relu", []string{"x"}, []string{"r"})
	b.AddNode("Log", []string{"r"}, []string{"y"})
	b.AddOutput("y", onnxio.DTypeFloat32, "N", 8)
	_, err := modelops.Verify(mustModel(t, b), modelops.VerifyOptions{Source: "log.onnx", ORT: modelops.ORTOff})
	if err == nil || !strings.Contains(err.Error(), "log.onnx") || !strings.Contains(err.Error(), "-Inf") {
		t.Fatalf("error %v, want one naming the model and the -Inf output", err)
	}
}

func TestFreezePatternsMetadata(t *testing.T) {
	m := &onnxpb.ModelProto{}
	modelops.SetFreezePatterns(m, []string{"a.*", "re:b,c"})
	modelops.SetFreezePatterns(m, []string{"x.*"})
	if len(m.GetMetadataProps()) != 1 {
		t.Fatalf("metadata %v", m.GetMetadataProps())
	}
	got, err := modelops.FreezePatterns(m)
	if err != nil || !slices.Equal(got, []string{"x.*"}) {
		t.Fatalf("%q %v", got, err)
	}
	modelops.SetFreezePatterns(m, nil)
	if got, err := modelops.FreezePatterns(m); got != nil || err != nil || len(m.GetMetadataProps()) != 0 {
		t.Fatalf("after clearing: %q %v %v", got, err, m.GetMetadataProps())
	}
	m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(modelops.MetaFreeze), Value: proto.String("conv1.*")})
	if _, err := modelops.FreezePatterns(m); err == nil || !strings.Contains(err.Error(), "JSON array") {
		t.Fatalf("malformed entry: %v", err)
	}
}

func TestLoadWeights(t *testing.T) {
	src := buildZoo(t, "smallcnn", zoo.Options{Classes: 3, Size: 8, Seed: 1})
	dst := buildZoo(t, "smallcnn", zoo.Options{Classes: 5, Size: 8, Seed: 2})
	before := proto.Clone(dst)
	_, err := modelops.LoadWeights(dst, src, true)
	if err == nil || !strings.Contains(err.Error(), "fc.weight: [3 64] in the source, [5 64] here") {
		t.Fatalf("strict load with another head: %v", err)
	}
	if !proto.Equal(before, dst) {
		t.Fatal("a failed strict load changed the model")
	}
	r, err := modelops.LoadWeights(dst, src, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Mismatched) != 2 || len(r.Missing) != 0 || len(r.Unused) != 0 || len(r.Loaded) != len(dst.GetGraph().GetInitializer())-2 {
		t.Fatalf("report %+v", r)
	}
	a, _ := initializer(t, dst, "conv2.weight")
	b, _ := initializer(t, src, "conv2.weight")
	c, _ := initializer(t, dst, "fc.weight")
	d, _ := initializer(t, before.(*onnxpb.ModelProto), "fc.weight")
	if !slices.Equal(a, b) || !slices.Equal(c, d) {
		t.Fatal("conv2.weight not loaded, or fc.weight overwritten")
	}
}

// Malformed models give errors, never panics.
func TestMalformedModels(t *testing.T) {
	noInputs := &onnxpb.ModelProto{Graph: &onnxpb.GraphProto{
		Node: []*onnxpb.NodeProto{
			{OpType: proto.String("Identity"), Output: []string{"y"}},
			{OpType: proto.String("MatMul"), Input: []string{"x"}, Output: []string{"z"}},
		},
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
	}}
	matmulOut := proto.Clone(noInputs).(*onnxpb.ModelProto)
	matmulOut.Graph.Output[0].Name = proto.String("z")
	for i, m := range []*onnxpb.ModelProto{nil, {}, noInputs, matmulOut} {
		if _, err := modelops.ReplaceHead(m, 2, 0); err == nil {
			t.Errorf("model %d: ReplaceHead accepted it", i)
		}
		if _, err := modelops.AdaptInputChannels(m, 1, modelops.ChannelSum); err == nil {
			t.Errorf("model %d: AdaptInputChannels accepted it", i)
		}
		if _, err := modelops.Verify(m, modelops.VerifyOptions{ORT: modelops.ORTOff}); err == nil {
			t.Errorf("model %d: Verify accepted it", i)
		}
		if _, err := modelops.LoadWeights(m, m, true); err == nil && m.GetGraph() == nil {
			t.Errorf("model %d: LoadWeights accepted a model without a graph", i)
		}
	}
}
