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

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/tests/objectstore"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// The copies off the cluster, run as their pods run them against the in-process S3 store: the
// stack rendered with its archive there (and shared models), the copy container's variables
// resolved as the kubelet does, the stand-in for WAL-G on PATH, and the data where the pod
// mounts it replaced by a directory of the test's (COPY_DIR). The dump's own is
// TestDumpCopyPutsTheNewestCompleteBackup.

// copyRun is one copy container of a stack rendered against the store, ready to run.
type copyRun struct {
	store     *objectstore.Store
	env       map[string]string
	bin, kind string
	// prefix is where the copies are in the bucket: <kind>/<namespace>/.
	prefix string
}

// copyBucket is the bucket the runs copy to.
const copyBucket = "pynomaly-copies"

// newCopyRun renders prod with its archive on a fresh store and shared models, and takes the
// variables of container of cron; dir is the copied directory on the test's disk.
func newCopyRun(t *testing.T, cron, container, kind, dir string) *copyRun {
	t.Helper()
	requireRclone(t)
	store := objectstore.Start(t)
	store.CreateBucket(t, copyBucket)
	stack := storeStack(`{"walArchive": ` + archiveToStore(store, copyBucket) + `}`)
	stack["storage"] = sharedModels
	s, st := settings(t, "prod", stack), deploy(t, "prod", stack)
	r := st.One(t, cronJobType, cron)
	env := kubeletEnv(r.Env(t, r.Container(t, jobPod, container)), s.Namespace, storeSecrets(store))
	env["COPY_DIR"] = dir
	c := &copyRun{store: store, env: env, bin: t.TempDir(), kind: kind, prefix: kind + "/" + s.Namespace + "/"}
	objectstore.WalG(t, c.bin)
	require.Equal(t, "s3://"+copyBucket+"/"+c.prefix, env["WALG_S3_PREFIX"]+"/")
	return c
}

// put puts content in the store at remote, under the copies' prefix, as an earlier run did.
func (c *copyRun) put(t *testing.T, remote, content string) {
	t.Helper()
	local := filepath.Join(t.TempDir(), "object")
	require.NoError(t, os.WriteFile(local, []byte(content), 0o600))
	cmd := exec.Command(filepath.Join(c.bin, "wal-g"), "st", "put", "--no-compress", local, remote)
	cmd.Env = environ(c.env, c.bin)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// run runs the copy script as the container does.
func (c *copyRun) run(t *testing.T) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", "-ec", tier.CopyScript)
	cmd.Env = environ(c.env, c.bin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// objects are the store's objects under the copies' prefix, by their path below it, with their
// contents.
func (c *copyRun) objects(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, key := range c.store.Keys(t, copyBucket, c.prefix) {
		out[strings.TrimPrefix(key, c.prefix)] = string(c.store.Get(t, copyBucket, key))
	}
	return out
}

// stampOf is the copy's time of an object's path.
func stampOf(path string) string { return strings.SplitN(path, "/", 2)[0] }

// utcStamp is t as the copies are named.
func utcStamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// The model files are copied whole, sub-directories and all, as they are, under the time of the
// copy: copies past storage.snapshots.retentionDays (prod: 14) go, a younger one stays; the
// volume's lost+found is left out. An empty model directory copies nothing and leaves the store
// as it was.
func TestModelsCopyPutsEveryModelFileAndPrunesOldCopies(t *testing.T) {
	models := t.TempDir()
	files := map[string]string{"detector.pkl": "iforest", "tenants/acme/lof.joblib": "lof", ".manifest.json": "{}"}
	for f, content := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(models, filepath.Dir(f)), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(models, f), []byte(content), 0o600))
	}
	// The file system's own lost+found (only root reads it on a real volume) is no model.
	require.NoError(t, os.MkdirAll(filepath.Join(models, "lost+found"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(models, "lost+found", "#12"), []byte("fsck"), 0o600))
	c := newCopyRun(t, app.ModelsBackupCronJob, "models-backup-copy", app.ModelsKind, models)
	assert.Equal(t, "false", c.env["COPY_NEWEST"])
	assert.Equal(t, "14", c.env["RETENTION_DAYS"])
	old, recent := utcStamp(time.Now().AddDate(0, 0, -15)), utcStamp(time.Now().AddDate(0, 0, -13))
	c.put(t, old+"/detector.pkl", "old")
	c.put(t, recent+"/detector.pkl", "recent")

	before := time.Now()
	out, err := c.run(t)
	require.NoError(t, err, out)
	got := c.objects(t)
	var copied string
	for path := range got {
		if s := stampOf(path); s != recent {
			copied = s
		}
	}
	require.NotEmpty(t, copied, "no new copy: %v\n%s", got, out)
	assert.GreaterOrEqual(t, copied, utcStamp(before.Add(-time.Second)), "the copy is named by its time")
	want := map[string]string{recent + "/detector.pkl": "recent"}
	for f, content := range files {
		want[copied+"/"+f] = content
	}
	assert.Equal(t, want, got, "every model file under the copy's time, the old copy removed, the recent one kept")
	assert.Contains(t, out, "removed s3://"+copyBucket+"/"+c.prefix+old+"/")

	c.env["COPY_DIR"] = t.TempDir()
	out, err = c.run(t)
	require.NoError(t, err, out)
	assert.Equal(t, got, c.objects(t), "an empty model directory changed the store")
	assert.Contains(t, out, "nothing to copy")
}

