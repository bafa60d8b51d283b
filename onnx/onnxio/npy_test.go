package onnxio_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/onnx/onnxio"
)

// The fixtures in testdata/npy were written by numpy.save from
// base = numpy.arange(6).reshape(2, 3) (see testdata/gen_fixtures.py).
func TestReadNPYWrittenByNumPy(t *testing.T) {
	base := []int64{0, 1, 2, 3, 4, 5}
	f32 := make([]float32, 6)
	f64 := make([]float64, 6)
	i64 := make([]int64, 6)
	i32 := make([]int64, 6)
	u8 := make([]int64, 6)
	bools := make([]bool, 6)
	for i, v := range base {
		f32[i] = float32(v) * 0.5
		f64[i] = float64(v)*0.25 - 1
		i64[i] = (v - 3) * 1000000000000
		i32[i] = v - 3
		u8[i] = v * 50
		bools[i] = v%2 == 0
	}
	dims := []int64{2, 3}
	cases := map[string]onnxio.Tensor{
		"f4.npy":        {DType: onnxio.DTypeFloat32, Dims: dims, Float32: f32},
		"v2_f4.npy":     {DType: onnxio.DTypeFloat32, Dims: dims, Float32: f32},
		"f8.npy":        {DType: onnxio.DTypeFloat64, Dims: dims, Float64: f64},
		"i8.npy":        {DType: onnxio.DTypeInt64, Dims: dims, Int64: i64},
		"i4.npy":        {DType: onnxio.DTypeInt32, Dims: dims, Int64: i32},
		"u1.npy":        {DType: onnxio.DTypeUint8, Dims: dims, Int64: u8},
		"b1.npy":        {DType: onnxio.DTypeBool, Dims: dims, Bool: bools},
		"scalar_f4.npy": {DType: onnxio.DTypeFloat32, Dims: []int64{}, Float32: []float32{2.5}},
		"f4_1d.npy":     {DType: onnxio.DTypeFloat32, Dims: []int64{5}, Float32: []float32{0, 1, 2, 3, 4}},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "npy", name)
			got, err := onnxio.ReadTensorFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("got %+v, want %+v", *got, want)
			}
			if name == "v2_f4.npy" {
				return // EncodeNPY writes version 1.0 for small headers
			}
			// Writing the same array gives NumPy's bytes exactly.
			enc, err := onnxio.EncodeNPY(got)
			if err != nil {
				t.Fatal(err)
			}
			numpy, _ := os.ReadFile(path)
			if !bytes.Equal(enc, numpy) {
				t.Errorf("EncodeNPY differs from numpy.save:\n got %q\nwant %q", enc, numpy)
			}
		})
	}
}

func TestReadNPYRefusals(t *testing.T) {
	cases := map[string]string{
		"fortran_f4.npy":   "Fortran (column-major) order",
		"bigendian_f4.npy": `dtype ">f4" is not supported`,
		"c8.npy":           `dtype "<c8" is not supported`,
	}
	for name, want := range cases {
		path := filepath.Join("testdata", "npy", name)
		_, err := onnxio.ReadTensorFile(path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want it to name the file and say %q", name, err, want)
		}
	}
	good, err := os.ReadFile(filepath.Join("testdata", "npy", "f4.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated data", good[:len(good)-3], "truncated"},
		{"truncated header", good[:40], "reading the 118-byte .npy header: unexpected EOF"},
		{"no magic", []byte("PK\x03\x04 zip file, not npy"), "not a .npy array"},
		{"version 9", append([]byte("\x93NUMPY\x09\x00"), good[8:]...), ".npy format version 9.0"},
		{"bad header", append(append([]byte{}, good[:10]...), bytes.Repeat([]byte("x"), len(good)-10)...), "want a dict"},
	} {
		if _, err := onnxio.DecodeNPY(c.data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestTensorFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := &onnxio.Tensor{Name: "x", DType: onnxio.DTypeFloat16, Dims: []int64{2, 2}, Float32: []float32{0.5, -1, 2, 1024}}
	for _, ext := range []string{".npy", ".pb"} {
		p := filepath.Join(dir, "t"+ext)
		if err := onnxio.WriteTensorFile(p, want); err != nil {
			t.Fatal(err)
		}
		got, err := onnxio.ReadTensorFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got.Name = want.Name // .npy files carry no name
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s round trip: got %+v, want %+v", ext, got, want)
		}
	}
	if _, err := onnxio.ReadTensorFile(filepath.Join(dir, "t.csv")); err == nil || !strings.Contains(err.Error(), `unknown extension ".csv"`) {
		t.Errorf("ReadTensorFile(.csv): error %v", err)
	}
	bf := &onnxio.Tensor{Name: "b", DType: onnxio.DTypeBFloat16, Dims: []int64{1}, Float32: []float32{1}}
	if err := onnxio.WriteTensorFile(filepath.Join(dir, "b.npy"), bf); err == nil || !strings.Contains(err.Error(), "bfloat16 has no NumPy dtype") {
		t.Errorf("WriteTensorFile(bfloat16 .npy): error %v", err)
	}
	notTensor := filepath.Join(dir, "garbage.pb")
	os.WriteFile(notTensor, []byte{0xff, 0xff, 0xff}, 0o644)
	if _, err := onnxio.ReadTensorFile(notTensor); err == nil || !strings.Contains(err.Error(), notTensor) {
		t.Errorf("ReadTensorFile(garbage .pb): error %v", err)
	}
}
