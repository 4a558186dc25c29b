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
	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/foundation"
)

const snapshotClass = `{"snapshots": {"className": "csi-snapclass"}}`

// The seed's daily PVC snapshots: once storage.snapshots names a class, a CronJob per stack
// snapshots every claim daily at 03:00 UTC and keeps each profile's retention (the dumps'); with
// no class and none created (dev's and staging's default: the snapshot controller is a cluster
// add-on) there is none. prod creates its own class by default (TestCommittedProdIsTheSeedsProd);
// a class named instead is used, and none created.
func TestVolumeSnapshotScheduleFollowsTheProfile(t *testing.T) {
	for env, retention := range map[string]string{"dev": "3", "staging": "7", "prod": "14"} {
		t.Run(env, func(t *testing.T) {
			off := cfg{}
			if env == "prod" {
				off = cfg{"storage": `{"snapshots": {"createClass": false}}`}
			}
			for _, c := range deploy(t, env, off).OfType(cronJobType) {
				assert.NotEqual(t, foundation.VolumeSnapshotsCronJob, c.Name, "no class, no snapshots")
			}

			st := deploy(t, env, cfg{"storage": snapshotClass})
			assert.Empty(t, st.OfType("kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass"), "a class is created beside the one named")
			cron := st.One(t, cronJobType, foundation.VolumeSnapshotsCronJob)
			assert.Equal(t, "0 3 * * *", cron.Str(t, "spec.schedule"))
			assert.Equal(t, "Etc/UTC", cron.Str(t, "spec.timeZone"))
			spec := "spec.jobTemplate.spec.template.spec"
			c := cron.Container(t, spec, "volume-snapshots")
			e := cron.Env(t, c)
			assert.Equal(t, retention, e["RETENTION_DAYS"])
			assert.Equal(t, "csi-snapclass", e["SNAPSHOT_CLASS"])
			assert.Equal(t, "alpine/k8s:1.33.4", cron.Str(t, c+".image"))
			assert.Equal(t, foundation.VolumeSnapshotsCronJob, cron.Str(t, spec+".serviceAccountName"))
		})
	}
}

// The snapshot job may list the claims and create, list and delete VolumeSnapshots in the
// namespace: nothing else, no cluster-wide right, no get of anything it does not read.
func TestVolumeSnapshotAccessIsLeastPrivilege(t *testing.T) {
	st := deploy(t, "prod", cfg{"storage": snapshotClass})
	role := st.One(t, roleType, foundation.VolumeSnapshotsCronJob)
	assert.Equal(t, []string{
		"/persistentvolumeclaims/list",
		"snapshot.storage.k8s.io/volumesnapshots/create,list,delete",
	}, rules(t, role))
	cron := st.One(t, cronJobType, foundation.VolumeSnapshotsCronJob)
	assert.True(t, st.DependsOn(cron, st.One(t, roleBindingType, foundation.VolumeSnapshotsCronJob)),
		"the job never starts without its rights")
}

