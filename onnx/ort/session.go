package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	onnxruntime "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// The devices a Session runs on.
const (
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda"
)

// CUDAProviderLib is the CUDA execution provider library that a CUDA build
// of ONNX Runtime keeps beside libonnxruntime.so.
const CUDAProviderLib = "libonnxruntime_providers_cuda.so"

// SessionOptions configures NewSession.
type SessionOptions struct {
	// Threads is the number of intra-op threads; 0 lets ONNX Runtime choose
	// (one per physical core).
	Threads int
	// Device is DeviceCPU (also "") or DeviceCUDA.
	Device string
	// DeviceID selects the GPU with DeviceCUDA.
	DeviceID int
	// GPUMemLimit caps the CUDA memory arena in bytes; 0 means no limit.
	GPUMemLimit int64
}

// ValueInfo describes a model input or output as ONNX Runtime sees it.
type ValueInfo struct {
	Name     string
	ElemType onnxio.DType
	// Shape has -1 for dynamic (symbolic or unknown) dimensions; it is
	// empty for a scalar.
	Shape []int64
}

// Tensor is a float32 or int64 tensor passed to or returned by a Session:
// exactly one of Float32 and Int64 is non-nil, holding the elements in
// row-major order. An empty Shape is a scalar.
type Tensor struct {
	Shape   []int64
	Float32 []float32
	Int64   []int64
}

// Float32Tensor returns a float32 Tensor; it does not copy data.
func Float32Tensor(shape []int64, data []float32) Tensor {
	if data == nil {
		data = []float32{}
	}
	return Tensor{Shape: shape, Float32: data}
}

// Int64Tensor returns an int64 Tensor; it does not copy data.
func Int64Tensor(shape []int64, data []int64) Tensor {
	if data == nil {
		data = []int64{}
	}
	return Tensor{Shape: shape, Int64: data}
}

// ElemType returns DTypeFloat32 or DTypeInt64, or DTypeUndefined when the
// tensor holds neither or both.
func (t Tensor) ElemType() onnxio.DType {
	switch {
	case t.Float32 != nil && t.Int64 == nil:
		return onnxio.DTypeFloat32
	case t.Int64 != nil && t.Float32 == nil:
		return onnxio.DTypeInt64
	}
	return onnxio.DTypeUndefined
}

func (t Tensor) len() int {
	if t.Float32 != nil {
		return len(t.Float32)
	}
	return len(t.Int64)
}

// Session runs one ONNX model with ONNX Runtime. Its methods are safe for
// concurrent use; Close waits for running calls to finish.
type Session struct {
	name    string // the model path, or "model bytes"
	device  string
	mu      sync.RWMutex
	session *onnxruntime.DynamicAdvancedSession // nil after Close
	inputs  []ValueInfo
	outputs []ValueInfo
}

// NewSession loads the ONNX model at path (with any external-data files
// beside it) into a session. Init must have loaded ONNX Runtime. With
// Device DeviceCUDA the CUDA execution provider is appended; when the loaded
// library cannot provide it the error says what is missing.
func NewSession(path string, opts SessionOptions) (*Session, error) {
	s, err := newSession(path, nil, opts)
	if err != nil {
		return nil, fmt.Errorf("ort: loading model %s: %w", path, err)
	}
	return s, nil
}

// NewSessionFromBytes is NewSession for a serialized model held in memory.
// Such a model cannot use external data files.
func NewSessionFromBytes(model []byte, opts SessionOptions) (*Session, error) {
	s, err := newSession("", model, opts)
	if err != nil {
		return nil, fmt.Errorf("ort: loading model (%d bytes): %w", len(model), err)
	}
	return s, nil
}