// A copy that fails half-way leaves nothing in the store: what it had put is removed, so every
// copy there is whole, and the job fails for the alert to see.
func TestACopyThatFailsLeavesNothingHalfDone(t *testing.T) {
	models := t.TempDir()
	for _, f := range []string{"a.pkl", "b.pkl"} {
		require.NoError(t, os.WriteFile(filepath.Join(models, f), []byte(f), 0o600))
	}
	c := newCopyRun(t, app.ModelsBackupCronJob, "models-backup-copy", app.ModelsKind, models)
	// WAL-G that fails to put b.pkl, as a store that drops the connection would.
	standIn := filepath.Join(c.bin, "wal-g.real")
	require.NoError(t, os.Rename(filepath.Join(c.bin, "wal-g"), standIn))
	failing := "#!/bin/sh\ncase \"$*\" in *'put --no-compress b.pkl'*) echo 'ERROR: connection reset' >&2; exit 1;; esac\nexec " + standIn + " \"$@\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(c.bin, "wal-g"), []byte(failing), 0o755))

	out, err := c.run(t)
	require.Error(t, err, out)
	assert.Empty(t, c.objects(t), "a failed copy left objects")
}

// InfluxDB's backup, made by its script with a stand-in influx as the CronJob's init container
// makes it, then copied by the CronJob's copy container: the backup's files under
// pynomaly-influxdb-backups/<namespace>/<the backup's time>/. Where the newest backup is itself
// past the retention (the backups have failed since), its copy stays and only older ones go.
func TestInfluxDBBackupCopyPutsTheNewestBackup(t *testing.T) {
	backups := filepath.Join(t.TempDir(), "influxdb")
	require.NoError(t, os.MkdirAll(backups, 0o700))
	c := newCopyRun(t, influxdb.BackupCronJob, "influxdb-backup-copy", influxdb.BackupsKind, backups)
	assert.Equal(t, "true", c.env["COPY_NEWEST"])
	assert.Equal(t, "14", c.env["RETENTION_DAYS"])

	influx := "#!/bin/sh\n[ \"$1\" = backup ] && [ -n \"$INFLUX_TOKEN\" ] || exit 2\nmkdir -p \"$2\" && echo manifest > \"$2/20261126T043000Z.manifest\" && echo shard > \"$2/20261126T043000Z.s1.tar.gz\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(c.bin, "influx"), []byte(influx), 0o755))
	backup := exec.Command("sh", "-ec", influxdb.BackupScript)
	backup.Env = environ(map[string]string{"INFLUX_HOST": "http://influxdb:8086", "INFLUX_TOKEN": "t0ken", "BACKUP_DIR": backups,
		"RETENTION_DAYS": "14"}, c.bin)
	out, err := backup.CombinedOutput()
	require.NoError(t, err, "%s", out)
	stamps := dirNames(t, backups)
	require.Len(t, stamps, 1)

	out2, err := c.run(t)
	require.NoError(t, err, out2)
	assert.Equal(t, map[string]string{stamps[0] + "/20261126T043000Z.manifest": "manifest\n", stamps[0] + "/20261126T043000Z.s1.tar.gz": "shard\n"},
		c.objects(t), "the backup's files under its time")

	// The backups stopped a month ago: their newest is copied and kept, an older copy goes.
	stale := filepath.Join(t.TempDir(), "influxdb")
	newest, older := utcStamp(time.Now().AddDate(0, -1, 0)), utcStamp(time.Now().AddDate(0, -2, 0))
	require.NoError(t, os.MkdirAll(filepath.Join(stale, newest), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(stale, newest, "x.manifest"), []byte("x"), 0o600))
	c = newCopyRun(t, influxdb.BackupCronJob, "influxdb-backup-copy", influxdb.BackupsKind, stale)
	c.put(t, older+"/x.manifest", "older")
	out3, err := c.run(t)
	require.NoError(t, err, out3)
	assert.Equal(t, map[string]string{newest + "/x.manifest": "x"}, c.objects(t), "the newest copy is kept whatever its age")
}
