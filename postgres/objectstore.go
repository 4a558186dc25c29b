package postgres

import (
	"regexp"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

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
	gcsKeyFileKey     = "GOOGLE_APPLICATION_CREDENTIALS_JSON"
	storeKeysVolume   = "object-store-credentials"
	storeKeysDir      = "/run/object-store"
	gcsKeyFile        = storeKeysDir + "/gcs.json"
	archiveScopeStart = "spilo/"
)

// storeEnv is where WAL-G finds the store and how it logs in, its variables prefixed as Spilo
// reads them (CLONE_ for the archive a restore reads): for S3 the bucket, region and endpoint;
// for GCS the bucket; for Azure the account (the container is in the prefix, archivePrefix).
// Credentials come from the Secret when one is named, else from the pod's workload identity.
func storeEnv(prefix string, w config.WALArchive) corev1.EnvVarArray {
	var envs corev1.EnvVarArray
	secret := pulumi.String(w.CredentialsSecret)
	switch w.Store() {
	case config.StoreS3:
		envs = append(envs, kube.Env(prefix+"WAL_S3_BUCKET", w.S3Bucket), kube.Env(prefix+"AWS_REGION", w.Region))
		if w.Endpoint != "" {
			envs = append(envs, kube.Env(prefix+"AWS_ENDPOINT", w.Endpoint), kube.Env(prefix+"AWS_S3_FORCE_PATH_STYLE", "true"))
		}
	case config.StoreGCS:
		envs = append(envs, kube.Env(prefix+"WAL_GS_BUCKET", w.GCSBucket))
		if w.CredentialsSecret != "" {
			envs = append(envs, kube.Env(prefix+"GOOGLE_APPLICATION_CREDENTIALS", gcsKeyFile))
		}
		return envs
	case config.StoreAzure:
		envs = append(envs, kube.Env(prefix+"AZURE_STORAGE_ACCOUNT", w.AzureStorageAccount))
	}
	if w.CredentialsSecret != "" {
		for _, key := range StoreCredentialKeys[w.Store()] {
			envs = append(envs, kube.SecretEnv(prefix+key, secret, key))
		}
	}
	return envs
}

// withStoreKeyFile mounts the GCS key file into container of pod, where storeEnv points; nothing
// for the other stores, or with workload identity.
func withStoreKeyFile(pod *kube.Pod, container string, w config.WALArchive) {
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

// storePrefix is where path lies in the archive's store, as WAL-G takes it: the variable, and
// the URL (s3://bucket/path, gs://bucket/path or azure://container/path).
func storePrefix(w config.WALArchive, path string) (variable, url string) {
	store := w.Store()
	bucket := map[string]string{config.StoreS3: w.S3Bucket, config.StoreGCS: w.GCSBucket, config.StoreAzure: w.AzureContainer}[store]
	p := walgPrefixes[store]
	return p.variable, p.scheme + "://" + bucket + "/" + path
}

// azureArchivePrefix is the archive's WALG_AZ_PREFIX for the cluster of the namespace scopePrefix
// names: Spilo derives the S3 and GCS prefixes from the bucket, scope and major version, but
// takes Azure's whole, so the program writes the same layout
// (spilo/<namespace>-<scope>/wal/<major>).
func azureArchivePrefix(w config.WALArchive, scopePrefix, image string) string {
	path := archiveScopeStart + scopePrefix + Name + "/wal"
	if major := majorVersion(image); major != "" {
		path += "/" + major
	}
	_, url := storePrefix(w, path)
	return url
}

// spiloMajor finds PostgreSQL's major version in a Spilo image's name (spilo-17).
var spiloMajor = regexp.MustCompile(`spilo-(\d+)`)

// majorVersion is the image's PostgreSQL major version, or "" when its name does not say.
func majorVersion(image string) string {
	if m := spiloMajor.FindStringSubmatch(image); m != nil {
		return m[1]
	}
	return ""
}
