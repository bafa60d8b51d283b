package infer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/atomicfile"
)

// Column names of a predictions file.
const (
	ColID    = "id"    // utf8: the dataset row's id
	ColRow   = "row"   // int64: the row's index in the dataset
	ColLabel = "label" // int64, nullable: the true class; null when the dataset has no single label
	ColPred  = "pred"  // int32: the predicted class (argmax of probs)
	ColProbs = "probs" // fixed_size_list<float32>[K]: class probabilities
)

// Schema metadata keys of a predictions file. Every value is a string.
const (
	KeyFormat  = "pgaug.format"  // "pgaug-predictions/1"
	KeyModel   = "pgaug.model"   // the classifier's ONNX file
	KeyData    = "pgaug.data"    // the dataset
	KeySplit   = "pgaug.split"   // the split ("" : every row)
	KeyClasses = "pgaug.classes" // JSON array of class names, index = class
	KeyVersion = "pgaug.version" // pgaug version that wrote the file (absent when unknown)
	KeyPolicy  = "pgaug.policy"  // the TTA policy's ONNX file (absent without TTA)
)

// Format is the value of KeyFormat.
const Format = "pgaug-predictions/1"

// flushRows is the number of rows per record batch of a predictions file.
const flushRows = 4096

// Predictions is a predictions file read back into memory.
type Predictions struct {
	Model, Data, Split, Version, Policy string
	Classes                             []string
	IDs                                 []string
	Rows                                []int64
	Labels                              []int64 // -1 where the label is null
	Preds                               []int32
	Probs                               []float32 // Len()×len(Classes), row-major
	// Shard is the shard a file of a sharded run holds ("" otherwise), as K/N.
	Shard string

	shard *shardInfo
}

// Len returns the number of predictions.
func (p *Predictions) Len() int { return len(p.IDs) }

// Prob returns the class probabilities of prediction i.
func (p *Predictions) Prob(i int) []float32 {
	k := len(p.Classes)
	return p.Probs[i*k : (i+1)*k]
}

// fileHeader is what a predictions file records beside its rows.
type fileHeader struct {
	Model, Data, Split, Version, Policy string
	Classes                             []string
	Shard                               *shardInfo // nil: not a shard
}

func (p *Predictions) header() fileHeader {
	return fileHeader{Model: p.Model, Data: p.Data, Split: p.Split, Version: p.Version, Policy: p.Policy, Classes: p.Classes, Shard: p.shard}
}

func predictionSchema(h fileHeader) *arrow.Schema {
	classes, _ := json.Marshal(h.Classes) // a []string always marshals
	keys := []string{KeyFormat, KeyModel, KeyData, KeySplit, KeyClasses}
	vals := []string{Format, h.Model, h.Data, h.Split, string(classes)}
	if h.Version != "" {
		keys, vals = append(keys, KeyVersion), append(vals, h.Version)
	}
	if h.Policy != "" {
		keys, vals = append(keys, KeyPolicy), append(vals, h.Policy)
	}
	if h.Shard != nil {
		k, v := h.Shard.keys()
		keys, vals = append(keys, k...), append(vals, v...)
	}
	md := arrow.NewMetadata(keys, vals)
	return arrow.NewSchema([]arrow.Field{
		{Name: ColID, Type: arrow.BinaryTypes.String},
		{Name: ColRow, Type: arrow.PrimitiveTypes.Int64},
		{Name: ColLabel, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: ColPred, Type: arrow.PrimitiveTypes.Int32},
		{Name: ColProbs, Type: arrow.FixedSizeListOf(int32(len(h.Classes)), arrow.PrimitiveTypes.Float32)},
	}, &md)
}

// predictionWriter writes a predictions file under a temporary name and
// renames it into place on commit; abort removes it.
type predictionWriter struct {
	path    string
	f       *atomicfile.File
	fw      *ipc.FileWriter
	b       *array.RecordBuilder
	classes int
	pending int
	rows    int
	done    bool
}

func newPredictionWriter(path string, h fileHeader) (*predictionWriter, error) {
	if path == "" {
		return nil, errors.New("no output file given")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("output %s is a directory; want a file name such as predictions.arrow", path)
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the output: %w", err) // names path
	}
	schema := predictionSchema(h)
	mem := memory.NewGoAllocator()
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		f.Abort()
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return &predictionWriter{path: path, f: f, fw: fw, b: array.NewRecordBuilder(mem, schema), classes: len(h.Classes)}, nil
}

// append adds n rows; probs holds n×classes values, labels -1 where absent.
func (w *predictionWriter) append(ids []string, rows []int, labels []int32, preds []int32, probs []float32) error {
	n := len(ids)
	idB := w.b.Field(0).(*array.StringBuilder)
	rowB := w.b.Field(1).(*array.Int64Builder)
	labelB := w.b.Field(2).(*array.Int64Builder)
	predB := w.b.Field(3).(*array.Int32Builder)
	probsB := w.b.Field(4).(*array.FixedSizeListBuilder)
	probsV := probsB.ValueBuilder().(*array.Float32Builder)
	idB.AppendValues(ids, nil)
	for i := 0; i < n; i++ {
		rowB.Append(int64(rows[i]))
		if labels[i] < 0 {
			labelB.AppendNull()
		} else {
			labelB.Append(int64(labels[i]))
		}
	}
	predB.AppendValues(preds, nil)
	for i := 0; i < n; i++ {
		probsB.Append(true)
	}
	probsV.AppendValues(probs[:n*w.classes], nil)
	w.pending += n
	w.rows += n
	if w.pending >= flushRows {
		return w.flush()
	}
	return nil
}

