package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/datasets/atomicfile"
	"github.com/pgaug/pgaug/onnx/ort"
	"github.com/pgaug/pgaug/pipeline"
	"github.com/pgaug/pgaug/pipeline/cluster"
)

// pipelineCommands returns the commands of the "pipeline" group.
func pipelineCommands() []*cli.Command {
	return []*cli.Command{pipelineRunCommand(), pipelineKeysCommand()}
}

// configFlags are one flag per configuration key (section.key).
func configFlags() []cli.Flag {
	def := pipeline.DefaultRunConfig()
	var out []cli.Flag
	for _, k := range pipeline.ConfigKeys() {
		v, _ := def.Get(k.Name)
		out = append(out, &cli.StringFlag{Name: k.Name, Usage: fmt.Sprintf("%s (default %q)", k.Help, v), Category: "configuration keys"})
	}
	return out
}

// runFlags are the flags of pipeline run and experiment: the configuration
// keys, and how to reuse other runs' stages.
func runFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringSliceFlag{Name: "reuse-from", Usage: "take finished stages with the same fingerprint (settings, data, models and the stages they consume) from this run directory instead of running them; repeatable (an experiment also looks in its seed-N sub-directories)"},
	}, configFlags()...)
}

// runConfig reads the CONFIG argument (optional) and applies the flags
// that were given.
func runConfig(c *cli.Context) (pipeline.RunConfig, error) {
	if c.NArg() > 1 {
		return pipeline.RunConfig{}, cli.Exit("want at most one CONFIG file", 2)
	}
	cfg, err := pipeline.LoadRunConfig(c.Args().First())
	if err != nil {
		return cfg, err
	}
	for _, k := range pipeline.ConfigKeys() {
		if c.IsSet(k.Name) {
			if err := cfg.Set(k.Name, c.String(k.Name)); err != nil {
				return cfg, fmt.Errorf("--%s: %w", k.Name, err)
			}
		}
	}
	cfg.Version = Version
	cfg.ReuseFrom = c.StringSlice("reuse-from")
	return cfg, nil
}

const stagesHelp = "Each stage writes into its own directory and records the fingerprint of its inputs there\n" +
	"(stage.json): the settings its result depends on, the content of the dataset and models, and the\n" +
	"fingerprints of the stages it consumes. On a re-run a stage with the same fingerprint is skipped;\n" +
	"one whose inputs changed runs again, and so does everything downstream of it, and the log says\n" +
	"which setting changed. An interrupted stage resumes from its checkpoints. --reuse-from DIR copies\n" +
	"finished stages with the same fingerprint from another run directory.\n\n"

const configHelp = "CONFIG is a TOML file; every key is also a flag (--section.key VALUE, lists comma-separated),\n" +
	"which overrides the file. 'pgaug pipeline keys' lists the keys with their defaults. Example:\n\n" +
	"    dir = \"runs/pneumonia\"\n" +
	"    methods = [\"cutout\", \"gradcam\", \"apga\", \"noisemask\"]\n" +
	"    seeds = [1, 2, 3]\n" +
	"    [data]\n" +
	"    path = \"pneumoniamnist.arrow\"\n" +
	"    per_class = 100\n" +
	"    train_transform = \"resize=32,normalize=0.5:0.25\"\n" +
	"    eval_transform = \"resize=32,normalize=0.5:0.25\"\n" +
	"    [models]\n" +
	"    classifier = \"zoo:resnet18\"     # or an ONNX file\n" +
	"    apga_policy = \"zoo:unet-small\"  # or zoo:ternausnet11, or an ONNX file\n" +
	"    [apga]\n" +
	"    epochs = 20\n" +
	"    preset = \"paper\"\n"

func pipelineRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "import → baseline → heat (APGA / noise mask) → fine-tune → infer → report, in one run directory",
		ArgsUsage: "[CONFIG.toml] [--section.key VALUE ...]",
		Description: "Runs the whole pipeline for one seed: the classifier backbone is imported (converted to the\n" +
			"dataset's classes and channels, checked against ONNX Runtime), trained to convergence (baseline),\n" +
			"then each method continues from it (cutout, gradcam, cutmix, apga; noisemask heats the imported\n" +
			"backbone and fine-tunes it), every resulting ONNX model is scored on the test split with ONNX\n" +
			"Runtime, and DIR/report.html shows the metrics tables, training curves and mask grids (the same\n" +
			"numbers in DIR/report.json).\n\n" + stagesHelp + configHelp,
		Flags: runFlags(),
		Action: func(c *cli.Context) error {
			cfg, err := runConfig(c)
			if err != nil {
				return err
			}
			if _, err := loadORT(c); err != nil {
				return err
			}
			sum, err := pipeline.RunPipeline(c.Context, cfg, c.App.Writer)
			if err != nil {
				return fmt.Errorf("pipeline run: %w", err)
			}
			printMethods(c, sum.Methods)
			fmt.Fprintf(c.App.Writer, "report: %s\n", sum.Report)
			return nil
		},
	}
}

func printMethods(c *cli.Context, ms []pipeline.MethodResult) {
	w := c.App.Writer
	fmt.Fprintf(w, "%-24s %9s %9s %9s %9s\n", "method (test, ORT)", "accuracy", "bal.acc", "macro F1", "AUROC")
	for _, m := range ms {
		fmt.Fprintf(w, "%-24s %9.4f %9.4f %9.4f %9.4f\n", m.Method, m.Test.Accuracy, m.Test.BalancedAcc, m.Test.MacroF1, m.Test.AUROC)
		if m.TestTTA != nil {
			fmt.Fprintf(w, "%-24s %9.4f %9.4f %9.4f %9.4f\n", m.Method+" + TTA", m.TestTTA.Accuracy, m.TestTTA.BalancedAcc, m.TestTTA.MacroF1, m.TestTTA.AUROC)
		}
	}
}

func pipelineKeysCommand() *cli.Command {
	return &cli.Command{
		Name:  "keys",
		Usage: "list the configuration keys with their defaults (as TOML with --toml)",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "toml", Usage: "print the default configuration as a TOML file"}},
		Action: func(c *cli.Context) error {
			def := pipeline.DefaultRunConfig()
			if c.Bool("toml") {
				var sb strings.Builder
				if err := def.EncodeTOML(&sb); err != nil {
					return err
				}
				fmt.Fprint(c.App.Writer, sb.String())
				return nil
			}
			for _, k := range pipeline.ConfigKeys() {
				v, _ := def.Get(k.Name)
				fmt.Fprintf(c.App.Writer, "%-28s %-10s %-22q %s\n", k.Name, k.Kind, v, k.Help)
			}
			return nil
		},
	}
}

