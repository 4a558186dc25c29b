package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/platform"
)

// root is the repository's root, from this package's directory: each Script's Source is a path
// from there.
const root = "../.."

// tierDirs are the tiers' packages: the directories of the repository whose Go (not its tests)
// imports package tier, and tier itself, with their embedded assets/ beside their Go.
func tierDirs(t *testing.T) []string {
	t.Helper()
	dirs := []string{filepath.Join(root, "tier")}
	files, err := filepath.Glob(filepath.Join(root, "*", "*.go"))
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range file.Imports {
			if dir := filepath.Dir(f); imp.Path.Value == `"github.com/pynomaly/pynomaly-platform/tier"` && !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
	}
	return dirs
}

// include is how a script template takes in another script.
var include = regexp.MustCompile(`\{\{\s*include\s+"([^"]+)"\s*\}\}`)

// Every shell script under a tier's assets/ reaches shellcheck: it is the source of a script
// lintscripts writes, or a shared part (tier/assets/) one of those includes. Each declares its
// shell for shellcheck, which reads it on its own too.
func TestEveryEmbeddedScriptIsLinted(t *testing.T) {
	linted := map[string]bool{}
	names := map[string]bool{}
	for _, s := range platform.Scripts() {
		assert.False(t, names[s.Name], "two scripts named %s", s.Name)
		names[s.Name] = true
		linted[s.Source] = true
		assert.True(t, strings.HasPrefix(s.Lint, "# shellcheck shell=sh\n"), "%s: its lint header names its shell", s.Source)
		src, err := os.ReadFile(filepath.Join(root, s.Source))
		require.NoError(t, err)
		for _, m := range include.FindAllStringSubmatch(string(src), -1) {
			linted["tier/assets/"+m[1]] = true
		}
	}
	var scripts []string
	for _, dir := range tierDirs(t) {
		err := filepath.WalkDir(filepath.Join(dir, "assets"), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if strings.HasSuffix(rel, ".sh") || strings.HasSuffix(rel, ".sh.tmpl") {
				scripts = append(scripts, filepath.ToSlash(rel))
				src, err := os.ReadFile(path)
				require.NoError(t, err)
				assert.True(t, strings.HasPrefix(string(src), "# shellcheck shell=sh\n"), "%s: its first line names its shell", rel)
			}
			return nil
		})
		if !os.IsNotExist(err) {
			require.NoError(t, err)
		}
	}
	require.NotEmpty(t, scripts)
	for _, s := range scripts {
		assert.True(t, linted[s], "%s reaches shellcheck through no script of platform.Scripts", s)
	}
}

// A script that is no template is written as its file is, so shellcheck's line numbers are the
// file's; a template is written filled in, under its lint header.
func TestScriptsAreWrittenAsTheirFiles(t *testing.T) {
	dir := t.TempDir()
	files, err := write(dir)
	require.NoError(t, err)
	require.Len(t, files, len(platform.Scripts()))
	for i, s := range platform.Scripts() {
		got, err := os.ReadFile(files[i])
		require.NoError(t, err)
		if strings.HasSuffix(s.Source, ".sh") {
			want, err := os.ReadFile(filepath.Join(root, s.Source))
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), s.Name)
		}
		assert.Equal(t, s.Lint+s.Text+"\n", string(got), s.Name)
		assert.NotContains(t, s.Text, "{{", "%s: a template left unfilled", s.Name)
		assert.NotContains(t, s.Text, "# shellcheck shell=", "%s: a lint header in what a pod runs", s.Name)
	}
}

// No script is left in the Go of the tiers, where shellcheck would not read it: no multi-line
// raw string, and no literal script given to a shell (kube.Script, or kube.Exec with "-c").
func TestNoScriptInTheTiersGo(t *testing.T) {
	var files []string
	for _, dir := range tierDirs(t) {
		f, err := filepath.Glob(dir + "/*.go")
		require.NoError(t, err)
		for _, name := range f {
			if !strings.HasSuffix(name, "_test.go") {
				files = append(files, name)
			}
		}
	}
	require.Greater(t, len(files), 40)
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		ast.Inspect(file, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BasicLit:
				if x.Kind == token.STRING && strings.HasPrefix(x.Value, "`") && strings.Contains(x.Value, "\n") {
					t.Errorf("%s: a multi-line raw string; a script or template goes under the tier's assets/", fset.Position(x.Pos()))
				}
			case *ast.CallExpr:
				sel, ok := x.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Script" && sel.Sel.Name != "Exec" {
					return true
				}
				if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "kube" {
					return true
				}
				for i, a := range x.Args {
					_, literal := a.(*ast.BasicLit)
					script := (sel.Sel.Name == "Script" && i == 1) || (i > 0 && isLit(x.Args[i-1], "-c"))
					if literal && script {
						t.Errorf("%s: a script as a literal; it goes under the tier's assets/", fset.Position(a.Pos()))
					}
				}
			}
			return true
		})
	}
}

// isLit says whether e is the string literal s.
func isLit(e ast.Expr, s string) bool {
	lit, ok := e.(*ast.BasicLit)
	return ok && lit.Kind == token.STRING && lit.Value == strconv.Quote(s)
}
