package redis

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// redisStartup works out, at every start, whether this pod is the primary: it asks the other
// pods' Sentinels for the current primary, and only when none answers (a new cluster) does
// pod 0 start as primary. It writes the runtime configuration into a memory-backed volume, so
// the passwords are never in the image, the ConfigMap or the pod spec: the users of acl.go, each
// with its password, replication as the replication user and the Sentinels as theirs. redis-cli
// authenticates with REDISCLI_AUTH from the environment, never with -a (which would show the
// password in the process list); echo is a shell builtin, and its output goes to the file.
//
// The application's user accepts this template's password and, while a rotation has not
// settled (the settled Secret names an older generation, or none), the previous one too: the
// application's pods of either template log in. The retirement job settles the rotation on the
// running servers (rotation.go).
var redisStartup = assets.Script("startup.sh")

// redisPing is the readiness probe of the Redis or Sentinel listening on port: it answers PING.
func redisPing(port int) string { return tier.Fill(redisPingTemplate, port) }

var redisPingTemplate = assets.ScriptTemplate("ping.sh.tmpl")

// pod is a Redis pod: the topology init container, Redis, its exporter and, with replicas, a
// Sentinel.
func (r *redisInstance) pod(args *Args, configMap pulumi.StringPtrInput) kube.Pod {
	env := corev1.EnvVarArray{kube.Env("REDIS_CLI_TLS", r.cliTLS(args.TLS))}
	configMounts := corev1.VolumeMountArray{kube.ReadOnlyMount("config", "/etc/redis"), kube.Mount("runtime", "/run/redis")}
	containers := []kube.Container{{
		Name:      "redis",
		Image:     args.Image,
		Command:   []string{"redis-server", "/run/redis/redis.conf"},
		Env:       env,
		Ports:     []kube.Port{{Name: "redis", Port: Port}},
		Resources: r.tier.Resources,
		// Ready when it answers PING. Alive while it accepts connections: loading a large
		// append-only file answers LOADING to PING, and must not be killed for it.
		ReadinessProbe: kube.Readiness(kube.Exec("sh", "-c", redisPing(Port))),
		LivenessProbe:  kube.Liveness(kube.TCPSocket(Port)),
		Mounts:         append(configMounts, kube.Mount("data", "/data")),
	}, r.exporter(args)}
	if r.sentinel() {
		containers = append(containers, kube.Container{
			Name:           "sentinel",
			Image:          args.Image,
			Command:        []string{"redis-sentinel", "/run/redis/sentinel.conf"},
			Env:            env,
			Ports:          []kube.Port{{Name: "sentinel", Port: SentinelPort}},
			Resources:      tier.SidecarResources,
			ReadinessProbe: kube.Readiness(kube.Exec("sh", "-c", redisPing(SentinelPort))),
			LivenessProbe:  kube.Liveness(kube.TCPSocket(SentinelPort)),
			Mounts:         configMounts,
		})
	}
	volumes := corev1.VolumeArray{
		kube.ConfigMapVolume("config", configMap),
		// Memory-backed: the runtime configuration holds the password.
		kube.EmptyDir("runtime", true),
	}
	if !r.persistent {
		volumes = append(volumes, kube.EmptyDir("data", false))
	}
	pod := kube.Pod{
		Component: r.component(), UID: UID, GID: redisGID, Spread: args.Spread,
		Metrics:            &kube.Metrics{Port: redisExporterPort, Path: "/metrics"},
		GracePeriodSeconds: 30,
		InitContainers: []kube.Container{{
			Name: "topology", Image: args.Image, Command: kube.Script("sh", redisStartup),
			Env: r.startupEnv(args), Resources: tier.SidecarResources, Mounts: configMounts,
		}},
		Containers: containers,
		Volumes:    volumes,
	}
	tier.ServeTLS(&pod, ServerTLS(r.role, r.tier.Replicas), args.TLS, "topology", "redis", "sentinel", "exporter")
	return pod
}

// cliTLS are redis-cli's options in this tier's pods: TLS and the CA, or none.
func (r *redisInstance) cliTLS(tls bool) string {
	if tls {
		return CLITLS(tier.ServerTLSMountPath + "/ca.crt")
	}
	return ""
}

