package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/pgaug/pgaug/datasets/atomicfile"
	"github.com/pgaug/pgaug/pipeline/report"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/saliency"
)

// Stat is the mean, sample standard deviation and 95% Student-t interval of
// one metric over seeds.
type Stat struct {
	Mean   float64    `json:"mean"`
	Std    float64    `json:"std"`
	CI95   [2]float64 `json:"ci95"`
	Values []float64  `json:"values"`
}

// NewStat summarises values (the interval is the mean for one value).
func NewStat(values []float64) Stat {
	s := Stat{Values: values}
	n := float64(len(values))
	if n == 0 {
		return s
	}
	for _, v := range values {
		s.Mean += v / n
	}
	if len(values) > 1 {
		var ss float64
		for _, v := range values {
			ss += (v - s.Mean) * (v - s.Mean)
		}
		s.Std = math.Sqrt(ss / (n - 1))
		t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(0.975)
		h := t * s.Std / math.Sqrt(n)
		s.CI95 = [2]float64{s.Mean - h, s.Mean + h}
	} else {
		s.CI95 = [2]float64{s.Mean, s.Mean}
	}
	return s
}

// Within clips the interval to [lo, hi], the range the metric can take (a
// t-interval around an accuracy near 1 can pass 1).
func (s Stat) Within(lo, hi float64) Stat {
	s.CI95 = [2]float64{math.Max(s.CI95[0], lo), math.Min(s.CI95[1], hi)}
	return s
}

// PM formats mean ± std.
func (s Stat) PM() string { return fmt.Sprintf("%.4f ± %.4f", s.Mean, s.Std) }

// MethodStats are one method's metrics over seeds.
type MethodStats struct {
	Method  string          `json:"method"`
	Seeds   []uint64        `json:"seeds"`
	Metrics map[string]Stat `json:"metrics"`
	// Saliency holds the saliency scores of the method's maps on the val
	// split (APGA, Grad-CAM), over the seeds that have them.
	Saliency map[string]Stat `json:"saliency,omitempty"`
	// Warnings are the runs' warnings, by seed.
	Warnings []string `json:"warnings,omitempty"`
}

// ExperimentResult is what `pgaug experiment` writes (results.json).
type ExperimentResult struct {
	Dir      string        `json:"dir"`
	Seeds    []uint64      `json:"seeds"`
	Methods  []MethodStats `json:"methods"`
	Runs     []string      `json:"runs"` // each seed's report.html
	Seconds  float64       `json:"seconds"`
	Report   string        `json:"report"`
	Markdown string        `json:"markdown"`
}

// experimentMetrics are the metrics an experiment aggregates.
var experimentMetrics = []struct {
	key, title string
	get        func(metrics.Report) float64
	max        float64 // the metric's upper bound (its lower bound is 0)
}{
	{"accuracy", "accuracy", func(r metrics.Report) float64 { return r.Accuracy }, 1},
	{"balanced_accuracy", "balanced acc.", func(r metrics.Report) float64 { return r.BalancedAcc }, 1},
	{"macro_precision", "macro precision", func(r metrics.Report) float64 { return r.MacroPrecision }, 1},
	{"macro_recall", "macro recall", func(r metrics.Report) float64 { return r.MacroRecall }, 1},
	{"macro_f1", "macro F1", func(r metrics.Report) float64 { return r.MacroF1 }, 1},
	{"auroc", "AUROC", func(r metrics.Report) float64 { return r.AUROC }, 1},
	{"mean_entropy", "mean entropy", func(r metrics.Report) float64 { return r.MeanEntropy }, math.Inf(1)}, // ≤ ln K
}

// Experiment runs the pipeline once per seed (cfg.Seeds) in cfg.Dir/seed-N
// and writes one table of each method's test metrics, mean ± std and 95%
// intervals over the seeds: results.json, results.md and experiment.html.
func Experiment(ctx context.Context, cfg RunConfig, log io.Writer) (ExperimentResult, error) {
	return experiment(ctx, cfg, log, runOptions{})
}

