package cli

import "github.com/urfave/cli/v2"

// trainCommands returns the commands of the "train" group.
func trainCommands() []*cli.Command {
	return nil
}
