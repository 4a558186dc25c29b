package main

import (
	"bytes"
	"errors"

	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/config"
)

// projectHeader introduces the generated config block of Pulumi.yaml.
const projectHeader = `# Every setting the program reads, generated from the settings schema (go generate ./config):
# edit config/keys.go and config's types, not this block. A stack file names its environment and
# overrides only what it must; the profiles hold the per-environment defaults (docs/settings.md),
# so plain settings default to "" and objects to {} ("the profile's values"). Set one field of an
# object with
#   pulumi config set --path api.maxReplicas 80
# The program validates everything before declaring any resource, and refuses a key it does not
# read.
config:
`

// projectConfig is Pulumi.yaml with its config block (the last one: everything from the comment
// that introduces it) written from the keys table.
func projectConfig(project []byte) ([]byte, error) {
	start := bytes.Index(project, []byte("\n# Every setting the program reads"))
	if start < 0 {
		start = bytes.Index(project, []byte("\nconfig:\n"))
	}
	if start < 0 {
		return nil, errors.New("no config block")
	}
	var block yaml.Node
	block.Kind = yaml.MappingNode
	for _, k := range config.KeyTable() {
		declared := &yaml.Node{Kind: yaml.MappingNode}
		kind, def := "string", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "", Style: yaml.DoubleQuotedStyle}
		if k.Object() {
			kind, def = "object", &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		}
		declared.Content = append(declared.Content, scalar("type"), scalar(kind))
		if k.Name != "environment" { // every stack names its own
			declared.Content = append(declared.Content, scalar("default"), def)
		}
		declared.Content = append(declared.Content, scalar("description"), scalar(k.Description()))
		block.Content = append(block.Content, scalar(k.Name), declared)
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{&block}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(project[:start+1])
	b.WriteString(projectHeader)
	for _, line := range bytes.SplitAfter(out.Bytes(), []byte("\n")) {
		if len(line) > 0 {
			b.WriteString("  ")
			b.Write(line)
		}
	}
	return b.Bytes(), nil
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
