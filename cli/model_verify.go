package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/verify"
)

func verifyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "input", Usage: "input tensor file (.pb TensorProto or .npy), one per graph input in order"},
		&cli.Float64Flag{Name: "tol", Value: 1e-4, Usage: "largest relative error accepted (max |diff| / max |reference|)"},
		&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "seed of the random inputs (when no --input is given)"},
		&cli.IntFlag{Name: "batch", Value: 2, Usage: "batch size of random inputs when the batch dimension is dynamic"},
		&cli.StringSliceFlag{Name: "shape", Usage: "shape of a random input with dynamic dimensions, NAME=1x3x224x224"},
		&cli.IntFlag{Name: "threads", Usage: "ONNX Runtime intra-op threads (0: its default)"},
	}
}

func verifyOptions(c *cli.Context) (verify.Options, error) {
	opts := verify.Options{Tolerance: c.Float64("tol"), Seed: c.Uint64("seed"), Batch: c.Int("batch"), Threads: c.Int("threads")}
	for _, p := range c.StringSlice("input") {
		t, err := onnxio.ReadTensorFile(p)
		if err != nil {
			return opts, err
		}
		opts.Inputs = append(opts.Inputs, t)
	}
	for _, s := range c.StringSlice("shape") {
		name, dims, ok := strings.Cut(s, "=")
		if !ok {
			return opts, fmt.Errorf("--shape %q: want NAME=1x3x224x224", s)
		}
		var shape []int
		for _, d := range strings.Split(dims, "x") {
			v, err := strconv.Atoi(d)
			if err != nil || v <= 0 {
				return opts, fmt.Errorf("--shape %q: %q is not a positive dimension", s, d)
			}
			shape = append(shape, v)
		}
		if opts.Shapes == nil {
			opts.Shapes = map[string][]int{}
		}
		opts.Shapes[name] = shape
	}
	return opts, nil
}

func modelVerifyCommand() *cli.Command {
	flags := append(verifyFlags(),
		&cli.StringSliceFlag{Name: "expect", Usage: "expected output tensor file (.pb or .npy), one per graph output in order"})
	return &cli.Command{
		Name:      "verify",
		Usage:     "import a model and check its gorgonia forward pass against ONNX Runtime (and expected outputs)",
		ArgsUsage: "FILE.onnx",
		Description: "Imports the model as a trainable gorgonia graph, runs it and ONNX Runtime on the same inputs\n" +
			"(the --input files, or seeded random normal inputs) and prints the largest absolute and\n" +
			"relative error of every output, against ONNX Runtime and against the --expect files.\n" +
			"Exits with status 1 when an error is above --tol.",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				_ = cli.ShowSubcommandHelp(c)
				return cli.Exit(fmt.Sprintf("model verify: want one model file, got %d arguments", c.NArg()), 2)
			}
			path := c.Args().First()
			opts, err := verifyOptions(c)
			if err != nil {
				return fmt.Errorf("model verify %s: %w", path, err)
			}
			for _, p := range c.StringSlice("expect") {
				t, err := onnxio.ReadTensorFile(p)
				if err != nil {
					return fmt.Errorf("model verify %s: %w", path, err)
				}
				opts.Expect = append(opts.Expect, t)
			}
			if _, err := loadORT(c); err != nil {
				return err
			}
			rep, err := verify.File(path, opts)
			if err != nil {
				return fmt.Errorf("model verify %s: %w", path, err)
			}
			if err := rep.WriteText(c.App.Writer); err != nil {
				return err
			}
			if !rep.OK() {
				return cli.Exit(fmt.Sprintf("model verify %s: an output differs by more than %g", path, rep.Tolerance), 1)
			}
			return nil
		},
	}
}

func modelRoundtripCommand() *cli.Command {
	flags := append(verifyFlags(),
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Required: true, Usage: "ONNX file to write"})
	return &cli.Command{
		Name:      "roundtrip",
		Usage:     "import a model, export it again, and check the copy against the original",
		ArgsUsage: "IN.onnx -o OUT.onnx",
		Description: "Imports IN as a trainable graph and exports it to OUT (written atomically), then checks that\n" +
			"every parameter and BatchNorm statistic is bit-identical, that ONNX Runtime gives the same\n" +
			"outputs for IN and OUT, and that gorgonia's forward pass of OUT matches ONNX Runtime.",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				_ = cli.ShowSubcommandHelp(c)
				return cli.Exit(fmt.Sprintf("model roundtrip: want one input model, got %d arguments", c.NArg()), 2)
			}
			in, out := c.Args().First(), c.String("output")
			opts, err := verifyOptions(c)
			if err != nil {
				return fmt.Errorf("model roundtrip %s: %w", in, err)
			}
			if _, err := loadORT(c); err != nil {
				return err
			}
			rep, err := verify.RoundTrip(in, out, map[string]string{"pgaug.source": in}, Version, opts)
			if err != nil {
				return fmt.Errorf("model roundtrip %s: %w", in, err)
			}
			w := c.App.Writer
			fmt.Fprintf(w, "wrote %s\n", out)
			fmt.Fprintf(w, "parameters: %d, BatchNorm statistics: %d, bit-identical: %v %s\n", rep.Params, rep.Statistics, rep.ParamsEqual, rep.FirstDiff)
			fmt.Fprintf(w, "ONNX Runtime, IN vs OUT: max |diff| %.3g\n", rep.MaxOutputAbs)
			if err := rep.Against.WriteText(w); err != nil {
				return err
			}
			if !rep.ParamsEqual || rep.MaxOutputAbs > 1e-5 || !rep.Against.OK() {
				return cli.Exit(fmt.Sprintf("model roundtrip %s: the exported model differs from the original", in), 1)
			}
			return nil
		},
	}
}
