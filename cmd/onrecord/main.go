// Command onrecord is the one binary of the onrecord archive.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/onrecord/onrecord/internal/cli"
	"github.com/onrecord/onrecord/internal/harden"
)

func main() {
	// Every command may hold unwrapped keys or decrypted content: none
	// leaves the process in a core file or to a same-user debugger.
	if _, err := harden.Process(); err != nil {
		fmt.Fprintf(os.Stderr, "onrecord: warning: %v; a crash could write this process's memory to a core file\n", err)
	}
	os.Exit(cli.NewMain().Run(context.Background(), os.Args[1:]))
}
