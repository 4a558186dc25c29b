package components

import (
	"embed"
	"fmt"
	"strings"
	"text/template"
)

// The shell scripts, SQL and configuration templates the components deploy are files under
// assets/, a directory per tier, beside the Go that uses them, where shellcheck can read every
// script. A pod runs a script's file as it is or, for a template
// (*.tmpl, Go's text/template), filled in.
//
// A script's file (*.sh, *.sh.tmpl) begins with its lint header, lines for shellcheck only:
// `# shellcheck shell=sh` (every script runs under a POSIX sh, busybox's or dash) and the checks
// disabled in it, each with its reason. The header and the file's final newline are left out of
// what is deployed: a directive never changes a pod template.
//
//go:embed assets
var assets embed.FS

// asset is the text of assets/<name>. The files are the program's own: a missing one is a bug.
func asset(name string) string {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic(fmt.Sprintf("embedded asset: %v", err))
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

// script is the shell script or SQL of assets/<name> as it is deployed: without its lint header
// and its final newline.
func script(name string) string {
	_, body := splitLintHeader(asset(name))
	return strings.TrimSuffix(body, "\n")
}

// scriptTemplate is the template assets/<name> of a shell script, read as script reads a script.
// {{include "dir/file"}} in it is another script, as script gives it.
func scriptTemplate(name string) *template.Template {
	return template.Must(template.New(name).Funcs(template.FuncMap{"include": script}).Option("missingkey=error").
		Parse(script(name)))
}

// configTemplate is the configuration template assets/<name>, as it is.
func configTemplate(name string) *template.Template {
	return template.Must(template.New(name).Option("missingkey=error").Parse(asset(name)))
}

// fill executes a template of assets/. The templates and the values given them are the
// program's own: a failure is a bug.
func fill(t *template.Template, data any) string {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		panic(fmt.Sprintf("%s: %v", t.Name(), err))
	}
	return b.String()
}
