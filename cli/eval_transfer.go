package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/datasets/atomicfile"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/pipeline/transfer"
	"github.com/pgaug/pgaug/trainer/probe"
)

func evalTransferCommand() *cli.Command {
	return &cli.Command{
		Name:        "transfer",
		Subcommands: []*cli.Command{transferCompareCommand()},
		Usage:       "probe an ONNX model's frozen features: MLP / logistic regression and the few-shot table",
		ArgsUsage:   "--model M.onnx --data D [--layer NAME] [-o report.json]",
		Description: "Extracts features at a layer of the model with ONNX Runtime (default: the input of the final\n" +
			"Gemm/MatMul, the penultimate features; a feature map N×C×H×W is global-average pooled to N×C)\n" +
			"for the train and test splits, fits an MLP and/or logistic-regression probe on the full\n" +
			"training split and scores it on the test split, then runs the few-shot protocol: for each k\n" +
			"in --shots, --trials times, k images per class are sampled (seeded) from the training split,\n" +
			"logistic regression is fitted and scored; the table gives the mean accuracy with its 95%\n" +
			"Student-t interval. A k above the smallest class's size is skipped, with a note.\n" +
			"--list-layers prints the layers --layer accepts.",
		Flags: []cli.Flag{
			// Not Required: urfave/cli would then demand it of the compare
			// subcommand as well; the Action checks it.
			&cli.StringFlag{Name: "model", Usage: "ONNX classifier (required)"},
			&cli.StringFlag{Name: "data", Usage: "Arrow dataset (required unless --list-layers)"},
			&cli.StringFlag{Name: "layer", Usage: "feature layer (default: the input of the final Gemm/MatMul)"},
			&cli.BoolFlag{Name: "list-layers", Usage: "print the candidate layers and exit"},
			&cli.StringFlag{Name: "train-split", Value: "train"},
			&cli.StringFlag{Name: "test-split", Value: "test"},
			&cli.StringFlag{Name: "shots", Value: "8,16,32,64,128,256", Usage: `few-shot k (images per class), comma-separated; "none" skips the few-shot table`},
			&cli.IntFlag{Name: "trials", Value: probe.DefaultTrials, Usage: "few-shot trials per k (at least 2)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "few-shot samples and MLP initialisation"},
			&cli.StringFlag{Name: "probe", Value: transfer.ProbeBoth, Usage: "probe on the full training split: mlp, logreg or both"},
			&cli.IntFlag{Name: "epochs", Value: 50, Usage: "MLP probe epochs"},
			&cli.IntFlag{Name: "hidden", Value: 256, Usage: "MLP probe hidden units"},
			&cli.Float64Flag{Name: "mlp-lr", Value: 1e-3, Usage: "MLP probe Adam learning rate"},
			&cli.Float64Flag{Name: "l2", Usage: "logistic-regression L2 penalty λ on the mean loss (0: 1/N, scikit-learn's C = 1)"},
			&cli.IntFlag{Name: "batch", Value: 64, Usage: "images per ONNX Runtime call"},
			&cli.IntFlag{Name: "threads", Usage: "ONNX Runtime threads (0: its default)"},
			&cli.IntFlag{Name: "workers", Usage: "data-loading and few-shot goroutines (0: GOMAXPROCS)"},
			&cli.StringFlag{Name: "device", Value: "cpu", Usage: "cpu or cuda"},
			&cli.StringFlag{Name: "transform", Usage: "evaluation transform (default: the dataset's normalisation)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "JSON report to write (atomically)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
		},
		Action: func(c *cli.Context) error {
			if c.String("model") == "" {
				return cli.Exit("eval transfer: --model is required (see --help)", 2)
			}
			if c.Bool("list-layers") {
				return listLayers(c.App.Writer, c.String("model"))
			}
			if c.String("data") == "" {
				return cli.Exit("eval transfer: --data is required (see --help)", 2)
			}
			shots, err := parseShots(c.String("shots"))
			if err != nil {
				return cli.Exit("eval transfer: "+err.Error(), 2)
			}
			if _, err := loadORT(c); err != nil {
				return err
			}
			cfg := transfer.Config{
				Model: c.String("model"), Data: c.String("data"), Layer: c.String("layer"),
				TrainSplit: c.String("train-split"), TestSplit: c.String("test-split"),
				Shots: shots, Trials: c.Int("trials"), Seed: c.Uint64("seed"), Probe: c.String("probe"),
				MLP:    probe.MLPConfig{Hidden: c.Int("hidden"), Epochs: c.Int("epochs"), LR: c.Float64("mlp-lr")},
				LogReg: probe.LogRegConfig{L2: c.Float64("l2")},
				Batch:  c.Int("batch"), Threads: c.Int("threads"), Workers: c.Int("workers"), Device: c.String("device"),
				Transform: c.String("transform"), Output: c.String("output"),
			}
			if !c.Bool("quiet") {
				cfg.Progress = c.App.ErrWriter
			}
			res, err := transfer.Run(c.Context, cfg)
			if err != nil {
				return fmt.Errorf("eval transfer: %w", err)
			}
			if err := writeTransferTable(c.App.Writer, res); err != nil {
				return err
			}
			if cfg.Output != "" {
				fmt.Fprintf(c.App.Writer, "wrote %s\n", cfg.Output)
			}
			return nil
		},
	}
}

// parseShots reads "8,16,32"; "none" (or "") gives an empty list.
func transferCompareCommand() *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "one table of several models' transfer reports, each group summarised over its seeds",
		ArgsUsage: "NAME=R1.json,R2.json[,...] [NAME=...]",
		Description: "Reads the JSON reports of 'pgaug eval transfer -o' (e.g. one per seed for the normally trained\n" +
			"and for the heated and fine-tuned models) and prints one Markdown table: a row per NAME, the\n" +
			"probes' test accuracy and each few-shot k's mean accuracy, as the mean over the group's reports\n" +
			"with its 95% Student-t interval. Reports must score the same dataset and splits with the same\n" +
			"k; a group needs at least two. -o also writes the table to a file.",
		Flags: []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "Markdown file to write (atomically)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.Exit("want at least one NAME=R1.json,R2.json", 2)
			}
			var groups []transfer.Group
			for _, a := range c.Args().Slice() {
				name, list, ok := strings.Cut(a, "=")
				if !ok || name == "" || list == "" {
					return cli.Exit(fmt.Sprintf("%q: want NAME=R1.json,R2.json", a), 2)
				}
				g, err := transfer.LoadGroup(name, strings.Split(list, ","))
				if err != nil {
					return err
				}
				groups = append(groups, g)
			}
			cmp, err := transfer.Compare(groups)
			if err != nil {
				return err
			}
			md := cmp.Markdown()
			fmt.Fprint(c.App.Writer, md)
			if out := c.String("output"); out != "" {
				if err := atomicfile.WriteBytes(out, []byte(md)); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func parseShots(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return []int{}, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 {
			return nil, fmt.Errorf("--shots %q: %q is not a positive whole number of images per class", s, f)
		}
		out = append(out, k)
	}
	return out, nil
}

func listLayers(w io.Writer, path string) error {
	m, err := onnxio.Load(path)
	if err != nil {
		return fmt.Errorf("eval transfer: %w", err)
	}
	def, derr := transfer.DefaultLayer(m)
	for _, l := range transfer.Layers(m) {
		mark := ""
		if derr == nil && l == def {
			mark = "  (default)"
		}
		if _, err := fmt.Fprintf(w, "%s%s\n", l, mark); err != nil {
			return err
		}
	}
	return nil
}

func writeTransferTable(w io.Writer, r transfer.Result) error {
	fmt.Fprintf(w, "layer %q: %d features (shape %v); %s: %d images, %s: %d images, %d classes\n",
		r.Layer, r.Features, r.LayerShape, r.TrainSplit, r.TrainN, r.TestSplit, r.TestN, len(r.Classes))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if r.LogReg != nil || r.MLP != nil {
		fmt.Fprintln(tw, "\nprobe (full training split)\taccuracy\tbal. accuracy\tmacro F1\tAUROC\t")
		for _, p := range []struct {
			name string
			s    *transfer.Scores
		}{{"logistic regression", r.LogReg}, {"MLP", r.MLP}} {
			if p.s == nil {
				continue
			}
			auroc := "-"
			if p.s.AUROC != nil {
				auroc = fmt.Sprintf("%.4f", *p.s.AUROC)
			}
			fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%s\t\n", p.name, p.s.Accuracy, p.s.BalancedAccuracy, p.s.MacroF1, auroc)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.FewShot) > 0 {
		fmt.Fprintf(w, "\nfew-shot logistic regression (%d trials per k, 95%% Student-t interval)\n", r.Trials)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "k\tmean acc\t95% CI\tstd\tmacro F1\t")
		for _, s := range r.FewShot {
			if s.Skipped != "" {
				fmt.Fprintf(tw, "%d\tskipped\t\t\t\t\n", s.K)
				continue
			}
			a := s.Accuracy
			fmt.Fprintf(tw, "%d\t%.4f\t[%.4f, %.4f]\t%.4f\t%.4f\t\n", s.K, a.Mean, a.Lo, a.Hi, a.Std, s.MacroF1.Mean)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}