func experiment(ctx context.Context, cfg RunConfig, log io.Writer, opts runOptions) (ExperimentResult, error) {
	start := time.Now()
	res := ExperimentResult{Dir: cfg.Dir, Seeds: cfg.Seeds}
	if len(cfg.Seeds) == 0 {
		return res, fmt.Errorf("experiment: no seeds")
	}
	if err := cfg.check(); err != nil {
		return res, err
	}
	values := map[string]map[string][]float64{} // method → metric → values
	sal := map[string]map[string][]float64{}    // method → saliency key → values
	warnings := map[string][]string{}
	var order []string
	for _, seed := range cfg.Seeds {
		c := seedConfig(cfg, seed)
		if log != nil {
			fmt.Fprintf(log, "=== seed %d (%s)\n", seed, c.Dir)
		}
		sum, err := runPipeline(ctx, c, log, opts)
		if err != nil {
			return res, fmt.Errorf("seed %d: %w", seed, err)
		}
		res.Runs = append(res.Runs, sum.Report)
		for _, m := range sum.Methods {
			add := func(name string, r metrics.Report) {
				if values[name] == nil {
					values[name] = map[string][]float64{}
					order = append(order, name)
				}
				for _, em := range experimentMetrics {
					values[name][em.key] = append(values[name][em.key], em.get(r))
				}
			}
			add(m.Method, m.Test)
			for k, v := range m.Saliency {
				if sal[m.Method] == nil {
					sal[m.Method] = map[string][]float64{}
				}
				sal[m.Method][k] = append(sal[m.Method][k], v)
			}
			for _, w := range m.Warnings {
				warnings[m.Method] = append(warnings[m.Method], fmt.Sprintf("seed %d: %s", seed, w))
			}
			if m.TestTTA != nil {
				add(m.Method+" + TTA", *m.TestTTA)
			}
			if m.TestStudy != nil {
				add(m.Method+" (per study)", *m.TestStudy)
			}
		}
	}
	for _, name := range order {
		ms := MethodStats{Method: name, Seeds: cfg.Seeds, Metrics: map[string]Stat{}}
		for _, em := range experimentMetrics {
			ms.Metrics[em.key] = NewStat(values[name][em.key]).Within(0, em.max)
		}
		for k, v := range sal[name] {
			if ms.Saliency == nil {
				ms.Saliency = map[string]Stat{}
			}
			hi := 1.0
			if k == saliency.KeyImages {
				hi = math.Inf(1)
			}
			ms.Saliency[k] = NewStat(v).Within(0, hi)
		}
		ms.Warnings = warnings[name]
		res.Methods = append(res.Methods, ms)
	}
	res.Seconds = time.Since(start).Seconds()
	res.Markdown = experimentMarkdown(res)
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return res, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(cfg.Dir, "results.md"), []byte(res.Markdown)); err != nil {
		return res, err
	}
	page, err := writeExperimentReport(cfg, res)
	if err != nil {
		return res, err
	}
	res.Report = page
	return res, writeJSONFile(filepath.Join(cfg.Dir, "results.json"), res)
}

// seedConfig is the pipeline configuration of one seed of an experiment:
// its run directory DIR/seed-N, and --reuse-from directories searched in
// their seed-N sub-directories first.
func seedConfig(cfg RunConfig, seed uint64) RunConfig {
	c := cfg
	c.Seed = seed
	c.Dir = filepath.Join(cfg.Dir, fmt.Sprintf("seed-%d", seed))
	c.ReuseFrom = nil
	for _, d := range cfg.ReuseFrom {
		c.ReuseFrom = append(c.ReuseFrom, filepath.Join(d, fmt.Sprintf("seed-%d", seed)), d)
	}
	return c
}