func experimentCommand() *cli.Command {
	return &cli.Command{
		Name:      "experiment",
		Usage:     "the pipeline over several methods × seeds: one table of mean ± std and 95% intervals",
		ArgsUsage: "[CONFIG.toml] [--section.key VALUE ...] [--shared I | --cell I | --collect | --cells | --slurm DIR | --k8s DIR]",
		Description: "Runs 'pgaug pipeline run' once per seed (key seeds, e.g. --seeds 1,2,3) in DIR/seed-N and\n" +
			"aggregates each method's test metrics (ONNX Runtime) over the seeds: mean ± sample standard\n" +
			"deviation and 95% Student-t intervals, in DIR/results.md (a Markdown table), DIR/results.json\n" +
			"and DIR/experiment.html (with links to every seed's report). An interrupted experiment\n" +
			"continues where it stopped.\n\n" +
			"On a cluster the experiment runs cell by cell, with the scheduler doing the distribution: a cell\n" +
			"is one (seed, method), cell I being seed I/M and method I%M of M methods (--cells lists them).\n" +
			"--shared I runs the stages seed I's cells share (import, converge and its inference), once,\n" +
			"before them; --cell I runs one cell (cells of a seed may run at the same time); --collect builds\n" +
			"the tables and reports from finished cells, running nothing and naming the cells that have not\n" +
			"finished. --slurm DIR writes sbatch array scripts for the three steps and DIR/submit.sh, which\n" +
			"submits them with dependencies; --k8s DIR writes the same as Kubernetes Indexed Jobs and a\n" +
			"run.sh that applies them in turn. Every task is safe to requeue: an interrupted stage resumes from\n" +
			"its checkpoints. The run directory must be on storage all nodes see.\n\n" + stagesHelp + configHelp,
		Flags: append([]cli.Flag{
			&cli.IntFlag{Name: "shared", Value: -1, Usage: "run only the stages the cells of seed `I` (0-based, in the order of seeds) share", Category: "cluster"},
			&cli.IntFlag{Name: "cell", Value: -1, Usage: "run only cell `I` (0-based; see --cells)", Category: "cluster"},
			&cli.BoolFlag{Name: "collect", Usage: "build the tables and reports from finished cells; run nothing", Category: "cluster"},
			&cli.BoolFlag{Name: "cells", Usage: "list the cells (index, seed, method) and exit", Category: "cluster"},
			&cli.StringFlag{Name: "slurm", Usage: "write Slurm sbatch array scripts and submit.sh into `DIR`", Category: "cluster"},
			&cli.StringFlag{Name: "k8s", Usage: "write Kubernetes Indexed Job manifests and run.sh into `DIR`", Category: "cluster"},
			&cli.IntFlag{Name: "cpus", Value: 2, Usage: "CPUs per task in the --slurm and --k8s files", Category: "cluster"},
			&cli.StringFlag{Name: "partition", Usage: "Slurm partition (default: the cluster's)", Category: "cluster"},
			&cli.StringFlag{Name: "time", Usage: "Slurm time limit per task, e.g. 4:00:00 (default: the cluster's)", Category: "cluster"},
			&cli.StringFlag{Name: "mem", Usage: "Slurm memory per task, e.g. 8G (default: the cluster's)", Category: "cluster"},
			&cli.StringFlag{Name: "image", Usage: "Kubernetes: container image holding pgaug", Category: "cluster"},
			&cli.StringFlag{Name: "volume", Usage: "Kubernetes: persistent volume claim holding the working directory", Category: "cluster"},
			&cli.StringFlag{Name: "workdir", Usage: "--slurm, --k8s: the working directory as the nodes see it (default: this one)", Category: "cluster"},
			&cli.StringFlag{Name: "binary", Usage: "--slurm, --k8s: the pgaug binary as the nodes see it (default: this one)", Category: "cluster"},
		}, runFlags()...),
		Subcommands: []*cli.Command{experimentCompareCommand()},
		Action:      runExperiment,
	}
}

func runExperiment(c *cli.Context) error {
	cfg, err := runConfig(c)
	if err != nil {
		return err
	}
	modes := 0
	for _, on := range []bool{c.Int("shared") >= 0, c.Int("cell") >= 0, c.Bool("collect"), c.Bool("cells"), c.String("slurm") != "", c.String("k8s") != ""} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return cli.Exit("experiment: --shared, --cell, --collect, --cells, --slurm and --k8s exclude one another", 2)
	}
	w := c.App.Writer
	switch {
	case c.Bool("cells"):
		for _, cell := range pipeline.Cells(cfg) {
			fmt.Fprintf(w, "%d\tseed %d\t%s\n", cell.Index, cell.Seed, cell.Method)
		}
		return nil
	case c.String("slurm") != "" || c.String("k8s") != "":
		return writeClusterFiles(c, cfg)
	}
	if _, err := loadORT(c); err != nil {
		return err
	}
	switch {
	case c.Int("shared") >= 0:
		if err := pipeline.ExperimentShared(c.Context, cfg, c.Int("shared"), w); err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		return nil
	case c.Int("cell") >= 0:
		if err := pipeline.ExperimentCell(c.Context, cfg, c.Int("cell"), w); err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		return nil
	}
	run := pipeline.Experiment
	if c.Bool("collect") {
		run = pipeline.CollectExperiment
	}
	res, err := run(c.Context, cfg, w)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	fmt.Fprint(w, res.Markdown)
	fmt.Fprintf(w, "report: %s\n", res.Report)
	return nil
}

