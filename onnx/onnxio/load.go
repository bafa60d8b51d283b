package onnxio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// The IR versions Load and Decode accept.
//
// The vendored schema (package onnxpb) describes IR version SchemaIRVersion.
// Newer IR versions, up to MaxIRVersion, are read too: what they add is new
// tensor element types and optional fields, which decode as unknown fields
// and survive a Save; tensors of the new element types are refused by the
// conversions with an error naming the type. The ONNX backend tests of
// opset 25 are IR version 13.
const (
	MinIRVersion    = 3  // the first IR with opset imports
	SchemaIRVersion = 10 // the newest IR the vendored schema describes
	MaxIRVersion    = 13 // the newest IR Decode accepts
)

// Load reads the ONNX model at path and resolves its external-data tensors
// (files named relative to the model's directory) into raw_data, so that
// every tensor of the returned model can be decoded without the files.
// Errors name path.
func Load(path string) (*onnxpb.ModelProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnxio: loading model: %w", err)
	}
	m, err := Decode(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("onnxio: loading model %s: %w", path, err)
	}
	return m, nil
}

// Decode parses a serialized ONNX model and checks it is one this package
// reads: IR version MinIRVersion to MaxIRVersion, with a graph and an opset
// import. Tensors stored as external data are read from files relative to
// baseDir, the directory the model was stored in; a location that leaves
// baseDir is refused. With baseDir "" a model with external data is an
// error.
func Decode(data []byte, baseDir string) (*onnxpb.ModelProto, error) {
	m := new(onnxpb.ModelProto)
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("not a valid ONNX protobuf (truncated or corrupt?): %w", err)
	}
	if err := checkModel(m); err != nil {
		return nil, err
	}
	if err := resolveExternalData(m, baseDir); err != nil {
		return nil, err
	}
	return m, nil
}

func checkModel(m *onnxpb.ModelProto) error {
	if v := m.GetIrVersion(); v < MinIRVersion || v > MaxIRVersion {
		return fmt.Errorf("IR version %d is not supported (want %d to %d; is this an ONNX model file?)", v, MinIRVersion, MaxIRVersion)
	}
	if m.GetGraph() == nil {
		return errors.New("model has no graph (truncated or not an ONNX model?)")
	}
	if len(m.GetOpsetImport()) == 0 {
		return errors.New("model has no opset_import (required since IR version 3)")
	}
	return nil
}

// resolveExternalData replaces every EXTERNAL tensor's location with its
// bytes in raw_data.
func resolveExternalData(m *onnxpb.ModelProto, baseDir string) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	return forEachTensor(m, func(tp *onnxpb.TensorProto) error {
		if tp.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
			return nil
		}
		raw, err := readExternal(tp, baseDir, files)
		if err != nil {
			return fmt.Errorf("tensor %s: external data: %w", tensorName(tp), err)
		}
		tp.RawData = raw
		tp.ExternalData = nil
		tp.DataLocation = nil
		return nil
	})
}

// externalRef is a parsed external_data entry list.
type externalRef struct {
	location       string
	offset, length int64
	hasLength      bool
}

func parseExternalRef(tp *onnxpb.TensorProto) (externalRef, error) {
	var ref externalRef
	for _, kv := range tp.GetExternalData() {
		var err error
		switch kv.GetKey() {
		case "location":
			ref.location = kv.GetValue()
		case "offset":
			ref.offset, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "length":
			ref.length, err = strconv.ParseInt(kv.GetValue(), 10, 64)
			ref.hasLength = true
		}
		if err != nil || ref.offset < 0 || ref.length < 0 {
			return ref, fmt.Errorf("%s = %q, want a non-negative integer", kv.GetKey(), kv.GetValue())
		}
	}
	if ref.location == "" {
		return ref, errors.New(`no "location" key`)
	}
	return ref, nil
}

func readExternal(tp *onnxpb.TensorProto, baseDir string, files map[string]*os.File) ([]byte, error) {
	ref, err := parseExternalRef(tp)
	if err != nil {
		return nil, err
	}
	if baseDir == "" {
		return nil, fmt.Errorf("location %q: the model's directory is unknown (use onnxio.Load, or Decode with the model's directory)", ref.location)
	}
	path, err := localPath(baseDir, ref.location)
	if err != nil {
		return nil, err
	}
	f, ok := files[path]
	if !ok {
		if f, err = os.Open(path); err != nil {
			return nil, err
		}
		files[path] = f
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if ref.offset > size {
		return nil, fmt.Errorf("%s: offset %d is past the end of the file (%d bytes)", path, ref.offset, size)
	}
	if !ref.hasLength {
		ref.length = size - ref.offset
	}
	if ref.length > size-ref.offset {
		return nil, fmt.Errorf("%s: %d bytes at offset %d run past the end of the file (%d bytes)", path, ref.length, ref.offset, size)
	}
	if n, err := NumElements(tp.GetDims()); err == nil {
		if want, ok := DType(tp.GetDataType()).rawSize(n); ok && want != ref.length {
			return nil, fmt.Errorf("%s: %d bytes, want %d (%d %s elements for dims %v)", path, ref.length, want, n, DType(tp.GetDataType()), tp.GetDims())
		}
	}
	raw := make([]byte, ref.length)
	if _, err := f.ReadAt(raw, ref.offset); err != nil && !(err == io.EOF && ref.length == 0) {
		return nil, fmt.Errorf("%s: reading %d bytes at offset %d: %w", path, ref.length, ref.offset, err)
	}
	return raw, nil
}

// localPath joins location to baseDir, refusing absolute locations and ones
// that lead outside baseDir (directly with "..", or through a symbolic
// link).
func localPath(baseDir, location string) (string, error) {
	if !filepath.IsLocal(location) {
		return "", fmt.Errorf("location %q is not a relative path inside the model's directory %s", location, baseDir)
	}
	path := filepath.Join(baseDir, location)
	realBase, err := filepath.EvalSymlinks(baseDir)
	if err != nil {
		return "", err
	}
	realPath, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(realBase, realPath)
	if err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("location %q resolves to %s, outside the model's directory %s", location, realPath, baseDir)
	}
	return path, nil
}
