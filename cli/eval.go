package cli

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/pipeline"
)

// evalCommands returns the commands of the "eval" group.
func evalCommands() []*cli.Command {
	return []*cli.Command{evalMetricsCommand(), evalTransferCommand()}
}

func evalMetricsCommand() *cli.Command {
	return &cli.Command{
		Name:      "metrics",
		Usage:     "score an ONNX classifier on a dataset split with ONNX Runtime",
		ArgsUsage: "--model M.onnx --data D [--split test]",
		Description: "Runs the model with ONNX Runtime over the split and prints accuracy, balanced accuracy,\n" +
			"macro precision/recall/F1, AUROC (binary, or one-vs-one and one-vs-rest), mean predictive\n" +
			"entropy and the confusion matrix.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Required: true},
			&cli.StringFlag{Name: "data", Required: true},
			&cli.StringFlag{Name: "split", Value: "test"},
			&cli.IntFlag{Name: "batch", Value: 64},
			&cli.IntFlag{Name: "threads", Usage: "ONNX Runtime threads (0: its default)"},
			&cli.StringFlag{Name: "device", Value: "cpu", Usage: "cpu or cuda"},
			&cli.StringFlag{Name: "transform", Usage: "evaluation transform (default: the dataset's normalisation)"},
			&cli.BoolFlag{Name: "json", Usage: "print the metrics as JSON"},
		},
		Action: func(c *cli.Context) error {
			if _, err := loadORT(c); err != nil {
				return err
			}
			r, err := pipeline.Evaluate(c.Context, pipeline.EvalConfig{
				Model: c.String("model"), Data: c.String("data"), Split: c.String("split"), Batch: c.Int("batch"),
				Threads: c.Int("threads"), Device: c.String("device"), Transform: c.String("transform"),
			})
			if err != nil {
				return fmt.Errorf("eval metrics: %w", err)
			}
			w := c.App.Writer
			if c.Bool("json") {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			fmt.Fprintf(w, "%d images, %d classes\n", r.N, r.Classes)
			fmt.Fprintf(w, "accuracy           %.4f\nbalanced accuracy  %.4f\nmacro precision    %.4f\nmacro recall       %.4f\nmacro F1           %.4f\n",
				r.Accuracy, r.BalancedAcc, r.MacroPrecision, r.MacroRecall, r.MacroF1)
			fmt.Fprintf(w, "AUROC              %.4f (one-vs-rest %.4f)\nmean entropy       %.4f\nconfusion (true × predicted): %v\n",
				r.AUROC, r.AUROCOneVsRest, r.MeanEntropy, r.ConfusionMatrix)
			return nil
		},
	}
}
