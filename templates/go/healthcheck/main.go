// The image's HEALTHCHECK: healthy once the watchdog wrote $TMPDIR/.lock (default
// /tmp/.lock). A static binary, because the runtime stage may have no shell.
package main

import (
	"os"
	"path/filepath"
)

func main() {
	dir := os.Getenv("TMPDIR")
	if dir == "" {
		dir = "/tmp"
	}
	if _, err := os.Stat(filepath.Join(dir, ".lock")); err != nil {
		os.Exit(1)
	}
}
