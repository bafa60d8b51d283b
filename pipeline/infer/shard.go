package infer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/pipeline/fingerprint"
	"github.com/pgaug/pgaug/trainer/metrics"
)

// Shard is share K (from 1) of N of the selected rows: the rows of a split
// (or every row) in dataset order, cut into N contiguous ranges whose
// sizes differ by at most one. Dataset order is part file by part file, so
// a shard reads the image data of its own rows only: whole part files, or a
// range within one. N = 0 means no sharding.
type Shard struct{ K, N int }

// ParseShard reads "K/N" (1 <= K <= N); "" is no sharding.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return Shard{}, fmt.Errorf("shard %q: want K/N with 1 <= K <= N, e.g. 2/4", s)
	}
	return Shard{K: k, N: n}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// Range returns the shard's rows [lo, hi) of n selected rows.
func (s Shard) Range(n int) (lo, hi int) {
	if s.N <= 0 {
		return 0, n
	}
	return (s.K - 1) * n / s.N, s.K * n / s.N
}

// Schema metadata of a shard's predictions file (absent from unsharded and
// merged files).
const (
	KeyShard      = "pgaug.shard"        // "K/N"
	KeyShardRows  = "pgaug.shard_rows"   // "LO-HI/TOTAL": the shard's range of the selected rows
	KeyModelSum   = "pgaug.model_sha256" // content of the model (and policy) the shard ran
	KeyDataRowSum = "pgaug.data_rows"    // identity of the selected rows: their ids, labels and the part files' sizes
)

// shardInfo is what a shard's file records so that Merge can check the
// shards belong together and none is missing.
type shardInfo struct {
	Shard          Shard
	Lo, Hi, Total  int
	ModelSum, Rows string
}

func shardHeader(cfg Config, ds *arrowds.Dataset, selected []int, lo, hi int) (*shardInfo, error) {
	model, err := fingerprint.Content(cfg.Model)
	if err != nil {
		return nil, err
	}
	if cfg.TTA {
		pol, err := fingerprint.Content(cfg.Policy)
		if err != nil {
			return nil, err
		}
		model += "+" + pol
	}
	h := sha256.New()
	for _, f := range ds.Files() {
		st, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", cfg.Data, err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), st.Size())
	}
	var buf [8]byte
	for _, i := range selected {
		r := ds.Row(i)
		fmt.Fprintf(h, "%s\x00", r.ID)
		binary.LittleEndian.PutUint64(buf[:], uint64(int64(r.Label)))
		h.Write(buf[:])
	}
	return &shardInfo{Shard: cfg.Shard, Lo: lo, Hi: hi, Total: len(selected), ModelSum: model, Rows: "sha256:" + hex.EncodeToString(h.Sum(nil))}, nil
}

func (s *shardInfo) keys() (keys, vals []string) {
	return []string{KeyShard, KeyShardRows, KeyModelSum, KeyDataRowSum},
		[]string{s.Shard.String(), fmt.Sprintf("%d-%d/%d", s.Lo, s.Hi, s.Total), s.ModelSum, s.Rows}
}

func parseShardInfo(get func(string) string) (*shardInfo, error) {
	v := get(KeyShard)
	if v == "" {
		return nil, nil
	}
	sh, err := ParseShard(v)
	if err != nil {
		return nil, fmt.Errorf("schema metadata %s: %w", KeyShard, err)
	}
	info := &shardInfo{Shard: sh, ModelSum: get(KeyModelSum), Rows: get(KeyDataRowSum)}
	if _, err := fmt.Sscanf(get(KeyShardRows), "%d-%d/%d", &info.Lo, &info.Hi, &info.Total); err != nil {
		return nil, fmt.Errorf("schema metadata %s is %q, want LO-HI/TOTAL", KeyShardRows, get(KeyShardRows))
	}
	if lo, hi := sh.Range(info.Total); lo != info.Lo || hi != info.Hi {
		return nil, fmt.Errorf("schema metadata %s is %q; shard %s of %d rows is %d-%d", KeyShardRows, get(KeyShardRows), sh, info.Total, lo, hi)
	}
	return info, nil
}

// MergeResult summarises a Merge.
type MergeResult struct {
	Output string
	Rows   int
	Shards int
	// Predictions are the merged rows, as written.
	Predictions *Predictions
}

