package cli

import "github.com/urfave/cli/v2"

// modelCommands returns the commands of the "model" group.
func modelCommands() []*cli.Command {
	return nil
}
