package cli

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/pipeline"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the built-in end-to-end demo (no downloads, no arguments)",
		Description: "Checks the setup (gorgonia, BLAS, ONNX Runtime), then runs the pipeline on data it makes\n" +
			"itself: a seeded synthetic dataset in Arrow, a zoo network exported to ONNX and checked against\n" +
			"ONNX Runtime, baseline training as a gorgonia graph, export to ONNX, and evaluation of the\n" +
			"untrained and trained models with ONNX Runtime. Everything lands in --dir.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: filepath.Join("runs", "demo"), Usage: "run directory"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the data, the model and the training"},
			&cli.IntFlag{Name: "images", Value: 1200, Usage: "synthetic images"},
			&cli.IntFlag{Name: "size", Value: 32, Usage: "image side"},
			&cli.IntFlag{Name: "epochs", Value: 6, Usage: "training epochs"},
		},
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			fmt.Fprintln(w, "pgaug demo: checking what the pipeline stands on")
			if err := runChecks(c, w); err != nil {
				return err
			}
			fmt.Fprintln(w, "pgaug demo: running the pipeline (APGA and noise-mask stages are not part of this build yet)")
			_, err := pipeline.Demo(c.Context, pipeline.DemoConfig{
				Dir: c.String("dir"), Seed: c.Uint64("seed"), Images: c.Int("images"), Size: c.Int("size"),
				Epochs: c.Int("epochs"), Version: Version, Out: w,
			})
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			return nil
		},
	}
}
