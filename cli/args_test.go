package cli

import (
	"io"
	"reflect"
	"testing"
)

func TestIntersperseMovesTrailingFlags(t *testing.T) {
	app := NewApp(io.Discard, io.Discard)
	cases := []struct{ in, want []string }{
		{[]string{"pgaug", "model", "verify", "m.onnx", "--tol", "1e-5", "--input", "x.npy"},
			[]string{"pgaug", "model", "verify", "--tol", "1e-5", "--input", "x.npy", "m.onnx"}},
		{[]string{"pgaug", "--ort-lib", "/x.so", "model", "roundtrip", "a.onnx", "-o", "b.onnx"},
			[]string{"pgaug", "--ort-lib", "/x.so", "model", "roundtrip", "-o", "b.onnx", "a.onnx"}},
		{[]string{"pgaug", "model", "inspect", "m.onnx", "--json"},
			[]string{"pgaug", "model", "inspect", "--json", "m.onnx"}},
		{[]string{"pgaug", "model", "verify", "--", "-weird.onnx"},
			[]string{"pgaug", "model", "verify", "--", "-weird.onnx"}},
	}
	for _, c := range cases {
		if got := intersperse(app, c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("intersperse(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
