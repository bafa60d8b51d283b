package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Cell is one (seed, method) cell of an experiment: the stages of one
// method for one seed, after the stages the seed's methods share (import,
// converge and the converged model's inference).
type Cell struct {
	Index  int    `json:"index"`
	Seed   uint64 `json:"seed"`
	Method string `json:"method"`
}

func (c Cell) String() string { return fmt.Sprintf("cell %d (seed %d, %s)", c.Index, c.Seed, c.Method) }

// Cells lists an experiment's cells, seed by seed: cell i is seed
// Seeds[i / len(Methods)] with method Methods[i % len(Methods)].
func Cells(cfg RunConfig) []Cell {
	var out []Cell
	for _, seed := range cfg.Seeds {
		for _, m := range cfg.Methods {
			out = append(out, Cell{Index: len(out), Seed: seed, Method: m})
		}
	}
	return out
}

// sharedStages are the stages every method of a seed consumes.
var sharedStages = map[string]bool{"import": true, "converge": true, "infer converge": true}

// ExperimentShared runs the stages shared by the cells of seed Seeds[i]
// (import, converge and its inference), once, before any of its cells.
func ExperimentShared(ctx context.Context, cfg RunConfig, i int, log io.Writer) error {
	if err := cfg.check(); err != nil {
		return err
	}
	if i < 0 || i >= len(cfg.Seeds) {
		return fmt.Errorf("shared stages %d: the experiment has %d seeds (0 to %d)", i, len(cfg.Seeds), len(cfg.Seeds)-1)
	}
	seed := cfg.Seeds[i]
	_, err := runPipeline(ctx, seedConfig(cfg, seed), log, runOptions{sharedOnly: true, noReport: true})
	if err != nil {
		return fmt.Errorf("seed %d, shared stages: %w", seed, err)
	}
	return nil
}

// ExperimentCell runs cell i (see Cells): its method's stages, resuming
// from their checkpoints when a run of them was interrupted. The seed's
// shared stages must have finished (ExperimentShared); cells of one seed
// may run at the same time.
func ExperimentCell(ctx context.Context, cfg RunConfig, i int, log io.Writer) error {
	if err := cfg.check(); err != nil {
		return err
	}
	cells := Cells(cfg)
	if i < 0 || i >= len(cells) {
		return fmt.Errorf("cell %d: the experiment has %d cells (0 to %d: %d seeds × %d methods)", i, len(cells), len(cells)-1, len(cfg.Seeds), len(cfg.Methods))
	}
	cell := cells[i]
	c := seedConfig(cfg, cell.Seed)
	c.Methods = []string{cell.Method}
	_, err := runPipeline(ctx, c, log, runOptions{noReport: true, mayRun: func(stage string) bool { return !sharedStages[stage] }})
	var nd *StageNotDoneError
	if errors.As(err, &nd) && sharedStages[nd.Stage] {
		return fmt.Errorf("%s: %w; run the seed's shared stages first (--shared %d)", cell, err, indexOf(cfg.Seeds, cell.Seed))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", cell, err)
	}
	return nil
}

func indexOf(seeds []uint64, s uint64) int {
	for i, v := range seeds {
		if v == s {
			return i
		}
	}
	return -1
}

// CollectExperiment builds the experiment's tables and reports
// (Experiment's results.json, results.md, experiment.html and each seed's
// report) from finished cells, running no stage. It names every cell that
// has not finished.
func CollectExperiment(ctx context.Context, cfg RunConfig, log io.Writer) (ExperimentResult, error) {
	if err := cfg.check(); err != nil {
		return ExperimentResult{}, err
	}
	none := func(string) bool { return false }
	var missing []string
	for _, cell := range Cells(cfg) {
		c := seedConfig(cfg, cell.Seed)
		c.Methods = []string{cell.Method}
		_, err := runPipeline(ctx, c, nil, runOptions{noReport: true, mayRun: none})
		var nd *StageNotDoneError
		switch {
		case errors.As(err, &nd) && sharedStages[nd.Stage]:
			missing = append(missing, fmt.Sprintf("%s: %v (shared stages %d)", cell, nd, indexOf(cfg.Seeds, cell.Seed)))
		case errors.As(err, &nd):
			missing = append(missing, fmt.Sprintf("%s: %v", cell, nd))
		case err != nil:
			return ExperimentResult{}, fmt.Errorf("%s: %w", cell, err)
		}
	}
	if len(missing) > 0 {
		return ExperimentResult{}, fmt.Errorf("%d of %d cells have not finished:\n  %s", len(missing), len(Cells(cfg)), strings.Join(missing, "\n  "))
	}
	return experiment(ctx, cfg, log, runOptions{mayRun: none})
}
