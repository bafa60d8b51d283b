package cli

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/pgaug/pgaug/onnx/onnxio"
)

// modelCommands returns the commands of the "model" group.
func modelCommands() []*cli.Command {
	return append([]*cli.Command{modelInspectCommand(), modelVerifyCommand(), modelRoundtripCommand()}, zooCommands()...)
}

func modelInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "summarise an ONNX model: inputs, outputs, operators, parameters, opsets",
		ArgsUsage: "FILE.onnx",
		Description: "Prints the model's IR version, producer, opset imports, inputs and outputs with their\n" +
			"element types and shapes (symbolic dimensions by name, ? for unknown ones), the operators\n" +
			"it uses with counts, its parameter count (initializers, plus Constant-node weights) and\n" +
			"its metadata. External-data files beside the model are read. --json prints the same as JSON.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the summary as JSON"},
		},
		Action: runModelInspect,
	}
}

// inspectReport is what `model inspect --json` prints: the summary with the
// file it describes.
type inspectReport struct {
	File string `json:"file"`
	onnxio.Summary
}

func runModelInspect(c *cli.Context) error {
	if c.NArg() != 1 {
		_ = cli.ShowSubcommandHelp(c)
		return cli.Exit(fmt.Sprintf("model inspect: want one model file, got %d arguments", c.NArg()), 2)
	}
	path := c.Args().First()
	m, err := onnxio.Load(path)
	if err != nil {
		return fmt.Errorf("model inspect: %w", err)
	}
	s := onnxio.Inspect(m)
	w := c.App.Writer
	if c.Bool("json") {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(inspectReport{File: path, Summary: s}); err != nil {
			return fmt.Errorf("model inspect %s: writing JSON: %w", path, err)
		}
		return nil
	}
	if _, err := fmt.Fprintf(w, "file:        %s\n", path); err != nil {
		return fmt.Errorf("model inspect %s: %w", path, err)
	}
	if err := s.WriteText(w); err != nil {
		return fmt.Errorf("model inspect %s: %w", path, err)
	}
	return nil
}
