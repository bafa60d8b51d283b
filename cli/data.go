package cli

import "github.com/urfave/cli/v2"

// dataCommands returns the commands of the "data" group.
func dataCommands() []*cli.Command {
	return nil
}
