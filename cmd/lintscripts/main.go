// Command lintscripts writes every shell script the tiers run (each tier's assets/) into a
// directory, one file each, as a pod runs it (templates filled in), after its source's lint header
// (# shellcheck shell=sh and the checks disabled, with their reasons): scripts/lint.sh gives
// them to shellcheck. A script that is no template is written as its file is, so shellcheck's
// line numbers are the file's.
//
//	lintscripts DIR
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pynomaly/pynomaly-platform/platform"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: lintscripts DIR")
		os.Exit(2)
	}
	if _, err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "lintscripts:", err)
		os.Exit(1)
	}
}

// write writes the scripts into dir and returns their files.
func write(dir string) ([]string, error) {
	var files []string
	for _, s := range platform.Scripts() {
		f := filepath.Join(dir, s.Name)
		if err := os.WriteFile(f, []byte(s.Lint+s.Text+"\n"), 0o644); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}
