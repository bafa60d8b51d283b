package onnxio_test

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

func TestTensorProtoRoundTripAllTypes(t *testing.T) {
	dims := []int64{2, 3}
	cases := []onnxio.Tensor{
		{Name: "f32", DType: onnxio.DTypeFloat32, Float32: []float32{-1.5, 0, 1, 2.25, float32(math.Inf(1)), 1e-30}},
		{Name: "f16", DType: onnxio.DTypeFloat16, Float32: []float32{-1.5, 0, 1, 2.25, 65504, 0.000061035156}},
		{Name: "bf16", DType: onnxio.DTypeBFloat16, Float32: []float32{-1.5, 0, 1, 2.25, 3.3895314e38, -0.0078125}},
		{Name: "f64", DType: onnxio.DTypeFloat64, Float64: []float64{-1.5, 0, 1, math.Pi, 1e300, -1e-300}},
		{Name: "i8", DType: onnxio.DTypeInt8, Int64: []int64{-128, -1, 0, 1, 100, 127}},
		{Name: "u8", DType: onnxio.DTypeUint8, Int64: []int64{0, 1, 2, 128, 200, 255}},
		{Name: "i16", DType: onnxio.DTypeInt16, Int64: []int64{-32768, -1, 0, 1, 300, 32767}},
		{Name: "u16", DType: onnxio.DTypeUint16, Int64: []int64{0, 1, 2, 40000, 65534, 65535}},
		{Name: "i32", DType: onnxio.DTypeInt32, Int64: []int64{math.MinInt32, -1, 0, 1, 70000, math.MaxInt32}},
		{Name: "u32", DType: onnxio.DTypeUint32, Int64: []int64{0, 1, 2, 1 << 31, 1<<32 - 2, 1<<32 - 1}},
		{Name: "i64", DType: onnxio.DTypeInt64, Int64: []int64{math.MinInt64, -1, 0, 1, 1 << 40, math.MaxInt64}},
		{Name: "bool", DType: onnxio.DTypeBool, Bool: []bool{true, false, false, true, true, false}},
	}
	for _, want := range cases {
		t.Run(want.Name, func(t *testing.T) {
			want.Dims = dims
			tp, err := want.Proto()
			if err != nil {
				t.Fatal(err)
			}
			if got, size := len(tp.GetRawData()), 6*want.DType.Size(); got != size {
				t.Errorf("raw_data has %d bytes, want %d", got, size)
			}
			// Through the wire format, as a model file would carry it.
			data, err := proto.Marshal(tp)
			if err != nil {
				t.Fatal(err)
			}
			var back onnxpb.TensorProto
			if err := proto.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			got, err := onnxio.TensorFromProto(&back)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}

func TestTensorFromProtoRawLittleEndian(t *testing.T) {
	raw := make([]byte, 12)
	binary.LittleEndian.PutUint32(raw[0:], math.Float32bits(1.5))
	binary.LittleEndian.PutUint32(raw[4:], math.Float32bits(-2))
	binary.LittleEndian.PutUint32(raw[8:], math.Float32bits(1e-3))
	tp := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{3}, RawData: raw}
	data, dims, err := onnxio.TensorToFloat32(tp)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(data, []float32{1.5, -2, 1e-3}) || !reflect.DeepEqual(dims, []int64{3}) {
		t.Errorf("got %v dims %v", data, dims)
	}
}

func TestTensorFromProtoTypedFields(t *testing.T) {
	cases := []struct {
		name string
		tp   *onnxpb.TensorProto
		want onnxio.Tensor
	}{
		{"float_data", &onnxpb.TensorProto{DataType: proto.Int32(1), Dims: []int64{2}, FloatData: []float32{1, -2}},
			onnxio.Tensor{DType: onnxio.DTypeFloat32, Dims: []int64{2}, Float32: []float32{1, -2}}},
		{"double_data", &onnxpb.TensorProto{DataType: proto.Int32(11), Dims: []int64{1}, DoubleData: []float64{0.25}},
			onnxio.Tensor{DType: onnxio.DTypeFloat64, Dims: []int64{1}, Float64: []float64{0.25}}},
		{"int64_data scalar", &onnxpb.TensorProto{DataType: proto.Int32(7), Int64Data: []int64{-7}},
			onnxio.Tensor{DType: onnxio.DTypeInt64, Dims: []int64{}, Int64: []int64{-7}}},
		{"int32_data int8", &onnxpb.TensorProto{DataType: proto.Int32(3), Dims: []int64{2}, Int32Data: []int32{-5, 7}},
			onnxio.Tensor{DType: onnxio.DTypeInt8, Dims: []int64{2}, Int64: []int64{-5, 7}}},
		// float16 bits in int32_data: 0x3c00 = 1, 0xc000 = -2, 0x0001 = 2^-24.
		{"int32_data float16", &onnxpb.TensorProto{DataType: proto.Int32(10), Dims: []int64{3}, Int32Data: []int32{0x3c00, 0xc000, 0x0001}},
			onnxio.Tensor{DType: onnxio.DTypeFloat16, Dims: []int64{3}, Float32: []float32{1, -2, 1.0 / (1 << 24)}}},
		// bfloat16 0x3f80 = 1, 0xc0a0 = -5.
		{"int32_data bfloat16", &onnxpb.TensorProto{DataType: proto.Int32(16), Dims: []int64{2}, Int32Data: []int32{0x3f80, 0xc0a0}},
			onnxio.Tensor{DType: onnxio.DTypeBFloat16, Dims: []int64{2}, Float32: []float32{1, -5}}},
		{"int32_data bool", &onnxpb.TensorProto{DataType: proto.Int32(9), Dims: []int64{2}, Int32Data: []int32{1, 0}},
			onnxio.Tensor{DType: onnxio.DTypeBool, Dims: []int64{2}, Bool: []bool{true, false}}},
		{"uint64_data uint32", &onnxpb.TensorProto{DataType: proto.Int32(12), Dims: []int64{1}, Uint64Data: []uint64{4000000000}},
			onnxio.Tensor{DType: onnxio.DTypeUint32, Dims: []int64{1}, Int64: []int64{4000000000}}},
		{"empty tensor", &onnxpb.TensorProto{DataType: proto.Int32(1), Dims: []int64{0, 3}},
			onnxio.Tensor{DType: onnxio.DTypeFloat32, Dims: []int64{0, 3}, Float32: []float32{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := onnxio.TensorFromProto(c.tp)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, c.want) {
				t.Errorf("got %+v, want %+v", *got, c.want)
			}
		})
	}
}

func TestTensorFromProtoErrors(t *testing.T) {
	cases := []struct {
		name string
		tp   *onnxpb.TensorProto
		want []string
	}{
		{"short raw_data", &onnxpb.TensorProto{Name: proto.String("conv.weight"), DataType: proto.Int32(1), Dims: []int64{2, 2}, RawData: make([]byte, 12)},
			[]string{`"conv.weight"`, "12 bytes", "want 16"}},
		{"wrong typed count", &onnxpb.TensorProto{Name: proto.String("b"), DataType: proto.Int32(1), Dims: []int64{3}, FloatData: []float32{1}},
			[]string{`"b"`, "float_data has 1 values, want 3"}},
		{"no data", &onnxpb.TensorProto{Name: proto.String("c"), DataType: proto.Int32(7), Dims: []int64{4}},
			[]string{`"c"`, "no data", "4 int64"}},
		{"string type", &onnxpb.TensorProto{Name: proto.String("s"), DataType: proto.Int32(8), Dims: []int64{1}, StringData: [][]byte{[]byte("x")}},
			[]string{`"s"`, "string is not supported"}},
		{"negative dim", &onnxpb.TensorProto{Name: proto.String("n"), DataType: proto.Int32(1), Dims: []int64{-1}},
			[]string{`"n"`, "dim 0 is -1"}},
		{"overflowing dims", &onnxpb.TensorProto{Name: proto.String("o"), DataType: proto.Int32(1), Dims: []int64{1 << 40, 1 << 40}},
			[]string{`"o"`, "overflows"}},
		{"unloaded external", &onnxpb.TensorProto{Name: proto.String("e"), DataType: proto.Int32(1), Dims: []int64{1},
			DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()}, []string{`"e"`, "externally", "onnxio.Load"}},
		{"uint32 out of range", &onnxpb.TensorProto{Name: proto.String("u"), DataType: proto.Int32(12), Dims: []int64{1}, Uint64Data: []uint64{1 << 33}},
			[]string{`"u"`, "out of range for uint32"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := onnxio.TensorFromProto(c.tp)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestTensorToFloat32AndInt64RefuseOtherTypes(t *testing.T) {
	i64 := onnxio.Int64Tensor("shape", []int64{2}, []int64{1, 2})
	if _, _, err := onnxio.TensorToFloat32(i64); err == nil || !strings.Contains(err.Error(), `tensor "shape": element type is int64, want float32`) {
		t.Errorf("TensorToFloat32(int64 tensor) error = %v", err)
	}
	f32 := onnxio.Float32Tensor("w", []int64{1}, []float32{1})
	if _, _, err := onnxio.TensorToInt64(f32); err == nil || !strings.Contains(err.Error(), `tensor "w": element type is float32, want an integer type`) {
		t.Errorf("TensorToInt64(float tensor) error = %v", err)
	}
	u8, err := (&onnxio.Tensor{Name: "q", DType: onnxio.DTypeUint8, Dims: []int64{3}, Int64: []int64{0, 9, 255}}).Proto()
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := onnxio.TensorToInt64(u8)
	if err != nil || !reflect.DeepEqual(got, []int64{0, 9, 255}) {
		t.Errorf("TensorToInt64(uint8) = %v, %v", got, err)
	}
}

func TestTensorProtoRefusesBadValues(t *testing.T) {
	if _, err := (&onnxio.Tensor{Name: "x", DType: onnxio.DTypeInt8, Dims: []int64{1}, Int64: []int64{200}}).Proto(); err == nil ||
		!strings.Contains(err.Error(), "200 at index 0 is out of range for int8") {
		t.Errorf("int8 overflow error = %v", err)
	}
	if _, err := (&onnxio.Tensor{Name: "x", DType: onnxio.DTypeFloat32, Dims: []int64{2, 2}, Float32: []float32{1}}).Proto(); err == nil ||
		!strings.Contains(err.Error(), "has 1 float32 values, dims [2 2] want 4") {
		t.Errorf("length mismatch error = %v", err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"w"`) {
			t.Errorf("Float32Tensor with mismatched dims: recovered %v, want a panic naming the tensor", r)
		}
	}()
	onnxio.Float32Tensor("w", []int64{3}, []float32{1})
}

// TestFloat16Conversion checks narrowing rounds to nearest even, saturates to
// infinity, keeps subnormals and NaN, through a FLOAT16 round trip.
func TestFloat16Conversion(t *testing.T) {
	in := []float32{
		1 + 1.0/2048,        // halfway between 1 and the next half: ties to even (1)
		1 + 3.0/2048,        // halfway: ties to even (1 + 2/1024)
		1 + 1.0/2048 + 1e-6, // just above halfway: rounds up
		65520,               // rounds to +Inf
		-1e6,                // -Inf
		1.0 / (1 << 25),     // half the smallest subnormal: ties to even (0)
		3.0 / (1 << 25),     // 1.5 subnormal units: ties to even (2 units)
		float32(math.NaN()),
	}
	want := []float32{1, 1 + 2.0/1024, 1 + 1.0/1024, float32(math.Inf(1)), float32(math.Inf(-1)), 0, 2.0 / (1 << 24), float32(math.NaN())}
	tp, err := (&onnxio.Tensor{DType: onnxio.DTypeFloat16, Dims: []int64{int64(len(in))}, Float32: in}).Proto()
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := onnxio.TensorToFloat32(tp)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
			t.Errorf("float16(%g) = %g, want %g", in[i], got[i], want[i])
		}
	}
}

func TestBFloat16Conversion(t *testing.T) {
	in := []float32{1 + 1.0/256, 1 + 3.0/256, 3.4e38, float32(math.NaN())}
	// bfloat16 keeps 7 mantissa bits: 1+2^-8 ties to even (1), 1+3*2^-8 to 1+2^-6;
	// 3.4e38 rounds up past the largest bfloat16 to +Inf.
	want := []float32{1, 1 + 1.0/64, float32(math.Inf(1)), float32(math.NaN())}
	tp, err := (&onnxio.Tensor{DType: onnxio.DTypeBFloat16, Dims: []int64{4}, Float32: in}).Proto()
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := onnxio.TensorToFloat32(tp)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
			t.Errorf("bfloat16(%g) = %g, want %g", in[i], got[i], want[i])
		}
	}
}

// TestConformanceReluTensors reads a conformance test's input and expected
// output and checks output = max(input, 0) element by element.
func TestConformanceReluTensors(t *testing.T) {
	dir := nodeTest(t, "test_relu")
	in, err := onnxio.ReadTensorFile(filepath.Join(dir, "test_data_set_0", "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := onnxio.ReadTensorFile(filepath.Join(dir, "test_data_set_0", "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.Dims, []int64{3, 4, 5}) || !reflect.DeepEqual(out.Dims, in.Dims) {
		t.Fatalf("dims in %v out %v, want [3 4 5]", in.Dims, out.Dims)
	}
	negatives := 0
	for i, x := range in.Float32 {
		if x < 0 {
			negatives++
			x = 0
		}
		if out.Float32[i] != x {
			t.Fatalf("element %d: relu(%g) = %g in the expected output", i, in.Float32[i], out.Float32[i])
		}
	}
	if negatives == 0 || negatives == len(in.Float32) {
		t.Errorf("input has %d negatives of %d: not a useful check", negatives, len(in.Float32))
	}
}
