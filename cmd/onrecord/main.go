// Command onrecord is the one binary of the onrecord archive.
package main

import (
	"context"
	"os"

	"github.com/onrecord/onrecord/internal/cli"
)

func main() {
	os.Exit(cli.NewMain().Run(context.Background(), os.Args[1:]))
}
