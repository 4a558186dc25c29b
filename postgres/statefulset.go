package postgres

import (
	"encoding/json"
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// postgresStatefulSet runs Patroni and PostgreSQL (Spilo) with a metrics exporter beside each
// instance. It waits for Patroni's RBAC, and for as long as copying the primary's data to new
// replicas takes.
func postgresStatefulSet(ctx *pulumi.Context, c *Postgres, args *Args, params map[string]string, headless *corev1.Service, rbac pulumi.Resource) (pulumi.Resource, error) {
	planned, err := statefulSet(args, params, headless.Metadata.Name().Elem())
	if err != nil {
		return nil, err
	}
	sts, w, err := kube.NewStatefulSet(ctx, c, args.Namespace, planned, kube.After([]pulumi.Resource{rbac}),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "20m", Update: "20m"}))
	if err != nil {
		return nil, err
	}
	c.Add(w)
	return sts, nil
}

// statefulSet is the cluster's StatefulSet; headless is its headless Service's name once declared.
func statefulSet(args *Args, params map[string]string, headless pulumi.StringInput) (kube.StatefulSet, error) {
	spilo, err := spiloConfiguration(args.Settings, params, args.TLS)
	if err != nil {
		return kube.StatefulSet{}, fmt.Errorf("postgres: %w", err)
	}
	s := args.Settings
	pod := kube.Pod{
		Component:     Component,
		SelectorExtra: map[string]string{patroniScopeLabel: Name},
		UID:           spiloUID,
		GID:           spiloGID,
		// Patroni, in the postgres container, keeps the cluster's state in the API; the
		// exporter beside it gets no token.
		APIClient: "postgres",
		Spread:    args.Spread,
		Metrics:   &kube.Metrics{Port: postgresExporterPort, Path: "/metrics"},
		// Time for Patroni to hand the leader over before the pod is killed.
		GracePeriodSeconds: 60,
		Containers: []kube.Container{{
			Name:      "postgres",
			Image:     args.Images.Postgres,
			Env:       spiloEnv(args, spilo),
			Ports:     []kube.Port{{Name: "postgresql", Port: Port}, {Name: "patroni", Port: patroniPort}},
			Resources: s.Resources,
			// Spilo writes its generated configuration under the root filesystem.
			WritableRoot: true,
			// Patroni's own health endpoints: ready when running and (for a replica)
			// streaming; alive while Patroni's loop runs, even during a failover.
			ReadinessProbe: kube.Readiness(kube.HTTPGet("/readiness", patroniPort)),
			LivenessProbe:  kube.Liveness(kube.HTTPGet("/liveness", patroniPort)),
			Mounts:         corev1.VolumeMountArray{kube.Mount(ClaimTemplate, "/home/postgres/pgdata"), kube.Mount("dshm", "/dev/shm")},
		}, postgresExporter(args)},
		Volumes: corev1.VolumeArray{kube.EmptyDir("dshm", true)},
	}
	tier.ServeTLS(&pod, ServerTLS(s.Replicas), args.TLS, "postgres")
	tier.WithStoreKeyFile(&pod, "postgres", s.WALArchive)
	return kube.StatefulSet{
		Name: Name, Replicas: s.Replicas, ServiceName: headless,
		// Patroni decides who leads; Kubernetes only has to keep the pods running.
		PodManagementPolicy: "Parallel",
		Pod:                 pod,
		Claim:               kube.Claim{Name: ClaimTemplate, Size: s.StorageSize},
		Volumes:             args.Volumes,
	}, nil
}

