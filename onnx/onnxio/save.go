package onnxio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/datasets/atomicfile"
	"github.com/pgaug/pgaug/onnx/onnxpb"
)

// MaxProtoSize is the largest serialized model protobuf parsers accept
// (2 GiB - 1); larger models must store their weights as external data.
const MaxProtoSize = 1<<31 - 1

// externalAlign is the byte alignment of tensors in an external data file,
// so runtimes can memory-map them (the page size the ONNX spec recommends).
const externalAlign = 4096

// SaveOption configures Save.
type SaveOption func(*saveConfig)

type saveConfig struct {
	externalThreshold int64 // 0: no external data
	externalName      string
}

// WithExternalData makes Save store every tensor of at least threshold bytes
// in one external data file beside the model, named after the model with
// ".data" appended ("model.onnx.data"), each tensor aligned to 4096 bytes.
// Use it for models whose protobuf would exceed MaxProtoSize. threshold must
// be positive.
func WithExternalData(threshold int64) SaveOption {
	return func(c *saveConfig) { c.externalThreshold = threshold }
}

// WithExternalDataFile names the external data file (a plain file name,
// stored next to the model) instead of the default "<model file>.data".
func WithExternalDataFile(name string) SaveOption {
	return func(c *saveConfig) { c.externalName = name }
}

// Save writes m to path atomically: into a temporary file in the same
// directory, synced, then renamed over path. With WithExternalData the large
// tensors go to a data file, written the same way before the model; m is
// changed while Save runs and restored before it returns, so it must not be
// used concurrently. Errors name path.
func Save(path string, m *onnxpb.ModelProto, opts ...SaveOption) error {
	var cfg saveConfig
	for _, o := range opts {
		o(&cfg)
	}
	if err := save(path, m, cfg); err != nil {
		return fmt.Errorf("onnxio: saving model %s: %w", path, err)
	}
	return nil
}

func save(path string, m *onnxpb.ModelProto, cfg saveConfig) error {
	if m == nil {
		return errors.New("model is nil")
	}
	if cfg.externalThreshold < 0 || (cfg.externalThreshold == 0 && cfg.externalName != "") {
		return fmt.Errorf("external data threshold %d, want > 0", cfg.externalThreshold)
	}
	if cfg.externalThreshold > 0 {
		name := cfg.externalName
		if name == "" {
			name = filepath.Base(path) + ".data"
		}
		if !filepath.IsLocal(name) || filepath.Base(name) != name {
			return fmt.Errorf("external data file %q: want a plain file name (it is stored next to the model)", name)
		}
		restore, err := writeExternal(filepath.Join(filepath.Dir(path), name), name, m, cfg.externalThreshold)
		defer restore()
		if err != nil {
			return err
		}
	}
	if size := proto.Size(m); size > MaxProtoSize {
		return fmt.Errorf("serialized model is %d bytes, over the protobuf limit of %d: save it with onnxio.WithExternalData", size, MaxProtoSize)
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, data)
}

// externalTensor is a tensor moved to the data file, with what to restore.
type externalTensor struct {
	tp    *onnxpb.TensorProto
	saved *onnxpb.TensorProto // the fields Save replaced
	raw   []byte
}

// writeExternal writes the raw bytes of m's tensors of at least threshold
// bytes to dataPath and points the tensors at it. The returned function
// restores the tensors; it is valid even when an error is returned.
func writeExternal(dataPath, location string, m *onnxpb.ModelProto, threshold int64) (func(), error) {
	var moved []externalTensor
	restore := func() {
		for _, e := range moved {
			e.tp.RawData = e.saved.RawData
			e.tp.FloatData, e.tp.Int32Data, e.tp.Int64Data = e.saved.FloatData, e.saved.Int32Data, e.saved.Int64Data
			e.tp.DoubleData, e.tp.Uint64Data = e.saved.DoubleData, e.saved.Uint64Data
			e.tp.ExternalData, e.tp.DataLocation = e.saved.ExternalData, e.saved.DataLocation
		}
	}
	err := forEachTensor(m, func(tp *onnxpb.TensorProto) error {
		if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			return fmt.Errorf("tensor %s: already refers to external data (load the model with onnxio.Load first)", tensorName(tp))
		}
		n, err := NumElements(tp.GetDims())
		if err != nil {
			return fmt.Errorf("tensor %s: %w", tensorName(tp), err)
		}
		size, fixed := DType(tp.GetDataType()).rawSize(n)
		if !fixed || size < threshold {
			return nil
		}
		if len(tp.GetRawData()) == 0 && !DType(tp.GetDataType()).Supported() {
			return nil // typed data this package cannot re-encode stays inline
		}
		raw, err := rawBytes(tp)
		if err != nil {
			return err
		}
		moved = append(moved, externalTensor{tp: tp, raw: raw, saved: &onnxpb.TensorProto{
			RawData: tp.RawData, FloatData: tp.FloatData, Int32Data: tp.Int32Data, Int64Data: tp.Int64Data,
			DoubleData: tp.DoubleData, Uint64Data: tp.Uint64Data,
			ExternalData: tp.ExternalData, DataLocation: tp.DataLocation,
		}})
		return nil
	})
	if err != nil {
		return restore, err
	}
	err = atomicfile.Write(dataPath, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		var offset int64
		pad := make([]byte, externalAlign)
		for _, e := range moved {
			if rem := offset % externalAlign; rem != 0 {
				if _, err := bw.Write(pad[:externalAlign-rem]); err != nil {
					return err
				}
				offset += externalAlign - rem
			}
			if _, err := bw.Write(e.raw); err != nil {
				return err
			}
			tp := e.tp
			tp.RawData, tp.FloatData, tp.Int32Data, tp.Int64Data, tp.DoubleData, tp.Uint64Data = nil, nil, nil, nil, nil, nil
			tp.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			tp.ExternalData = []*onnxpb.StringStringEntryProto{
				{Key: proto.String("location"), Value: proto.String(location)},
				{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(offset, 10))},
				{Key: proto.String("length"), Value: proto.String(strconv.Itoa(len(e.raw)))},
			}
			offset += int64(len(e.raw))
		}
		return bw.Flush()
	})
	if err != nil {
		return restore, fmt.Errorf("external data: %w", err)
	}
	return restore, nil
}

// rawBytes returns tp's data as little-endian raw bytes: raw_data itself, or
// the typed field re-encoded.
func rawBytes(tp *onnxpb.TensorProto) ([]byte, error) {
	if len(tp.GetRawData()) > 0 {
		n, _ := NumElements(tp.GetDims())
		if want, _ := DType(tp.GetDataType()).rawSize(n); int64(len(tp.GetRawData())) != want {
			return nil, fmt.Errorf("tensor %s: raw_data has %d bytes, want %d", tensorName(tp), len(tp.GetRawData()), want)
		}
		return tp.GetRawData(), nil
	}
	t, err := TensorFromProto(tp)
	if err != nil {
		return nil, err
	}
	return t.rawData()
}
