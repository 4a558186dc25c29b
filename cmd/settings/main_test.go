package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
)

// scripts/settings.sh prod: the prod profile as YAML, keys in the keys table's order.
func TestPrintsTheMergedSettingsOfACommittedStack(t *testing.T) {
	var out bytes.Buffer
	wd, _ := os.Getwd()
	require.NoError(t, os.Chdir("../.."))
	defer os.Chdir(wd)
	require.NoError(t, run(&out, "prod", false))
	text := out.String()
	assert.True(t, strings.HasPrefix(text, "# Effective settings of Pulumi.prod.yaml: the prod profile with the overrides of Pulumi.prod.yaml.\nenvironment: prod\nnamespace: pynomaly-data-science\nsecurity: enforced\n"), text)
	assert.Contains(t, text, "\napi:\n  minReplicas: 5\n  maxReplicas: 100\n")
	assert.Contains(t, text, "\nquota:\n  requestsCpu: \"32\"\n")
	assert.Contains(t, text, "\npostgresAppPassword: generated\n")
	var keys []string
	for _, line := range strings.Split(text, "\n") {
		if k, _, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") {
			keys = append(keys, k)
		}
	}
	assert.Equal(t, config.Keys(), keys)
}

// A stack file's overrides apply, secrets show only as set (no passphrase is needed to say so),
// and a bad value is the program's own error.
func TestOverridesSecretsAndErrors(t *testing.T) {
	dir := t.TempDir()
	project, err := os.ReadFile("../../Pulumi.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), project, 0o644))
	stack := filepath.Join(dir, "Pulumi.eu.yaml")
	require.NoError(t, os.WriteFile(stack, []byte(`config:
  pynomaly-platform:environment: staging
  pynomaly-platform:api:
    maxReplicas: 8
  pynomaly-platform:quota:
    requestsCpu: 12
  pynomaly-platform:redisPassword:
    secure: v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAA
  pynomaly-platform:kubernetes:
    kubeconfig:
      secure: v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAA
`), 0o644))
	var out bytes.Buffer
	require.NoError(t, run(&out, stack, false))
	assert.Contains(t, out.String(), "\n  maxReplicas: 8\n")
	assert.Contains(t, out.String(), "\n  requestsCpu: \"12\"\n")
	assert.Contains(t, out.String(), "\nredisPassword: set (secret)\n")
	// kubeconfig contents set with --secret --path: an object with a secret field, shown blinded.
	assert.Contains(t, out.String(), "\n  kubeconfig: '[secret]'\n")

	require.NoError(t, os.WriteFile(stack, []byte("config:\n  pynomaly-platform:environment: staging\n  pynomaly-platform:api:\n    minReplicas: 0\n"), 0o644))
	err = run(&out, stack, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stack setting pynomaly-platform:api.minReplicas = 0: must be at least 1")
}
