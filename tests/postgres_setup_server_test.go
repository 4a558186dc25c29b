package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/postgres"
)

// setupJob is the PostgreSQL setup job as the prod stack declares it: its script, and its
// environment as the kubelet would give it, each secret reference resolved from the Secret the
// secrets tier wrote.
func setupJob(t *testing.T) (script string, env map[string]string, st *Stack) {
	t.Helper()
	st = deploy(t, "prod", nil)
	script, env = podScript(t, st, st.One(t, jobType, postgres.SetupJob), "postgres-setup")
	return script, env, st
}

// podScript is the script a container of a workload runs (sh -ec SCRIPT) and the environment the
// kubelet would give it, each secret reference resolved from the Secret the secrets tier wrote.
func podScript(t *testing.T, st *Stack, r *Resource, container string) (script string, env map[string]string) {
	t.Helper()
	c := r.Container(t, podSpec, container)
	cmd, ok := r.Get(c + ".command")
	require.True(t, ok)
	require.Len(t, cmd.ArrayValue(), 3, "sh -ec SCRIPT")
	return cmd.ArrayValue()[2].StringValue(), podEnv(t, st, r, container)
}

// podEnv is a container's environment with its secret references resolved.
func podEnv(t *testing.T, st *Stack, r *Resource, container string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for name, v := range r.Env(t, r.Container(t, podSpec, container)) {
		if ref, ok := strings.CutPrefix(v, "secret:"); ok {
			secretName, key, _ := strings.Cut(ref, "/")
			secret := st.One(t, secretType, secretName)
			if !secret.Has("stringData") {
				env[name] = "" // declared empty: a job writes it in the cluster (InfluxDB's app token)
				continue
			}
			data := secret.StringMap(t, "stringData")
			require.Contains(t, data, key, "%s refers to %s", name, ref)
			v = data[key]
		}
		env[name] = v
	}
	return env
}

// socketPsql runs one statement, through psqlAt, against the server on the socket directory dir,
// as user with password pw, in database db.
func socketPsql(bin, dir string) func(user, pw, db, sql string) (string, error) {
	return func(user, pw, db, sql string) (string, error) {
		return psqlAt(bin, fmt.Sprintf("host=%s port=%d user=%s dbname=%s", dir, postgres.Port, user, db), pw, sql)
	}
}

