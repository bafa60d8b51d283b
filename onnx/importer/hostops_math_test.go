package importer

import (
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

func hostNode(op string, inputs ...string) *nodeCtx {
	return newNodeCtx(&onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(op + "_test"), Input: inputs, Output: []string{"y"}}, 0, 13)
}

func runHost(t *testing.T, op string, in ...*hostTensor) *hostTensor {
	t.Helper()
	names := make([]string, len(in))
	for i := range names {
		names[i] = string(rune('a' + i))
	}
	out, err := hostOps[op](hostNode(op, names...), in)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out[0]
}

func ints(v ...int64) *hostTensor { return newIntHost([]int{len(v)}, v) }

func floats(v ...float32) *hostTensor { return newFloatHost([]int{len(v)}, v) }

// Integer Min, Max and Abs are exact over the whole int64 range (float64
// would turn INT64_MAX, a common Slice end, into 2^63, which int64 cannot
// hold).
func TestHostIntegerMathIsExact(t *testing.T) {
	big := int64(math.MaxInt64)
	if got := runHost(t, "Max", ints(big, 5, math.MinInt64), ints(big-1, 7, math.MinInt64+1)); !slices.Equal(got.i, []int64{big, 7, math.MinInt64 + 1}) || got.isFloat {
		t.Errorf("Max = %v (float %v)", got.i, got.isFloat)
	}
	if got := runHost(t, "Min", ints(big, 5), ints(big-1, 7), newIntHost(nil, []int64{6})); !slices.Equal(got.i, []int64{6, 5}) {
		t.Errorf("Min = %v", got.i)
	}
	if got := runHost(t, "Min", ints(big, -3)); !slices.Equal(got.i, []int64{big, -3}) {
		t.Errorf("Min of one input = %v", got.i)
	}
	if got := runHost(t, "Abs", ints(-big, 4, 0, math.MinInt64)); !slices.Equal(got.i, []int64{big, 4, 0, math.MinInt64}) {
		t.Errorf("Abs = %v", got.i)
	}
}

// Pow's result has the base's type (opset 12 on allows another exponent type).
func TestHostPowTypes(t *testing.T) {
	got := runHost(t, "Pow", ints(3, -2, 2, 1, -1, -1, 5, 2), ints(4, 3, -1, -5, -3, -2, 0, 62))
	if want := []int64{81, -8, 0, 1, -1, 1, 1, 1 << 62}; got.isFloat || !slices.Equal(got.i, want) {
		t.Errorf("int^int = %v, want %v", got.i, want)
	}
	got = runHost(t, "Pow", ints(2, 3, 10), floats(0.5, 2, -1))
	if want := []int64{1, 9, 0}; got.isFloat || !slices.Equal(got.i, want) {
		t.Errorf("int^float = %v, want %v (truncated)", got.i, want)
	}
	got = runHost(t, "Pow", floats(-2, 0, 4, -8), ints(3, 0, -1, 2))
	if want := []float32{-8, 1, 0.25, 64}; !got.isFloat || !slices.Equal(got.f, want) {
		t.Errorf("float^int = %v, want %v", got.f, want)
	}
	// Broadcasting: (2, 1) ^ (3).
	got = runHost(t, "Pow", newFloatHost([]int{2, 1}, []float32{2, 3}), floats(0, 1, 2))
	if want := []float32{1, 2, 4, 1, 3, 9}; !slices.Equal(got.shape, []int{2, 3}) || !slices.Equal(got.f, want) {
		t.Errorf("(2,1)^(3) = %v %v, want (2, 3) %v", got.shape, got.f, want)
	}
	if _, err := hostOps["Pow"](hostNode("Pow", "a", "b"), []*hostTensor{ints(0), ints(-1)}); err == nil || !strings.Contains(err.Error(), "negative power") {
		t.Errorf("0^-1 in integers: %v", err)
	}
}

func TestHostFloatMath(t *testing.T) {
	nan := float32(math.NaN())
	got := runHost(t, "Max", floats(nan, 1, 2), floats(1, nan, 1))
	if !(got.f[0] != got.f[0] && got.f[1] != got.f[1] && got.f[2] == 2) {
		t.Errorf("Max with NaN = %v, want NaN NaN 2", got.f)
	}
	got = runHost(t, "Min", floats(nan, 1, 2), floats(1, nan, 1))
	if !(got.f[0] != got.f[0] && got.f[1] != got.f[1] && got.f[2] == 1) {
		t.Errorf("Min with NaN = %v, want NaN NaN 1", got.f)
	}
	// Mixed types (not valid ONNX, which wants one type) give float32.
	if got := runHost(t, "Max", ints(1, 5), floats(2.5, 0)); !got.isFloat || !slices.Equal(got.f, []float32{2.5, 5}) {
		t.Errorf("Max(int, float) = %v", got)
	}
	if got := runHost(t, "Reciprocal", floats(2, -4, 0)); !slices.Equal(got.f, []float32{0.5, -0.25, float32(math.Inf(1))}) {
		t.Errorf("Reciprocal = %v", got.f)
	}
	if got := runHost(t, "Erf", floats(0, 0.5, -3)); !slices.Equal(got.f, []float32{0, float32(math.Erf(0.5)), float32(math.Erf(-3))}) {
		t.Errorf("Erf = %v", got.f)
	}
	// Integer Erf truncates (NumPy's astype).
	if got := runHost(t, "Erf", ints(0, 1, 6, -6)); !slices.Equal(got.i, []int64{0, 0, 1, -1}) {
		t.Errorf("Erf of integers = %v", got.i)
	}
}
