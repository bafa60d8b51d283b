package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/onnx/modelops"
	"github.com/pgaug/pgaug/onnx/onnxio"
	"github.com/pgaug/pgaug/onnx/zoo"
)

// zooCommands returns the "model" commands that make and change networks:
// zoo, head and convert.
func zooCommands() []*cli.Command {
	return []*cli.Command{modelZooCommand(), modelHeadCommand(), modelConvertCommand()}
}

func zooOutputFlag() cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "ONNX file to write (atomically)"}
}

func zooSeedFlag(usage string) cli.Flag {
	return &cli.Uint64Flag{Name: "seed", Value: 0, Usage: usage}
}

func zooChannelModeFlag() cli.Flag {
	return &cli.StringFlag{Name: "channel-mode", Value: string(modelops.ChannelSum),
		Usage: "how RGB filters become C-channel ones: sum (a gray image replicated to RGB responds as before) or mean (the response is scaled by C/3)"}
}

func zooVerifyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ort", Value: string(modelops.ORTAuto),
			Usage: "compare the result with ONNX Runtime: auto (when the library loads), require, or off"},
		&cli.IntFlag{Name: "verify-size", Value: 224, Usage: "input side for the check when the model's spatial dimensions are dynamic"},
	}
}

func modelZooCommand() *cli.Command {
	return &cli.Command{
		Name:      "zoo",
		Usage:     "write a freshly initialised network (resnet18, densenet121, ternausnet11, ...) as ONNX",
		ArgsUsage: "NAME -o FILE.onnx | --list",
		Description: "Builds a seeded network with PyTorch's parameter names and initialisation (so pretrained\n" +
			"weights load by name) and writes it as an opset-17 ONNX model with input \"input\"\n" +
			"(N×C×S×S, batch dynamic) and output \"logits\" (N×classes) or, for ternausnet11,\n" +
			"\"probability\" (N×1×S×S). --list describes the networks. Defaults: the network's classes\n" +
			"(1000; 10 for smallcnn; 1 for ternausnet11), 3 channels, its default size (224; 32 for smallcnn).\n\n" +
			"  pgaug model zoo resnet18 --classes 2 --in-channels 1 --size 224 --seed 7 -o resnet18.onnx\n" +
			"  pgaug model zoo --list",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "list", Usage: "describe the networks instead of writing one"},
			&cli.BoolFlag{Name: "json", Usage: "with --list: print JSON"},
			&cli.IntFlag{Name: "classes", Usage: "output classes (0: the network's default)"},
			&cli.IntFlag{Name: "in-channels", Usage: "input channels (0: 3)"},
			&cli.IntFlag{Name: "size", Usage: "input side S the graph is built for (0: the network's default)"},
			zooSeedFlag("initialisation seed: the same seed gives the same weights"),
			zooOutputFlag(),
		},
		Action: runModelZoo,
	}
}

func runModelZoo(c *cli.Context) error {
	args, helped, err := zooArgs(c, "model zoo")
	if err != nil || helped {
		return err
	}
	w := c.App.Writer
	if c.Bool("list") {
		if len(args) > 0 {
			return zooUsageError(c, "model zoo: --list takes no network name, got %q", args)
		}
		return writeZooList(w, c.Bool("json"))
	}
	if len(args) != 1 {
		return zooUsageError(c, "model zoo: want one network name (one of %s), got %d arguments", strings.Join(zoo.Names(), ", "), len(args))
	}
	out := c.String("output")
	if out == "" {
		return zooUsageError(c, "model zoo: -o FILE.onnx is required")
	}
	name := args[0]
	opts := zoo.Options{Classes: c.Int("classes"), InChannels: c.Int("in-channels"), Size: c.Int("size"), Seed: c.Uint64("seed")}
	m, err := zoo.Build(name, opts)
	if err != nil {
		return fmt.Errorf("model zoo: %w", err)
	}
	if err := onnxio.Save(out, m); err != nil {
		return fmt.Errorf("model zoo: %w", err)
	}
	s := onnxio.Inspect(m)
	params, err := zoo.ParamCount(name, opts)
	if err != nil {
		return fmt.Errorf("model zoo: %w", err)
	}
	_, err = fmt.Fprintf(w, "wrote %s: %s, %d parameters, input %s %s, output %s %s, seed %d\n", out, name, params,
		s.Inputs[0].Name, onnxio.ShapeString(s.Inputs[0].Shape), s.Outputs[0].Name, onnxio.ShapeString(s.Outputs[0].Shape), c.Uint64("seed"))
	return err
}

