// Fork-mode entry point: the watchdog runs this once per request, body on stdin.
package main

import (
	"fmt"
	"io"
	"os"

	"handler/function"
)

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot read the request: %s\n", err)
		os.Exit(1)
	}
	fmt.Print(function.Handle(input))
}
