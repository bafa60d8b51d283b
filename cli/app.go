package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/onnx/ort"
)

// Version is the pgaug version, set at build time with
// -ldflags "-X github.com/pgaug/pgaug/cli.Version=...".
var Version = "0.1.0-dev"

// Flag names shared by several commands.
const (
	flagORTLib = "ort-lib"
)

// NewApp returns the pgaug application. Output goes to stdout/stderr.
func NewApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:    "pgaug",
		Usage:   "train medical-image classifiers with policy-gradient augmentation (APGA, noise masks)",
		Version: Version,
		Description: "pgaug imports pretrained backbones from ONNX, trains them as gorgonia graphs with two\n" +
			"policy-gradient augmentation methods (APGA adversarial masks; Beta noise masks that make\n" +
			"'heated' models), exports them back to ONNX and runs batch inference with ONNX Runtime.\n" +
			"Datasets are Apache Arrow IPC files.\n\n" +
			"Run 'pgaug demo' for a self-contained end-to-end run, 'pgaug doctor' to check the setup.",
		Writer:                 stdout,
		ErrWriter:              stderr,
		EnableBashCompletion:   true,
		UseShortOptionHandling: true,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:  flagORTLib,
				Usage: "path to libonnxruntime.so (default: $" + ort.EnvVar + ", then " + ort.LocalLibPath + " in the project)",
			},
		},
		Commands: withUsageErrors([]*cli.Command{
			modelCommand(),
			dataCommand(),
			trainCommand(),
			inferCommand(),
			evalCommand(),
			pipelineCommand(),
			experimentCommand(),
			demoCommand(),
			doctorCommand(),
		}),
		ExitErrHandler: func(c *cli.Context, err error) {},
	}
}

// Main runs the application with the process arguments and returns the exit
// code: 0 on success, 1 on error (printed once, on stderr), 2 on usage errors.
func Main(args []string) int {
	app := NewApp(os.Stdout, os.Stderr)
	if err := app.Run(intersperse(app, args)); err != nil {
		fmt.Fprintf(os.Stderr, "pgaug: %v\n", err)
		if ec, ok := err.(cli.ExitCoder); ok && ec.ExitCode() != 0 {
			return ec.ExitCode()
		}
		return 1
	}
	return 0
}

// withUsageErrors makes a bad flag anywhere in cmds a usage error (exit
// code 2) that names the command.
func withUsageErrors(cmds []*cli.Command) []*cli.Command {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = func(c *cli.Context, err error, _ bool) error {
				return cli.Exit(fmt.Sprintf("%s: %v (see --help)", c.Command.HelpName, err), 2)
			}
		}
		withUsageErrors(c.Subcommands)
	}
	return cmds
}

// group returns a command group: running it without a sub-command shows its help.
func group(name, usage, description string, subs ...*cli.Command) *cli.Command {
	return &cli.Command{
		Name:        name,
		Usage:       usage,
		Description: description,
		Subcommands: subs,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				_ = cli.ShowSubcommandHelp(c)
				return cli.Exit(fmt.Sprintf("unknown %s command %q", name, c.Args().First()), 2)
			}
			return cli.ShowSubcommandHelp(c)
		},
	}
}

// loadORT loads ONNX Runtime from the --ort-lib flag, $PGAUG_ORT_LIB or the
// project-local default.
func loadORT(c *cli.Context) (string, error) {
	return ort.Init(c.String(flagORTLib))
}
