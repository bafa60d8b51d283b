// Command pgaug trains medical-image classifiers with policy-gradient
// augmentation. See 'pgaug --help' and the README.
package main

import (
	"os"

	"github.com/pgaug/pgaug/cli"
)

func main() { os.Exit(cli.Main(os.Args)) }