// spiloEnv configures Spilo: Patroni on the Kubernetes API (ConfigMaps, pod labels), the
// credentials by reference, the tuning, and WAL-G archiving when a bucket is set.
func spiloEnv(args *Args, spilo string) corev1.EnvVarArray {
	envs := corev1.EnvVarArray{
		kube.Env("SCOPE", Name),
		kube.Env("PGROOT", "/home/postgres/pgdata/pgroot"),
		kube.FieldEnv("POD_IP", "status.podIP"),
		kube.FieldEnv("POD_NAMESPACE", "metadata.namespace"),
		kube.Env("DCS_ENABLE_KUBERNETES_API", "true"),
		kube.Env("KUBERNETES_USE_CONFIGMAPS", "true"),
		kube.Env("KUBERNETES_SCOPE_LABEL", patroniScopeLabel),
		kube.Env("KUBERNETES_ROLE_LABEL", patroniRoleLabel),
		kube.Env("KUBERNETES_LABELS", `{"app":"pynomaly","component":"postgres"}`),
		// Spilo's default (true) makes Patroni read the kubernetes Endpoints of the default
		// namespace to reach the API servers directly; its Role has no rights outside the
		// namespace, so it goes through the kubernetes Service instead.
		kube.Env("KUBERNETES_BYPASS_API_SERVICE", "false"),
		// Said explicitly, so the read-write Service's selector never depends on a default
		// that changed between Patroni releases.
		kube.Env("PATRONI_KUBERNETES_LEADER_LABEL_VALUE", patroniLeaderValue),
		kube.Env("PGUSER_SUPERUSER", "postgres"),
		kube.SecretEnv("PGPASSWORD_SUPERUSER", args.Secret, credentials.PostgresSuperuserPasswordKey),
		kube.Env("PGUSER_STANDBY", "standby"),
		kube.SecretEnv("PGPASSWORD_STANDBY", args.Secret, credentials.PostgresReplicationPasswordKey),
		// Patroni asks for these on its REST API's unsafe methods (PATCH /config, POST /restart,
		// switchover...); patronictl in the pod reads them too. GET (the probes, metrics) stays open.
		kube.SecretEnv("PATRONI_RESTAPI_USERNAME", args.Secret, credentials.PatroniAPIUserKey),
		kube.SecretEnv("PATRONI_RESTAPI_PASSWORD", args.Secret, credentials.PatroniAPIPasswordKey),
		kube.Env("SPILO_CONFIGURATION", spilo),
	}
	if args.TLS {
		// Spilo then uses these files instead of generating a self-signed certificate, and
		// (SSL_TEST_RELOAD) checks them periodically and reloads PostgreSQL when cert-manager
		// has renewed them.
		envs = append(envs,
			kube.Env("SSL_TEST_RELOAD", "true"),
			kube.Env("SSL_CERTIFICATE_FILE", tier.ServerTLSMountPath+"/tls.crt"),
			kube.Env("SSL_PRIVATE_KEY_FILE", tier.ServerTLSMountPath+"/tls.key"),
			kube.Env("SSL_CA_FILE", tier.ServerTLSMountPath+"/ca.crt"))
	}
	image := args.Images.Postgres
	envs = append(envs, walArchiveEnv(args.Settings.WALArchive, image)...)
	envs = append(envs, restoreEnv(args.Settings.Restore, args.Settings.WALArchive, args.WebIdentityRole)...)
	return append(envs, standbyEnv(args.Settings.Standby, args.Settings.WALArchive, image, args.WebIdentityRole)...)
}

// eksTokenFile is where EKS's pod identity webhook projects the account's token.
const eksTokenFile = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"

// walArchiveEnv makes WAL-G ship every WAL segment to object storage and Spilo push base backups
// on the profile's schedule, keeping the profile's number of them (and their WAL): from there a
// new cluster restores to any point in time (restoreEnv). Empty when off.
func walArchiveEnv(w config.WALArchive, image string) corev1.EnvVarArray {
	if !w.On() {
		return nil
	}
	envs := corev1.EnvVarArray{kube.Env("USE_WALG_BACKUP", "true"), kube.Env("USE_WALG_RESTORE", "true"),
		kube.Env("BACKUP_SCHEDULE", w.BaseBackupSchedule), kube.Env("BACKUP_NUM_TO_RETAIN", fmt.Sprint(w.RetentionDays))}
	if w.Store() == config.StoreAzure {
		// $(POD_NAMESPACE) is expanded by the kubelet from the variable set before it.
		envs = append(envs, kube.Env("WALG_AZ_PREFIX", azureArchivePrefix(w, "$(POD_NAMESPACE)-", image)))
	}
	return append(envs, storeEnv("", w)...)
}

// restoreEnv bootstraps a cluster without data as a point-in-time copy of the archived cluster
// (Spilo's clone from WAL-G): the newest base backup before the target, then the archived WAL
// replayed up to it (RecoveryParameters are the settings Spilo writes for it); for
// "latest", the newest base backup and every archived segment. The archive's path names the
// source's namespace and scope as Spilo wrote it; Spilo's clone tries each major version under
// it. Empty without a restore.
func restoreEnv(r config.PostgresRestore, w config.WALArchive, webIdentityRole string) corev1.EnvVarArray {
	target, ok := r.Target()
	if !ok {
		return nil
	}
	// $(POD_NAMESPACE) is expanded by the kubelet from the variable set before it.
	scopePrefix := "$(POD_NAMESPACE)-"
	if r.FromNamespace != "" {
		scopePrefix = r.FromNamespace + "-"
	}
	envs := corev1.EnvVarArray{kube.Env("CLONE_METHOD", "CLONE_WITH_WALE"), kube.Env("CLONE_SCOPE", Name),
		kube.Env("CLONE_WAL_BUCKET_SCOPE_PREFIX", scopePrefix), kube.Env("CLONE_USE_WALG_RESTORE", "true")}
	if w.Store() == config.StoreAzure {
		// Without the major version: Spilo's clone then tries each one under the prefix.
		envs = append(envs, kube.Env("CLONE_WALG_AZ_PREFIX", azureArchivePrefix(w, scopePrefix, "")))
	}
	if !target.IsZero() {
		envs = append(envs, kube.Env("CLONE_TARGET_TIME", RecoveryTargetTime(target)))
	}
	envs = append(envs, webIdentityEnv("CLONE_", w, webIdentityRole)...)
	return append(envs, storeEnv("CLONE_", w)...)
}

