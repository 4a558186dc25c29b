package tests

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/postgres"
)

// With the application's and the exporter's passwords from a store, the setup job gets the
// passwords (the program has no verifier to give it) and computes their SCRAM verifiers itself:
// its script, as generated, runs twice against a real PostgreSQL that logs every statement;
// both logins work with the store's passwords, PostgreSQL holds SCRAM-SHA-256 verifiers of its
// own salt, and no password is in the server's log, its statistics or the job's output.
func TestPostgresSetupJobHashesStorePasswordsItself(t *testing.T) {
	bin := filepath.Dir(tool(t, "/usr/lib/postgresql/*/bin/postgres"))
	tool(t, "curl")
	tool(t, "python3")
	const app, monitor = "StoreAppPassword0123456789", "StoreMonitorPassword012345"
	st := deploy(t, "prod", externalSource(""))
	store := storeFor(t, st)
	store["pynomaly/prod/postgresAppPassword"], store["pynomaly/prod/postgresMonitorPassword"] = app, monitor
	fillFromStore(t, st, store)
	script, env := podScript(t, st, st.One(t, jobType, postgres.SetupJob), "postgres-setup")
	require.Equal(t, app, env["APP_PASSWORD"])

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, log := socketPostgres(t, ctx, bin, "-c", "log_statement=all", "-c", "log_min_duration_statement=0",
		"-c", "log_min_error_statement=debug5", "-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track_utility=on")
	psql := socketPsql(bin, dir)
	out, err := psql("postgres", "", "postgres", "CREATE EXTENSION pg_stat_statements")
	require.NoError(t, err, out)
	proxy := httptest.NewServer(&fakePatroni{user: env["PATRONI_RESTAPI_USERNAME"], password: env["PATRONI_RESTAPI_PASSWORD"]})
	defer proxy.Close()
	env["PGHOST"], env["http_proxy"] = dir, proxy.URL
	var jobOutput strings.Builder
	for run := range 2 {
		out, err := runScript(ctx, bin, script, env)
		jobOutput.WriteString(out)
		require.NoError(t, err, "setup job, run %d: %s\npostgres: %s", run+1, out, log)
	}

	got, err := psql(credentials.PostgresAppUser, app, postgres.Database, "SELECT current_user")
	require.NoError(t, err, "%s\n%s", got, log)
	_, err = psql(credentials.PostgresAppUser, "wrong"+app, postgres.Database, "SELECT 1")
	assert.Error(t, err, "a wrong password was accepted")
	checkMonitorLogin(t, psql, monitor, app)
	stored, err := psql("postgres", "", "postgres", "SELECT string_agg(rolpassword, ' ') FROM pg_authid WHERE rolname IN ('pynomaly', 'pynomaly_monitor')")
	require.NoError(t, err)
	assert.Regexp(t, `^SCRAM-SHA-256\$4096:\S+ SCRAM-SHA-256\$4096:\S+$`, stored)
	statements, err := psql("postgres", "", "postgres", "SELECT string_agg(query, E'\\n') FROM pg_stat_statements")
	require.NoError(t, err)
	assert.Contains(t, log.String(), "CREATE DATABASE pynomaly OWNER pynomaly", "log_statement = all is in force")
	for _, pw := range []string{app, monitor} {
		assert.NotContains(t, log.String(), pw, "a password is in the server's log")
		assert.NotContains(t, statements, pw, "a password is in pg_stat_statements")
		assert.NotContains(t, jobOutput.String(), pw, "a password is in the job's log")
	}
	for _, verifier := range strings.Fields(stored) {
		assert.NotContains(t, log.String(), verifier, "a verifier is in the server's log")
	}
}