// runScript runs a job's script as the job's container does (sh -ec) with exactly env, and the
// PostgreSQL client programs of bin first on PATH.
func runScript(ctx context.Context, bin, script string, env map[string]string) (string, error) {
	cmd := exec.CommandContext(ctx, "sh", "-ec", script)
	cmd.Env = []string{"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + os.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// fakePatroni answers the setup job's PATCH /config as Patroni does, and only with the REST
// API's credentials. curl reaches it as its HTTP proxy, so the script's URL stays as generated.
type fakePatroni struct {
	user, password string
	mu             sync.Mutex
	patched        []string
}

func (f *fakePatroni) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, password, ok := r.BasicAuth()
	if !ok || user != f.user || password != f.password {
		http.Error(w, "no auth header received", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPatch || r.URL.Path != "/config" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.patched = append(f.patched, r.Host+" "+string(body))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// The setup job's script, exactly as generated and with the job's environment, runs against a
// real PostgreSQL that logs every statement (log_statement = all, every duration, every failing
// statement) and keeps statement statistics (pg_stat_statements, as Spilo loads it). Afterwards
// the application logs in with its password, and neither the password nor its SCRAM verifier
// (salt, StoredKey, ServerKey) is in the server's log, its statistics or the job's output. The
// job's PATCH to Patroni authenticates.
func TestPostgresSetupJobKeepsCredentialsOutOfTheServerLog(t *testing.T) {
	bin := filepath.Dir(tool(t, "/usr/lib/postgresql/*/bin/postgres"))
	tool(t, "curl")
	script, env, st := setupJob(t)
	verifier := env["APP_PASSWORD_VERIFIER"]
	require.True(t, strings.HasPrefix(verifier, "SCRAM-SHA-256$"), "the job gets the verifier, not the password")
	password := st.One(t, secretType, credentials.PostgresSecretName).StringMap(t, "stringData")[credentials.PostgresAppPasswordKey]
	// SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>: each part is a secret on its own.
	_, rest, _ := strings.Cut(verifier, ":")
	salt, keys, _ := strings.Cut(rest, "$")
	storedKey, serverKey, _ := strings.Cut(keys, ":")
	pgSecret := st.One(t, secretType, credentials.PostgresSecretName).StringMap(t, "stringData")
	monitorPassword := pgSecret[credentials.PostgresMonitorPasswordKey]
	secrets := map[string]string{
		"the password": password, "the verifier": verifier, "the salt": salt, "the StoredKey": storedKey,
		"the ServerKey": serverKey, "the Patroni API password": env["PATRONI_RESTAPI_PASSWORD"],
		"the exporter's password": monitorPassword, "the exporter's verifier": env["MONITOR_PASSWORD_VERIFIER"],
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Statements logged and counted: the test would see a leak.
	dir, log := socketPostgres(t, ctx, bin, "-c", "log_statement=all", "-c", "log_min_duration_statement=0",
		"-c", "log_min_error_statement=debug5", "-c", "log_connections=on",
		"-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track_utility=on")
	psql := socketPsql(bin, dir)
	out2, err := psql("postgres", "", "postgres", "CREATE EXTENSION pg_stat_statements")
	require.NoError(t, err, out2)

	patroni := &fakePatroni{user: env["PATRONI_RESTAPI_USERNAME"], password: env["PATRONI_RESTAPI_PASSWORD"]}
	proxy := httptest.NewServer(patroni)
	defer proxy.Close()
	// The only changes to the job's environment: where the server is, and the way to Patroni.
	env["PGHOST"] = dir
	env["http_proxy"] = proxy.URL
	var jobOutput strings.Builder
	for run := range 2 { // the job is rerun on every change: the second run finds the role
		out, err := runScript(ctx, bin, script, env)
		jobOutput.WriteString(out)
		require.NoError(t, err, "setup job, run %d: %s\npostgres: %s", run+1, out, log)
		assert.Contains(t, out, "postgres setup done")
	}

	// The application logs in with its password, and with nothing else.
	got, err := psql(credentials.PostgresAppUser, password, postgres.Database, "SELECT current_user || '@' || current_database()")
	require.NoError(t, err, "%s\n%s", got, log)
	assert.Equal(t, credentials.PostgresAppUser+"@"+postgres.Database, got)
	_, err = psql(credentials.PostgresAppUser, "wrong"+password, postgres.Database, "SELECT 1")
	assert.Error(t, err, "a wrong password was accepted")
	stored, err := psql("postgres", "", "postgres", "SELECT rolpassword FROM pg_authid WHERE rolname = '"+credentials.PostgresAppUser+"'")
	require.NoError(t, err)
	assert.Equal(t, verifier, stored, "PostgreSQL stores the verifier it was given")

	checkMonitorLogin(t, psql, monitorPassword, password)

	// Patroni got the tuning, authenticated, from each run.
	require.Len(t, patroni.patched, 2)
	want := fmt.Sprintf("%s-0.%s:8008 %s", postgres.Name, postgres.HeadlessService, env["PATRONI_DYNAMIC_CONFIG"])
	assert.Equal(t, want, patroni.patched[0])
	assert.True(t, json.Valid([]byte(env["PATRONI_DYNAMIC_CONFIG"])))

	statements, err := psql("postgres", "", "postgres", "SELECT string_agg(query, E'\\n') FROM pg_stat_statements")
	require.NoError(t, err)
	// The server did log and count statements: the test would see a leak.
	serverLog := log.String()
	assert.Contains(t, serverLog, "statement: SELECT format('CREATE DATABASE %I OWNER %I'", "log_statement = all is in force")
	assert.Contains(t, serverLog, "CREATE DATABASE pynomaly OWNER pynomaly")
	assert.Contains(t, statements, "CREATE DATABASE pynomaly OWNER pynomaly", "pg_stat_statements counts utility statements")
	for what, secret := range secrets {
		require.NotEmpty(t, secret, what)
		assert.NotContains(t, serverLog, secret, "%s is in the server's log", what)
		assert.NotContains(t, statements, secret, "%s is in pg_stat_statements", what)
		assert.NotContains(t, jobOutput.String(), secret, "%s is in the job's log", what)
	}
	assert.NotContains(t, serverLog, "PASSWORD", "a password statement was logged")
}

// checkMonitorLogin: the exporter's login (what the deployed exporter is given) reads the
// statistics and settings the exporter collects, and nothing of the application's data; it
// cannot create anything, and is no superuser. appPassword is the application's, which makes a
// table first.
func checkMonitorLogin(t *testing.T, psql func(user, pw, db, sql string) (string, error), password, appPassword string) {
	t.Helper()
	exporter := credentials.PostgresMonitorUser
	out, err := psql(credentials.PostgresAppUser, appPassword, postgres.Database, "CREATE TABLE detections (score float8)")
	require.NoError(t, err, out)
	// What postgres_exporter's default collectors read.
	out, err = psql(exporter, password, "postgres",
		"SELECT count(*) > 0 FROM pg_stat_database; SELECT count(*) >= 0 FROM pg_stat_replication; SELECT setting FROM pg_settings WHERE name = 'max_connections'; "+
			"SELECT pg_has_role(current_user, 'pg_monitor', 'member'), rolsuper FROM pg_roles WHERE rolname = current_user")
	require.NoError(t, err, out)
	assert.Equal(t, []string{"t", "t"}, strings.Fields(out)[:2])
	assert.Equal(t, "t|f", strings.Fields(out)[len(strings.Fields(out))-1], "a member of pg_monitor, not a superuser")
	_, err = psql(exporter, "wrong"+password, "postgres", "SELECT 1")
	assert.Error(t, err, "the exporter's login took a wrong password")
	for _, sql := range []string{
		"SELECT * FROM detections",
		"CREATE TABLE stolen (x int)",
		"UPDATE detections SET score = 0",
		"CREATE ROLE intruder",
	} {
		out, err := psql(exporter, password, postgres.Database, sql)
		assert.Error(t, err, "the exporter's login may run %q: %s", sql, out)
		assert.Contains(t, out, "permission denied", sql)
	}
}

// socketPostgres runs PostgreSQL with Spilo's authentication (the superuser over the socket,
// everyone else by SCRAM) at the cluster's port 5432, as the jobs connect to it: here on a socket
// in a private directory (no TCP), so nothing else on the machine is in the way. It returns the
// directory (the jobs' PGHOST) and the server's log.
func socketPostgres(t *testing.T, ctx context.Context, bin string, settings ...string) (string, fmt.Stringer) {
	t.Helper()
	dir := serviceDir(t)
	data := filepath.Join(dir, "data")
	out, err := asServiceUser(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres").CombinedOutput()
	require.NoError(t, err, "%s", out)
	hba := "local all postgres trust\nlocal all all scram-sha-256\n"
	require.NoError(t, os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600))
	require.NoError(t, exec.Command("chown", "--reference", data, filepath.Join(data, "pg_hba.conf")).Run())
	server := asServiceUser(ctx, filepath.Join(bin, "postgres"), append([]string{"-D", data, "-k", dir,
		"-p", fmt.Sprint(postgres.Port), "-c", "listen_addresses="}, settings...)...)
	exited, log := start(t, server)
	t.Cleanup(func() {
		_ = asServiceUser(context.Background(), filepath.Join(bin, "pg_ctl"), "-D", data, "stop", "-m", "fast").Run()
		<-exited
	})
	waitFor(t, "postgres to accept connections", exited, log, func() bool {
		return exec.Command(filepath.Join(bin, "pg_isready"), "-q", "-h", dir, "-p", fmt.Sprint(postgres.Port)).Run() == nil
	})
	return dir, log
}
