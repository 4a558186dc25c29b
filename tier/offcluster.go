package tier

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// CopyScript copies a directory of a pod to the object store with WAL-G's storage tools, file by
// file as it is (`wal-g st put --no-compress`: dumps and backups are compressed already), under
// the store's prefix (WALG_S3_PREFIX, WALG_GS_PREFIX or WALG_AZ_PREFIX) and the UTC time. It reads
// COPY_DIR: with COPY_NEWEST=true the newest complete backup in it (a directory named by its UTC
// time) is copied under that time, else all of it under the time of the copy. A copy is whole or
// absent: what a failed run left under the same time is replaced, and a run that fails removes
// what it put. Then copies more than RETENTION_DAYS days old, by the time in their names, are
// removed, the newest kept whatever its age.
var CopyScript = shared.Script("offcluster/copy.sh")

// Scripts are the scripts of this package that pods run as they are (the included ones are
// linted in the scripts that include them).
func Scripts() []Script {
	return []Script{shared.Lint("offcluster-copy.sh", "offcluster/copy.sh", CopyScript)}
}

// OffCluster is a directory of a pod that CopyOffCluster copies.
type OffCluster struct {
	// Kind names the copies: they go under <Kind>/<namespace>/<UTC time>/ in the store's bucket.
	Kind string
	// Volume is the pod's volume that holds the data, which the copy mounts read-only at
	// MountPath; Dir is the directory copied, MountPath or one under it.
	Volume, MountPath, Dir string
	// Newest says Dir holds backups, each a directory named by its UTC time: the newest complete
	// one is copied. Otherwise Dir is copied whole.
	Newest bool
	// RetentionDays: copies more than this many days old are removed, the newest kept.
	RetentionDays int
}

// CopyOffCluster makes pod copy c to store once the pod's containers are done: they become init
// containers, and a last container, <component>-copy, runs CopyScript in the store's image with
// WAL-G's login to the store and no other credential, the data mounted read-only, /tmp the pod's
// scratch volume. Nothing while the store is off.
func CopyOffCluster(pod *kube.Pod, store ObjectStore, c OffCluster) {
	if !store.On() {
		return
	}
	name := pod.Component + "-copy"
	// $(POD_NAMESPACE) is expanded by the kubelet from the variable set before it.
	prefixVariable, prefix := StorePrefix(store.WALArchive, c.Kind+"/$(POD_NAMESPACE)")
	env := corev1.EnvVarArray{
		kube.FieldEnv("POD_NAMESPACE", "metadata.namespace"),
		kube.Env(prefixVariable, prefix),
		kube.Env("COPY_DIR", c.Dir),
		kube.Env("COPY_NEWEST", fmt.Sprint(c.Newest)),
		kube.Env("RETENTION_DAYS", fmt.Sprint(c.RetentionDays)),
		kube.Env("WALG_UPLOAD_CONCURRENCY", fmt.Sprint(copyUploadConcurrency)),
	}
	pod.InitContainers = append(pod.InitContainers, pod.Containers...)
	pod.Containers = []kube.Container{{
		Name:      name,
		Image:     store.Image,
		Command:   kube.Script("/bin/sh", CopyScript),
		Env:       append(env, StoreEnv("", store.WALArchive)...),
		Resources: JobResources,
		Mounts:    corev1.VolumeMountArray{kube.Mount(scratchVolume, "/tmp"), kube.ReadOnlyMount(c.Volume, c.MountPath)},
	}}
	WithStoreKeyFile(pod, name, store.WALArchive)
}

// copyUploadConcurrency is how many parts of a file WAL-G uploads at once. Each S3 part is
// buffered in memory (20 MiB by default), and WAL-G's default of 16 parts would hold 320 MiB,
// past JobResources' 256 MiB limit, for any file over a few hundred megabytes (a prod dump): 4
// hold 80 MiB.
const copyUploadConcurrency = 4

// scratchVolume is the writable /tmp of a job's pod (kube.ScriptPod's), where the copy keeps its
// lists: the pod has it.
const scratchVolume = "tmp"