// Merge joins the predictions files of the N shards of one run (written by
// Run with Config.Shard, in any order) into output: the rows in dataset
// order, equal row for row to the file an unsharded run writes. It refuses
// files that are not shards, shards of other models, datasets, splits or
// shard counts, and names the shards that are missing or given twice. The
// output appears only once complete.
func Merge(output string, inputs []string) (MergeResult, error) {
	if len(inputs) == 0 {
		return MergeResult{}, errors.New("merge: no shard files given")
	}
	type part struct {
		path string
		p    *Predictions
	}
	var first *part
	byK := map[int]part{}
	for _, in := range inputs {
		if sameFile(output, in) {
			return MergeResult{}, fmt.Errorf("merge: output %s would replace the shard %s", output, in)
		}
		p, err := ReadPredictions(in)
		if err != nil {
			return MergeResult{}, fmt.Errorf("merge: %w", err)
		}
		if p.shard == nil {
			return MergeResult{}, fmt.Errorf("merge: %s is not a shard (it has no %s; it was written without --shard)", in, KeyShard)
		}
		cur := part{in, p}
		if first == nil {
			first = &cur
		} else if err := sameRun(first.p, p); err != nil {
			return MergeResult{}, fmt.Errorf("merge: %s and %s are not shards of one run: %w", first.path, in, err)
		}
		if prev, dup := byK[p.shard.Shard.K]; dup {
			return MergeResult{}, fmt.Errorf("merge: shard %s given twice (%s and %s)", p.shard.Shard, prev.path, in)
		}
		if got, want := p.Len(), p.shard.Hi-p.shard.Lo; got != want {
			return MergeResult{}, fmt.Errorf("merge: shard %s (%s) holds %d rows, its range %d-%d has %d: the file is incomplete", p.shard.Shard, in, got, p.shard.Lo, p.shard.Hi, want)
		}
		byK[p.shard.Shard.K] = cur
	}
	n := first.p.shard.Shard.N
	var missing []string
	for k := 1; k <= n; k++ {
		if _, ok := byK[k]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", k, n))
		}
	}
	if len(missing) > 0 {
		return MergeResult{}, fmt.Errorf("merge: missing shard %s of %d (have %d file(s))", strings.Join(missing, ", "), n, len(byK))
	}
	h := first.p.header()
	h.Shard = nil
	w, err := newPredictionWriter(output, h)
	if err != nil {
		return MergeResult{}, fmt.Errorf("merge: %w", err)
	}
	defer w.abort()
	k := len(h.Classes)
	merged := &Predictions{Model: h.Model, Data: h.Data, Split: h.Split, Version: h.Version, Policy: h.Policy, Classes: h.Classes}
	for s := 1; s <= n; s++ {
		p := byK[s].p
		rows := make([]int, p.Len())
		labels := make([]int32, p.Len())
		for i := range rows {
			rows[i], labels[i] = int(p.Rows[i]), int32(p.Labels[i])
		}
		// In flushRows chunks, as an unsharded run appends its batches.
		for lo := 0; lo < p.Len(); lo += flushRows {
			hi := min(lo+flushRows, p.Len())
			if err := w.append(p.IDs[lo:hi], rows[lo:hi], labels[lo:hi], p.Preds[lo:hi], p.Probs[lo*k:hi*k]); err != nil {
				return MergeResult{}, fmt.Errorf("merge: %w", err)
			}
		}
		merged.IDs = append(merged.IDs, p.IDs...)
		merged.Rows = append(merged.Rows, p.Rows...)
		merged.Labels = append(merged.Labels, p.Labels...)
		merged.Preds = append(merged.Preds, p.Preds...)
		merged.Probs = append(merged.Probs, p.Probs...)
	}
	if err := w.commit(); err != nil {
		return MergeResult{}, fmt.Errorf("merge: %w", err)
	}
	return MergeResult{Output: output, Rows: merged.Len(), Shards: n, Predictions: merged}, nil
}

// sameRun says how two shards' files differ in what they ran, or nil.
func sameRun(a, b *Predictions) error {
	for _, c := range []struct{ what, x, y string }{
		{"model file", a.Model, b.Model}, {"model content", a.shard.ModelSum, b.shard.ModelSum},
		{"dataset", a.Data, b.Data}, {"split", a.Split, b.Split}, {"policy", a.Policy, b.Policy},
		{"pgaug version", a.Version, b.Version}, {"classes", strings.Join(a.Classes, ","), strings.Join(b.Classes, ",")},
		{"dataset rows (ids, labels, part files)", a.shard.Rows, b.shard.Rows},
	} {
		if c.x != c.y {
			return fmt.Errorf("%s %q against %q", c.what, c.x, c.y)
		}
	}
	if a.shard.Shard.N != b.shard.Shard.N || a.shard.Total != b.shard.Total {
		return fmt.Errorf("shards of %d and of %d (of %d and %d rows)", a.shard.Shard.N, b.shard.Shard.N, a.shard.Total, b.shard.Total)
	}
	return nil
}

// Score computes the metrics of a predictions file's labelled rows; nil
// when the rows have no single label or there are fewer than 2 classes.
func Score(p *Predictions) (*metrics.Report, error) {
	k := len(p.Classes)
	if k < 2 || p.Len() == 0 {
		return nil, nil
	}
	labels := make([]int, p.Len())
	for i, l := range p.Labels {
		if l < 0 {
			return nil, nil
		}
		labels[i] = int(l)
	}
	r, err := metrics.Compute(p.Probs, labels, k)
	if err != nil {
		return nil, err
	}
	return &r, nil
}
