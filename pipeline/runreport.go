package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pgaug/pgaug/pipeline/report"
	"github.com/pgaug/pgaug/trainer/metrics"
	"github.com/pgaug/pgaug/trainer/saliency"
)

// metricColumns are the columns of every results table.
var metricColumns = []string{"accuracy", "balanced acc.", "macro precision", "macro recall", "macro F1", "AUROC", "mean entropy", "n"}

func metricCells(r metrics.Report) []string {
	return []string{f4(r.Accuracy), f4(r.BalancedAcc), f4(r.MacroPrecision), f4(r.MacroRecall), f4(r.MacroF1), f4(r.AUROC), f4(r.MeanEntropy), fmt.Sprint(r.N)}
}

func f4(v float64) string { return fmt.Sprintf("%.4f", v) }

// stageLogs lists the training stages of a run with a metrics log.
func stageLogs(sum *RunSummary) []StageRecord {
	var out []StageRecord
	for _, s := range sum.Stages {
		if _, err := os.Stat(filepath.Join(s.Dir, MetricsLog)); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// epochSeries reads a metrics log's epoch records as series of y against
// the epoch.
func epochSeries(path, name, y string) (report.Series, error) {
	rows, err := report.ReadJSONLines(path)
	if err != nil {
		return report.Series{}, err
	}
	var epochs []map[string]any
	for _, r := range rows {
		if r["kind"] == "epoch" {
			epochs = append(epochs, r)
		}
	}
	s := report.SeriesFromLog(epochs, "epoch", y)
	s.Name = name
	return s, nil
}

// curves draws the training loss and validation accuracy of every training
// stage into dir, returning the figures (paths relative to rel).
func curves(stages []StageRecord, dir, rel string) ([]report.Figure, error) {
	if len(stages) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var figs []report.Figure
	for _, c := range []struct{ key, file, title, ylabel string }{
		{"mean.loss", "train-loss.png", "training loss per epoch", "loss"},
		{"val.accuracy", "val-accuracy.png", "validation accuracy per epoch (gorgonia, inference mode)", "accuracy"},
	} {
		chart := report.Chart{Title: c.title, XLabel: "epoch", YLabel: c.ylabel, Markers: true}
		for _, s := range stages {
			series, err := epochSeries(filepath.Join(s.Dir, MetricsLog), s.Name, c.key)
			if err != nil {
				return nil, err
			}
			chart.Series = append(chart.Series, series)
		}
		path := filepath.Join(dir, c.file)
		if err := report.LineChart(path, chart); err != nil {
			return nil, err
		}
		r, _ := filepath.Rel(rel, path)
		figs = append(figs, report.Figure{Path: r, Caption: c.title})
	}
	return figs, nil
}

// saliencyColumns are the saliency scores the tables show, in order.
var saliencyColumns = []struct{ key, title string }{
	{saliency.KeyKeep, "mask keep"}, {saliency.KeyIoU, "mask IoU"}, {saliency.KeyIoURandom, "random IoU"},
	{saliency.KeyIoUTopK, "top-k IoU"}, {saliency.KeyPointing, "pointing"},
	{saliency.KeyDeletion, "deletion AUC ↓"}, {saliency.KeyInsertion, "insertion AUC ↑"},
}

// saliencyTable shows the methods' saliency scores on the val split (false
// when no method has any).
func saliencyTable(ms []MethodResult) (report.Table, bool) {
	t := report.Table{Caption: "Mask quality on the val split: the APGA policy's and Grad-CAM's maps against the true regions (where the data has them), and their deletion and insertion AUCs",
		Columns: []string{"method"}}
	for _, c := range saliencyColumns {
		t.Columns = append(t.Columns, c.title)
	}
	for _, m := range ms {
		if len(m.Saliency) == 0 {
			continue
		}
		row := []string{m.Method}
		for _, c := range saliencyColumns {
			if v, ok := m.Saliency[c.key]; ok {
				row = append(row, f4(v))
			} else {
				row = append(row, "–")
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, len(t.Rows) > 0
}

func rowsOf(lines []string) [][]string {
	out := make([][]string, len(lines))
	for i, l := range lines {
		out[i] = []string{l}
	}
	return out
}

// lastFile returns the last file (by name) in dir matching pattern.
func lastFile(dir, pattern string) string {
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	if len(m) == 0 {
		return ""
	}
	sort.Strings(m)
	return m[len(m)-1]
}

// writeRunReport writes cfg.Dir/report.html for a pipeline run.
func writeRunReport(cfg RunConfig, sum *RunSummary) (string, error) {
	page := report.Page{
		Title:    "pgaug pipeline run",
		Subtitle: fmt.Sprintf("data %s · seed %d · methods %s · %.0f s", cfg.Data.Path, cfg.Seed, strings.Join(cfg.Methods, ", "), sum.Seconds),
		Footer:   "pgaug " + cfg.Version + " · numbers also in report.json",
	}
	res := report.Table{Caption: "Test split, scored by ONNX Runtime on the exported ONNX models", Columns: append([]string{"method"}, metricColumns...)}
	for _, m := range sum.Methods {
		res.Rows = append(res.Rows, append([]string{m.Method}, metricCells(m.Test)...))
		if m.TestTTA != nil {
			res.Rows = append(res.Rows, append([]string{m.Method + " + TTA"}, metricCells(*m.TestTTA)...))
		}
		if m.TestStudy != nil {
			res.Rows = append(res.Rows, append([]string{m.Method + " (per study)"}, metricCells(*m.TestStudy)...))
		}
	}
	val := report.Table{Caption: "Validation split, the selected model of each training stage (gorgonia)", Columns: append([]string{"stage"}, metricColumns...)}
	for _, s := range sum.Stages {
		if r, ok := s.Final["val"]; ok {
			val.Rows = append(val.Rows, append([]string{s.Name}, metricCells(r)...))
		}
	}
	tables := []report.Table{res, val}
	if t, ok := saliencyTable(sum.Methods); ok {
		tables = append(tables, t)
	}
	var warnings []string
	for _, m := range sum.Methods {
		for _, w := range m.Warnings {
			warnings = append(warnings, m.Method+": "+w)
		}
	}
	if len(warnings) > 0 {
		tables = append(tables, report.Table{Caption: "Warnings", Columns: []string{"what went wrong"}, Rows: rowsOf(warnings)})
	}
	page.Sections = append(page.Sections, report.Section{Heading: "Results", Tables: tables,
		Text: "\"converged start\" is the model of the converge stage (plain training to convergence first, as the APGA paper does); every method continues from it for the same number of epochs (baseline: plain training, no augmentation), except the noise mask, which heats the imported backbone and is then fine-tuned on clean images."})
	figs, err := curves(stageLogs(sum), filepath.Join(cfg.Dir, "figures"), cfg.Dir)
	if err != nil {
		return "", err
	}
	page.Sections = append(page.Sections, report.Section{Heading: "Training curves", Figures: figs})
	var masks []report.Figure
	for _, s := range sum.Stages {
		kind, _ := SplitMethod(s.Name) // noisemask@VARIANT is a noisemask stage too
		if g := lastFile(filepath.Join(s.Dir, "grids"), "step-*.png"); g != "" {
			r, _ := filepath.Rel(cfg.Dir, g)
			cap := "APGA policy at the last evaluation: image | probability P | aid mask P > 0.5 | masked image"
			if kind == "noisemask" {
				cap = "noise mask at the last evaluation: image | Beta noise matrix | mask after up-sampling and blur | masked image"
			}
			masks = append(masks, report.Figure{Path: r, Caption: cap})
		}
		if p := filepath.Join(s.Dir, NoiseParamsFile); fileExists(p) {
			r, _ := filepath.Rel(cfg.Dir, p)
			masks = append(masks, report.Figure{Path: r, Caption: s.Name + ": the noise parameters over the steps: means of the image-level a and b (log α, log β, after the bound) and of the dataset-level EMA; a run that heats away drifts here"})
		}
		if h := filepath.Join(s.Dir, "histogram.png"); kind == "noisemask" {
			if _, err := os.Stat(h); err == nil {
				r, _ := filepath.Rel(cfg.Dir, h)
				masks = append(masks, report.Figure{Path: r, Caption: "pixel intensities before and after the noise mask (the noise-mask paper's Fig. 6)"})
			}
		}
	}
	if len(masks) > 0 {
		page.Sections = append(page.Sections, report.Section{Heading: "Masks", Figures: masks})
	}
	stages := report.Table{Caption: "Stages (a re-run skips the finished ones)", Columns: []string{"stage", "directory", "seconds", "outputs"}}
	for _, s := range sum.Stages {
		var outs []string
		for k, v := range s.Outputs {
			r, _ := filepath.Rel(cfg.Dir, v)
			outs = append(outs, k+": "+r)
		}
		sort.Strings(outs)
		r, _ := filepath.Rel(cfg.Dir, s.Dir)
		stages.Rows = append(stages.Rows, []string{s.Name, r, fmt.Sprintf("%.1f", s.Seconds), strings.Join(outs, ", ")})
	}
	conf := report.Table{Caption: "Configuration (config.toml)", Columns: []string{"key", "value"}}
	for _, k := range ConfigKeys() {
		v, _ := cfg.Get(k.Name)
		conf.Rows = append(conf.Rows, []string{k.Name, v})
	}
	page.Sections = append(page.Sections, report.Section{Heading: "Run", Tables: []report.Table{stages, conf}})
	path := filepath.Join(cfg.Dir, "report.html")
	return path, report.WritePage(path, page)
}
