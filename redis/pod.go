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
// the password is never in the image, the ConfigMap or the pod spec. redis-cli authenticates with
// REDISCLI_AUTH from the environment, never with -a (which would show the password in the process
// list); echo is a shell builtin, and its output goes to the file.
//
// The default user accepts this template's password and, while a rotation has not settled (the
// settled Secret names an older generation, or none), the previous one too, which is then what
// replication, Sentinel and the peers' Sentinels are asked with: every pod of either template
// accepts it. The retirement job settles the rotation on the running servers (rotation.go).
var redisStartup = assets.Script("startup.sh")

// redisPing is the readiness probe of the Redis or Sentinel listening on port: it answers PING.
func redisPing(port int) string { return tier.Fill(redisPingTemplate, port) }

var redisPingTemplate = assets.ScriptTemplate("ping.sh.tmpl")

// pod is a Redis pod: the topology init container, Redis, its exporter and, with replicas, a
// Sentinel.
func (r *redisInstance) pod(args *Args, configMap pulumi.StringPtrInput) kube.Pod {
	env := r.env(args.Secret, args.Generation, args.TLS)
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
			Ports:          []kube.Port{{Name: "sentinel", Port: sentinelPort}},
			Resources:      tier.SidecarResources,
			ReadinessProbe: kube.Readiness(kube.Exec("sh", "-c", redisPing(sentinelPort))),
			LivenessProbe:  kube.Liveness(kube.TCPSocket(sentinelPort)),
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
			Env: env, Resources: tier.SidecarResources, Mounts: configMounts,
		}},
		Containers: containers,
		Volumes:    volumes,
	}
	tier.ServeTLS(&pod, ServerTLS(r.role, r.tier.Replicas), args.TLS, "topology", "redis", "sentinel", "exporter")
	return pod
}

// env is what the startup script, Redis and Sentinel read.
func (r *redisInstance) env(secret pulumi.StringInput, g int, tls bool) corev1.EnvVarArray {
	cliTLS := ""
	if tls {
		cliTLS = CLITLS(tier.ServerTLSMountPath + "/ca.crt")
	}
	env := corev1.EnvVarArray{
		kube.FieldEnv("POD_NAME", "metadata.name"),
		kube.FieldEnv("POD_NAMESPACE", "metadata.namespace"),
		kube.Env("HEADLESS", r.headless()),
		kube.Env("STATEFULSET", r.name),
		kube.Env("REPLICAS", fmt.Sprint(r.tier.Replicas)),
		kube.Env("SENTINEL_MASTER", r.master()),
		kube.SecretEnv("REDIS_PASSWORD", secret, credentials.RedisPasswordKeyOf(credentials.SlotOf(g))),
		// redis-cli reads it, so probes authenticate without the password on a command line.
		kube.SecretEnv("REDISCLI_AUTH", secret, credentials.RedisPasswordKeyOf(credentials.SlotOf(g))),
		// The start-up script's and the probes' redis-cli options: TLS and the CA, or none.
		kube.Env("REDIS_CLI_TLS", cliTLS),
	}
	return append(env, rotationEnv(secret, g)...)
}

// rotationEnv is what the start-up script needs to know whether a rotation is under way: this
// template's generation, the previous generation's password, and the settled generation.
func rotationEnv(secret pulumi.StringInput, g int) corev1.EnvVarArray {
	env := corev1.EnvVarArray{
		kube.Env("REDIS_GENERATION", fmt.Sprint(g)),
		// Optional: the Secret is written at the end of the first deployment, after the pods.
		&corev1.EnvVarArgs{Name: pulumi.String("REDIS_SETTLED_GENERATION"), ValueFrom: &corev1.EnvVarSourceArgs{
			SecretKeyRef: &corev1.SecretKeySelectorArgs{
				Name: pulumi.String(credentials.SettledSecret), Key: pulumi.String(credentials.SettledRedisKey), Optional: pulumi.Bool(true),
			},
		}},
	}
	if g > 0 {
		env = append(env, kube.SecretEnv("REDIS_PASSWORD_PREVIOUS", secret, credentials.RedisPasswordKeyOf(credentials.SlotOf(g-1))))
	}
	return env
}

// exporter is the metrics exporter next to Redis. On the queue it also reports the task list's
// length (redis_key_size{key="pynomaly-tasks"}): the queue depth the alerts, the dashboards and
// an external metrics adapter read.
func (r *redisInstance) exporter(args *Args) kube.Container {
	env := corev1.EnvVarArray{
		kube.Env("REDIS_ADDR", fmt.Sprintf("redis://127.0.0.1:%d", Port)),
		kube.SecretEnv("REDIS_PASSWORD", args.Secret, credentials.RedisPasswordKeyOf(credentials.SlotOf(args.Generation))),
	}
	if args.TLS {
		// Over TLS, to the pod's own name, which its certificate carries.
		env = corev1.EnvVarArray{
			kube.FieldEnv("POD_NAME", "metadata.name"),
			kube.Env("REDIS_ADDR", fmt.Sprintf("rediss://$(POD_NAME).%s:%d", r.headless(), Port)),
			kube.SecretEnv("REDIS_PASSWORD", args.Secret, credentials.RedisPasswordKeyOf(credentials.SlotOf(args.Generation))),
			kube.Env("REDIS_EXPORTER_TLS_CA_CERT_FILE", tier.ServerTLSMountPath+"/ca.crt"),
		}
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
