package tier

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// How WAL-G reaches the object store of postgres.walArchive, for every pod that runs it: the
// PostgreSQL members (through Spilo, which adds its own variables: package postgres) and the jobs
// that copy data off the cluster (CopyOffCluster).

// ObjectStore is where data is copied off the cluster: the WAL archive's store, reached with
// WAL-G's storage tools from Image. Off while the archive names no store.
type ObjectStore struct {
	config.WALArchive
	// Image has WAL-G: Spilo's (the program's other images have no object store client).
	Image string
}

// StoreCredentialKeys are the keys postgres.walArchive.credentialsSecret holds, by object store:
// what WAL-G reads where no workload identity is used.
var StoreCredentialKeys = map[string][]string{
	config.StoreS3:    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
	config.StoreGCS:   {gcsKeyFileKey},
	config.StoreAzure: {"AZURE_STORAGE_ACCESS_KEY"},
}

// A Google service account key is a file: the Secret's key is mounted where
// GOOGLE_APPLICATION_CREDENTIALS points.
const (
	gcsKeyFileKey   = "GOOGLE_APPLICATION_CREDENTIALS_JSON"
	storeKeysVolume = "object-store-credentials"
	storeKeysDir    = "/run/object-store"
	gcsKeyFile      = storeKeysDir + "/gcs.json"
)

// StoreEnv is how WAL-G logs in to the store, each variable's name after prefix (Spilo reads
// CLONE_ ones for the archive a restore reads): for S3 the region and endpoint, for GCS the key
// file, for Azure the account (the container is in the prefix, StorePrefix). Credentials come
// from the Secret when one is named, else from the pod's workload identity.
func StoreEnv(prefix string, w config.WALArchive) corev1.EnvVarArray {
	var envs corev1.EnvVarArray
	switch w.Store() {
	case config.StoreS3:
		envs = append(envs, kube.Env(prefix+"AWS_REGION", w.Region))
		if w.Endpoint != "" {
			envs = append(envs, kube.Env(prefix+"AWS_ENDPOINT", w.Endpoint), kube.Env(prefix+"AWS_S3_FORCE_PATH_STYLE", "true"))
		}
	case config.StoreGCS:
		// The key is a file (WithStoreKeyFile), not a variable.
		if w.CredentialsSecret != "" {
			envs = append(envs, kube.Env(prefix+"GOOGLE_APPLICATION_CREDENTIALS", gcsKeyFile))
		}
		return envs
	case config.StoreAzure:
		envs = append(envs, kube.Env(prefix+"AZURE_STORAGE_ACCOUNT", w.AzureStorageAccount))
	}
	if w.CredentialsSecret != "" {
		for _, key := range StoreCredentialKeys[w.Store()] {
			envs = append(envs, kube.SecretEnv(prefix+key, pulumi.String(w.CredentialsSecret), key))
		}
	}
	return envs
}

// WithStoreKeyFile mounts the GCS key file into container of pod, where StoreEnv points; nothing
// for the other stores, or with workload identity.
func WithStoreKeyFile(pod *kube.Pod, container string, w config.WALArchive) {
	if w.Store() != config.StoreGCS || w.CredentialsSecret == "" {
		return
	}
	pod.Volumes = append(pod.Volumes, &corev1.VolumeArgs{Name: pulumi.String(storeKeysVolume), Secret: &corev1.SecretVolumeSourceArgs{
		SecretName: pulumi.String(w.CredentialsSecret),
		Items:      corev1.KeyToPathArray{&corev1.KeyToPathArgs{Key: pulumi.String(gcsKeyFileKey), Path: pulumi.String("gcs.json")}},
	}})
	for i := range pod.Containers {
		if pod.Containers[i].Name == container {
			pod.Containers[i].Mounts = append(pod.Containers[i].Mounts, kube.ReadOnlyMount(storeKeysVolume, storeKeysDir))
		}
	}
}

// walgPrefixes are each store's WAL-G prefix variable and URL scheme.
var walgPrefixes = map[string]struct{ variable, scheme string }{
	config.StoreS3:    {"WALG_S3_PREFIX", "s3"},
	config.StoreGCS:   {"WALG_GS_PREFIX", "gs"},
	config.StoreAzure: {"WALG_AZ_PREFIX", "azure"},
}

// StorePrefix is where path lies in the archive's store, as WAL-G takes it: the variable, and
// the URL (s3://bucket/path, gs://bucket/path or azure://container/path).
func StorePrefix(w config.WALArchive, path string) (variable, url string) {
	store := w.Store()
	bucket := map[string]string{config.StoreS3: w.S3Bucket, config.StoreGCS: w.GCSBucket, config.StoreAzure: w.AzureContainer}[store]
	p := walgPrefixes[store]
	return p.variable, p.scheme + "://" + bucket + "/" + path
}