func newSession(path string, model []byte, opts SessionOptions) (*Session, error) {
	if !onnxruntime.IsInitialized() {
		return nil, errors.New("ONNX Runtime is not loaded (call ort.Init first)")
	}
	if path == "" && len(model) == 0 {
		return nil, errors.New("empty model")
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
	}
	device := strings.ToLower(opts.Device)
	if device == "" {
		device = DeviceCPU
	}
	so, err := newSessionOptions(device, opts)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()

	// The input and output descriptions come from a CPU session: it needs no
	// device and gives the same names, types and shapes.
	// They are read from the ONNX graph itself when it declares them fully
	// (the common case): asking ONNX Runtime would build a second session,
	// which for a large model costs as much as the real one.
	ins, outs, ok := ioFromGraph(path, model)
	if !ok {
		if path != "" {
			ins, outs, err = onnxruntime.GetInputOutputInfo(path)
		} else {
			ins, outs, err = onnxruntime.GetInputOutputInfoWithONNXData(model)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime cannot load it: %w", err)
	}
	s := &Session{name: path, device: device}
	if path == "" {
		s.name = "model bytes"
	}
	inNames, err := describe(ins, &s.inputs, "input")
	if err != nil {
		return nil, err
	}
	outNames, err := describe(outs, &s.outputs, "output")
	if err != nil {
		return nil, err
	}
	if path != "" {
		s.session, err = onnxruntime.NewDynamicAdvancedSession(path, inNames, outNames, so)
	} else {
		s.session, err = onnxruntime.NewDynamicAdvancedSessionWithONNXData(model, inNames, outNames, so)
	}
	if err != nil {
		if device == DeviceCUDA {
			return nil, cudaError(err)
		}
		return nil, fmt.Errorf("ONNX Runtime cannot load it: %w", err)
	}
	return s, nil
}

func describe(infos []onnxruntime.InputOutputInfo, dst *[]ValueInfo, kind string) ([]string, error) {
	names := make([]string, len(infos))
	for i, info := range infos {
		if info.OrtValueType != onnxruntime.ONNXTypeTensor {
			return nil, fmt.Errorf("%s %q is a %s; only tensor inputs and outputs are supported", kind, info.Name, info.OrtValueType)
		}
		names[i] = info.Name
		*dst = append(*dst, ValueInfo{
			Name:     info.Name,
			ElemType: onnxio.DType(info.DataType), // ORT numbers element types as ONNX does
			Shape:    append([]int64{}, info.Dimensions...),
		})
	}
	return names, nil
}

func newSessionOptions(device string, opts SessionOptions) (*onnxruntime.SessionOptions, error) {
	so, err := onnxruntime.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("creating session options: %w", err)
	}
	fail := func(err error) (*onnxruntime.SessionOptions, error) {
		so.Destroy()
		return nil, err
	}
	if opts.Threads < 0 {
		return fail(fmt.Errorf("threads = %d, want >= 0 (0: ONNX Runtime's default)", opts.Threads))
	}
	if opts.Threads > 0 {
		if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
			return fail(fmt.Errorf("setting %d threads: %w", opts.Threads, err))
		}
	}
	switch device {
	case DeviceCPU:
	case DeviceCUDA:
		if opts.DeviceID < 0 || opts.GPUMemLimit < 0 {
			return fail(fmt.Errorf("device id %d, GPU memory limit %d: want both >= 0", opts.DeviceID, opts.GPUMemLimit))
		}
		if err := appendCUDA(so, opts); err != nil {
			return fail(cudaError(err))
		}
	default:
		return fail(fmt.Errorf("device %q is not supported (want %q or %q)", opts.Device, DeviceCPU, DeviceCUDA))
	}
	return so, nil
}

func appendCUDA(so *onnxruntime.SessionOptions, opts SessionOptions) error {
	cuda, err := onnxruntime.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer cuda.Destroy()
	settings := map[string]string{"device_id": strconv.Itoa(opts.DeviceID)}
	if opts.GPUMemLimit > 0 {
		settings["gpu_mem_limit"] = strconv.FormatInt(opts.GPUMemLimit, 10)
	}
	if err := cuda.Update(settings); err != nil {
		return err
	}
	return so.AppendExecutionProviderCUDA(cuda)
}

// cudaError explains a failure to enable the CUDA execution provider: which
// library is loaded, whether its CUDA provider library is there, and what a
// working setup needs.
func cudaError(err error) error {
	lib := LoadedLibrary()
	provider := filepath.Join(filepath.Dir(lib), CUDAProviderLib)
	var missing string
	if _, statErr := os.Stat(provider); statErr != nil {
		missing = fmt.Sprintf("%s is missing (a CPU-only build, like the one scripts/setup.sh installs)", provider)
	} else {
		missing = fmt.Sprintf("%s is there but did not load (are CUDA 12 and cuDNN 9 on the library path, and a GPU visible?)", provider)
	}
	return fmt.Errorf("--device cuda: the ONNX Runtime library %s cannot use the CUDA execution provider: %s; "+
		"point --ort-lib or %s at the libonnxruntime.so of an onnxruntime-gpu release "+
		"(with %s and libonnxruntime_providers_shared.so beside it, and CUDA 12 and cuDNN 9 on the library path), "+
		"or use --device cpu (ONNX Runtime said: %v)",
		lib, missing, EnvVar, CUDAProviderLib, err)
}

