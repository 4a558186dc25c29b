package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/postgres"
)

// cronJob is the backup CronJob as kubectl prints it: the dump alone, or (where the dump is
// copied off the cluster) the dump as an init container before the copy.
func cronJob(t *testing.T, withCopy bool) map[string]any {
	t.Helper()
	pod := `{"containers": [{"name": "postgres-backup", "image": "postgres:17.5-alpine", "env": [{"name": "PGHOST", "value": "db"}]}]}`
	if withCopy {
		pod = `{"initContainers": [{"name": "postgres-backup", "image": "postgres:17.5-alpine", "env": [{"name": "PGHOST", "value": "db"}]}],
			"containers": [{"name": "postgres-backup-copy", "image": "spilo"}]}`
	}
	var cron map[string]any
	require.NoError(t, json.Unmarshal([]byte(`{"kind": "CronJob", "metadata": {"namespace": "ns", "labels": {"component": "postgres-backup"}},
		"spec": {"jobTemplate": {"spec": {"backoffLimit": 2, "template": {"spec": `+pod+`}}}}}`), &cron))
	return cron
}

// The restore Job runs the dump's container alone, with the restore script, never retried,
// whether or not the CronJob copies its dumps off the cluster.
func TestRestoreJobRunsTheDumpContainerAlone(t *testing.T) {
	for _, withCopy := range []bool{false, true} {
		job, err := restoreJob(cronJob(t, withCopy), databases["postgres"], "restore-1", "20261125T020000Z")
		require.NoError(t, err)
		spec := job["spec"].(map[string]any)
		pod := spec["template"].(map[string]any)["spec"].(map[string]any)
		assert.NotContains(t, pod, "initContainers", "with copy: %v", withCopy)
		containers := pod["containers"].([]any)
		require.Len(t, containers, 1)
		c := containers[0].(map[string]any)
		assert.Equal(t, "postgres-backup", c["name"])
		assert.Equal(t, []string{"/bin/sh", "-ec", postgres.RestoreScript}, c["command"])
		assert.Contains(t, c["env"], map[string]any{"name": "RESTORE_FROM", "value": "20261125T020000Z"})
		assert.Equal(t, 0, spec["backoffLimit"])
	}
	_, err := restoreJob(map[string]any{"kind": "CronJob", "spec": map[string]any{}}, databases["postgres"], "x", "")
	assert.Error(t, err, "a CronJob without the dump's container is refused")
}

// The InfluxDB restore runs the backup's container alone, with the restore script.
func TestInfluxDBRestoreJobRunsTheBackupContainer(t *testing.T) {
	var cron map[string]any
	require.NoError(t, json.Unmarshal([]byte(`{"kind": "CronJob", "metadata": {"namespace": "ns"},
		"spec": {"jobTemplate": {"spec": {"backoffLimit": 2, "template": {"spec": {"containers": [{"name": "influxdb-backup",
		"env": [{"name": "INFLUX_TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "admin-token"}}}]}]}}}}}}`), &cron))
	job, err := restoreJob(cron, databases["influxdb"], "restore-1", "")
	require.NoError(t, err)
	c := path(job, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
	assert.Equal(t, []string{"/bin/sh", "-ec", influxdb.RestoreScript}, c["command"])
	assert.Len(t, c["env"], 2, "the backup's own, and which backup")
	_, err = restoreJob(cron, databases["postgres"], "restore-1", "")
	assert.ErrorContains(t, err, "no container postgres-backup", "a CronJob of the other database is refused")
}
