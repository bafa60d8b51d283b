package cli

import "github.com/urfave/cli/v2"

// evalCommands returns the commands of the "eval" group.
func evalCommands() []*cli.Command {
	return nil
}
