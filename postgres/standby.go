package postgres

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// standbyEnv makes a cluster without data bootstrap as a standby of the primary stack's
// (postgres.standby): Spilo reads the STANDBY_ variables as it reads the CLONE_ ones, writes
// them (the prefix dropped) into the environment of Patroni's standby_cluster, which fetches the
// primary's newest base backup with WAL-G and then replays every segment archived after it,
// continuously. The archive's path names the primary's namespace and scope as Spilo wrote it,
// under the image's major version, which the two stacks share. The standby leader carries the
// leader's label, so the read-write Service (read-only while standby) and the pooler find it.
// A promotion (the setup job's PATCH of Patroni's dynamic configuration) leaves them: Spilo reads
// them only to bootstrap, and the replay keeps its environment up to the promotion. Empty for a
// cluster that never was a standby.
func standbyEnv(sb config.PostgresStandby, w config.WALArchive, image, webIdentityRole string) corev1.EnvVarArray {
	if !sb.FromPrimary() {
		return nil
	}
	source := sb.Source(w)
	scopePrefix := sb.FromNamespace + "-"
	envs := corev1.EnvVarArray{
		kube.Env("STANDBY_SCOPE", Name), kube.Env("STANDBY_WAL_BUCKET_SCOPE_PREFIX", scopePrefix),
		kube.Env("STANDBY_USE_WALG_RESTORE", "true"),
		// Spilo derives the standby's prefix with STANDBY_PGVERSION, not the image's own version
		// (validation requires an image whose name says it).
		kube.Env("STANDBY_PGVERSION", config.PostgresMajor(image)),
		kube.Env("KUBERNETES_STANDBY_LEADER_LABEL_VALUE", patroniLeaderValue),
		kube.Env("PATRONI_KUBERNETES_STANDBY_LEADER_LABEL_VALUE", patroniLeaderValue),
	}
	if source.Store() == config.StoreAzure {
		envs = append(envs, kube.Env("STANDBY_WALG_AZ_PREFIX", azureArchivePrefix(source, scopePrefix, image)))
	}
	envs = append(envs, webIdentityEnv("STANDBY_", source, webIdentityRole)...)
	return append(envs, storeEnv("STANDBY_", source)...)
}

// webIdentityEnv hands the pod's IRSA role to the WAL-G environment Spilo writes from prefixed
// variables (CLONE_, STANDBY_) alone: EKS's webhook injects only the unprefixed ones, and without
// these WAL-G reads the archive as the node's own role. Empty without IRSA.
func webIdentityEnv(prefix string, w config.WALArchive, webIdentityRole string) corev1.EnvVarArray {
	if webIdentityRole == "" || w.Store() != config.StoreS3 {
		return nil
	}
	return corev1.EnvVarArray{kube.Env(prefix+"AWS_ROLE_ARN", webIdentityRole),
		kube.Env(prefix+"AWS_WEB_IDENTITY_TOKEN_FILE", eksTokenFile), kube.Env(prefix+"AWS_STS_REGIONAL_ENDPOINTS", "regional")}
}
