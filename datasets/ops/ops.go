package ops

import (
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/imgio"
)

// Summary describes a dataset.
type Summary struct {
	Path   string
	Files  []string
	Rows   int
	Meta   arrowds.Metadata
	Schema *arrow.Schema
	// Counts[split][k] is the number of rows of the split with class k
	// (for multilabel datasets: rows where class k is positive).
	Counts                 map[string][]int
	Splits                 []string       // the splits present, canonical ones first
	Sizes                  map[string]int // "HxWxC" -> rows
	MinH, MaxH, MinW, MaxW int
	Groups                 int // distinct non-empty groups
	Masks                  int // rows with a mask
}

// Inspect summarises a dataset from its row index (no pixels are read).
func Inspect(d *arrowds.Dataset) Summary {
	m := d.Meta()
	s := Summary{Path: d.Path(), Files: d.Files(), Rows: d.Len(), Meta: m, Schema: d.Schema(),
		Counts: map[string][]int{}, Sizes: map[string]int{}, MinH: math.MaxInt, MinW: math.MaxInt}
	groups := map[string]bool{}
	for i := 0; i < d.Len(); i++ {
		r := d.Row(i)
		c := s.Counts[r.Split]
		if c == nil {
			c = make([]int, len(m.Classes))
			s.Counts[r.Split] = c
		}
		if r.Labels != nil {
			for k, v := range r.Labels {
				c[k] += int(v)
			}
		} else {
			c[r.Label]++
		}
		s.Sizes[fmt.Sprintf("%dx%dx%d", r.Height, r.Width, r.Channels)]++
		s.MinH, s.MaxH = min(s.MinH, int(r.Height)), max(s.MaxH, int(r.Height))
		s.MinW, s.MaxW = min(s.MinW, int(r.Width)), max(s.MaxW, int(r.Width))
		if r.Group != "" {
			groups[r.Group] = true
		}
		if r.HasMask {
			s.Masks++
		}
	}
	s.Groups = len(groups)
	s.Splits = sortedSplits(s.Counts)
	if s.Rows == 0 {
		s.MinH, s.MinW = 0, 0
	}
	return s
}

