package cli

import "github.com/urfave/cli/v2"

// pipelineCommands returns the commands of the "pipeline" group.
func pipelineCommands() []*cli.Command {
	return nil
}
