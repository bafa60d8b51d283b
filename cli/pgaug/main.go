package main

import (
	"os"

	"github.com/pgaug/pgaug/cli"
)

func main() { os.Exit(cli.Main(os.Args)) }
