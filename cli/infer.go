package cli

import "github.com/urfave/cli/v2"

// inferCommands returns the commands of the "infer" group.
func inferCommands() []*cli.Command {
	return nil
}