func (w *predictionWriter) flush() error {
	if w.pending == 0 {
		return nil
	}
	rec := w.b.NewRecord()
	defer rec.Release()
	w.pending = 0
	if err := w.fw.Write(rec); err != nil {
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	return nil
}

// commit finishes the file and renames it onto the output path.
func (w *predictionWriter) commit() error {
	if err := w.flush(); err != nil {
		w.abort()
		return err
	}
	w.done = true
	w.b.Release()
	if err := w.fw.Close(); err != nil {
		w.f.Abort()
		return fmt.Errorf("finishing %s: %w", w.path, err)
	}
	if err := w.f.Commit(); err != nil {
		return fmt.Errorf("moving the predictions into place: %w", err) // names path
	}
	return nil
}

// abort removes the temporary file; it is a no-op after commit.
func (w *predictionWriter) abort() {
	if w.done {
		return
	}
	w.done = true
	w.b.Release()
	w.fw.Close()
	w.f.Abort()
}

// ReadPredictions reads a predictions file written by Run.
func ReadPredictions(path string) (*Predictions, error) {
	// arrowds checks the footer and each batch's buffers before the Arrow
	// library decodes them: on a corrupt file it panics or allocates what
	// the file claims (found by FuzzReadPredictions).
	r, err := arrowds.OpenIPC(path)
	if err != nil {
		return nil, fmt.Errorf("reading predictions: %w", err)
	}
	defer r.Close()
	p, err := readHeader(r.Schema())
	if err != nil {
		return nil, fmt.Errorf("reading predictions %s: %w", path, err)
	}
	k := len(p.Classes)
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.Record(i)
		if err != nil {
			return nil, fmt.Errorf("reading predictions: %w", err)
		}
		err = p.appendChecked(rec, k)
		rec.Release()
		if err != nil {
			return nil, fmt.Errorf("reading predictions %s: record batch %d: %w", path, i, err)
		}
	}
	return p, nil
}

func readHeader(s *arrow.Schema) (*Predictions, error) {
	md := s.Metadata()
	get := func(key string) string {
		if i := md.FindKey(key); i >= 0 {
			return md.Values()[i]
		}
		return ""
	}
	if f := get(KeyFormat); f != Format {
		return nil, fmt.Errorf("schema metadata %s is %q, want %q (not a pgaug predictions file)", KeyFormat, f, Format)
	}
	p := &Predictions{Model: get(KeyModel), Data: get(KeyData), Split: get(KeySplit), Version: get(KeyVersion), Policy: get(KeyPolicy)}
	if err := json.Unmarshal([]byte(get(KeyClasses)), &p.Classes); err != nil {
		return nil, fmt.Errorf("schema metadata %s: %w", KeyClasses, err)
	}
	var err error
	if p.shard, err = parseShardInfo(get); err != nil {
		return nil, err
	}
	if p.shard != nil {
		p.Shard = p.shard.Shard.String()
	}
	want := predictionSchema(fileHeader{Classes: p.Classes})
	if len(s.Fields()) != len(want.Fields()) {
		return nil, fmt.Errorf("%d columns, want %d (%s, %s, %s, %s, %s)", len(s.Fields()), len(want.Fields()), ColID, ColRow, ColLabel, ColPred, ColProbs)
	}
	for i, f := range want.Fields() {
		got := s.Field(i)
		if got.Name != f.Name || !arrow.TypeEqual(got.Type, f.Type) {
			return nil, fmt.Errorf("column %d is %s %s, want %s %s", i, strconv.Quote(got.Name), got.Type, strconv.Quote(f.Name), f.Type)
		}
	}
	return p, nil
}

// appendChecked is appendRecord with the Arrow arrays' panics on buffers
// that contradict their lengths (a string offset beyond the data, a short
// validity bitmap) turned into an error: decoding checks less than the
// accessors assume.
func (p *Predictions) appendChecked(rec arrow.Record, k int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt: %v", r)
		}
	}()
	return p.appendRecord(rec, k)
}

func (p *Predictions) appendRecord(rec arrow.Record, k int) error {
	ids := rec.Column(0).(*array.String)
	rows := rec.Column(1).(*array.Int64)
	labels := rec.Column(2).(*array.Int64)
	preds := rec.Column(3).(*array.Int32)
	probs := rec.Column(4).(*array.FixedSizeList)
	values := probs.ListValues().(*array.Float32)
	for i := 0; i < int(rec.NumRows()); i++ {
		if ids.IsNull(i) || rows.IsNull(i) || preds.IsNull(i) || probs.IsNull(i) {
			return fmt.Errorf("row %d: only %s may be null", i, ColLabel)
		}
		p.IDs = append(p.IDs, ids.Value(i))
		p.Rows = append(p.Rows, rows.Value(i))
		if labels.IsNull(i) {
			p.Labels = append(p.Labels, -1)
		} else {
			p.Labels = append(p.Labels, labels.Value(i))
		}
		p.Preds = append(p.Preds, preds.Value(i))
		start, end := probs.ValueOffsets(i)
		if int(end-start) != k {
			return fmt.Errorf("row %d: %d probabilities, want %d", i, end-start, k)
		}
		if start < 0 || int(end) > values.Len() {
			return fmt.Errorf("row %d: probabilities %d..%d of a list of %d values", i, start, end, values.Len())
		}
		p.Probs = append(p.Probs, values.Float32Values()[start:end]...)
	}
	return nil
}
