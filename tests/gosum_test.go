package tests

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Pulumi's Go language host runs `go list -m -mod=mod all` in the project before every program
// run, and -mod=mod lets that command write the checksums it consulted into go.sum. go.sum holds
// them all, so that the quick start leaves a fresh clone as it found it. `go mod tidy` drops the
// checksums of go.mod files the build itself does not read (golang/go#60748): after tidying, run
// `go list -m -mod=mod all` and commit what it adds too.
//
// The check runs the language host's command on copies of go.mod and go.sum in a directory of
// its own, with the module cache (and the module proxy for what the cache lacks).
func TestProjectFilesGoSumHoldsWhatTheLanguageHostWrites(t *testing.T) {
	dir := t.TempDir()
	committed := map[string][]byte{}
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join("..", name))
		require.NoError(t, err)
		committed[name] = b
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-mod=mod", "all")
	cmd.Dir = dir
	// Explicitly what the language host gets: -mod=mod whatever the caller's GOFLAGS say, and
	// this module alone (no workspace).
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go list -m -mod=mod all: %s", out)

	goMod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	assert.Equal(t, string(committed["go.mod"]), string(goMod), "go list -m -mod=mod all changed go.mod")
	goSum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	require.NoError(t, err)
	if !bytes.Equal(committed["go.sum"], goSum) {
		was := strings.Split(string(committed["go.sum"]), "\n")
		var added []string
		for _, line := range strings.Split(string(goSum), "\n") {
			if !slices.Contains(was, line) {
				added = append(added, line)
			}
		}
		assert.Failf(t, "go list -m -mod=mod all changes go.sum, as every pulumi command in a clone would",
			"run it at the root and commit go.sum; it adds %d lines:\n%s", len(added), strings.Join(added, "\n"))
	}
}
