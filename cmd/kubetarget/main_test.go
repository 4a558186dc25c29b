package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const one = `apiVersion: v1
kind: Config
clusters: [{name: a, cluster: {server: "https://a.example:6443"}}, {name: b, cluster: {server: "https://b.example"}}]
contexts: [{name: ca, context: {cluster: a}}, {name: cb, context: {cluster: b}}]
current-context: ca
`

const two = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://c.example"}}]
contexts: [{name: cc, context: {cluster: c}}]
current-context: cc
`

func TestTarget(t *testing.T) {
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	require.NoError(t, os.WriteFile(p1, []byte(one), 0o600))
	require.NoError(t, os.WriteFile(p2, []byte(two), 0o600))
	for _, c := range []struct{ kc, ctx, env, name, server string }{
		{p1, "", "", "ca", "https://a.example:6443"},
		{p1, "cb", "", "cb", "https://b.example"},
		{one, "", "", "ca", "https://a.example:6443"},
		// Ambient: $KUBECONFIG's files merged, the first current-context wins.
		{"", "", p2 + string(os.PathListSeparator) + p1, "cc", "https://c.example"},
		{"", "cb", p2 + string(os.PathListSeparator) + p1, "cb", "https://b.example"},
	} {
		t.Setenv("KUBECONFIG", c.env)
		name, server, err := Target(c.kc, c.ctx)
		require.NoError(t, err)
		assert.Equal(t, c.name, name)
		assert.Equal(t, c.server, server)
	}
	_, _, err := Target(p1, "nope")
	assert.EqualError(t, err, `the kubeconfig has no context "nope"`)
}
