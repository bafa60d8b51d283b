package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/pipeline"
)

// trainCommands returns the commands of the "train" group.
func trainCommands() []*cli.Command {
	return []*cli.Command{trainBaselineCommand()}
}

func trainBaselineCommand() *cli.Command {
	return &cli.Command{
		Name:      "baseline",
		Usage:     "plain supervised training of an ONNX classifier on an Arrow dataset",
		ArgsUsage: "--model M.onnx --data D -o OUT.onnx",
		Description: "Imports the classifier as a trainable gorgonia graph, trains it with softmax cross-entropy on\n" +
			"the train split (seeded shuffling, drop-last batches), evaluates on the val split after every\n" +
			"epoch, and exports the trained model to ONNX with its training provenance in the metadata.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Required: true, Usage: "ONNX classifier to start from"},
			&cli.StringFlag{Name: "data", Required: true, Usage: "Arrow dataset (file or directory) with train (and val) splits"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Required: true, Usage: "ONNX file to write"},
			&cli.StringSliceFlag{Name: "freeze", Usage: "freeze parameters matching a glob (or re:REGEXP); repeatable"},
			&cli.IntFlag{Name: "epochs", Value: 10},
			&cli.IntFlag{Name: "batch", Value: 32},
			&cli.Float64Flag{Name: "lr", Value: 0.01, Usage: "learning rate"},
			&cli.StringFlag{Name: "optimizer", Value: "sgd", Usage: "sgd, adam or adamw"},
			&cli.Float64Flag{Name: "momentum", Value: 0.9, Usage: "SGD momentum"},
			&cli.BoolFlag{Name: "nesterov", Usage: "Nesterov momentum (SGD)"},
			&cli.Float64Flag{Name: "weight-decay", Value: 1e-4},
			&cli.StringFlag{Name: "schedule", Value: "cosine", Usage: "constant, cosine (with --warmup) or step (--step-every, --gamma)"},
			&cli.IntFlag{Name: "warmup", Usage: "linear warm-up steps (cosine)"},
			&cli.IntFlag{Name: "step-every", Value: 1000, Usage: "steps between decays (step)"},
			&cli.Float64Flag{Name: "gamma", Value: 0.1, Usage: "decay factor (step)"},
			&cli.Uint64Flag{Name: "seed", Value: 1},
			&cli.IntFlag{Name: "workers", Usage: "data loading goroutines (0: one per CPU)"},
			&cli.StringFlag{Name: "train-transform", Usage: "augmentation, e.g. randomresizedcrop=224:0.08-1,hflip=0.5,normalize=0.3162:0.3213 (default: the dataset's normalisation)"},
			&cli.StringFlag{Name: "eval-transform", Usage: "evaluation transform (default: the dataset's normalisation)"},
			&cli.StringFlag{Name: "metrics-log", Usage: "write one JSON line per epoch to this file"},
		},
		Action: func(c *cli.Context) error {
			_, err := pipeline.Train(c.Context, pipeline.TrainConfig{
				Model: c.String("model"), Data: c.String("data"), Output: c.String("output"), Freeze: c.StringSlice("freeze"),
				Epochs: c.Int("epochs"), Batch: c.Int("batch"), LR: c.Float64("lr"), Optimizer: c.String("optimizer"),
				Momentum: c.Float64("momentum"), Nesterov: c.Bool("nesterov"), WeightDecay: c.Float64("weight-decay"),
				Schedule: c.String("schedule"), Warmup: c.Int("warmup"), StepEvery: c.Int("step-every"), Gamma: c.Float64("gamma"),
				Seed: c.Uint64("seed"), Workers: c.Int("workers"), TrainTransform: c.String("train-transform"),
				EvalTransform: c.String("eval-transform"), MetricsLog: c.String("metrics-log"), Version: Version, Log: c.App.Writer,
			})
			if err != nil {
				return fmt.Errorf("train baseline: %w", err)
			}
			fmt.Fprintf(c.App.Writer, "wrote %s\n", c.String("output"))
			return nil
		},
	}
}
