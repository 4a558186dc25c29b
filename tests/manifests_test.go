package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// Manifest is one Kubernetes object of a stack as the provider would send it to the API server
// (or write it in render mode): apiVersion and kind from the resource's type, the inputs as the
// body, secrets unwrapped, and the name the engine gives an auto-named object.
type Manifest struct {
	Kind, Name string
	Object     map[string]any
}

// Manifests lists every Kubernetes object the stack declares, in registration order. Component
// resources (yaml/v2, helm/v4) are left out: their children are the provider's, which the mock
// never sees.
func (s *Stack) Manifests(t *testing.T) []Manifest {
	t.Helper()
	var out []Manifest
	for _, r := range s.Resources {
		parts := strings.Split(r.Type, ":")
		if !r.Custom || len(parts) != 3 || parts[0] != "kubernetes" {
			continue
		}
		apiVersion := strings.TrimPrefix(parts[1], "core/")
		obj := plain(resource.NewProperty(r.Inputs)).(map[string]any)
		obj["apiVersion"], obj["kind"] = apiVersion, parts[2]
		meta, _ := obj["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			obj["metadata"] = meta
		}
		if meta["name"] == nil {
			meta["name"] = r.Name + "-" + suffix(r.Name) // what the mock engine names it
		}
		out = append(out, Manifest{Kind: parts[2], Name: meta["name"].(string), Object: obj})
	}
	require.NotEmpty(t, out, "no Kubernetes objects")
	return out
}

// plain turns a property value into the plain Go value it stands for, secrets unwrapped.
func plain(v resource.PropertyValue) any {
	return v.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
		switch {
		case v.IsSecret():
			return plain(v.SecretValue().Element), true
		case v.IsOutput():
			return plain(v.OutputValue().Element), true
		case v.IsNumber() && v.NumberValue() == float64(int64(v.NumberValue())):
			return int64(v.NumberValue()), true // 3, not 3.0: Kubernetes wants integers
		}
		return nil, false
	})
}

// WriteManifests writes the stack's objects as one multi-document YAML file per kind in dir and
// returns the files.
func (s *Stack) WriteManifests(t *testing.T, dir string) []string {
	t.Helper()
	var kinds []string
	byKind := map[string]*bytes.Buffer{}
	for _, m := range s.Manifests(t) {
		b := byKind[m.Kind]
		if b == nil {
			b = &bytes.Buffer{}
			byKind[m.Kind] = b
			kinds = append(kinds, m.Kind)
		} else {
			b.WriteString("---\n")
		}
		y, err := yaml.Marshal(m.Object)
		require.NoError(t, err, "%s %s", m.Kind, m.Name)
		b.Write(y)
	}
	files := make([]string, 0, len(kinds))
	for _, k := range kinds {
		f := filepath.Join(dir, strings.ToLower(k)+".yaml")
		require.NoError(t, os.WriteFile(f, byKind[k].Bytes(), 0o600))
		files = append(files, f)
	}
	return files
}
