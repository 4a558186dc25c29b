package tier

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"
)

// Assets are the shell scripts, SQL and configuration templates one tier deploys: the files under
// assets/ beside its Go, embedded, so shellcheck reads every script (scripts/lint.sh, through each
// tier's Scripts). A pod runs a script's file as it is or, for a template (*.tmpl, Go's
// text/template), filled in.
//
// A script's file (*.sh, *.sh.tmpl) begins with its lint header, lines for shellcheck only:
// `# shellcheck shell=sh` (every script runs under a POSIX sh, busybox's or dash) and the checks
// disabled in it, each with its reason. The header and the file's final newline are left out of
// what is deployed: a directive never changes a pod template.
type Assets struct {
	fsys fs.FS
	// dir is the tier's directory in the repository, for Script.Source.
	dir string
}

// NewAssets reads a tier's embedded assets directory; dir is the tier's directory in the
// repository (postgres, redis, ...).
func NewAssets(embedded embed.FS, dir string) Assets {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		panic(fmt.Sprintf("embedded assets of %s: %v", dir, err))
	}
	return Assets{fsys: sub, dir: dir}
}

// sharedFiles are the scripts more than one tier includes in its templates
// ({{include "backup/prune.sh"}}).
//
//go:embed assets
var sharedFiles embed.FS

var shared = NewAssets(sharedFiles, "tier")

// Text is the file name as it is. The files are the program's own: a missing one is a bug.
func (a Assets) Text(name string) string {
	b, err := fs.ReadFile(a.fsys, name)
	if err != nil {
		panic(fmt.Sprintf("embedded asset of %s: %v", a.dir, err))
	}
	return string(b)
}

// lintHeaderPrefix starts each line of a script's lint header.
const lintHeaderPrefix = "# shellcheck "

// splitLintHeader splits a script's file into its lint header (whole lines) and the rest.
func splitLintHeader(text string) (header, body string) {
	body = text
	for strings.HasPrefix(body, lintHeaderPrefix) {
		line, rest, _ := strings.Cut(body, "\n")
		header += line + "\n"
		body = rest
	}
	return header, body
}

// Script is the shell script or SQL of file name as it is deployed: without its lint header and
// its final newline.
func (a Assets) Script(name string) string {
	_, body := splitLintHeader(a.Text(name))
	return strings.TrimSuffix(body, "\n")
}

// ScriptTemplate is the template name of a shell script, read as Script reads a script.
// {{include "dir/file"}} in it is one of the scripts the tiers share (tier/assets/), as Script
// gives it.
func (a Assets) ScriptTemplate(name string) *template.Template {
	return template.Must(template.New(name).Funcs(template.FuncMap{"include": shared.Script}).
		Option("missingkey=error").Parse(a.Script(name)))
}

// ConfigTemplate is the configuration template name, as it is.
func (a Assets) ConfigTemplate(name string) *template.Template {
	return template.Must(template.New(name).Option("missingkey=error").Parse(a.Text(name)))
}

// Fill executes a template of a tier's assets. The templates and the values given them are the
// program's own: a failure is a bug.
func Fill(t *template.Template, data any) string {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		panic(fmt.Sprintf("%s: %v", t.Name(), err))
	}
	return b.String()
}

// Script is one shell script a tier runs, as a pod runs it.
type Script struct {
	// Name is a file name for it: its source's, with the variant when there are several.
	Name string
	// Source is its file, from the repository's root (postgres/assets/backup.sh.tmpl).
	Source string
	// Text is the script; Lint is its source's lint header, for shellcheck to read it with.
	Text, Lint string
}

// Lint is the Script named name whose text is made from the file source.
func (a Assets) Lint(name, source, text string) Script {
	lint, _ := splitLintHeader(a.Text(source))
	return Script{Name: name, Source: path.Join(a.dir, "assets", source), Text: text, Lint: lint}
}
