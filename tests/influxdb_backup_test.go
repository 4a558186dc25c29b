package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/postgres"
)

// InfluxDB is backed up daily at 04:30 UTC into the backup claim, kept as long as each profile
// keeps the database's dumps, with the admin token from the credentials Secret through the
// environment. The job runs in the claim's group, the database backup's, so neither job's files
// are re-grouped to the other.
func TestInfluxDBBackupJob(t *testing.T) {
	for env, retention := range map[string]string{"dev": "3", "staging": "7", "prod": "14"} {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			cron := st.One(t, cronJobType, influxdb.BackupCronJob)
			assert.Equal(t, "30 4 * * *", cron.Str(t, "spec.schedule"))
			assert.Equal(t, "Etc/UTC", cron.Str(t, "spec.timeZone"))
			spec := "spec.jobTemplate.spec.template.spec"
			c := cron.Container(t, spec, "influxdb-backup")
			e := cron.Env(t, c)
			assert.Equal(t, retention, e["RETENTION_DAYS"])
			assert.Equal(t, "secret:pynomaly-influxdb-credentials/admin-token", e["INFLUX_TOKEN"])
			assert.Equal(t, "/backup/influxdb", e["BACKUP_DIR"])
			assert.Contains(t, e["INFLUX_HOST"], "pynomaly-influxdb.pynomaly-data-science.svc:8086")
			assert.Equal(t, "pynomaly-backups", cron.Str(t, spec+".volumes.1.persistentVolumeClaim.claimName"))
			pg := st.One(t, cronJobType, postgres.BackupCronJob)
			assert.Equal(t, pg.Int(t, spec+".securityContext.fsGroup"), cron.Int(t, spec+".securityContext.fsGroup"),
				"both backup jobs run in the backup claim's group")
			assert.True(t, st.DependsOn(cron, st.One(t, claimType, "pynomaly-backups")))
		})
	}
}

// The script, run as the CronJob runs it against a fake influx CLI: the backup lands in a
// directory named by the UTC time, complete only once renamed; what a failed run left and backups
// past the retention are removed first, the newest kept whatever its age; the token never
// reaches the command line; a failed backup leaves nothing that looks complete.
func TestInfluxDBBackupScriptKeepsCompleteBackupsOnly(t *testing.T) {
	run := func(dir string, fail bool) (string, error) {
		bin := t.TempDir()
		fake := `#!/bin/sh
echo "$@" >> "` + bin + `/argv"
[ "$1" = backup ] && [ -n "$INFLUX_TOKEN" ] || exit 2
mkdir -p "$2" && echo data > "$2/20261126T043000Z.manifest"
` + map[bool]string{true: "exit 1\n", false: ""}[fail]
		require.NoError(t, os.WriteFile(filepath.Join(bin, "influx"), []byte(fake), 0o755))
		cmd := exec.Command("sh", "-ec", influxdb.BackupScript)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "INFLUX_HOST=http://influxdb:8086", "INFLUX_TOKEN=tok3n-value",
			"BACKUP_DIR=" + dir, "RETENTION_DAYS=7"}
		out, err := cmd.CombinedOutput()
		argv, _ := os.ReadFile(filepath.Join(bin, "argv"))
		assert.NotContains(t, string(argv), "tok3n-value", "the token is never an argument")
		return string(out), err
	}
	dir := filepath.Join(t.TempDir(), "influxdb")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	old := time.Now().Add(-10 * 24 * time.Hour)
	for _, d := range []string{"20250101T043000Z.partial", "20250101T043000Z", "20250102T043000Z"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o700))
		require.NoError(t, os.Chtimes(filepath.Join(dir, d), old, old))
	}
	out, err := run(dir, false)
	require.NoError(t, err, out)
	entries := dirNames(t, dir)
	require.Len(t, entries, 2, "the new backup and the newest old one: %v", entries)
	assert.Equal(t, "20250102T043000Z", entries[0], "the newest backup is kept past the retention")
	assert.Regexp(t, `^\d{8}T\d{6}Z$`, entries[1])
	assert.Contains(t, out, "backup written: "+filepath.Join(dir, entries[1]))

	out, err = run(dir, true)
	require.Error(t, err, out)
	for _, e := range dirNames(t, dir) {
		assert.True(t, strings.HasSuffix(e, ".partial") || e == entries[0] || e == entries[1], "a failed run left %s", e)
	}
}

// The restore script, run as the restore Job runs it against a fake influx CLI: it restores the
// newest complete backup (never a .partial one) or the one named, refuses a partial or missing
// backup, and never puts the token on a command line.
func TestInfluxDBRestoreScriptRestoresACompleteBackup(t *testing.T) {
	const token = "tok3n-value"
	dir := filepath.Join(t.TempDir(), "influxdb")
	for _, d := range []string{"20250101T043000Z", "20250102T043000Z", "20250103T043000Z.partial"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o700))
	}
	bin := t.TempDir()
	argv := filepath.Join(bin, "argv")
	fake := "#!/bin/sh\necho \"$@\" >> " + argv + "\n[ -n \"$INFLUX_TOKEN\" ] || exit 2\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "influx"), []byte(fake), 0o755))
	run := func(from string) (string, error) {
		cmd := exec.Command(tool(t, "sh"), "-ec", influxdb.RestoreScript)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "INFLUX_HOST=http://influxdb:8086", "INFLUX_TOKEN=" + token,
			"BACKUP_DIR=" + dir, "RESTORE_FROM=" + from}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	restored := func() []string {
		log, err := os.ReadFile(argv)
		require.NoError(t, err)
		assert.NotContains(t, string(log), token, "the token is an argument")
		var out []string
		for _, l := range strings.Split(string(log), "\n") {
			if rest, ok := strings.CutPrefix(l, "restore --full "); ok {
				out = append(out, rest)
			}
		}
		return out
	}

	out, err := run("")
	require.NoError(t, err, out)
	assert.Equal(t, []string{"20250102T043000Z"}, restored(), "the newest complete backup")
	out, err = run("20250101T043000Z")
	require.NoError(t, err, out)
	assert.Equal(t, []string{"20250102T043000Z", "20250101T043000Z"}, restored(), "the backup named")
	for _, bad := range []string{"20250103T043000Z.partial", "20250104T043000Z"} {
		out, err = run(bad)
		require.Error(t, err, bad)
		assert.Contains(t, out, "no complete backup "+bad)
	}
	assert.Len(t, restored(), 2)
}