// startupEnv is what the start-up script reads: where the pod is, and every user's password.
// Redis and Sentinel read only the file it writes, and the probes log in as nobody (ProbeUser).
func (r *redisInstance) startupEnv(args *Args) corev1.EnvVarArray {
	secret := args.Secret
	env := corev1.EnvVarArray{
		kube.FieldEnv("POD_NAME", "metadata.name"),
		kube.FieldEnv("POD_NAMESPACE", "metadata.namespace"),
		kube.Env("HEADLESS", r.headless()),
		kube.Env("STATEFULSET", r.name),
		kube.Env("REPLICAS", fmt.Sprint(r.tier.Replicas)),
		kube.Env("SENTINEL_MASTER", r.master()),
		kube.SecretEnv("REDIS_PASSWORD", secret, credentials.RedisPasswordKeyOf(credentials.SlotOf(args.Generation))),
		kube.SecretEnv("REDIS_REPLICATION_PASSWORD", secret, credentials.RedisReplicationPasswordKey),
		kube.SecretEnv("REDIS_SENTINEL_PASSWORD", secret, credentials.RedisSentinelPasswordKey),
		kube.SecretEnv("REDIS_EXPORTER_PASSWORD", secret, credentials.RedisExporterPasswordKey),
		kube.SecretEnv("REDIS_ADMIN_PASSWORD", secret, credentials.RedisAdminPasswordKey),
		kube.Env("REDIS_CLI_TLS", r.cliTLS(args.TLS)),
	}
	return append(env, rotationEnv(secret, args.Generation)...)
}

// rotationEnv is what the start-up script needs to know whether a rotation is under way: this
// template's generation, the previous generation's password, and the settled generation.
func rotationEnv(secret pulumi.StringInput, g int) corev1.EnvVarArray {
	env := corev1.EnvVarArray{
		kube.Env("REDIS_GENERATION", fmt.Sprint(g)),
		// Optional: the Secret is written at the end of the first deployment, after the pods.
		settledEnv("REDIS_SETTLED_GENERATION", credentials.SettledRedisKey),
		settledEnv("REDIS_SETTLED_USERS", credentials.SettledRedisUsersKey),
		kube.Env("REDIS_USERS_VERSION", credentials.RedisUsersVersion),
	}
	if g > 0 {
		env = append(env, kube.SecretEnv("REDIS_PASSWORD_PREVIOUS", secret, credentials.RedisPasswordKeyOf(credentials.SlotOf(g-1))))
	}
	return env
}

// settledEnv is name from a key of the settled Secret, empty while there is none.
func settledEnv(name, key string) *corev1.EnvVarArgs {
	return &corev1.EnvVarArgs{Name: pulumi.String(name), ValueFrom: &corev1.EnvVarSourceArgs{
		SecretKeyRef: &corev1.SecretKeySelectorArgs{
			Name: pulumi.String(credentials.SettledSecret), Key: pulumi.String(key), Optional: pulumi.Bool(true),
		},
	}}
}

// exporter is the metrics exporter next to Redis. On the queue it also reports the task list's
// length (redis_key_size{key="pynomaly-tasks"}): the queue depth the alerts, the dashboards and
// an external metrics adapter read.
func (r *redisInstance) exporter(args *Args) kube.Container {
	login := corev1.EnvVarArray{
		kube.Env("REDIS_USER", ExporterUser),
		kube.SecretEnv("REDIS_PASSWORD", args.Secret, credentials.RedisExporterPasswordKey),
	}
	env := append(corev1.EnvVarArray{kube.Env("REDIS_ADDR", fmt.Sprintf("redis://127.0.0.1:%d", Port))}, login...)
	if args.TLS {
		// Over TLS, to the pod's own name, which its certificate carries.
		env = append(corev1.EnvVarArray{
			kube.FieldEnv("POD_NAME", "metadata.name"),
			kube.Env("REDIS_ADDR", fmt.Sprintf("rediss://$(POD_NAME).%s:%d", r.headless(), Port)),
			kube.Env("REDIS_EXPORTER_TLS_CA_CERT_FILE", tier.ServerTLSMountPath+"/ca.crt"),
		}, login...)
	}
	if r.role == Queue {
		env = append(env, kube.Env("REDIS_EXPORTER_CHECK_SINGLE_KEYS", "db0="+TaskQueueName))
	}
	return kube.Container{
		Name:           "exporter",
		Image:          args.Exporter,
		Env:            env,
		Ports:          []kube.Port{{Name: "metrics", Port: redisExporterPort}},
		Resources:      tier.SidecarResources,
		ReadinessProbe: kube.Readiness(kube.HTTPGet("/health", redisExporterPort)),
		LivenessProbe:  kube.Alive(redisExporterPort),
	}
}