// clusterORTLib is the absolute path of the ONNX Runtime library this pgaug
// finds, for the nodes' scripts ("" when none is found: the nodes' own
// environment then decides).
func clusterORTLib(c *cli.Context) string {
	lib, _, err := ort.Locate(c.String(flagORTLib))
	if err != nil || lib == "" {
		return ""
	}
	if abs, err := filepath.Abs(lib); err == nil {
		return abs
	}
	return lib
}

// writeClusterFiles writes the experiment's configuration, with every
// override in it, and the Slurm or Kubernetes files that run it cell by cell.
func writeClusterFiles(c *cli.Context, cfg pipeline.RunConfig) error {
	dir := c.String("slurm")
	if dir == "" {
		dir = c.String("k8s")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	workdir := c.String("workdir")
	if workdir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		workdir = wd
	}
	bin := c.String("binary")
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("experiment: the pgaug binary's path: %w (give --binary)", err)
		}
		bin = exe
	}
	conf := filepath.Join(dir, "experiment.toml")
	if err := cfg.WriteTOML(conf); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	absConf, err := filepath.Abs(conf)
	if err != nil {
		return err
	}
	ortLib := clusterORTLib(c)
	job := cluster.Job{
		Binary: bin, Config: absConf, WorkDir: workdir, Seeds: len(cfg.Seeds), Cells: len(pipeline.Cells(cfg)),
		ORTLib: ortLib, CPUs: c.Int("cpus"), Partition: c.String("partition"), Time: c.String("time"), Mem: c.String("mem"),
		Image: c.String("image"), Volume: c.String("volume"),
	}
	for _, d := range cfg.ReuseFrom {
		// The nodes run in workdir: relative directories are made absolute
		// against it, as the commands would resolve them there.
		if !filepath.IsAbs(d) {
			d = filepath.Join(workdir, d)
		}
		job.ReuseFrom = append(job.ReuseFrom, d)
	}
	w := c.App.Writer
	if c.String("slurm") != "" {
		f, err := cluster.WriteSlurm(dir, job)
		if err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		fmt.Fprintf(w, "wrote %s, %s (%d tasks), %s, %s and %s\nsubmit: bash %s\n", conf, f.Shared, job.Seeds, f.Cells, f.Collect, f.Submit, f.Submit)
		fmt.Fprintf(w, "then: %d cells of %d seeds × %d methods; results in %s/results.md\n", job.Cells, job.Seeds, len(cfg.Methods), cfg.Dir)
		return nil
	}
	manifest, run, err := cluster.WriteK8s(dir, job)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	fmt.Fprintf(w, "wrote %s, %s and %s\nrun: bash %s\n", conf, manifest, run, run)
	return nil
}

func experimentCompareCommand() *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "one table of several experiments' results (e.g. APGA presets run with --reuse-from one another)",
		ArgsUsage: "LABEL=DIR [LABEL=DIR ...]",
		Description: "Reads each DIR/results.json (written by pgaug experiment) and prints one Markdown table of\n" +
			"every method, named LABEL: method; rows the experiments share with the same numbers (the\n" +
			"converged start, stages taken with --reuse-from) appear once. The experiments must have the same\n" +
			"seeds. -o also writes the table to a file.",
		Flags: []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "Markdown file to write (atomically)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.Exit("want at least one LABEL=DIR", 2)
			}
			var exps []pipeline.Labeled
			for _, a := range c.Args().Slice() {
				label, dir, ok := strings.Cut(a, "=")
				if !ok || label == "" || dir == "" {
					return cli.Exit(fmt.Sprintf("%q: want LABEL=DIR", a), 2)
				}
				exps = append(exps, pipeline.Labeled{Label: label, Dir: dir})
			}
			res, err := pipeline.CompareExperiments(exps)
			if err != nil {
				return err
			}
			fmt.Fprint(c.App.Writer, res.Markdown)
			if out := c.String("output"); out != "" {
				if err := atomicfile.WriteBytes(out, []byte(res.Markdown)); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
