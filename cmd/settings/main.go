// Command settings prints a stack's effective settings: its environment's profile with the
// stack file's overrides, validated by the program's own load.Parse, as YAML (or --json).
// No Pulumi engine, backend or passphrase is involved: it reads Pulumi.yaml and the stack file.
// Credentials show only as "generated" or "set (secret)".
//
//	go run ./cmd/settings prod                 # Pulumi.prod.yaml in the current directory
//	go run ./cmd/settings path/to/Pulumi.x.yaml
//	go run ./cmd/settings --json staging
//	go run ./cmd/settings --images prod        # every image the stack's pods run, one a line
//
// scripts/settings.sh runs it from the repository root. A stack whose settings are wrong prints
// the same errors as `pulumi preview` and exits 1.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
	"github.com/pynomaly/pynomaly-platform/platform"
)

func main() {
	asJSON := flag.Bool("json", false, "print JSON instead of YAML")
	images := flag.Bool("images", false, "print every image the stack's pods run, from the program's plan, one a line")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: settings [--json | --images] STACK | path/to/Pulumi.STACK.yaml")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	if *images {
		err = runImages(os.Stdout, flag.Arg(0))
	} else {
		err = run(os.Stdout, flag.Arg(0), *asJSON)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// stackFile is the stack file a STACK argument names.
func stackFile(stack string) string {
	if !strings.ContainsAny(stack, `/\`) && !strings.HasSuffix(stack, ".yaml") {
		return "Pulumi." + stack + ".yaml"
	}
	return stack
}

func loadStack(path string) (*config.Settings, error) {
	return load.LoadFiles(filepath.Join(filepath.Dir(path), "Pulumi.yaml"), path)
}

// runImages prints the images of every pod the stack runs, as the program plans them, the node
// agents' too: the list the deploy workflow scans before prod.
func runImages(w io.Writer, stack string) error {
	s, err := loadStack(stackFile(stack))
	if err != nil {
		return err
	}
	p, err := platform.Plan(s)
	if err != nil {
		return err
	}
	node, err := platform.NodePlan(s)
	if err != nil {
		return err
	}
	for _, image := range p.With(node).Images() {
		fmt.Fprintln(w, image)
	}
	return nil
}

func run(w io.Writer, stack string, asJSON bool) error {
	path := stackFile(stack)
	s, err := loadStack(path)
	if err != nil {
		return err
	}
	if asJSON {
		var b bytes.Buffer
		if err := json.Indent(&b, s.ViewJSON(), "", "  "); err != nil {
			return err
		}
		b.WriteByte('\n')
		_, err := w.Write(b.Bytes())
		return err
	}
	out, err := YAML(s.ViewJSON())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "# Effective settings of %s: the %s profile with the overrides of %s.\n", path, s.Environment, filepath.Base(path))
	_, err = w.Write(out)
	return err
}

// YAML turns an ordered JSON document into block-style YAML, keeping its key order.
func YAML(doc []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return nil, err
	}
	var plain func(*yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0
		for _, c := range n.Content {
			plain(c)
		}
	}
	plain(&n)
	if len(n.Content) == 0 {
		return nil, errors.New("empty settings")
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}
