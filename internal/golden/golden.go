// Package golden pins the generators' outputs for their in-package tests: golden files under each
// package's testdata/, one per generator and environment (and per variant that changes the
// output's shape). A change to a generator, a template or a profile's default that changes a
// deployed file fails its test; a meant change is regenerated with -update and reviewed in the
// same change as the code. Only tests import it.
package golden

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ instead of comparing with them")

// Compare compares got with testdata/<name> of the package under test, or with -update writes
// it there.
func Compare(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(name))
	test, _, _ := strings.Cut(t.Name(), "/")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; create it with: go test . -run %s -update", err, test)
	}
	if want := string(b); got != want {
		t.Errorf("%s differs from the generated output; if the change is meant, regenerate it with: "+
			"go test . -run %s -update\n%s", path, test, firstDifference(want, got))
	}
}

// firstDifference is the first line where want (the golden file) and got differ.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	line := func(lines []string, i int) string {
		if i < len(lines) {
			return lines[i]
		}
		return "(end of file)"
	}
	for i := range max(len(w), len(g)) {
		if i >= len(w) || i >= len(g) || w[i] != g[i] {
			return fmt.Sprintf("@@ line %d @@\n- %s\n+ %s", i+1, line(w, i), line(g, i))
		}
	}
	return ""
}

// root is the repository's root, where the stack files are.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Settings are env's settings as the program gets them: the profile's defaults with the
// committed stack file's overrides (load.LoadFiles, as scripts/settings.sh reads them), so prod
// runs with the WAL archive it cannot be deployed without.
func Settings(t *testing.T, env config.Environment) *config.Settings {
	t.Helper()
	s, err := load.LoadFiles(filepath.Join(root(), "Pulumi.yaml"), filepath.Join(root(), "Pulumi."+string(env)+".yaml"))
	if err != nil {
		t.Fatalf("settings of %s: %v", env, err)
	}
	return s
}

// EnvCase is a generator's input environment, optionally with the entry point an Ingress (TLS
// ends there).
type EnvCase struct {
	Name    string
	Env     config.Environment
	Ingress bool
}

// EnvCases are every environment, and prod behind an Ingress.
var EnvCases = []EnvCase{{"dev", config.Dev, false}, {"staging", config.Staging, false}, {"prod", config.Prod, false}, {"prod-ingress", config.Prod, true}}
