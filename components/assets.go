package components

import (
	"embed"
	"fmt"
	"strings"
	"text/template"
)

// The shell scripts, SQL and configuration templates the components deploy are files under
// assets/, a directory per tier, beside the Go that uses them, so shellcheck reads every script
// (scripts/lint.sh, through Scripts). A pod runs a script's file as it is or, for a template
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

// Script is one shell script the components run, as a pod runs it.
type Script struct {
	// Name is a file name for it: its source's, with the variant when there are several.
	Name string
	// Source is its file under assets/.
	Source string
	// Text is the script; Lint is its source's lint header, for shellcheck to read it with.
	Text, Lint string
}

// Scripts are every shell script the components run, each template filled in for each variant
// the program deploys, with sample values where settings fill it in: what scripts/lint.sh gives
// shellcheck (cmd/lintscripts writes them out).
func Scripts() []Script {
	s := func(name, source, text string) Script {
		lint, _ := splitLintHeader(asset(source))
		return Script{Name: name, Source: source, Text: text, Lint: lint}
	}
	return []Script{
		s("app-wait-for-postgres.sh", "app/wait-for-postgres.sh", waitForPostgresScript),
		s("app-wait-for-redis.sh", "app/wait-for-redis.sh", waitForRedisScript),
		s("influxdb-onboard.sh", "influxdb/onboard.sh.tmpl", InfluxDBOnboardHook(false)),
		s("influxdb-onboard-tls.sh", "influxdb/onboard.sh.tmpl", InfluxDBOnboardHook(true)),
		s("influxdb-setup.sh", "influxdb/setup.sh.tmpl", influxDBSetupScript("30d", "365d")),
		s("influxdb-backup.sh", "influxdb/backup.sh.tmpl", InfluxDBBackupScript),
		s("influxdb-restore.sh", "influxdb/restore.sh", InfluxDBRestoreScript),
		s("postgres-setup.sh", "postgres/setup.sh.tmpl", PostgresSetupScript),
		s("postgres-backup.sh", "postgres/backup.sh.tmpl", PostgresBackupScript),
		s("postgres-restore.sh", "postgres/restore.sh", PostgresRestoreScript),
		s("postgres-dump-copy.sh", "postgres/dump-copy.sh", PostgresDumpCopyScript),
		s("postgres-retire.sh", "postgres/retire.sh.tmpl", PostgresRetireScript),
		s("redis-startup.sh", "redis/startup.sh", redisStartup),
		s("redis-ping.sh", "redis/ping.sh.tmpl", redisPing(RedisPort)),
		s("redis-ping-sentinel.sh", "redis/ping.sh.tmpl", redisPing(sentinelPort)),
		s("redis-retire.sh", "redis/retire.sh", RedisRetireScript),
		s("rotation-wait-for-previous-clients.sh", "rotation/wait-for-previous-clients.sh", waitForPreviousClientsScript),
		s("storage-snapshots.sh", "storage/snapshots.sh.tmpl", VolumeSnapshotScript),
	}
}
