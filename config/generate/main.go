// Command generate writes what follows from the settings schema: Pulumi.yaml's config block and
// docs/settings.md. The schema is the keys table (config/keys.go), the Go types of the object
// keys with their doc comments, and the profiles' defaults per environment. Run it with
//
//	go generate ./config
//
// A test beside it fails while a generated file is stale.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	root := flag.String("root", "..", "the repository's root")
	flag.Parse()
	if err := write(*root); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

// write renders every generated file and writes those whose contents changed.
func write(root string) error {
	files, err := render(root)
	if err != nil {
		return err
	}
	for name, want := range files {
		path := filepath.Join(root, name)
		if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// render returns each generated file's contents by its path under root.
func render(root string) (map[string][]byte, error) {
	docs, err := fieldDocs(filepath.Join(root, "config"))
	if err != nil {
		return nil, err
	}
	project, err := os.ReadFile(filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		return nil, err
	}
	projectFile, err := projectConfig(project)
	if err != nil {
		return nil, fmt.Errorf("Pulumi.yaml: %w", err)
	}
	settings, err := settingsPage(root, docs)
	if err != nil {
		return nil, fmt.Errorf("docs/settings.md: %w", err)
	}
	return map[string][]byte{"Pulumi.yaml": projectFile, filepath.Join("docs", "settings.md"): settings}, nil
}

var errUndocumented = errors.New("fields without a doc comment")
