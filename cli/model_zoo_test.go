package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/zoo"
)

// runZoo runs the zoo commands in an app of their own (as "pgaug model"
// runs them once they join that group).
func runZoo(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	app := &cli.App{Name: "pgaug", Commands: withUsageErrors(zooCommands()), Writer: &out, ErrWriter: &errOut,
		ExitErrHandler: func(*cli.Context, error) {}}
	err := app.Run(intersperse(app, append([]string{"pgaug"}, args...)))
	return out.String(), err
}

func exitCode(err error) int {
	if ec, ok := err.(cli.ExitCoder); ok {
		return ec.ExitCode()
	}
	return -1
}

func loadModel(t *testing.T, p string) *onnxpb.ModelProto {
	t.Helper()
	m, err := onnxio.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func shapeOf(vi *onnxpb.ValueInfoProto) string {
	var parts []string
	for _, d := range vi.GetType().GetTensorType().GetShape().GetDim() {
		if p := d.GetDimParam(); p != "" {
			parts = append(parts, p)
		} else {
			parts = append(parts, fmt.Sprint(d.GetDimValue()))
		}
	}
	return strings.Join(parts, "x")
}

func TestModelZooList(t *testing.T) {
	out, err := runZoo("zoo", "--list")
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range zoo.List() {
		if !strings.Contains(out, info.Name) || !strings.Contains(out, fmt.Sprintf("%d parameters", info.Params)) || !strings.Contains(out, info.Input()) {
			t.Errorf("--list lacks %s with %d parameters and its input:\n%s", info.Name, info.Params, out)
		}
	}
	out, err = runZoo("zoo", "--list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Name   string
		Params int64
		Input  string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(got) != len(zoo.Names()) || got[2].Name != "resnet18" || got[2].Params != zoo.List()[2].Params || got[2].Input == "" {
		t.Errorf("JSON list %+v", got)
	}
}

// Flags may follow the network name, as the usage line shows; the file
// holds the asked-for network, and the same seed writes the same bytes.
func TestModelZooWrites(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.onnx"), filepath.Join(dir, "b.onnx")
	for _, p := range []string{a, b} {
		out, err := runZoo("zoo", "smallcnn", "--classes", "3", "--in-channels", "1", "--size", "16", "--seed", "4", "-o", p)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := zoo.ParamCount("smallcnn", zoo.Options{Classes: 3, InChannels: 1})
		if !strings.Contains(out, fmt.Sprintf("wrote %s: smallcnn, %d parameters", p, n)) || !strings.Contains(out, "seed 4") {
			t.Errorf("output %q", out)
		}
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ba) == 0 || !bytes.Equal(ba, bb) {
		t.Fatal("two runs with seed 4 wrote different files")
	}
	m := loadModel(t, a)
	if in, out := shapeOf(m.GetGraph().GetInput()[0]), shapeOf(m.GetGraph().GetOutput()[0]); in != "Nx1x16x16" || out != "Nx3" {
		t.Errorf("input %s, output %s", in, out)
	}
	want, err := zoo.Build("smallcnn", zoo.Options{Classes: 3, InChannels: 1, Size: 16, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := loadModel(t, a); len(got.GetGraph().GetInitializer()) != len(want.GetGraph().GetInitializer()) ||
		!bytes.Equal(got.GetGraph().GetInitializer()[0].GetRawData(), want.GetGraph().GetInitializer()[0].GetRawData()) {
		t.Error("the file's weights are not zoo.Build's")
	}
}

func TestModelHead(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.onnx"), filepath.Join(dir, "out.onnx")
	if _, err := runZoo("zoo", "resnet10t", "--classes", "5", "--size", "32", "-o", in); err != nil {
		t.Fatal(err)
	}
	stdout, err := runZoo("head", in, "--classes", "2", "--in-channels", "1", "--channel-mode", "mean", "--seed", "3", "-o", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fresh 512→2 layer (seed 3; was 5 classes)", "from 3 to 1 input channels (mean of the filters)", "ONNX Runtime agrees", "wrote:     " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	m := loadModel(t, out)
	if i, o := shapeOf(m.GetGraph().GetInput()[0]), shapeOf(m.GetGraph().GetOutput()[0]); i != "Nx1x32x32" || o != "Nx2" {
		t.Errorf("input %s, output %s", i, o)
	}
}

// --freeze is repeatable and keeps commas (a regular expression may hold
// one); the patterns land in the metadata.
func TestModelConvertFreeze(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.onnx"), filepath.Join(dir, "out.onnx")
	if _, err := runZoo("zoo", "smallcnn", "--size", "8", "-o", in); err != nil {
		t.Fatal(err)
	}
	pats := []string{"conv1.*", `re:^conv[1,2]\.weight$`}
	stdout, err := runZoo("convert", in, "--freeze", pats[0], "--freeze", pats[1], "--ort", "off", "-o", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "pgaug.freeze") || !strings.Contains(stdout, "matches 2 of") {
		t.Errorf("output:\n%s", stdout)
	}
	got, err := modelops.FreezePatterns(loadModel(t, out))
	if err != nil || !slices.Equal(got, pats) {
		t.Fatalf("recorded %q, %v; want %q", got, err, pats)
	}
}

func TestModelZooCommandErrors(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.onnx")
	if _, err := runZoo("zoo", "smallcnn", "--size", "8", "-o", model); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.onnx")
	for _, c := range []struct {
		args []string
		code int // 2: usage error; -1: an ordinary error
		want string
	}{
		{[]string{"zoo", "resnet18"}, 2, "-o FILE.onnx is required"},
		{[]string{"zoo"}, 2, "want one network name"},
		{[]string{"zoo", "resnet19", "-o", out}, -1, `no network "resnet19"`},
		{[]string{"zoo", "ternausnet11", "--size", "40", "-o", out}, -1, "not a multiple of 32"},
		{[]string{"zoo", "smallcnn", "--bogus", "1", "-o", out}, 2, "flag provided but not defined: -bogus"},
		{[]string{"head", model, "-o", out}, 2, "--classes N (at least 1) is required"},
		{[]string{"head", model, "--classes", "2", "--channel-mode", "avg", "-o", out}, 2, `channel mode "avg"`},
		{[]string{"convert", model, "--freeze", "features.*", "-o", out}, -1, `pattern "features.*" matches no parameter`},
		{[]string{"convert", model, "--ort", "maybe", "-o", out}, 2, "--ort"},
		{[]string{"convert", "-o", out}, 2, "want one model file"},
	} {
		_, err := runZoo(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != c.code {
			t.Errorf("%v: error %v (exit code %d), want one containing %q with code %d", c.args, err, exitCode(err), c.want, c.code)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed command wrote %s", out)
	}
}
