package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/loader"
	"github.com/pgaug/pgaug/datasets/transform"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/onnxpb"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/trainer/probe"
	"github.com/pgaug/pgaug/trainer/progress"
)

// Extractor computes the features of images at one layer of an ONNX model
// with ONNX Runtime. Its methods are safe for concurrent use.
type Extractor struct {
	model   string
	layer   string
	input   string
	shape   []int64 // the layer's shape as ONNX Runtime reports it (-1: dynamic)
	session *ort.Session
}

// NewExtractor loads the ONNX model at path, cuts it at layer ("" : the
// penultimate features, see DefaultLayer) with CutAt, saves the cut model to
// a temporary file and opens it in an ONNX Runtime session (ort.Init must
// have run). The model must have one input.
func NewExtractor(path, layer string, opts ort.SessionOptions) (*Extractor, error) {
	m, err := onnxio.Load(path)
	if err != nil {
		return nil, err
	}
	if layer == "" {
		if layer, err = DefaultLayer(m); err != nil {
			return nil, fmt.Errorf("transfer: %s: %w", path, err)
		}
	}
	cut, err := CutAt(m, layer)
	if err != nil {
		return nil, fmt.Errorf("transfer: %s: %w", path, err)
	}
	s, err := openCut(cut, opts)
	if err != nil {
		return nil, fmt.Errorf("transfer: %s cut at layer %q: %w", path, layer, err)
	}
	e := &Extractor{model: path, layer: layer, session: s}
	fail := func(format string, a ...any) (*Extractor, error) {
		s.Close()
		return nil, fmt.Errorf("transfer: %s: layer %q: "+format, append([]any{path, layer}, a...)...)
	}
	if ins := s.Inputs(); len(ins) != 1 {
		names := make([]string, len(ins))
		for i, in := range ins {
			names[i] = in.Name
		}
		return fail("the model has %d inputs (%s); want one image input", len(ins), strings.Join(names, ", "))
	}
	e.input = s.Inputs()[0].Name
	out := s.Outputs()[0]
	e.shape = out.Shape
	switch {
	case out.ElemType != onnxio.DTypeFloat32:
		return fail("holds %s values; features must be float32", out.ElemType)
	case len(out.Shape) == 0:
		return fail("ONNX Runtime cannot infer its shape (want N×C or N×C×H×W); pick another layer")
	case len(out.Shape) == 1:
		return fail("has shape %v, one value per batch; want N×C or N×C×H×W", out.Shape)
	}
	return e, nil
}