func sortedSplits[V any](m map[string]V) []string {
	var out []string
	for _, sp := range arrowds.Splits {
		if _, ok := m[sp]; ok {
			out = append(out, sp)
		}
	}
	var rest []string
	for sp := range m {
		if indexOf(arrowds.Splits, sp) < 0 {
			rest = append(rest, sp)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// Write prints the summary for people.
func (s *Summary) Write(w io.Writer) {
	m := s.Meta
	fmt.Fprintf(w, "dataset   %s (%d file(s), %d rows)\n", s.Path, len(s.Files), s.Rows)
	fmt.Fprintf(w, "name      %s\n", m.Name)
	fmt.Fprintf(w, "task      %s, %d classes\n", m.Task, len(m.Classes))
	fmt.Fprintf(w, "pixels    %s, %d channel(s)\n", m.PixelType, m.Channels)
	if m.Source != "" {
		fmt.Fprintf(w, "source    %s\n", m.Source)
	}
	if m.Licence != "" {
		fmt.Fprintf(w, "licence   %s\n", m.Licence)
	}
	if m.Attribution != "" {
		fmt.Fprintf(w, "cite      %s\n", m.Attribution)
	}
	if m.NormMean != nil {
		fmt.Fprintf(w, "norm      mean %v std %v (split %s, pixels scaled to [0,1])\n", fmtFloats(m.NormMean), fmtFloats(m.NormStd), m.NormSplit)
	} else {
		fmt.Fprintf(w, "norm      not computed (pgaug data stats)\n")
	}
	fmt.Fprintf(w, "columns  ")
	for _, f := range s.Schema.Fields() {
		fmt.Fprintf(w, " %s:%s", f.Name, f.Type)
	}
	fmt.Fprintln(w)
	if len(s.Sizes) == 1 {
		for k := range s.Sizes {
			fmt.Fprintf(w, "sizes     all %s\n", k)
		}
	} else if s.Rows > 0 {
		fmt.Fprintf(w, "sizes     %d distinct; height %d..%d, width %d..%d\n", len(s.Sizes), s.MinH, s.MaxH, s.MinW, s.MaxW)
	}
	if s.Groups > 0 {
		fmt.Fprintf(w, "groups    %d\n", s.Groups)
	}
	if s.Masks > 0 {
		fmt.Fprintf(w, "masks     %d rows\n", s.Masks)
	}
	// Counts table: one row per class, one column per split.
	width := 5
	for _, c := range m.Classes {
		width = max(width, len(c))
	}
	fmt.Fprintf(w, "\n%-*s", width+2, "class")
	for _, sp := range s.Splits {
		fmt.Fprintf(w, "%8s", sp)
	}
	fmt.Fprintf(w, "%8s\n", "total")
	totals := make([]int, len(s.Splits))
	for k, c := range m.Classes {
		fmt.Fprintf(w, "%-*s", width+2, c)
		sum := 0
		for j, sp := range s.Splits {
			n := s.Counts[sp][k]
			fmt.Fprintf(w, "%8d", n)
			sum += n
			totals[j] += n
		}
		fmt.Fprintf(w, "%8d\n", sum)
	}
	if m.Task != arrowds.Multilabel {
		fmt.Fprintf(w, "%-*s", width+2, "total")
		sum := 0
		for _, t := range totals {
			fmt.Fprintf(w, "%8d", t)
			sum += t
		}
		fmt.Fprintf(w, "%8d\n", sum)
	}
}

func fmtFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.4f", x)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// Grid returns a picture of perClass seeded random images of each class
// (one row per class) from a split ("" = all rows), and the ids shown, row
// by row.
func Grid(d *arrowds.Dataset, split string, perClass int, seed uint64, cell int) (image.Image, [][]string, error) {
	m := d.Meta()
	byClass := make([][]int, len(m.Classes))
	for _, i := range d.Indices(split) {
		r := d.Row(i)
		for k := range m.Classes {
			if (r.Labels == nil && int(r.Label) == k) || (r.Labels != nil && r.Labels[k] == 1) {
				byClass[k] = append(byClass[k], i)
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x47524944))
	rows := make([][]arrowds.Image, len(m.Classes))
	ids := make([][]string, len(m.Classes))
	for k, list := range byClass {
		rng.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
		for _, i := range list[:min(perClass, len(list))] {
			var im arrowds.Image
			if err := d.ReadImage(i, &im); err != nil {
				return nil, nil, err
			}
			rows[k] = append(rows[k], im)
			ids[k] = append(ids[k], d.Row(i).ID)
		}
	}
	return imgio.Grid(rows, cell), ids, nil
}

// SplitOptions configures Split.
type SplitOptions struct {
	Fractions [3]float64 // train, val, test (sum 1)
	Seed      uint64
	// ByGroup keeps every group (patient, study) in one split; rows without
	// a group are their own group.
	ByGroup bool
	// From limits the re-split to rows currently in these splits (empty:
	// all rows); other rows keep their split.
	From []string
}

// AssignSplits returns the new split of every row: rows are stratified by
// class (for multilabel datasets by their first positive class), shuffled
// with the seed, and cut by the fractions with largest-remainder rounding
// per class. With ByGroup, whole groups are assigned: groups are stratified
// by their most common class and each goes to the split furthest below its
// target number of rows.
func AssignSplits(d *arrowds.Dataset, o SplitOptions) ([]string, error) {
	sum := 0.0
	for _, f := range o.Fractions {
		if f < 0 || math.IsNaN(f) {
			return nil, fmt.Errorf("fractions %v must not be negative", o.Fractions)
		}
		sum += f
	}
	if math.Abs(sum-1) > 1e-6 {
		return nil, fmt.Errorf("fractions %v sum to %v, want 1", o.Fractions, sum)
	}
	out := make([]string, d.Len())
	var pick []int
	for i := 0; i < d.Len(); i++ {
		r := d.Row(i)
		out[i] = r.Split
		if len(o.From) == 0 || indexOf(o.From, r.Split) >= 0 {
			pick = append(pick, i)
		}
	}
	if len(pick) == 0 {
		return nil, fmt.Errorf("no rows in splits %v", o.From)
	}
	stratum := func(r *arrowds.Row) string {
		if r.Labels != nil {
			for k, v := range r.Labels {
				if v == 1 {
					return fmt.Sprint(k)
				}
			}
			return "none"
		}
		return fmt.Sprint(r.Label)
	}
	// Units: single rows, or groups of rows.
	type unit struct {
		rows    []int
		stratum string
	}
	var units []unit
	if o.ByGroup {
		idx := map[string]int{}
		votes := map[string]map[string]int{}
		for _, i := range pick {
			r := d.Row(i)
			g := r.Group
			if g == "" {
				g = "\x00row:" + r.ID
			}
			k, ok := idx[g]
			if !ok {
				k = len(units)
				idx[g] = k
				units = append(units, unit{})
				votes[g] = map[string]int{}
			}
			units[k].rows = append(units[k].rows, i)
			votes[g][stratum(r)]++
		}
		for g, k := range idx {
			best, bn := "", -1
			for s, n := range votes[g] {
				if n > bn || (n == bn && s < best) {
					best, bn = s, n
				}
			}
			units[k].stratum = best
		}
	} else {
		for _, i := range pick {
			units = append(units, unit{rows: []int{i}, stratum: stratum(d.Row(i))})
		}
	}
	// Strata in a fixed order, units within them in a seeded order.
	byStratum := map[string][]int{}
	for k, u := range units {
		byStratum[u.stratum] = append(byStratum[u.stratum], k)
	}
	keys := make([]string, 0, len(byStratum))
	for k := range byStratum {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for si, key := range keys {
		list := byStratum[key]
		rng := rand.New(rand.NewPCG(o.Seed, uint64(si)+0x53504C4954))
		rng.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
		n := 0
		for _, k := range list {
			n += len(units[k].rows)
		}
		target := largestRemainder(n, o.Fractions)
		got := [3]int{}
		for _, k := range list {
			// The split furthest below its target (ties: canonical order).
			best, bestGap := 0, math.Inf(-1)
			for s := 0; s < 3; s++ {
				if target[s] == 0 {
					continue
				}
				gap := float64(target[s]-got[s]) / float64(target[s])
				if gap > bestGap {
					best, bestGap = s, gap
				}
			}
			for _, i := range units[k].rows {
				out[i] = arrowds.Splits[best]
			}
			got[best] += len(units[k].rows)
		}
	}
	return out, nil
}

// largestRemainder splits n by the fractions into integers summing to n.
func largestRemainder(n int, f [3]float64) [3]int {
	var out [3]int
	type rem struct {
		i int
		r float64
	}
	var rems []rem
	left := n
	for i, x := range f {
		v := float64(n) * x
		out[i] = int(math.Floor(v))
		left -= out[i]
		rems = append(rems, rem{i, v - math.Floor(v)})
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; k < left; k++ {
		out[rems[k%3].i]++
	}
	return out
}

// Split rewrites the dataset into out with the splits AssignSplits gives;
// it returns the rows per split.
func Split(d *arrowds.Dataset, out string, o SplitOptions, overwrite bool, progress func(done, total int)) (map[string]int, error) {
	splits, err := AssignSplits(d, o)
	if err != nil {
		return nil, err
	}
	if f, ok := d.Schema().FieldsByName(arrowds.ColSplit); !ok || f[0].Type.ID() != arrow.STRING {
		return nil, fmt.Errorf("%s: the split column must be utf8 to be rewritten", d.Path())
	}
	counts := map[string]int{}
	for _, s := range splits {
		counts[s]++
	}
	err = arrowds.Rewrite(d, out, arrowds.RewriteOptions{Overwrite: overwrite, Progress: progress,
		Map: func(file, batch int, rec arrow.Record) (arrow.Record, error) {
			start := d.BatchStart(file, batch)
			b := array.NewStringBuilder(memory.NewGoAllocator())
			defer b.Release()
			for i := 0; i < int(rec.NumRows()); i++ {
				b.Append(splits[start+i])
			}
			col := b.NewArray()
			defer col.Release()
			return arrowds.ReplaceColumn(rec, arrowds.ColSplit, col)
		}})
	return counts, err
}

// SampleOptions configures Sample.
type SampleOptions struct {
	PerClass int    // rows per class (k)
	Split    string // split to draw from ("" = all rows)
	Seed     uint64
	// KeepOther copies the rows of the other splits unchanged (so that a
	// k-shot training set keeps its validation and test sets).
	KeepOther bool
	// AllowFewer takes every row of a class that has fewer than PerClass
	// instead of failing.
	AllowFewer bool
}

// SampleRows returns the dataset rows a k-shot sample keeps, ascending. For
// multilabel datasets, rows are drawn per class among the rows positive for
// it (a row may serve several classes).
func SampleRows(d *arrowds.Dataset, o SampleOptions) ([]int, error) {
	if o.PerClass < 1 {
		return nil, fmt.Errorf("per-class count %d, want at least 1", o.PerClass)
	}
	m := d.Meta()
	byClass := make([][]int, len(m.Classes))
	keep := map[int]bool{}
	for i := 0; i < d.Len(); i++ {
		r := d.Row(i)
		if o.Split != "" && r.Split != o.Split {
			if o.KeepOther {
				keep[i] = true
			}
			continue
		}
		if r.Labels != nil {
			for k, v := range r.Labels {
				if v == 1 {
					byClass[k] = append(byClass[k], i)
				}
			}
		} else {
			byClass[r.Label] = append(byClass[r.Label], i)
		}
	}
	for k, list := range byClass {
		if len(list) < o.PerClass && !o.AllowFewer {
			return nil, fmt.Errorf("class %q has %d rows in split %q, fewer than %d (use --allow-fewer to take them all)",
				m.Classes[k], len(list), o.Split, o.PerClass)
		}
		rng := rand.New(rand.NewPCG(o.Seed, uint64(k)+0x4B53484F54))
		chosen := 0
		for _, j := range rng.Perm(len(list)) {
			if chosen == o.PerClass {
				break
			}
			if keep[list[j]] {
				continue // already drawn for another class
			}
			keep[list[j]] = true
			chosen++
		}
	}
	out := make([]int, 0, len(keep))
	for i := range keep {
		out = append(out, i)
	}
	sort.Ints(out)
	return out, nil
}

// Sample writes the rows SampleRows picks into out; it returns them.
func Sample(d *arrowds.Dataset, out string, o SampleOptions, overwrite bool, progress func(done, total int)) ([]int, error) {
	rows, err := SampleRows(d, o)
	if err != nil {
		return nil, err
	}
	keep := make(map[int]bool, len(rows))
	for _, r := range rows {
		keep[r] = true
	}
	err = arrowds.Rewrite(d, out, arrowds.RewriteOptions{Overwrite: overwrite, Progress: progress,
		Map: func(file, batch int, rec arrow.Record) (arrow.Record, error) {
			start := d.BatchStart(file, batch)
			var sel []int
			for i := 0; i < int(rec.NumRows()); i++ {
				if keep[start+i] {
					sel = append(sel, i)
				}
			}
			return arrowds.TakeRows(rec, sel)
		}})
	return rows, err
}

// ComputeStats returns the per-channel mean and standard deviation of the
// pixels (scaled to [0,1]) of a split ("" = all rows), reading images one
// at a time.
func ComputeStats(d *arrowds.Dataset, split string, progress func(done, total int)) (mean, std []float64, err error) {
	m := d.Meta()
	idx := d.Indices(split)
	if len(idx) == 0 {
		return nil, nil, fmt.Errorf("%s: no rows in split %q", d.Path(), split)
	}
	c := m.Channels
	sum, sq := make([]float64, c), make([]float64, c)
	var n float64
	scale := float64(m.PixelType.Max())
	var im arrowds.Image
	for k, i := range idx {
		if err := d.ReadImage(i, &im); err != nil {
			return nil, nil, err
		}
		// Per-image sums in float64 keep the rounding error negligible.
		for ch := 0; ch < c; ch++ {
			var s, q float64
			if im.Pix16 != nil {
				for j := ch; j < len(im.Pix16); j += c {
					v := float64(im.Pix16[j]) / scale
					s += v
					q += v * v
				}
			} else {
				for j := ch; j < len(im.Pix); j += c {
					v := float64(im.Pix[j]) / scale
					s += v
					q += v * v
				}
			}
			sum[ch] += s
			sq[ch] += q
		}
		n += float64(im.Height * im.Width)
		if progress != nil {
			progress(k+1, len(idx))
		}
	}
	mean, std = make([]float64, c), make([]float64, c)
	for ch := range mean {
		mean[ch] = sum[ch] / n
		std[ch] = math.Sqrt(math.Max(sq[ch]/n-mean[ch]*mean[ch], 0))
		if std[ch] == 0 {
			return nil, nil, fmt.Errorf("%s: channel %d of split %q is constant (std 0); normalisation would divide by zero", d.Path(), ch, split)
		}
	}
	return mean, std, nil
}

// Stats computes the statistics of a split and writes them into the
// metadata of every file of out (out may be the dataset itself).
func Stats(d *arrowds.Dataset, out, split string, overwrite bool, progress func(done, total int)) (mean, std []float64, err error) {
	mean, std, err = ComputeStats(d, split, progress)
	if err != nil {
		return nil, nil, err
	}
	m := d.Meta()
	m.NormMean, m.NormStd, m.NormSplit = mean, std, split
	if split == "" {
		m.NormSplit = "all"
	}
	return mean, std, arrowds.Rewrite(d, out, arrowds.RewriteOptions{Meta: &m, Overwrite: overwrite})
}