// postgresExporter serves the instance's metrics, logged in over loopback.
func postgresExporter(args *Args) kube.Container {
	sslmode := "disable"
	var mounts corev1.VolumeMountArray
	if args.TLS {
		// Loopback takes TLS only too; the certificate names no loopback address, so the
		// exporter checks the CA, not the name.
		sslmode = "verify-ca&sslrootcert=" + tier.ServerTLSMountPath + "/ca.crt"
		mounts = corev1.VolumeMountArray{tier.ServerTLSMount()}
	}
	return kube.Container{
		Name:  "exporter",
		Image: args.Images.PostgresExporter,
		Env: corev1.EnvVarArray{
			kube.Env("DATA_SOURCE_URI", fmt.Sprintf("127.0.0.1:%d/postgres?sslmode=%s", Port, sslmode)),
			// pg_monitor's member, not the superuser: the setup job creates it.
			kube.Env("DATA_SOURCE_USER", credentials.PostgresMonitorUser),
			kube.SecretEnv("DATA_SOURCE_PASS", args.Secret, credentials.PostgresMonitorPasswordKey),
		},
		Ports:          []kube.Port{{Name: "metrics", Port: postgresExporterPort}},
		Resources:      tier.SidecarResources,
		ReadinessProbe: kube.Readiness(kube.HTTPGet("/metrics", postgresExporterPort)),
		LivenessProbe:  kube.Alive(postgresExporterPort),
		// The exporter's image runs as nobody; only Spilo needs the pod's user.
		UID:    tier.NobodyUID,
		Mounts: mounts,
	}
}

// patroniDCS is the cluster's dynamic configuration, which Patroni keeps in its config ConfigMap:
// the leader lock's timings, failover's bounds, replication mode and the tuning. A new cluster
// starts with it (bootstrap.dcs); the setup job applies later changes of the settings.
func patroniDCS(s config.Postgres, params map[string]string) map[string]any {
	return map[string]any{
		// The leader holds its lock for ttl and renews it every loop_wait: a failed primary is
		// replaced after ttl to ttl + loop_wait (the failover drill measures it).
		"loop_wait": 10, "ttl": 30, "retry_timeout": 10,
		// A replica more than 16 MB behind is not promoted automatically: no silent loss.
		"maximum_lag_on_failover": 16 * 1024 * 1024,
		"synchronous_mode":        s.SynchronousMode,
		"postgresql":              map[string]any{"use_pg_rewind": true, "use_slots": true, "parameters": params},
	}
}

// spiloConfiguration is the Patroni configuration Spilo merges into its own: the dynamic
// configuration for a new cluster and the tuning as local parameters, so a replaced pod starts
// with it too. Later changes reach the running cluster through the setup job (PATCH /config).
//
// With TLS, pg_hba takes only TLS from other hosts, and a replica (and pg_rewind) checks its
// primary's certificate against the CA. The name is not checked there: Patroni addresses members
// by pod IP, which no certificate names; clients that dial Services use verify-full.
func spiloConfiguration(s config.Postgres, params map[string]string, tls bool) (string, error) {
	cfg := map[string]any{
		"bootstrap":  map[string]any{"dcs": patroniDCS(s, params)},
		"postgresql": map[string]any{"parameters": params},
	}
	if tls {
		verify := map[string]any{"sslmode": "verify-ca", "sslrootcert": tier.ServerTLSMountPath + "/ca.crt"}
		pg := cfg["postgresql"].(map[string]any)
		pg["pg_hba"] = HBA()
		pg["authentication"] = map[string]any{"replication": verify, "superuser": verify, "rewind": verify}
		cfg["bootstrap"].(map[string]any)["dcs"].(map[string]any)["postgresql"].(map[string]any)["pg_hba"] = HBA()
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("spilo configuration: %w", err)
	}
	return string(b), nil
}
