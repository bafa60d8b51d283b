package cli

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// intersperse moves the flags that follow a leaf command's positional
// arguments in front of them, so that `pgaug model verify m.onnx --tol 1e-5`
// works as people type it (urfave/cli stops parsing flags at the first
// positional argument). Everything after "--" stays positional.
func intersperse(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	i := 1
	cmds := app.Commands
	flags := app.Flags
	var leaf *cli.Command
	// Walk the command path, keeping flags that come before each name.
	for i < len(args) {
		a := args[i]
		if a == "--" {
			break
		}
		if isFlag(a) {
			n := flagTokens(flags, args[i:])
			out = append(out, args[i:i+n]...)
			i += n
			continue
		}
		next := findCommand(cmds, a)
		if next == nil {
			break
		}
		out = append(out, a)
		i++
		leaf = next
		cmds, flags = next.Subcommands, next.Flags
	}
	if leaf == nil {
		return append(out, args[i:]...)
	}
	var flagArgs, pos []string
	for i < len(args) {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i:]...)
			break
		}
		if isFlag(a) {
			n := flagTokens(flags, args[i:])
			flagArgs = append(flagArgs, args[i:i+n]...)
			i += n
			continue
		}
		pos = append(pos, a)
		i++
	}
	out = append(out, flagArgs...)
	return append(out, pos...)
}

func isFlag(a string) bool { return len(a) > 1 && strings.HasPrefix(a, "-") }

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// flagTokens returns how many tokens the flag at args[0] uses: 1 for a
// boolean flag, a "--name=value" form or an unknown flag, else 2.
func flagTokens(flags []cli.Flag, args []string) int {
	name := strings.TrimLeft(args[0], "-")
	if strings.Contains(name, "=") || len(args) < 2 {
		return 1
	}
	if name == "help" || name == "h" {
		return 1
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if _, ok := f.(*cli.BoolFlag); ok {
				return 1
			}
			return 2
		}
	}
	return 1
}
