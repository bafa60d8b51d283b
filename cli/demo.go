package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the built-in end-to-end demo (no downloads, no arguments)",
		Description: "Checks the setup (gorgonia, BLAS, ONNX Runtime). As the pipeline is built it grows\n" +
			"into: make a synthetic dataset and small models, heat them with both methods and the\n" +
			"baseline, fine-tune, run inference and write a report.",
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			fmt.Fprintln(w, "pgaug demo: checking what the pipeline stands on")
			if err := runChecks(c, w); err != nil {
				return err
			}
			fmt.Fprintln(w, "demo: gorgonia trains a graph and ONNX Runtime loads; the training pipeline is not part of this build yet")
			return nil
		},
	}
}
