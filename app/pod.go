package app

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// What the app tier's API, workers and migration job share: how their pods find configuration
// and credentials, and how they wait for the databases.

// appUID is the unprivileged user the Pynomaly images run as.
const appUID = 10001

// Env is what an application pod reads: the config tier's ConfigMap and the credentials of
// the data tier, as secret references.
type Env struct {
	ConfigMap      pulumi.StringInput
	PostgresSecret pulumi.StringInput
	RedisSecret    pulumi.StringInput
	// InfluxDBTokenSecret holds the application's own InfluxDB token (influxdb.AppTokenSecret),
	// which may read and write its bucket only: never the admin token.
	InfluxDBTokenSecret pulumi.StringInput
	// Generations of the rotating credentials: the pods name their slots' keys and logins.
	Generations credentials.Generations
	// Images of the init containers that wait for PostgreSQL and Redis.
	PostgresClientImage string
	RedisImage          string
	// ModelClaim is the claim API, workers and migrations share at ModelStoragePath.
	ModelClaim pulumi.StringInput
	// ModelsShared: many nodes attach the claim (ReadWriteMany), so every pod mounts it.
	ModelsShared bool
}

// ModelStoragePath is where application pods find the model claim (MODEL_STORAGE_PATH).
const ModelStoragePath = "/models"

// modelsVolume is the model claim's, or the scratch models', volume in a pod.
const modelsVolume = "models"

// withModels gives the pod's containers a writable ModelStoragePath: every one of them reads
// MODEL_STORAGE_PATH from the ConfigMap, and the root file system is read-only. It is the shared
// model claim where many nodes can attach it (ReadWriteMany). A ReadWriteOnce claim attaches to
// one node, and holding API, workers and migrations on that node would put every replica in one
// failure domain and on one node's capacity (prod's five API pods and three workers on one node,
// which the end-to-end suite saw fail to become available): such pods get a scratch directory
// of their own instead, and share no models until storage.modelAccessMode is ReadWriteMany.
func (e Env) withModels(pod *kube.Pod) {
	volume := kube.EmptyDir(modelsVolume, false)
	if e.ModelsShared {
		volume = kube.ClaimVolume(modelsVolume, e.ModelClaim)
	}
	pod.Volumes = append(pod.Volumes, volume)
	for i := range pod.Containers {
		pod.Containers[i].Mounts = append(pod.Containers[i].Mounts, kube.Mount(modelsVolume, ModelStoragePath))
	}
}

// container is an application container: every key of the ConfigMap in its environment, plus
// the credentials by reference (values never appear in the pod spec), and the extra variables.
func (e Env) container(name, image string, r kube.Resources, extra ...*corev1.EnvVarArgs) kube.Container {
	env := corev1.EnvVarArray{
		e.databaseUser(),
		kube.SecretEnv("DATABASE_PASSWORD", e.PostgresSecret, credentials.PostgresAppPasswordKeyOf(credentials.SlotOf(e.Generations.PostgresApp))),
		kube.SecretEnv("REDIS_PASSWORD", e.RedisSecret, credentials.RedisPasswordKeyOf(credentials.SlotOf(e.Generations.Redis))),
		influxDBToken(e.InfluxDBTokenSecret),
	}
	for _, v := range extra {
		env = append(env, v)
	}
	return kube.Container{Name: name, Image: image, EnvFrom: kube.EnvFromConfigMap(e.ConfigMap), Env: env, Resources: r}
}

// databaseUser is the login of the current slot. It is in the pod template, not the shared
// ConfigMap, so a pod restarted mid-rotation keeps the login
// that goes with the password its template names.
func (e Env) databaseUser() *corev1.EnvVarArgs {
	return kube.Env("DATABASE_USER", credentials.PostgresAppLogin(credentials.SlotOf(e.Generations.PostgresApp)))
}

// The init containers' scripts: wait for PostgreSQL (through the pooler), and for both Redis
// roles.
var (
	waitForPostgresScript = assets.Script("wait-for-postgres.sh")
	waitForRedisScript    = assets.Script("wait-for-redis.sh")
)