func writeZooList(w io.Writer, asJSON bool) error {
	infos := zoo.List()
	if asJSON {
		type entry struct {
			zoo.Info
			Input string `json:"input"`
		}
		out := make([]entry, len(infos))
		for i, info := range infos {
			out[i] = entry{info, info.Input()}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	var b strings.Builder
	for _, info := range infos {
		fmt.Fprintf(&b, "%-13s %s, %d parameters (%d classes, 3 channels)\n", info.Name, info.Task, info.Params, info.DefaultClasses)
		fmt.Fprintf(&b, "              %s\n", info.Description)
		fmt.Fprintf(&b, "              %s; output %q; names and init as %s\n", info.Input(), info.Output, info.Origin)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func modelHeadCommand() *cli.Command {
	return &cli.Command{
		Name:      "head",
		Usage:     "give a classifier a fresh N-class head (and optionally adapt its input channels)",
		ArgsUsage: "FILE.onnx --classes N -o OUT.onnx",
		Description: "Replaces the final classifier layer (the last Gemm, or MatMul+Add, feeding the output) with\n" +
			"a fresh seeded N-class layer (PyTorch's Linear initialisation), and with --in-channels adapts\n" +
			"the first convolution's RGB filters (--channel-mode sum or mean). The result is imported, run\n" +
			"and compared with ONNX Runtime before it is written.\n\n" +
			"  pgaug model head resnet18.onnx --classes 2 --in-channels 1 --channel-mode sum -o resnet18-2c.onnx",
		Flags: append([]cli.Flag{
			&cli.IntFlag{Name: "classes", Usage: "classes of the new head (required)"},
			&cli.IntFlag{Name: "in-channels", Usage: "adapt the first convolution to this many input channels (0: keep)"},
			zooChannelModeFlag(),
			zooSeedFlag("seed of the new head's initialisation"),
			zooOutputFlag(),
		}, zooVerifyFlags()...),
		Action: func(c *cli.Context) error { return runZooConvert(c, "model head", true) },
	}
}

// zooPatternList collects repeated --freeze values; unlike a string slice flag
// it does not split them on commas (a regular expression may hold one).
type zooPatternList []string

func (p *zooPatternList) Set(s string) error { *p = append(*p, s); return nil }
func (p *zooPatternList) String() string {
	if p == nil {
		return ""
	}
	return strings.Join(*p, " ")
}

func modelConvertCommand() *cli.Command {
	return &cli.Command{
		Name:      "convert",
		Usage:     "change a model for fine-tuning: head, input channels, freeze patterns",
		ArgsUsage: "IN.onnx -o OUT.onnx",
		Description: "Imports the model, optionally replaces its head (--classes) and adapts its first convolution\n" +
			"(--in-channels, --channel-mode), records --freeze patterns (repeatable; shell globs such as\n" +
			"'layer1.*' or 're:' regular expressions, each checked to match a parameter) in the metadata\n" +
			"as " + modelops.MetaFreeze + " for trainers, verifies that the result imports, runs and agrees with ONNX\n" +
			"Runtime, writes it atomically and prints what it did.\n\n" +
			"  pgaug model convert densenet121.onnx --classes 3 --in-channels 1 --freeze 'features.conv0.*' -o out.onnx",
		Flags: append([]cli.Flag{
			&cli.IntFlag{Name: "classes", Usage: "replace the head with a fresh N-class layer (0: keep)"},
			&cli.IntFlag{Name: "in-channels", Usage: "adapt the first convolution to this many input channels (0: keep)"},
			zooChannelModeFlag(),
			zooSeedFlag("seed of the new head's initialisation"),
			&cli.GenericFlag{Name: "freeze", Value: &zooPatternList{}, Usage: "parameter name pattern to record as frozen (repeatable)"},
			zooOutputFlag(),
		}, zooVerifyFlags()...),
		Action: func(c *cli.Context) error { return runZooConvert(c, "model convert", false) },
	}
}

func runZooConvert(c *cli.Context, cmd string, needClasses bool) error {
	args, helped, err := zooArgs(c, cmd)
	if err != nil || helped {
		return err
	}
	if len(args) != 1 {
		return zooUsageError(c, "%s: want one model file, got %d arguments", cmd, len(args))
	}
	out := c.String("output")
	if out == "" {
		return zooUsageError(c, "%s: -o OUT.onnx is required", cmd)
	}
	if needClasses && c.Int("classes") < 1 {
		return zooUsageError(c, "%s: --classes N (at least 1) is required", cmd)
	}
	mode, err := modelops.ParseChannelMode(c.String("channel-mode"))
	if err != nil {
		return zooUsageError(c, "%s: --channel-mode: %v", cmd, err)
	}
	check, err := modelops.ParseORTCheck(c.String("ort"))
	if err != nil {
		return zooUsageError(c, "%s: --ort: %v", cmd, err)
	}
	opts := modelops.ConvertOptions{
		Classes: c.Int("classes"), Seed: c.Uint64("seed"),
		InChannels: c.Int("in-channels"), ChannelMode: mode,
		Verify: modelops.VerifyOptions{Size: c.Int("verify-size"), ORT: check, ORTLib: c.String(flagORTLib)},
	}
	if p, ok := c.Generic("freeze").(*zooPatternList); ok && p != nil {
		opts.Freeze = append([]string(nil), *p...)
	}
	r, err := modelops.Convert(args[0], out, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if err := r.WriteText(c.App.Writer); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	return nil
}

func zooUsageError(c *cli.Context, format string, a ...any) error {
	_ = cli.ShowSubcommandHelp(c)
	return cli.Exit(fmt.Sprintf(format, a...), 2)
}

// zooArgs returns the positional arguments (Main's intersperse has moved
// the flags typed after them in front, so urfave/cli parsed them). helped
// is kept for the callers' signature: urfave/cli handles --help itself.
func zooArgs(c *cli.Context, _ string) (args []string, helped bool, err error) {
	return c.Args().Slice(), false, nil
}
