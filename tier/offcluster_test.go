package tier

import (
	"testing"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// backupPod is a job's pod as kube.ScriptPod makes it, with its data on the volume "data".
func backupPod() kube.Pod {
	return kube.ScriptPod("thing-backup", "thing:1", JobResources, 1000, "backup", nil,
		corev1.VolumeArray{kube.EmptyDir("data", false)}, corev1.VolumeMountArray{kube.Mount("data", "/data")})
}

var copyOfThing = OffCluster{Kind: "things", Volume: "data", MountPath: "/data", Dir: "/data/things", Newest: true, RetentionDays: 7}

// Without a store the pod is left as it is.
func TestCopyOffClusterNeedsAStore(t *testing.T) {
	pod := backupPod()
	CopyOffCluster(&pod, ObjectStore{Image: "spilo:1"}, copyOfThing)
	assert.Equal(t, backupPod(), pod)
}

// With one, the pod's own container runs first, then the copy: the store's image, the script,
// the prefix <kind>/<namespace> in the bucket, the data read-only, WAL-G's login alone, and the
// GCS key file where the store's login is a key.
func TestCopyOffClusterRunsLastWithTheStoresLoginOnly(t *testing.T) {
	pod := backupPod()
	store := ObjectStore{Image: "spilo:1", WALArchive: config.WALArchive{GCSBucket: "wal", CredentialsSecret: "wal-gcs"}}
	CopyOffCluster(&pod, store, copyOfThing)
	require.Len(t, pod.InitContainers, 1)
	assert.Equal(t, "thing-backup", pod.InitContainers[0].Name)
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	assert.Equal(t, "thing-backup-copy", c.Name)
	assert.Equal(t, "spilo:1", c.Image)
	assert.Equal(t, kube.Script("/bin/sh", CopyScript), c.Command)
	env := map[string]string{}
	for _, e := range c.Env {
		a := e.(*corev1.EnvVarArgs)
		name := string(a.Name.(pulumi.String))
		if v, ok := a.Value.(pulumi.String); ok {
			env[name] = string(v)
		} else {
			env[name] = "(reference)"
		}
	}
	assert.Equal(t, map[string]string{
		"POD_NAMESPACE": "(reference)", "WALG_GS_PREFIX": "gs://wal/things/$(POD_NAMESPACE)", "COPY_DIR": "/data/things",
		"COPY_NEWEST": "true", "RETENTION_DAYS": "7", "WALG_UPLOAD_CONCURRENCY": "4",
		"GOOGLE_APPLICATION_CREDENTIALS": gcsKeyFile,
	}, env)
	var mounts []string
	for _, m := range c.Mounts {
		a := m.(*corev1.VolumeMountArgs)
		mounts = append(mounts, string(a.Name.(pulumi.String))+" "+string(a.MountPath.(pulumi.String)))
		if a.MountPath != pulumi.String("/tmp") {
			assert.Equal(t, pulumi.Bool(true), a.ReadOnly, "%s is writable", a.MountPath)
		}
	}
	assert.Equal(t, []string{"tmp /tmp", "data /data", storeKeysVolume + " " + storeKeysDir}, mounts)
}