// LoadedLibrary returns the path of the ONNX Runtime library Init loaded, or
// "" before Init.
func LoadedLibrary() string {
	initMu.Lock()
	defer initMu.Unlock()
	return initPath
}

// Name returns the model path the session was created from, or
// "model bytes".
func (s *Session) Name() string { return s.name }

// Device returns the device the session runs on: DeviceCPU or DeviceCUDA.
func (s *Session) Device() string { return s.device }

// Inputs returns the model's inputs in the order the model declares them.
func (s *Session) Inputs() []ValueInfo { return cloneInfos(s.inputs) }

// Outputs returns the model's outputs in the order the model declares them.
func (s *Session) Outputs() []ValueInfo { return cloneInfos(s.outputs) }

func cloneInfos(v []ValueInfo) []ValueInfo {
	out := make([]ValueInfo, len(v))
	for i, info := range v {
		out[i] = ValueInfo{Name: info.Name, ElemType: info.ElemType, Shape: append([]int64{}, info.Shape...)}
	}
	return out
}

// Close releases the session. Later calls return an error; Close itself may
// be called more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.session == nil {
		return nil
	}
	err := s.session.Destroy()
	s.session = nil
	if err != nil {
		return fmt.Errorf("ort: closing session of %s: %w", s.name, err)
	}
	return nil
}

// Run runs the model on inputs, which must name every model input, and
// returns every output in newly allocated slices. Inputs are checked against
// the model's element types and fixed dimensions first, so a mismatch gives
// an error naming the input and what the model expects.
func (s *Session) Run(inputs map[string]Tensor) (map[string]Tensor, error) {
	outs := make([]onnxruntime.Value, len(s.outputs))
	for i, o := range s.outputs {
		if len(o.Shape) == 0 {
			// onnxruntime_go cannot return a rank-0 output it allocated
			// itself; give it a scalar to fill.
			v, err := newScalar(o)
			if err != nil {
				destroyAll(outs)
				return nil, fmt.Errorf("ort: running %s: output %q: %w", s.name, o.Name, err)
			}
			outs[i] = v
		}
	}
	defer destroyAll(outs)
	if err := s.run(inputs, outs); err != nil {
		return nil, err
	}
	result := make(map[string]Tensor, len(outs))
	for i, v := range outs {
		t, err := fromValue(v)
		if err != nil {
			return nil, fmt.Errorf("ort: running %s: output %q: %w", s.name, s.outputs[i].Name, err)
		}
		result[s.outputs[i].Name] = t
	}
	return result, nil
}

// RunInto runs the model on inputs and writes every output into the
// caller's tensor of the same name in outputs, whose Shape and element type
// must match what the model produces; ONNX Runtime writes straight into the
// slices, so a loop that reuses its tensors allocates no tensor memory.
// Outputs whose shape depends on the input must be preallocated at the
// shape the inputs lead to.
func (s *Session) RunInto(inputs map[string]Tensor, outputs map[string]Tensor) error {
	if err := s.checkNames(outputs, s.outputs, "output"); err != nil {
		return fmt.Errorf("ort: running %s: %w", s.name, err)
	}
	outs := make([]onnxruntime.Value, len(s.outputs))
	defer destroyAll(outs)
	for i, o := range s.outputs {
		t := outputs[o.Name]
		if err := checkTensor(t, o, "output"); err != nil {
			return fmt.Errorf("ort: running %s: %w", s.name, err)
		}
		v, err := toValue(t)
		if err != nil {
			return fmt.Errorf("ort: running %s: output %q: %w", s.name, o.Name, err)
		}
		outs[i] = v
	}
	if err := s.run(inputs, outs); err != nil {
		return err
	}
	// Scalars are the one kind of value onnxruntime_go does not write in
	// place.
	for i, o := range s.outputs {
		if len(o.Shape) == 0 {
			t, err := fromValue(outs[i])
			if err != nil {
				return fmt.Errorf("ort: running %s: output %q: %w", s.name, o.Name, err)
			}
			copy(outputs[o.Name].Float32, t.Float32)
			copy(outputs[o.Name].Int64, t.Int64)
		}
	}
	return nil
}

