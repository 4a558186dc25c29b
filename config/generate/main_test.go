package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The generated files in the repository are what the schema gives now: a setting added, renamed
// or documented anew without `go generate ./config` fails here, naming the file.
func TestGeneratedFilesAreFresh(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := render(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		have, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Errorf("%s: %v (go generate ./config writes it)", name, err)
			continue
		}
		if !bytes.Equal(have, want) {
			t.Errorf("%s is stale: run go generate ./config", name)
		}
	}
}

// A field's documentation is its own comment, or its group's where that names it, without the
// Go names it opens with; a field with neither is reported, not given an empty cell.
func TestFieldDocumentation(t *testing.T) {
	dir := t.TempDir()
	src := `package config

type T struct {
	// A is the first.
	A int
	// B and C are the pair's bounds.
	B int
	C int
	// D: on or off.
	D bool
	E string
	// Enabled turns it on.
	Enabled bool
}
`
	if err := os.WriteFile(filepath.Join(dir, "t.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := fieldDocs(dir)
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{"A": "the first.", "B": "the pair's bounds.", "C": "the pair's bounds.",
		"D": "on or off.", "Enabled": "turns it on."} {
		if got, err := d.describe("T", field); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", field, got, err, want)
		}
	}
	if _, err := d.describe("T", "E"); err == nil || !strings.Contains(err.Error(), "T.E") {
		t.Errorf("an undocumented field is an error naming it, got %v", err)
	}
}

// Values read as the tables print them.
func TestShow(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{"", "none"}, {nil, "none"}, {"x", "`x`"}, {true, "on"}, {false, "off"}, {float64(3), "`3`"},
		{[]any{}, "none"}, {[]any{"a", float64(1)}, "`a, 1`"},
		{map[string]any{"type": "gp3", "encrypted": "true"}, "`encrypted: true, type: gp3`"},
		{map[string]any{"cpuRequest": "1", "memoryRequest": "2Gi", "ephemeralStorageRequest": "64Mi",
			"cpuLimit": "2", "memoryLimit": "4Gi", "ephemeralStorageLimit": "1Gi"}, "`1`/`2Gi`/`64Mi` → `2`/`4Gi`/`1Gi`"},
	} {
		if got := show(c.v); got != c.want {
			t.Errorf("show(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
