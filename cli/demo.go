package cli

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/pipeline"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the built-in end-to-end demo (no downloads, no arguments)",
		Description: "Checks the setup (gorgonia, BLAS, ONNX Runtime), then runs the whole pipeline on data it makes\n" +
			"itself: a seeded synthetic radiograph-like dataset in Arrow; zoo networks exported to ONNX,\n" +
			"imported and checked against ONNX Runtime; plain training to convergence; then the plain\n" +
			"baseline, APGA (the sampled preset, a U-Net policy from scratch; its mask scores against the\n" +
			"planted structure) and the noise mask (heating from a mild noise start, then fine-tuning) as\n" +
			"gorgonia graphs; export to ONNX; ONNX Runtime inference on the test split; and an\n" +
			"HTML report that compares the methods (--dir/experiment.html, each seed's run report linked).\n" +
			"Re-running skips what is done.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: filepath.Join("runs", "demo"), Usage: "run directory"},
			&cli.StringFlag{Name: "seeds", Value: "1,2", Usage: "seeds, comma-separated (one pipeline run each)"},
			&cli.IntFlag{Name: "images", Value: 1000, Usage: "synthetic images"},
			&cli.IntFlag{Name: "size", Value: 32, Usage: "image side (a multiple of 8)"},
			&cli.IntFlag{Name: "epochs", Value: 8, Usage: "epochs of training to convergence (the baseline and APGA then get 1.5×, heating and fine-tuning as many)"},
		},
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			fmt.Fprintln(w, "pgaug demo: checking what the pipeline stands on")
			if err := runChecks(c, w); err != nil {
				return err
			}
			var seeds []uint64
			for _, s := range strings.Split(c.String("seeds"), ",") {
				v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
				if err != nil {
					return cli.Exit(fmt.Sprintf("--seeds %q: want comma-separated integers", c.String("seeds")), 2)
				}
				seeds = append(seeds, v)
			}
			fmt.Fprintln(w, "pgaug demo: running the pipeline: baseline, APGA and noise mask")
			res, err := pipeline.Demo(c.Context, pipeline.DemoConfig{
				Dir: c.String("dir"), Seeds: seeds, Images: c.Int("images"), Size: c.Int("size"),
				Epochs: c.Int("epochs"), Version: Version, Out: w,
			})
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			fmt.Fprintf(w, "open the report: %s\n", res.Report)
			return nil
		},
	}
}
