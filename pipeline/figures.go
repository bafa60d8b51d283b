package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"sort"

	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/pipeline/report"
	"github.com/pgaug/pgaug/trainer/heat"
)

// imagePanel returns image i of x (N×C×H×W) as a panel (channel 0 for
// images that are neither gray nor RGB), min-max scaled.
func imagePanel(x *tensor.Dense, i int) report.Panel {
	s := x.Shape()
	c, h, w := s[1], s[2], s[3]
	d := x.Data().([]float32)[i*c*h*w : (i+1)*c*h*w]
	if c != 1 && c != 3 {
		c = 1
		d = d[:h*w]
	}
	return report.Panel{Pix: d, C: c, H: h, W: w, Scale: "minmax"}
}

// sameScale returns panel p drawn with ref's value range (so a masked image
// shows how much darker it is than the original).
func sameScale(p, ref report.Panel) report.Panel {
	lo, hi := ref.Pix[0], ref.Pix[0]
	for _, v := range ref.Pix {
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi > lo {
		p.Scale, p.Lo, p.Hi = "fixed", float64(lo), float64(hi)
	}
	return p
}

// mapPanel returns map i of a B×H×W (or B×1×H×W) tensor's data.
func mapPanel(d []float32, i, h, w int, scale string, cmap string) report.Panel {
	return report.Panel{Pix: d[i*h*w : (i+1)*h*w], C: 1, H: h, W: w, Scale: scale, Colormap: cmap}
}

// drawMaskGrid draws the APGA grid of the paper's Fig. 2: image, policy
// probability, aid mask (P > threshold) and the masked image.
func drawMaskGrid(path string, x, prob, masked *tensor.Dense, threshold float64, title string) error {
	s := x.Shape()
	n, h, w := s[0], s[2], s[3]
	p := prob.Data().([]float32)
	mask := make([]float32, len(p))
	for i, v := range p {
		if float64(v) > threshold {
			mask[i] = 1
		}
	}
	g := report.Grid{Title: title, Columns: []string{"image", "policy P (min-max)", fmt.Sprintf("mask P>%g", threshold), "masked"}}
	for i := 0; i < n; i++ {
		pp := mapPanel(p, i, h, w, "minmax", "viridis")
		lo, hi := pp.Pix[0], pp.Pix[0]
		for _, v := range pp.Pix {
			lo, hi = min(lo, v), max(hi, v)
		}
		pp.Label = fmt.Sprintf("P %.3f-%.3f", lo, hi)
		g.Rows = append(g.Rows, []report.Panel{
			imagePanel(x, i),
			pp,
			mapPanel(mask, i, h, w, "unit", "gray"),
			sameScale(imagePanel(masked, i), imagePanel(x, i)),
		})
	}
	return report.ImageGrid(path, g)
}

// drawNoiseGrid draws image | noise matrix M (G×G) | mask after up-sampling
// and blur | masked image.
func drawNoiseGrid(path string, x *tensor.Dense, n *heat.Noise, masked *tensor.Dense, grid int, title string) error {
	s := x.Shape()
	b, h, w := s[0], s[2], s[3]
	g := report.Grid{Title: title, Columns: []string{"image", fmt.Sprintf("noise %d×%d", grid, grid), "mask", "masked"}}
	for i := 0; i < b; i++ {
		g.Rows = append(g.Rows, []report.Panel{
			imagePanel(x, i),
			mapPanel(n.Sample, i, grid, grid, "unit", "viridis"),
			mapPanel(n.Mask, i, h, w, "unit", "viridis"),
			sameScale(imagePanel(masked, i), imagePanel(x, i)),
		})
	}
	return report.ImageGrid(path, g)
}

// noiseHistogram draws the paper's Fig. 6: the intensities of validation
// images before and after the noise mask (up to 512 images).
func noiseHistogram(ctx context.Context, path string, m *heat.Method, d *runData) error {
	l := d.val
	if l == nil {
		l = d.train
	}
	var orig, masked []float64
	it := l.Epoch(ctx, 0)
	defer it.Close()
	for len(orig) < 512*d.c*d.h*d.w {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		x := tensor.New(tensor.WithShape(b.N, b.C, b.H, b.W), tensor.WithBacking(append([]float32(nil), b.X[:b.N*b.C*b.H*b.W]...)))
		b.Release()
		n, err := m.PreviewNoise(x, uint64(len(orig)))
		if err != nil {
			return err
		}
		xm, err := heat.Masked(x, n.Mask)
		if err != nil {
			return err
		}
		orig = append(orig, report.Float64s(x.Data().([]float32))...)
		masked = append(masked, report.Float64s(xm.Data().([]float32))...)
	}
	return report.Histogram(path, report.Hist{
		Title: "pixel intensities (normalised) before and after the noise mask", XLabel: "intensity", YLabel: "density",
		Sets: []report.HistSet{{Name: "original", Values: orig}, {Name: "masked", Values: masked}}, Density: true, Bins: 60,
	})
}

// NoiseParamsFile is the chart of a heating run's noise parameters over
// the steps, drawn from its metrics log.
const NoiseParamsFile = "noise-params.png"

// noiseParamSeries are the step values the chart draws, with their legends.
var noiseParamSeries = []struct{ key, name string }{
	{"a_img_mean", "a_img mean"},
	{"b_img_mean", "b_img mean"},
	{"a_dataset_mean", "a_dataset mean"},
	{"b_dataset_mean", "b_dataset mean"},
}

// drawNoiseParams draws, from a heating run's metrics log, the means of the
// image-level a and b (log space, after the bound) and of the dataset-level
// EMA over the steps, with the bound ±L when there is one, so that a run
// whose noise heats away shows where it starts. It reports false (and
// draws nothing) when the log has none of these values (a run from before
// they were logged).
func drawNoiseParams(logPath, path string, bound float64, title string) (bool, error) {
	rows, err := report.ReadJSONLines(logPath)
	if err != nil {
		return false, err
	}
	// One record per step, the last one logged (a resumed run cuts the log
	// at its checkpoint, so this only guards against a log cut elsewhere).
	byStep := map[float64]map[string]any{}
	for _, r := range rows {
		if r["kind"] != "step" {
			continue
		}
		if s, ok := report.LookupFloat(r, "step"); ok {
			byStep[s] = r
		}
	}
	steps := make([]float64, 0, len(byStep))
	for s := range byStep {
		steps = append(steps, s)
	}
	sort.Float64s(steps)
	ordered := make([]map[string]any, len(steps))
	for i, s := range steps {
		ordered[i] = byStep[s]
	}
	chart := report.Chart{Title: title, XLabel: "step", YLabel: "a = log α, b = log β (means)"}
	for _, k := range noiseParamSeries {
		s := report.SeriesFromLog(ordered, "step", "values."+k.key)
		if len(s.Y) == 0 {
			continue
		}
		s.Name = k.name
		chart.Series = append(chart.Series, s)
	}
	if len(chart.Series) == 0 {
		return false, nil
	}
	if bound > 0 && len(steps) > 0 {
		lo, hi := steps[0], steps[len(steps)-1]
		chart.Series = append(chart.Series, report.Series{Name: fmt.Sprintf("bound ±%g", bound), Color: color.RGBA{150, 150, 150, 255},
			X: []float64{lo, hi, math.NaN(), lo, hi}, Y: []float64{bound, bound, math.NaN(), -bound, -bound}})
	}
	return true, report.LineChart(path, chart)
}
