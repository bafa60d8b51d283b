package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaug/pgaug/onnx/ort"
)

// An experiment run cell by cell, in any order, then collected, gives the
// table the whole experiment run at once gives; collect runs nothing and
// names the cells that have not finished; a cell refuses to run before its
// seed's shared stages.
func TestExperimentByCells(t *testing.T) {
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	data := filepath.Join(root, "d.arrow")
	cfg := tinyRunConfig(t, filepath.Join(root, "whole"), data, "baseline", "cutout")
	cfg.Seeds = []uint64{1, 2}
	whole, err := Experiment(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cells := cfg
	cells.Dir = filepath.Join(root, "cells")
	list := Cells(cells)
	if len(list) != 4 || list[3].Seed != 2 || list[3].Method != "cutout" || list[1].Seed != 1 || list[1].Method != "cutout" {
		t.Fatalf("cells %v", list)
	}
	err = ExperimentCell(context.Background(), cells, 0, nil)
	var nd *StageNotDoneError
	if !errors.As(err, &nd) || !strings.Contains(err.Error(), "--shared 0") {
		t.Fatalf("a cell before its shared stages: %v", err)
	}
	for i := range cells.Seeds {
		if err := ExperimentShared(context.Background(), cells, i, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []int{3, 0, 2} {
		if err := ExperimentCell(context.Background(), cells, i, nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = CollectExperiment(context.Background(), cells, nil)
	if err == nil || !strings.Contains(err.Error(), "1 of 4 cells have not finished") || !strings.Contains(err.Error(), "cell 1 (seed 1, cutout)") {
		t.Fatalf("collect with cell 1 missing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cells.Dir, "seed-1", "cutout")); err == nil {
		t.Fatal("collect ran the missing cell")
	}
	if err := ExperimentCell(context.Background(), cells, 1, nil); err != nil {
		t.Fatal(err)
	}
	got, err := CollectExperiment(context.Background(), cells, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Markdown != whole.Markdown {
		t.Fatalf("collected table:\n%s\nthe whole experiment's:\n%s", got.Markdown, whole.Markdown)
	}
	for _, f := range []string{"results.md", "results.json", "experiment.html", "seed-1/report.html", "seed-2/report.html"} {
		if _, err := os.Stat(filepath.Join(cells.Dir, f)); err != nil {
			t.Errorf("collect did not write %s: %v", f, err)
		}
	}
	if err := ExperimentCell(context.Background(), cells, 4, nil); err == nil || !strings.Contains(err.Error(), "4 cells (0 to 3") {
		t.Errorf("cell 4 of 4: %v", err)
	}
}
