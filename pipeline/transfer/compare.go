package transfer

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/pgaug/pgaug/trainer/probe"
)

// Group is a set of transfer reports of one kind of model (e.g. the
// normally trained models of five seeds), compared as a unit.
type Group struct {
	Name    string
	Paths   []string // where the reports came from, for errors
	Reports []Result
}

// LoadGroup reads the JSON reports at paths (written by [Run]) into a group.
func LoadGroup(name string, paths []string) (Group, error) {
	g := Group{Name: name, Paths: paths}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return g, fmt.Errorf("transfer report of %s: %w", name, err)
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return g, fmt.Errorf("transfer report %s: %w", p, err)
		}
		g.Reports = append(g.Reports, r)
	}
	return g, nil
}

// Comparison holds, per group, the across-report summaries (mean with its
// 95% Student-t interval over the reports, e.g. over seeds) of the probes'
// test accuracy and of each few-shot k's mean accuracy.
type Comparison struct {
	Shots []int
	Rows  []ComparisonRow
}

// ComparisonRow is one group's summaries; a nil entry was not measured.
type ComparisonRow struct {
	Name    string
	N       int            // reports in the group
	MLP     *probe.Summary // full-split MLP probe accuracy
	LogReg  *probe.Summary // full-split logistic-regression accuracy
	FewShot []*probe.Summary
}

// Compare summarises each group over its reports. Every report must come
// from the same dataset and splits and run the same few-shot k, and each
// group needs at least two reports (an interval needs two values).
func Compare(groups []Group) (Comparison, error) {
	var c Comparison
	var ref *Result
	var refPath string
	for _, g := range groups {
		if len(g.Reports) < 2 {
			return c, fmt.Errorf("transfer group %s: %d reports, an interval needs at least 2 (one per seed)", g.Name, len(g.Reports))
		}
		for i := range g.Reports {
			r := &g.Reports[i]
			path := g.Name
			if i < len(g.Paths) {
				path = g.Paths[i]
			}
			if ref == nil {
				ref, refPath = r, path
				for _, s := range r.FewShot {
					c.Shots = append(c.Shots, s.K)
				}
				continue
			}
			if r.Data != ref.Data || r.TrainSplit != ref.TrainSplit || r.TestSplit != ref.TestSplit || r.TestN != ref.TestN {
				return c, fmt.Errorf("transfer report %s scores %s (%s/%s, %d test images), %s scores %s (%s/%s, %d): not comparable",
					path, r.Data, r.TrainSplit, r.TestSplit, r.TestN, refPath, ref.Data, ref.TrainSplit, ref.TestSplit, ref.TestN)
			}
			if !sameShots(r.FewShot, c.Shots) {
				return c, fmt.Errorf("transfer report %s ran few-shot k %v, %s ran %v", path, shotsOf(r.FewShot), refPath, c.Shots)
			}
		}
	}
	for _, g := range groups {
		row := ComparisonRow{Name: g.Name, N: len(g.Reports), FewShot: make([]*probe.Summary, len(c.Shots))}
		var err error
		if row.MLP, err = summarizeOver(g, func(r Result) (float64, bool) { return scoreAcc(r.MLP) }); err != nil {
			return c, err
		}
		if row.LogReg, err = summarizeOver(g, func(r Result) (float64, bool) { return scoreAcc(r.LogReg) }); err != nil {
			return c, err
		}
		for k := range c.Shots {
			if row.FewShot[k], err = summarizeOver(g, func(r Result) (float64, bool) {
				s := r.FewShot[k]
				if s.Skipped != "" || s.Accuracy == nil {
					return 0, false
				}
				return s.Accuracy.Mean, true
			}); err != nil {
				return c, err
			}
		}
		c.Rows = append(c.Rows, row)
	}
	return c, nil
}

func scoreAcc(s *Scores) (float64, bool) {
	if s == nil {
		return 0, false
	}
	return s.Accuracy, true
}

// summarizeOver summarises value over the group's reports: nil when no
// report has it, an error when only some do.
func summarizeOver(g Group, value func(Result) (float64, bool)) (*probe.Summary, error) {
	var vs []float64
	for _, r := range g.Reports {
		if v, ok := value(r); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return nil, nil
	}
	if len(vs) != len(g.Reports) {
		return nil, fmt.Errorf("transfer group %s: %d of its %d reports have the value: run them alike", g.Name, len(vs), len(g.Reports))
	}
	s, err := probe.Summarize(vs, 0.95)
	if err != nil {
		return nil, fmt.Errorf("transfer group %s: %w", g.Name, err)
	}
	return &s, nil
}

func shotsOf(fs []probe.ShotResult) []int {
	ks := make([]int, len(fs))
	for i, s := range fs {
		ks[i] = s.K
	}
	return ks
}

func sameShots(fs []probe.ShotResult, ks []int) bool {
	if len(fs) != len(ks) {
		return false
	}
	for i, s := range fs {
		if s.K != ks[i] {
			return false
		}
	}
	return true
}

// Markdown is the comparison as a table: a row per group, the probes'
// accuracies and then one column per few-shot k, each "mean [lo, hi]".
func (c Comparison) Markdown() string {
	var b strings.Builder
	b.WriteString("| model | reports | MLP probe | logistic regression |")
	for _, k := range c.Shots {
		fmt.Fprintf(&b, " %d-shot |", k)
	}
	b.WriteString("\n|---|---|---|---|")
	for range c.Shots {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	cell := func(s *probe.Summary) string {
		if s == nil {
			return "-"
		}
		return fmt.Sprintf("%.4f [%.4f, %.4f]", s.Mean, s.Lo, s.Hi)
	}
	for _, r := range c.Rows {
		fmt.Fprintf(&b, "| %s | %d | %s | %s |", r.Name, r.N, cell(r.MLP), cell(r.LogReg))
		for _, s := range r.FewShot {
			fmt.Fprintf(&b, " %s |", cell(s))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nTest accuracy: mean over the reports (one per seed) with its 95% Student-t interval; a few-shot cell averages each report's mean over its trials.\n")
	return b.String()
}
