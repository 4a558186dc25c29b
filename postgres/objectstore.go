package postgres

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Spilo's side of the object store (tier.StoreEnv is WAL-G's): the bucket variables it builds
// WAL-G's prefixes from, and the archive's layout it writes.

// archiveScopeStart starts the path of every cluster's archive in the bucket.
const archiveScopeStart = "spilo/"

// storeEnv is where Spilo finds the store and how WAL-G logs in, each variable's name after prefix
// (CLONE_ for the archive a restore reads, STANDBY_ for a standby's): the bucket for S3 and GCS,
// from which Spilo derives the prefix (Azure's is whole: azureArchivePrefix), then tier.StoreEnv.
func storeEnv(prefix string, w config.WALArchive) corev1.EnvVarArray {
	var envs corev1.EnvVarArray
	switch w.Store() {
	case config.StoreS3:
		envs = append(envs, kube.Env(prefix+"WAL_S3_BUCKET", w.S3Bucket))
	case config.StoreGCS:
		envs = append(envs, kube.Env(prefix+"WAL_GS_BUCKET", w.GCSBucket))
	}
	return append(envs, tier.StoreEnv(prefix, w)...)
}

// azureArchivePrefix is the archive's WALG_AZ_PREFIX for the cluster of the namespace scopePrefix
// names: Spilo derives the S3 and GCS prefixes from the bucket, scope and major version, but
// takes Azure's whole, so the program writes the same layout
// (spilo/<namespace>-<scope>/wal/<major>).
func azureArchivePrefix(w config.WALArchive, scopePrefix, image string) string {
	path := archiveScopeStart + scopePrefix + Name + "/wal"
	if major := config.PostgresMajor(image); major != "" {
		path += "/" + major
	}
	_, url := tier.StorePrefix(w, path)
	return url
}