// openCut saves m to a temporary file, opens a session on it and removes
// the file (ONNX Runtime keeps the model in memory).
func openCut(m *onnxpb.ModelProto, opts ort.SessionOptions) (*ort.Session, error) {
	dir, err := os.MkdirTemp("", "pgaug-transfer-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "cut.onnx")
	var saveOpts []onnxio.SaveOption
	if proto.Size(m) > onnxio.MaxProtoSize/2 {
		saveOpts = append(saveOpts, onnxio.WithExternalData(1<<20))
	}
	if err := onnxio.Save(p, m, saveOpts...); err != nil {
		return nil, err
	}
	return ort.NewSession(p, opts)
}

// Layer returns the name of the layer the features come from.
func (e *Extractor) Layer() string { return e.layer }

// Shape returns the layer's shape as ONNX Runtime infers it, batch
// included (-1: dynamic).
func (e *Extractor) Shape() []int64 { return append([]int64(nil), e.shape...) }

// Close releases the session.
func (e *Extractor) Close() error { return e.session.Close() }

// Features runs the model on n images x (NCHW, n×c×h×w values) and
// returns their features, n×d row-major, and d: the layer's values, with
// every dimension after the second averaged away (global average pooling
// of a feature map).
func (e *Extractor) Features(x []float32, n, c, h, w int) ([]float32, int, error) {
	if n < 1 || c < 1 || h < 1 || w < 1 || len(x) != n*c*h*w {
		return nil, 0, fmt.Errorf("transfer: %d values for a batch of %d×%d×%d×%d", len(x), n, c, h, w)
	}
	res, err := e.session.Run(map[string]ort.Tensor{e.input: ort.Float32Tensor([]int64{int64(n), int64(c), int64(h), int64(w)}, x)})
	if err != nil {
		return nil, 0, fmt.Errorf("transfer: layer %q: %w", e.layer, err)
	}
	t := res[e.layer]
	feats, d, err := Pool(t.Shape, t.Float32)
	if err != nil {
		return nil, 0, fmt.Errorf("transfer: %s layer %q: %w", e.model, e.layer, err)
	}
	if len(t.Shape) > 0 && t.Shape[0] != int64(n) {
		return nil, 0, fmt.Errorf("transfer: %s layer %q has shape %v for a batch of %d; want the batch first", e.model, e.layer, t.Shape, n)
	}
	return feats, d, nil
}

// Pool reduces a tensor of shape N×C×… to N×C by averaging over every
// dimension after the second; an N×C tensor is returned as is. It returns
// the rows and C.
func Pool(shape []int64, data []float32) ([]float32, int, error) {
	if len(shape) < 2 {
		return nil, 0, fmt.Errorf("features of shape %v; want N×C or N×C×H×W", shape)
	}
	n, c := int(shape[0]), int(shape[1])
	spatial := 1
	for _, d := range shape[2:] {
		spatial *= int(d)
	}
	if n < 0 || c < 1 || spatial < 1 || len(data) != n*c*spatial {
		return nil, 0, fmt.Errorf("features of shape %v with %d values", shape, len(data))
	}
	if spatial == 1 {
		return data, c, nil
	}
	out := make([]float32, n*c)
	for i := range out {
		var s float64
		for _, v := range data[i*spatial : (i+1)*spatial] {
			s += float64(v)
		}
		out[i] = float32(s / float64(spatial))
	}
	return out, c, nil
}

// ExtractOptions configures Extract.
type ExtractOptions struct {
	Batch     int                // images per ONNX Runtime call (0: 64)
	Workers   int                // data-loading goroutines (0: GOMAXPROCS)
	Transform transform.Pipeline // applied to every image (nil: none)
	// Progress receives a progress bar labelled Label (nil: none).
	Progress io.Writer
	Label    string
}

// Extract computes the features of every image of a split of ds (in
// dataset order), with their labels. The dataset must be single-label.
func Extract(ctx context.Context, e *Extractor, ds *arrowds.Dataset, split string, opts ExtractOptions) (probe.Data, error) {
	meta := ds.Meta()
	if meta.Task == arrowds.Multilabel {
		return probe.Data{}, fmt.Errorf("transfer: %s is multilabel; the probes need one class per image", ds.Path())
	}
	if len(meta.Classes) < 2 {
		return probe.Data{}, fmt.Errorf("transfer: %s has %d classes; the probes need at least 2", ds.Path(), len(meta.Classes))
	}
	if opts.Batch == 0 {
		opts.Batch = 64
	}
	l, err := loader.New(ds, loader.Config{Split: split, BatchSize: opts.Batch, Workers: opts.Workers, Transform: opts.Transform})
	if err != nil {
		return probe.Data{}, fmt.Errorf("transfer: %s split %q: %w", ds.Path(), split, err)
	}
	label := opts.Label
	if label == "" {
		label = "features " + split
	}
	bar := progress.New(opts.Progress, label, int64(l.Len()), progress.Options{Unit: "img"})
	out := probe.Data{Classes: len(meta.Classes), X: make([]float32, 0)}
	it := l.Epoch(ctx, 0)
	defer it.Close()
	for {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return probe.Data{}, fmt.Errorf("transfer: reading %s split %q: %w", ds.Path(), split, err)
		}
		f, d, err := e.Features(b.X[:b.N*b.C*b.H*b.W], b.N, b.C, b.H, b.W)
		if err == nil && out.D != 0 && d != out.D {
			err = fmt.Errorf("transfer: layer %q gave %d features, earlier batches %d", e.layer, d, out.D)
		}
		if err != nil {
			b.Release()
			return probe.Data{}, fmt.Errorf("%w (split %q, batch %d)", err, split, b.Index)
		}
		out.D = d
		out.X = append(out.X, f...)
		for i, y := range b.Labels[:b.N] {
			if y < 0 || int(y) >= out.Classes {
				b.Release()
				return probe.Data{}, fmt.Errorf("transfer: %s row %d has label %d, outside the %d classes", ds.Path(), b.Rows[i], y, out.Classes)
			}
			out.Labels = append(out.Labels, int(y))
		}
		out.N += b.N
		bar.Add(int64(b.N), "")
		b.Release()
	}
	bar.Done()
	return out, nil
}