// The script, run as the CronJob runs it against a fake kubectl that records what it is asked:
// one VolumeSnapshot per claim, of the class, labelled with the day; then only this schedule's
// snapshots of days past the retention are deleted. A failed snapshot stops the run before any
// deletion.
func TestVolumeSnapshotScriptSnapshotsEveryClaimAndPrunes(t *testing.T) {
	day := func(daysAgo int) string { return time.Now().UTC().AddDate(0, 0, -daysAgo).Format("20060102") }
	run := func(failCreate bool) (created []map[string]any, deleted []string, out string, err error) {
		dir := t.TempDir()
		fail := ""
		if failCreate {
			fail = `case "$m" in *pgdata*) exit 1 ;; esac`
		}
		fake := `#!/bin/sh
DIR=` + dir + `
case "$1 $2" in
  "get persistentvolumeclaims") printf 'data-pynomaly-influxdb-0 pgdata-pynomaly-postgres-0 pynomaly-backups' ;;
  "create -f") m=$(cat); ` + fail + `
    printf '%s\n---\n' "$m" >> "$DIR/created" ;;
  "get volumesnapshots") printf 'old-a ` + day(30) + `\nedge-b ` + day(8) + `\nkept-c ` + day(7) + `\nnew-d ` + day(0) + `\n' ;;
  "delete volumesnapshot") echo "$3" >> "$DIR/deleted" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
`
		require.NoError(t, os.WriteFile(filepath.Join(dir, "kubectl"), []byte(fake), 0o755))
		cmd := exec.Command("sh", "-ec", foundation.VolumeSnapshotScript)
		cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "SNAPSHOT_CLASS=csi-snapclass", "RETENTION_DAYS=7"}
		b, err := cmd.CombinedOutput()
		if c, rerr := os.ReadFile(filepath.Join(dir, "created")); rerr == nil {
			dec := yaml.NewDecoder(strings.NewReader(string(c)))
			for {
				var m map[string]any
				if dec.Decode(&m) != nil {
					break
				}
				if m != nil {
					created = append(created, m)
				}
			}
		}
		if d, rerr := os.ReadFile(filepath.Join(dir, "deleted")); rerr == nil {
			deleted = strings.Fields(string(d))
		}
		return created, deleted, string(b), err
	}

	created, deleted, out, err := run(false)
	require.NoError(t, err, out)
	require.Len(t, created, 3, "one snapshot per claim")
	for i, claim := range []string{"data-pynomaly-influxdb-0", "pgdata-pynomaly-postgres-0", "pynomaly-backups"} {
		s := created[i]
		assert.Equal(t, "snapshot.storage.k8s.io/v1", s["apiVersion"])
		assert.Equal(t, "VolumeSnapshot", s["kind"])
		meta := s["metadata"].(map[string]any)
		assert.Regexp(t, "^"+claim+`-\d{8}-\d{6}$`, meta["name"])
		labels := meta["labels"].(map[string]any)
		assert.Equal(t, "daily", labels[foundation.SnapshotScheduleLabel])
		assert.Equal(t, day(0), labels[foundation.SnapshotDayLabel], "a string label value")
		spec := s["spec"].(map[string]any)
		assert.Equal(t, "csi-snapclass", spec["volumeSnapshotClassName"])
		assert.Equal(t, map[string]any{"persistentVolumeClaimName": claim}, spec["source"])
	}
	assert.Equal(t, []string{"old-a", "edge-b"}, deleted, "snapshots of days more than 7 back, and only those")

	created, deleted, out, err = run(true)
	require.Error(t, err, out)
	assert.Len(t, created, 1, "the run stopped at the failed snapshot")
	assert.Empty(t, deleted, "nothing is pruned after a failed snapshot")
}

// storage.snapshots.location keeps the created class's snapshots out of the volumes' region, as
// each driver that can says it: GCP's storage-locations, Azure's location (a copy there); the
// class is left alone without it.
func TestSnapshotLocationIsTheDriversParameter(t *testing.T) {
	for _, c := range cloudCases {
		if c.cloud == "aws" {
			continue
		}
		t.Run(c.cloud, func(t *testing.T) {
			st := deploy(t, "prod", cfg{
				"kubernetes": `{"cloud": "` + c.cloud + `"}`,
				"postgres":   strings.TrimSuffix(`{"walArchive": {"s3Bucket": "", "region": "", `+strings.TrimPrefix(c.store, "{"), "}") + "}}",
				"identity":   `{"objectStorage": "` + c.identity + `"}`,
				"storage":    `{"snapshots": {"createClass": true, "location": "eu"}}`,
			})
			class := st.One(t, "kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass", "pynomaly-data-science-snapshots")
			want := map[string]string{"gcp": "storage-locations", "azure": "location"}[c.cloud]
			assert.Equal(t, map[string]string{want: "eu"}, class.StringMap(t, "parameters"))
		})
	}
	class := deploy(t, "prod", nil).One(t, "kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass", "pynomaly-data-science-snapshots")
	assert.False(t, class.Has("parameters"), "the volumes' region unless a location is set")
}
