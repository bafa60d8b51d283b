package report_test

import (
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/pipeline/report"
)

// exampleDir is where the examples write: a temporary directory removed by
// the returned function, or $REPORT_EXAMPLE_DIR, kept for viewing.
func exampleDir() (string, func()) {
	if d := os.Getenv("REPORT_EXAMPLE_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			log.Fatal(err)
		}
		return d, func() {}
	}
	d, err := os.MkdirTemp("", "report-example-")
	if err != nil {
		log.Fatal(err)
	}
	return d, func() { os.RemoveAll(d) }
}

func ExampleLineChart() {
	dir, cleanup := exampleDir()
	defer cleanup()
	epochs := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	err := report.LineChart(filepath.Join(dir, "curves.png"), report.Chart{
		Title: "Validation accuracy", XLabel: "epoch", YLabel: "accuracy",
		YMin: ptr(0.5), YMax: ptr(1), Markers: true,
		Series: []report.Series{
			{Name: "baseline", X: epochs, Y: []float64{0.61, 0.70, 0.74, 0.78, 0.80, 0.81, 0.81, 0.82}},
			{Name: "APGA", X: epochs, Y: []float64{0.58, 0.69, 0.77, 0.81, math.NaN(), 0.85, 0.86, 0.87}},
			{Name: "noise mask", X: epochs, Y: []float64{0.60, 0.72, 0.78, 0.82, 0.84, 0.86, 0.88, 0.89}},
		},
	})
	fmt.Println(err)
	// Output: <nil>
}

func ptr(v float64) *float64 { return &v }

func ExampleImageGrid() {
	dir, cleanup := exampleDir()
	defer cleanup()
	const h, w = 28, 28
	img := make([]float32, h*w)
	prob := make([]float32, h*w)
	mask := make([]float32, h*w)
	masked := make([]float32, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			d := math.Hypot(float64(x-14), float64(y-12))
			img[i] = float32(0.3 + 0.6*math.Exp(-d*d/60) + 0.05*math.Sin(float64(x)))
			prob[i] = float32(1 / (1 + math.Exp(d-7)))
			if prob[i] > 0.5 {
				mask[i] = 1
			}
			masked[i] = img[i] * mask[i]
		}
	}
	row := []report.Panel{
		{Pix: img, C: 1, H: h, W: w},
		{Pix: prob, C: 1, H: h, W: w, Scale: "unit", Colormap: "viridis"},
		{Pix: mask, C: 1, H: h, W: w, Scale: "unit"},
		{Pix: masked, C: 1, H: h, W: w, Label: "p(pneumonia)=0.91"},
	}
	err := report.ImageGrid(filepath.Join(dir, "apga.png"), report.Grid{
		Title:     "APGA aid masks",
		Columns:   []string{"image", "policy probability", "aid mask", "masked image"},
		RowLabels: []string{"test #17", "test #42"},
		Rows:      [][]report.Panel{row, row},
	})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleHistogram() {
	dir, cleanup := exampleDir()
	defer cleanup()
	var orig, masked []float64
	for i := 0; i < 5000; i++ {
		v := 0.5 + 0.2*math.Sin(float64(i)*0.37)*math.Cos(float64(i)*0.011)
		orig = append(orig, v)
		masked = append(masked, v*(0.6+0.4*math.Abs(math.Sin(float64(i)*1.3))))
	}
	err := report.Histogram(filepath.Join(dir, "intensities.png"), report.Hist{
		Title: "Pixel intensities", XLabel: "intensity", Density: true, Bins: 40,
		Min: ptr(0), Max: ptr(1),
		Sets: []report.HistSet{{Name: "original", Values: orig}, {Name: "masked", Values: masked}},
	})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleBarChart() {
	dir, cleanup := exampleDir()
	defer cleanup()
	err := report.BarChart(filepath.Join(dir, "methods.png"), report.Bars{
		Title: "Test metrics (mean ± std over 3 seeds)", YLabel: "score", YMin: ptr(0), YMax: ptr(1),
		Categories: []string{"accuracy", "balanced accuracy", "AUROC"},
		Series: []report.BarSeries{
			{Name: "baseline", Mean: []float64{0.82, 0.79, 0.90}, Err: []float64{0.01, 0.02, 0.01}},
			{Name: "APGA", Mean: []float64{0.86, 0.84, 0.93}, Err: []float64{0.02, 0.02, 0.01}},
			{Name: "noise mask", Mean: []float64{0.88, 0.86, 0.94}, Err: []float64{0.01, 0.01, 0.005}},
		},
	})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleWritePage() {
	dir, cleanup := exampleDir()
	defer cleanup()
	if err := report.LineChart(filepath.Join(dir, "loss.png"), report.Chart{
		Title: "Training loss", XLabel: "epoch",
		Series: []report.Series{{Name: "train", Y: []float64{0.9, 0.6, 0.45, 0.4}}},
	}); err != nil {
		log.Fatal(err)
	}
	err := report.WritePage(filepath.Join(dir, "report.html"), report.Page{
		Title:    "pgaug run report",
		Subtitle: "runs/demo",
		Embed:    true, // one self-contained file
		Sections: []report.Section{
			{Heading: "Summary", Text: "Baseline DenseNet-169 on the synthetic dataset."},
			{Heading: "Test metrics", Tables: []report.Table{{
				Columns: []string{"method", "accuracy", "AUROC"},
				Rows:    [][]string{{"baseline", "0.82 ± 0.01", "0.90"}},
			}}},
			{Heading: "Curves", Figures: []report.Figure{{Path: "loss.png", Caption: "Training loss per epoch"}}},
		},
	})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleSeriesFromLog() {
	dir, cleanup := exampleDir()
	defer cleanup()
	path := filepath.Join(dir, "metrics.jsonl")
	os.WriteFile(path, []byte(`{"epoch":1,"train_loss":0.7,"val":{"accuracy":0.61}}
{"epoch":2,"train_loss":0.5,"val":{"accuracy":0.74}}
{"epoch":3,"train_loss":0.4,"val":{"accuracy":null}}
`), 0o644)
	rows, err := report.ReadJSONLines(path)
	if err != nil {
		log.Fatal(err)
	}
	s := report.SeriesFromLog(rows, "epoch", "val.accuracy")
	fmt.Println(s.Name, s.X, s.Y)
	// Output: val.accuracy [1 2 3] [0.61 0.74 NaN]
}