// experimentMarkdown is the results in Markdown (for a README): every
// metric's mean ± std, then the 95% intervals of accuracy and balanced
// accuracy.
func experimentMarkdown(res ExperimentResult) string {
	var b strings.Builder
	b.WriteString("| method |")
	for _, em := range experimentMetrics {
		b.WriteString(" " + em.title + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(experimentMetrics)) + "\n")
	for _, m := range res.Methods {
		b.WriteString("| " + m.Method + " |")
		for _, em := range experimentMetrics {
			b.WriteString(" " + m.Metrics[em.key].PM() + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n| method, 95% intervals |")
	for _, em := range experimentMetrics {
		b.WriteString(" " + em.title + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(experimentMetrics)) + "\n")
	for _, m := range res.Methods {
		b.WriteString("| " + m.Method + " |")
		for _, em := range experimentMetrics {
			s := m.Metrics[em.key]
			fmt.Fprintf(&b, " [%.4f, %.4f] |", s.CI95[0], s.CI95[1])
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nTest split, ONNX Runtime on the exported models; mean ± sample std over seeds %v, 95%% Student-t intervals.\n", res.Seeds)
	var withMasks []MethodStats
	for _, m := range res.Methods {
		if len(m.Saliency) > 0 {
			withMasks = append(withMasks, m)
		}
	}
	if len(withMasks) > 0 {
		b.WriteString("\n| method |")
		for _, c := range saliencyColumns {
			b.WriteString(" " + c.title + " |")
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(saliencyColumns)) + "\n")
		for _, m := range withMasks {
			b.WriteString("| " + m.Method + " |")
			for _, c := range saliencyColumns {
				if s, ok := m.Saliency[c.key]; ok {
					fmt.Fprintf(&b, " %.3f [%.3f, %.3f] |", s.Mean, s.CI95[0], s.CI95[1])
				} else {
					b.WriteString(" – |")
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\nMask quality on the val split (APGA's policy as trained to the end, beside the selected classifier, or the selected classifier's Grad-CAM maps, against the true regions, and deletion/insertion AUCs): mean and 95% interval over the seeds.\n")
	}
	var warned bool
	for _, m := range res.Methods {
		for _, w := range m.Warnings {
			if !warned {
				b.WriteString("\nWarnings:\n\n")
				warned = true
			}
			fmt.Fprintf(&b, "- %s, %s\n", m.Method, w)
		}
	}
	return b.String()
}

func writeExperimentReport(cfg RunConfig, res ExperimentResult) (string, error) {
	cols := []string{"method"}
	for _, em := range experimentMetrics {
		cols = append(cols, em.title)
	}
	tab := report.Table{Caption: fmt.Sprintf("Test split (ONNX Runtime), mean ± std over seeds %v", res.Seeds), Columns: cols}
	ci := report.Table{Caption: "95% Student-t intervals", Columns: cols}
	bars := report.Bars{Title: "test accuracy and balanced accuracy, mean ± std over seeds", YLabel: "score"}
	acc := report.BarSeries{Name: "accuracy"}
	bacc := report.BarSeries{Name: "balanced accuracy"}
	for _, m := range res.Methods {
		row, crow := []string{m.Method}, []string{m.Method}
		for _, em := range experimentMetrics {
			s := m.Metrics[em.key]
			row = append(row, s.PM())
			crow = append(crow, fmt.Sprintf("[%.4f, %.4f]", s.CI95[0], s.CI95[1]))
		}
		tab.Rows = append(tab.Rows, row)
		ci.Rows = append(ci.Rows, crow)
		bars.Categories = append(bars.Categories, m.Method)
		acc.Mean, acc.Err = append(acc.Mean, m.Metrics["accuracy"].Mean), append(acc.Err, m.Metrics["accuracy"].Std)
		bacc.Mean, bacc.Err = append(bacc.Mean, m.Metrics["balanced_accuracy"].Mean), append(bacc.Err, m.Metrics["balanced_accuracy"].Std)
	}
	bars.Series = []report.BarSeries{acc, bacc}
	fig := filepath.Join(cfg.Dir, "figures", "methods.png")
	if err := os.MkdirAll(filepath.Dir(fig), 0o755); err != nil {
		return "", err
	}
	if err := report.BarChart(fig, bars); err != nil {
		return "", err
	}
	tables := []report.Table{tab, ci}
	masks := report.Table{Caption: "Mask quality on the val split (mean and 95% interval over the seeds)", Columns: []string{"method"}}
	for _, c := range saliencyColumns {
		masks.Columns = append(masks.Columns, c.title)
	}
	var warn report.Table
	warn.Caption, warn.Columns = "Warnings", []string{"method", "what went wrong"}
	for _, m := range res.Methods {
		for _, w := range m.Warnings {
			warn.Rows = append(warn.Rows, []string{m.Method, w})
		}
		if len(m.Saliency) == 0 {
			continue
		}
		row := []string{m.Method}
		for _, c := range saliencyColumns {
			if s, ok := m.Saliency[c.key]; ok {
				row = append(row, fmt.Sprintf("%.3f [%.3f, %.3f]", s.Mean, s.CI95[0], s.CI95[1]))
			} else {
				row = append(row, "–")
			}
		}
		masks.Rows = append(masks.Rows, row)
	}
	if len(masks.Rows) > 0 {
		tables = append(tables, masks)
	}
	if len(warn.Rows) > 0 {
		tables = append(tables, warn)
	}
	runs := report.Table{Caption: "Each seed's run report", Columns: []string{"seed", "report"}}
	for i, r := range res.Runs {
		rel, _ := filepath.Rel(cfg.Dir, r)
		runs.Rows = append(runs.Rows, []string{fmt.Sprint(res.Seeds[i]), rel})
	}
	page := report.Page{
		Title:    "pgaug experiment",
		Subtitle: fmt.Sprintf("data %s · methods %s · seeds %v · %.0f s", cfg.Data.Path, strings.Join(cfg.Methods, ", "), res.Seeds, res.Seconds),
		Sections: []report.Section{
			{Heading: "Methods against the baseline", Tables: tables, Figures: []report.Figure{{Path: "figures/methods.png", Caption: "mean ± std over seeds"}},
				Text: "Every number is the test split scored by ONNX Runtime on the exported ONNX model of each method and seed. \"converged start\" is the model trained to convergence first; every other method continues from it for the same number of epochs (baseline: no augmentation), except the noise mask, which heats the imported backbone and then fine-tunes."},
			{Heading: "Runs", Tables: []report.Table{runs}},
		},
		Footer: "pgaug " + cfg.Version + " · numbers also in results.json and results.md",
	}
	path := filepath.Join(cfg.Dir, "experiment.html")
	return path, report.WritePage(path, page)
}
