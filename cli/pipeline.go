package cli

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/pipeline"
	"github.com/pgaug/pgaug/pipeline/atomicfile"
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
		ArgsUsage: "[CONFIG.toml] [--section.key VALUE ...]",
		Description: "Runs 'pgaug pipeline run' once per seed (key seeds, e.g. --seeds 1,2,3) in DIR/seed-N and\n" +
			"aggregates each method's test metrics (ONNX Runtime) over the seeds: mean ± sample standard\n" +
			"deviation and 95% Student-t intervals, in DIR/results.md (a Markdown table), DIR/results.json\n" +
			"and DIR/experiment.html (with links to every seed's report). An interrupted experiment\n" +
			"continues where it stopped.\n\n" + stagesHelp + configHelp,
		Flags:       runFlags(),
		Subcommands: []*cli.Command{experimentCompareCommand()},
		Action: func(c *cli.Context) error {
			cfg, err := runConfig(c)
			if err != nil {
				return err
			}
			if _, err := loadORT(c); err != nil {
				return err
			}
			res, err := pipeline.Experiment(c.Context, cfg, c.App.Writer)
			if err != nil {
				return fmt.Errorf("experiment: %w", err)
			}
			fmt.Fprint(c.App.Writer, res.Markdown)
			fmt.Fprintf(c.App.Writer, "report: %s\n", res.Report)
			return nil
		},
	}
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
