package cli

import "github.com/urfave/cli/v2"

// Groups whose commands have not been built yet return none; their help says so.

func modelCommands() []*cli.Command    { return nil }
func dataCommands() []*cli.Command     { return nil }
func trainCommands() []*cli.Command    { return nil }
func inferCommands() []*cli.Command    { return nil }
func evalCommands() []*cli.Command     { return nil }
func pipelineCommands() []*cli.Command { return nil }