// run checks and wraps the inputs and runs the session, filling outs (nil
// entries are allocated by ONNX Runtime).
func (s *Session) run(inputs map[string]Tensor, outs []onnxruntime.Value) error {
	if err := s.checkNames(inputs, s.inputs, "input"); err != nil {
		return fmt.Errorf("ort: running %s: %w", s.name, err)
	}
	ins := make([]onnxruntime.Value, len(s.inputs))
	defer destroyAll(ins)
	for i, in := range s.inputs {
		t := inputs[in.Name]
		if err := checkTensor(t, in, "input"); err != nil {
			return fmt.Errorf("ort: running %s: %w", s.name, err)
		}
		v, err := toValue(t)
		if err != nil {
			return fmt.Errorf("ort: running %s: input %q: %w", s.name, in.Name, err)
		}
		ins[i] = v
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.session == nil {
		return fmt.Errorf("ort: running %s: session is closed", s.name)
	}
	if err := s.session.Run(ins, outs); err != nil {
		return fmt.Errorf("ort: running %s: %w", s.name, err)
	}
	return nil
}

// checkNames reports a missing or unknown tensor name.
func (s *Session) checkNames(given map[string]Tensor, want []ValueInfo, kind string) error {
	known := make(map[string]bool, len(want))
	var names []string
	for _, w := range want {
		known[w.Name] = true
		names = append(names, strconv.Quote(w.Name))
	}
	for _, w := range want {
		if _, ok := given[w.Name]; !ok {
			return fmt.Errorf("no %s %q given (the model's %ss: %s)", kind, w.Name, kind, strings.Join(names, ", "))
		}
	}
	if len(given) != len(want) {
		var extra []string
		for name := range given {
			if !known[name] {
				extra = append(extra, strconv.Quote(name))
			}
		}
		sort.Strings(extra)
		return fmt.Errorf("the model has no %s %s (its %ss: %s)", kind, strings.Join(extra, ", "), kind, strings.Join(names, ", "))
	}
	return nil
}

// checkTensor checks t against the model's declaration of a value.
func checkTensor(t Tensor, info ValueInfo, kind string) error {
	dt := t.ElemType()
	if dt == onnxio.DTypeUndefined {
		return fmt.Errorf("%s %q: set exactly one of Float32 and Int64", kind, info.Name)
	}
	if dt != info.ElemType {
		return fmt.Errorf("%s %q: got %s data, the model wants %s", kind, info.Name, dt, info.ElemType)
	}
	if len(t.Shape) != len(info.Shape) {
		return fmt.Errorf("%s %q: got shape %v, the model wants rank %d %v (-1: any size)", kind, info.Name, t.Shape, len(info.Shape), info.Shape)
	}
	for i, d := range info.Shape {
		if d >= 0 && t.Shape[i] != d {
			return fmt.Errorf("%s %q: got shape %v, the model wants %v (-1: any size)", kind, info.Name, t.Shape, info.Shape)
		}
	}
	n, err := onnxio.NumElements(t.Shape)
	if err != nil {
		return fmt.Errorf("%s %q: shape %v: %w", kind, info.Name, t.Shape, err)
	}
	if int64(t.len()) != n {
		return fmt.Errorf("%s %q: has %d values, shape %v wants %d", kind, info.Name, t.len(), t.Shape, n)
	}
	return nil
}

// toValue wraps t's slice (without copying) in an ONNX Runtime value.
func toValue(t Tensor) (onnxruntime.Value, error) {
	if len(t.Shape) == 0 {
		if t.Float32 != nil {
			return onnxruntime.NewScalar(t.Float32[0])
		}
		return onnxruntime.NewScalar(t.Int64[0])
	}
	shape := onnxruntime.NewShape(t.Shape...)
	if t.Float32 != nil {
		return onnxruntime.NewTensor(shape, t.Float32)
	}
	return onnxruntime.NewTensor(shape, t.Int64)
}

func newScalar(info ValueInfo) (onnxruntime.Value, error) {
	switch info.ElemType {
	case onnxio.DTypeFloat32:
		return onnxruntime.NewEmptyScalar[float32]()
	case onnxio.DTypeInt64:
		return onnxruntime.NewEmptyScalar[int64]()
	}
	return nil, fmt.Errorf("element type %s is not supported (float32 and int64 are)", info.ElemType)
}

// fromValue returns the Go data of an output value (which stays valid after
// the value is destroyed: onnxruntime_go copies outputs into Go memory).
func fromValue(v onnxruntime.Value) (Tensor, error) {
	switch t := v.(type) {
	case *onnxruntime.Tensor[float32]:
		return Tensor{Shape: []int64(t.GetShape()), Float32: t.GetData()}, nil
	case *onnxruntime.Tensor[int64]:
		return Tensor{Shape: []int64(t.GetShape()), Int64: t.GetData()}, nil
	case *onnxruntime.Scalar[float32]:
		return Tensor{Shape: []int64{}, Float32: []float32{t.GetData()}}, nil
	case *onnxruntime.Scalar[int64]:
		return Tensor{Shape: []int64{}, Int64: []int64{t.GetData()}}, nil
	case nil:
		return Tensor{}, errors.New("ONNX Runtime returned no value")
	}
	return Tensor{}, fmt.Errorf("element type %s is not supported (float32 and int64 are)", onnxio.DType(onnxruntime.TensorElementDataType(v.DataType())))
}

func destroyAll(vs []onnxruntime.Value) {
	for _, v := range vs {
		if v != nil {
			v.Destroy()
		}
	}
}

// ioFromGraph describes the graph inputs (less the initializers) and outputs
// of an ONNX model as ONNX Runtime would, when every one of them is a tensor
// with a known element type and rank; ok is false otherwise (then ONNX
// Runtime is asked). Only the graph's input, output and initializer-name
// fields are decoded: the weights are skipped, not copied.
func ioFromGraph(path string, model []byte) (ins, outs []onnxruntime.InputOutputInfo, ok bool) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, false
		}
		model = b
	}
	graph, ok := protoField(model, 7) // ModelProto.graph
	if !ok {
		return nil, nil, false
	}
	inits := map[string]bool{}
	var inVI, outVI [][]byte
	sparse := false
	if !eachBytesField(graph, func(num protowire.Number, v []byte) {
		switch num {
		case 5: // initializer: a TensorProto, whose name is field 8
			if name, ok := protoField(v, 8); ok {
				inits[string(name)] = true
			}
		case 15: // sparse_initializer: let ONNX Runtime sort it out
			sparse = true
		case 11:
			inVI = append(inVI, v)
		case 12:
			outVI = append(outVI, v)
		}
	}) || sparse {
		return nil, nil, false
	}
	info := func(raw []byte) (onnxruntime.InputOutputInfo, bool) {
		var vi onnxpb.ValueInfoProto
		if err := proto.Unmarshal(raw, &vi); err != nil {
			return onnxruntime.InputOutputInfo{}, false
		}
		tt := vi.GetType().GetTensorType()
		if tt == nil || tt.GetElemType() == 0 || tt.GetShape() == nil {
			return onnxruntime.InputOutputInfo{}, false
		}
		dims := make(onnxruntime.Shape, len(tt.GetShape().GetDim()))
		for i, d := range tt.GetShape().GetDim() {
			dims[i] = -1
			if d.GetDimValue() > 0 {
				dims[i] = d.GetDimValue()
			}
		}
		return onnxruntime.InputOutputInfo{Name: vi.GetName(), OrtValueType: onnxruntime.ONNXTypeTensor, Dimensions: dims,
			DataType: onnxruntime.TensorElementDataType(tt.GetElemType())}, true
	}
	for _, raw := range inVI {
		x, good := info(raw)
		if !good {
			return nil, nil, false
		}
		if !inits[x.Name] {
			ins = append(ins, x)
		}
	}
	for _, raw := range outVI {
		x, good := info(raw)
		if !good {
			return nil, nil, false
		}
		outs = append(outs, x)
	}
	return ins, outs, len(ins) > 0 && len(outs) > 0
}

// protoField returns the last value of the length-delimited field num of a
// protobuf message (without copying it).
func protoField(b []byte, num protowire.Number) (out []byte, found bool) {
	ok := eachBytesField(b, func(n protowire.Number, v []byte) {
		if n == num {
			out, found = v, true
		}
	})
	return out, ok && found
}

// eachBytesField calls f with the number and value (not copied) of every
// length-delimited field of a protobuf message, in order, skipping the
// others; it reports false if b is not a well-formed message.
func eachBytesField(b []byte, f func(num protowire.Number, v []byte)) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return false
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return false
		}
		f(num, v)
		b = b[n:]
	}
	return true
}
