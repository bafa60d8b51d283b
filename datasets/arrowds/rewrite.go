package arrowds

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// RewriteOptions configures Rewrite.
type RewriteOptions struct {
	// Meta replaces the dataset metadata (nil: keep it).
	Meta *Metadata
	// Overwrite allows replacing an existing output, including the dataset
	// itself (out == the dataset's path).
	Overwrite bool
	// Map returns the record batch to write in place of a source batch; it
	// may return rec itself (Rewrite releases what Map returns when it is
	// not rec), or nil to drop the batch. nil Map copies every batch.
	Map func(file, batch int, rec arrow.Record) (arrow.Record, error)
	// Progress, when set, is called after each source batch with the
	// batches done and the total.
	Progress func(done, total int)
}

// Rewrite copies a dataset batch by batch — every column, including ones
// this package does not know — changing the metadata and the batches as
// told. A directory output has one part file per source file (same names;
// files left without rows are omitted, unless all are); a ".arrow" output
// is one file. The output appears atomically, as with Writer; rewriting a
// dataset onto itself is allowed with Overwrite (the Dataset stays readable
// until closed).
func Rewrite(d *Dataset, out string, o RewriteOptions) error {
	if err := checkOutput(out, o.Overwrite); err != nil {
		return err
	}
	meta := d.meta
	if o.Meta != nil {
		meta = *o.Meta
	}
	if err := meta.Validate(); err != nil {
		return fmt.Errorf("rewriting %s: %w", d.path, err)
	}
	md := meta.ToArrow()
	fields := d.schema.Fields()
	schema := arrow.NewSchema(fields, &md)
	out = filepath.Clean(out)
	dir := filepath.Dir(out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	single := strings.HasSuffix(out, ".arrow")
	var stage string
	var err error
	if single {
		f, err := os.CreateTemp(dir, "."+filepath.Base(out)+".tmp-")
		if err != nil {
			return err
		}
		stage = f.Name()
		f.Close()
	} else if stage, err = os.MkdirTemp(dir, "."+filepath.Base(out)+".tmp-"); err != nil {
		return err
	}
	fail := func(err error) error {
		os.RemoveAll(stage)
		return err
	}
	total := 0
	for _, pf := range d.files {
		total += len(pf.blocks)
	}
	done := 0
	var cur *fileOut
	var written []string
	finish := func() error {
		if cur == nil {
			return nil
		}
		err := cur.close()
		if err == nil && !single {
			err = os.Rename(cur.tmp, cur.final)
			written = append(written, cur.final)
		}
		cur = nil
		return err
	}
	rows := 0
	for fi, pf := range d.files {
		if !single {
			if err := finish(); err != nil {
				return fail(err)
			}
		}
		for b := range pf.blocks {
			rec, err := recordAt(pf, b)
			if err != nil {
				return fail(err)
			}
			outRec := rec
			if o.Map != nil {
				outRec, err = o.Map(fi, b, rec)
				if err != nil {
					rec.Release()
					return fail(err)
				}
			}
			if outRec != nil && outRec.NumRows() > 0 {
				if cur == nil {
					if single {
						cur, err = newFileOut(stage, out, schema, true)
					} else {
						cur, err = newFileOut(stage, filepath.Join(stage, filepath.Base(pf.path)), schema, false)
					}
					if err != nil {
						rec.Release()
						return fail(err)
					}
				}
				w := array.NewRecord(schema, outRec.Columns(), outRec.NumRows())
				err = cur.fw.Write(w)
				rows += int(outRec.NumRows())
				w.Release()
			}
			if outRec != nil && outRec != rec {
				outRec.Release()
			}
			rec.Release()
			if err != nil {
				return fail(fmt.Errorf("writing %s: %w", out, err))
			}
			done++
			if o.Progress != nil {
				o.Progress(done, total)
			}
		}
	}
	if rows == 0 && cur == nil {
		// Keep a valid, empty dataset.
		name := out
		if !single {
			name = filepath.Join(stage, "part-00000.arrow")
		}
		if cur, err = newFileOut(stage, name, schema, single); err != nil {
			return fail(err)
		}
	}
	if err := finish(); err != nil {
		return fail(err)
	}
	if err := commit(stage, out); err != nil {
		return fail(err)
	}
	return nil
}

type fileOut struct {
	f          *os.File
	bw         *posWriter
	fw         *ipc.FileWriter
	tmp, final string
}

func newFileOut(stage, final string, schema *arrow.Schema, single bool) (*fileOut, error) {
	var f *os.File
	var err error
	if single {
		f, err = os.OpenFile(stage, os.O_WRONLY|os.O_TRUNC, 0o644)
	} else {
		f, err = os.CreateTemp(stage, ".part.tmp-")
	}
	if err != nil {
		return nil, err
	}
	fo := &fileOut{f: f, tmp: f.Name(), final: final}
	fo.bw = &posWriter{w: newBufWriter(f)}
	fo.fw, err = ipc.NewFileWriter(fo.bw, ipc.WithSchema(schema), ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		f.Close()
		return nil, err
	}
	return fo, nil
}

func (fo *fileOut) close() error {
	err := fo.fw.Close()
	if err == nil {
		err = fo.bw.w.Flush()
	}
	if err == nil {
		err = fo.f.Sync()
	}
	if cerr := fo.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", fo.final, err)
	}
	return nil
}

// TakeRows returns a record with the given rows of rec (ascending indices),
// every column kept. Runs of consecutive rows are copied as slices.
func TakeRows(rec arrow.Record, rows []int) (arrow.Record, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	type run struct{ lo, hi int64 }
	var runs []run
	for _, r := range rows {
		if r < 0 || int64(r) >= rec.NumRows() {
			return nil, fmt.Errorf("row %d out of range [0,%d)", r, rec.NumRows())
		}
		if n := len(runs); n > 0 && runs[n-1].hi == int64(r) {
			runs[n-1].hi++
		} else {
			runs = append(runs, run{int64(r), int64(r) + 1})
		}
	}
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range rec.Columns() {
		parts := make([]arrow.Array, len(runs))
		for j, r := range runs {
			parts[j] = array.NewSlice(c, r.lo, r.hi)
		}
		var err error
		cols[i], err = array.Concatenate(parts, memory.NewGoAllocator())
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			return nil, err
		}
	}
	return array.NewRecord(rec.Schema(), cols, int64(len(rows))), nil
}

// ReplaceColumn returns rec with the named column replaced by col (same
// length and type as the field).
func ReplaceColumn(rec arrow.Record, name string, col arrow.Array) (arrow.Record, error) {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		return nil, fmt.Errorf("no column %q", name)
	}
	f := rec.Schema().Field(idx[0])
	if !arrow.TypeEqual(f.Type, col.DataType()) {
		return nil, fmt.Errorf("column %q is %s, the replacement %s", name, f.Type, col.DataType())
	}
	if int64(col.Len()) != rec.NumRows() {
		return nil, fmt.Errorf("column %q: %d values for %d rows", name, col.Len(), rec.NumRows())
	}
	cols := append([]arrow.Array(nil), rec.Columns()...)
	cols[idx[0]] = col
	return array.NewRecord(rec.Schema(), cols, rec.NumRows()), nil
}