// waitForDatabases are init containers that hold a pod until PostgreSQL (through the pooler) and
// both Redis roles answer. `pulumi up` orders creation; these keep the same order when pods
// restart outside it (a node failure, a rollout while a database fails over).
func (e Env) waitForDatabases() []kube.Container {
	wait := func(name, image, sh string, env corev1.EnvVarArray) kube.Container {
		return kube.Container{
			Name: name, Image: image, Command: kube.Script("sh", sh),
			EnvFrom: kube.EnvFromConfigMap(e.ConfigMap), Env: env, Resources: tier.SidecarResources,
		}
	}
	// With TLS, redis-cli checks the server's certificate against the CA (REDIS_TLS and
	// REDIS_CA_CERT come from the ConfigMap: TLSConfig).
	return []kube.Container{
		// -U: without a user name libpq asks the system for the pod's, which the image does
		// not know (the pod runs as appUID), and pg_isready gives up without trying.
		wait("wait-for-postgres", e.PostgresClientImage, waitForPostgresScript, corev1.EnvVarArray{e.databaseUser()}),
		// With Sentinel the port is the Sentinels', which answer PING too.
		wait("wait-for-redis", e.RedisImage, waitForRedisScript, corev1.EnvVarArray{kube.SecretEnv("REDISCLI_AUTH", e.RedisSecret, credentials.RedisPasswordKeyOf(credentials.SlotOf(e.Generations.Redis)))}),
	}
}

// apiGracePeriod is a stopping API pod's time: the preStop delay and the requests in flight.
const apiGracePeriod = 45

// ClientsGracePeriod is the longest grace period of the pods that hold the rotating credentials
// (the API's and the workers'): a stopping one is killed by then.
func ClientsGracePeriod(w config.Worker) int { return max(apiGracePeriod, workerGracePeriod(w)) }

// appPod is the pod of an application Deployment: the Pynomaly user, spread over nodes as a
// preference (stateless replicas may share a node when the cluster is small), the databases
// awaited by init containers, the generations of the credentials it holds as labels (what a
// rotation's retirement waits on), and a writable /tmp. With tls, the pods mount the internal CA
// and verify every server with it.
func (e Env) appPod(tls bool, component string, main kube.Container, metricsPort, gracePeriod int) kube.Pod {
	main.Mounts = corev1.VolumeMountArray{kube.Mount("tmp", "/tmp")}
	pod := kube.Pod{
		Component: component, UID: appUID, GID: appUID, Spread: kube.PreferSpread,
		Labels:             credentials.GenerationLabels(e.Generations),
		Metrics:            &kube.Metrics{Port: metricsPort, Path: "/metrics"},
		GracePeriodSeconds: gracePeriod,
		InitContainers:     e.waitForDatabases(),
		Containers:         []kube.Container{main},
		Volumes:            corev1.VolumeArray{kube.EmptyDir("tmp", false)},
	}
	tier.TrustInternalCA(&pod, tls)
	e.withModels(&pod)
	return pod
}

// rollout is how an application Deployment changes: a quarter more pods at a time, never fewer
// than now, five old ReplicaSets kept for a rollback, a tenth of the pods drained at once.
func rollout(name string, pod kube.Pod) kube.Deployment {
	return kube.Deployment{
		Name: name, Pod: pod, MaxSurge: pulumi.String("25%"), RevisionHistoryLimit: 5, DisruptionBudget: kube.TenPercent,
	}
}

// scaling is what the HPA of an application Deployment needs of its settings.
func scaling(a config.Autoscaled) kube.Scaling {
	return kube.Scaling{
		MinReplicas: a.MinReplicas, MaxReplicas: a.MaxReplicas,
		TargetCPUUtilization: a.TargetCPUUtilization, TargetMemoryUtilization: a.TargetMemoryUtilization,
	}
}

// influxDBToken is the application's own InfluxDB token, which InfluxDB's setup job writes into
// its Secret. The app tier waits for that job, so the token is there when its pods start; it is
// optional only so that a cluster where InfluxDB is not real (the suite's real node runs the
// application's pods, not InfluxDB's) starts them all the same, without one.
func influxDBToken(secret pulumi.StringInput) *corev1.EnvVarArgs {
	return kube.OptionalSecretEnv("INFLUXDB_TOKEN", secret, influxdb.AppTokenKey)
}
