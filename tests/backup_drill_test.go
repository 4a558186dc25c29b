package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/tests/objectstore"
)

// pgInstance is a real PostgreSQL from Debian's package, on a Unix socket in its own directory.
type pgInstance struct {
	bin, dir string
	port     int
	t        *testing.T
}

// startPostgres initialises and starts a fresh instance (runPostgres); it stops when the test ends.
func startPostgres(t *testing.T, ctx context.Context) *pgInstance {
	t.Helper()
	pg := &pgInstance{bin: filepath.Dir(tool(t, "/usr/lib/postgresql/*/bin/postgres")), dir: serviceDir(t), t: t}
	data := filepath.Join(pg.dir, "data")
	out, err := asServiceUser(ctx, filepath.Join(pg.bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust").CombinedOutput()
	require.NoError(t, err, "%s", out)
	pg.port, _ = runPostgres(t, ctx, pg.bin, pg.dir, data)
	return pg
}

// env is what a client of the instance needs, as the backup job's environment gives it.
func (pg *pgInstance) env(db string) []string {
	return append(os.Environ(), "PATH="+pg.bin+":"+os.Getenv("PATH"), "PGHOST="+pg.dir, fmt.Sprintf("PGPORT=%d", pg.port),
		"PGUSER=postgres", "PGDATABASE="+db)
}

// psql runs SQL in db and returns its unaligned output.
func (pg *pgInstance) psql(db, sql string) string {
	pg.t.Helper()
	cmd := exec.Command(filepath.Join(pg.bin, "psql"), "-v", "ON_ERROR_STOP=1", "-Atc", sql)
	cmd.Env = pg.env(db)
	out, err := cmd.CombinedOutput()
	require.NoError(pg.t, err, "%s: %s", sql, out)
	return strings.TrimSpace(string(out))
}

// The restore drill: the generated backup script, run as the CronJob runs it, against a real
// PostgreSQL holding data; its dump and globals restore into a fresh instance with equal row
// counts and the same roles. On the way: a partial backup of an earlier failed run is removed,
// backups past the retention are pruned before the new dump needs the space (the newest one
// kept), and a dump that fails leaves no backup that looks complete.
func TestBackupRestoresIntoAFreshInstance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	source := startPostgres(t, ctx)
	source.psql("postgres", "CREATE ROLE pynomaly LOGIN; CREATE ROLE analyst NOLOGIN")
	source.psql("postgres", "CREATE DATABASE pynomaly OWNER pynomaly")
	source.psql("pynomaly", `SET ROLE pynomaly;
CREATE TABLE detectors (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE results (id bigserial PRIMARY KEY, detector int REFERENCES detectors, score float8, at timestamptz DEFAULT now());
INSERT INTO detectors (name) SELECT 'detector-' || g FROM generate_series(1, 40) g;
INSERT INTO results (detector, score) SELECT 1 + g % 40, random() FROM generate_series(1, 25000) g;
GRANT SELECT ON results TO analyst;`)
	counts := func(pg *pgInstance) string {
		return pg.psql("pynomaly", "SELECT (SELECT count(*) FROM detectors) || ' ' || (SELECT count(*) FROM results) || ' ' || (SELECT sum(score)::numeric(20,6) FROM results)")
	}
	want := counts(source)

	// The backup volume as earlier runs left it: a partial run, a backup and an old-style dump
	// past the 7 days of retention, and the newest backup, also past it.
	backups := serviceDir(t)
	old := time.Now().Add(-10 * 24 * time.Hour)
	for _, d := range []string{"20250101T020000Z.partial", "20250101T020000Z", "20250102T020000Z"} {
		require.NoError(t, os.MkdirAll(filepath.Join(backups, d), 0o700))
		require.NoError(t, os.Chtimes(filepath.Join(backups, d), old, old))
	}
	legacy := filepath.Join(backups, "pynomaly-20241231T020000Z.dump")
	require.NoError(t, os.WriteFile(legacy, []byte("old"), 0o600))
	require.NoError(t, os.Chtimes(legacy, old, old))

	run := func(db string) (string, error) {
		cmd := exec.Command("sh", "-c", postgres.BackupScript)
		cmd.Env = append(source.env(db), "BACKUP_DIR="+backups, "RETENTION_DAYS=7")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("pynomaly")
	require.NoError(t, err, out)
	entries := dirNames(t, backups)
	require.Len(t, entries, 2, "the new backup and the newest old one: %v", entries)
	assert.Equal(t, "20250102T020000Z", entries[0], "the newest backup is kept past the retention")
	backup := filepath.Join(backups, entries[1])
	assert.Regexp(t, `^\d{8}T\d{6}Z$`, entries[1])
	assert.Contains(t, out, "backup written: "+backup)
	assert.ElementsMatch(t, []string{"globals.sql", "pynomaly.dump"}, dirNames(t, backup))
	globals, err := os.ReadFile(filepath.Join(backup, "globals.sql"))
	require.NoError(t, err)
	assert.NotContains(t, string(globals), "SCRAM-SHA-256", "password hashes stay out of the backup")

	// Restore with the program's restore script into a fresh instance that the setup job has
	// prepared (its role and database), as the restore runbook in docs/operations.md does after a lost cluster.
	target := startPostgres(t, ctx)
	target.psql("postgres", "CREATE ROLE pynomaly LOGIN")
	target.psql("postgres", "CREATE DATABASE pynomaly OWNER pynomaly")
	restore := exec.Command("sh", "-c", postgres.RestoreScript)
	restore.Env = append(target.env("pynomaly"), "BACKUP_DIR="+backups)
	out2, err := restore.CombinedOutput()
	require.NoError(t, err, "restore: %s", out2)
	assert.Contains(t, string(out2), "restoring "+backup, "the newest backup by default")
	assert.Equal(t, want, counts(target), "rows after the restore")
	// Restoring again over the restored data (an in-place restore) converges on the same rows.
	target.psql("pynomaly", "DELETE FROM results WHERE id % 2 = 0")
	restore = exec.Command("sh", "-c", postgres.RestoreScript)
	restore.Env = append(target.env("pynomaly"), "BACKUP_DIR="+backups, "RESTORE_FROM="+filepath.Base(backup))
	out2, err = restore.CombinedOutput()
	require.NoError(t, err, "restore in place: %s", out2)
	assert.Equal(t, want, counts(target), "rows after restoring in place")
	restore = exec.Command("sh", "-c", postgres.RestoreScript)
	restore.Env = append(target.env("pynomaly"), "BACKUP_DIR="+backups, "RESTORE_FROM=20250102T020000Z")
	out2, err = restore.CombinedOutput()
	assert.Error(t, err, "an incomplete backup is refused: %s", out2)
	assert.Contains(t, string(out2), "no complete backup 20250102T020000Z")
	assert.Equal(t, "t", target.psql("pynomaly", "SELECT has_table_privilege('analyst', 'results', 'SELECT')"), "roles and grants came back")
	t.Logf("restored %s (detectors, results, sum of scores) from %s", want, backup)

	// A run whose dump fails leaves nothing that looks like a backup.
	out, err = run("no_such_database")
	require.Error(t, err, out)
	entries = dirNames(t, backups)
	for _, e := range entries {
		if !strings.HasSuffix(e, ".partial") {
			assert.Contains(t, []string{"20250102T020000Z", filepath.Base(backup)}, e, "a failed run left %s", e)
		}
	}
}

// dirNames are the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// The copy off the cluster, run as the backup pod's last container runs it: prod's stack
// rendered with the WAL archive on an S3-compatible store (in the test's process), the copy
// container's variables resolved as the kubelet does (the prefix with the namespace, the
// Secret's keys), and the stand-in for WAL-G (tests/objectstore) on PATH. Every file of the newest
// complete backup is then in the store under pynomaly-dumps/<namespace>/<its time>/, as it was
// (uncompressed: pg_dump's format is compressed already); a partial backup and older ones are
// never copied; what a failed copy of the same backup left is replaced, and a copy past the
// retention is removed, both found through st ls.
func TestDumpCopyPutsTheNewestCompleteBackup(t *testing.T) {
	requireRclone(t)
	backups, bin := t.TempDir(), t.TempDir()
	files := map[string]string{"20261124T020000Z/pynomaly.dump": "dump 24", "20261125T020000Z/pynomaly.dump": "dump 25",
		"20261125T020000Z/globals.sql": "globals 25", "20261126T020000Z.partial/pynomaly.dump": "partial 26"}
	for f, content := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(backups, filepath.Dir(f)), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(backups, f), []byte(content), 0o600))
	}
	store := objectstore.Start(t)
	store.CreateBucket(t, "pynomaly-prod-wal")
	stack := storeStack(`{"walArchive": ` + archiveToStore(store, "pynomaly-prod-wal") + `}`)
	s, st := settings(t, "prod", stack), deploy(t, "prod", stack)
	cron := st.One(t, cronJobType, postgres.BackupCronJob)
	env := kubeletEnv(cron.Env(t, cron.Container(t, "spec.jobTemplate.spec.template.spec", "postgres-backup-copy")), s.Namespace, storeSecrets(store))
	env["COPY_DIR"] = backups // the backup claim, mounted there in the pod
	walg := objectstore.WalG(t, bin)
	dumps := "pynomaly-dumps/" + s.Namespace + "/"
	require.Equal(t, "s3://pynomaly-prod-wal/"+dumps, env["WALG_S3_PREFIX"]+"/")

	// The store as earlier runs left it: a copy past the retention, and half a copy of this
	// backup from a run that failed.
	stale := filepath.Join(t.TempDir(), "stale")
	require.NoError(t, os.WriteFile(stale, []byte("stale"), 0o600))
	for _, remote := range []string{"20250101T020000Z/pynomaly.dump", "20261125T020000Z/half.dump"} {
		put := exec.Command(walg, "st", "put", "--no-compress", stale, remote)
		put.Env = environ(env, bin)
		out, err := put.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}

	cmd := exec.Command("sh", "-ec", postgres.DumpCopyScript)
	cmd.Env = environ(env, bin)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, []string{dumps + "20261125T020000Z/globals.sql", dumps + "20261125T020000Z/pynomaly.dump"},
		store.Keys(t, "pynomaly-prod-wal", ""), "the newest complete backup alone, under its time")
	for _, f := range []string{"20261125T020000Z/globals.sql", "20261125T020000Z/pynomaly.dump"} {
		assert.Equal(t, files[f], string(store.Get(t, "pynomaly-prod-wal", dumps+f)), "%s as it was", f)
	}
	assert.Contains(t, string(out), "copied "+filepath.Join(backups, "20261125T020000Z")+" to s3://pynomaly-prod-wal/"+dumps+"20261125T020000Z/")
	assert.Contains(t, string(out), "removed s3://pynomaly-prod-wal/"+dumps+"20250101T020000Z/")
}

// environ is env as a process's environment, with the stand-in's directory bin first on PATH.
func environ(env map[string]string, bin string) []string {
	out := []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + os.TempDir()}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}
