// Command settings prints a stack's effective settings: its environment's profile with the
// stack file's overrides, validated by the program's own config.Parse, as YAML (or --json).
// No Pulumi engine, backend or passphrase is involved: it reads Pulumi.yaml and the stack file.
// Credentials show only as "generated" or "set (secret)".
//
//	go run ./cmd/settings prod                 # Pulumi.prod.yaml in the current directory
//	go run ./cmd/settings path/to/Pulumi.x.yaml
//	go run ./cmd/settings --json staging
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

	pconfig "github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/config"
)

func main() {
	asJSON := flag.Bool("json", false, "print JSON instead of YAML")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: settings [--json] STACK | path/to/Pulumi.STACK.yaml")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout, flag.Arg(0), *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer, stack string, asJSON bool) error {
	path := stack
	if !strings.ContainsAny(stack, `/\`) && !strings.HasSuffix(stack, ".yaml") {
		path = "Pulumi." + stack + ".yaml"
	}
	s, err := Load(filepath.Join(filepath.Dir(path), "Pulumi.yaml"), path)
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

// Load reads a stack's configuration as the Pulumi CLI hands it to the program (the stack file's
// values, the project's defaults for keys it does not set) and parses it with config.Parse.
// Secret values are not decrypted: the program only needs to know they are set and secret.
func Load(projectFile, stackFile string) (*config.Settings, error) {
	proj, err := workspace.LoadProject(projectFile)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(stackFile); err != nil {
		return nil, fmt.Errorf("stack file: %w", err)
	}
	ps, err := workspace.LoadProjectStack(nil, proj, stackFile)
	if err != nil {
		return nil, err
	}
	name := proj.Name.String()
	src := config.Source{Values: map[string]string{}, Secrets: map[string]bool{}, Blinded: true}
	for key, v := range ps.Config {
		if key.Namespace() != name {
			continue
		}
		k := key.Name()
		switch {
		case v.Secure() && v.Object(): // kubernetes.kubeconfig given as contents
			if src.Values[k], err = v.Value(pconfig.NewBlindingDecrypter()); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			src.Secrets[k] = true
		case v.Secure():
			src.Values[k], src.Secrets[k] = "[secret]", true
		default:
			if src.Values[k], err = v.Value(pconfig.NopDecrypter); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	for k, t := range proj.Config {
		if _, set := src.Values[k]; set || t.Default == nil {
			continue
		}
		if d, ok := t.Default.(string); ok {
			src.Values[k] = d
			continue
		}
		b, err := json.Marshal(t.Default)
		if err != nil {
			return nil, fmt.Errorf("Pulumi.yaml: default of %s: %w", k, err)
		}
		src.Values[k] = string(b)
	}
	s, err := config.Parse(name, src)
	if err != nil {
		return nil, fmt.Errorf("%s:\n%w", stackFile, err)
	}
	return s, nil
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
