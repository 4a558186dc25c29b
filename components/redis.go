package components

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
)

const (
	// The official image's redis user and group.
	redisUID, redisGID = 999, 1000
	redisExporterPort  = 9121
)

// RedisArgs configures the Redis tier.
type RedisArgs struct {
	Namespace    pulumi.StringInput
	Queue, Cache config.StatefulTier
	Image        string
	Exporter     string
	StorageClass pulumi.StringInput
	// Secret is the redis credentials Secret of the secrets tier.
	Secret  pulumi.StringInput
	Strict  bool
	Protect bool
}

// RedisEndpoint is what a consumer of one Redis role needs.
type RedisEndpoint struct {
	// Host is the role's Service. With one replica it is Redis itself; with more it is the
	// Sentinels, and clients ask them for SentinelMaster's current primary.
	Host           pulumi.StringOutput
	Port           int
	SentinelMaster string
	SecretName     pulumi.StringOutput
	PasswordKey    string
}

// Redis is the seed's data-science-redis.yaml as two instances with opposite rules: the task
// queue (no eviction, AOF + RDB) and the cache (LRU, no persistence). With replicas, each runs
// Redis Sentinel for automatic failover.
type Redis struct {
	pulumi.ResourceState

	Queue RedisEndpoint
	Cache RedisEndpoint
	// Ready are the StatefulSets; consumers depend on them.
	Ready []pulumi.Resource
}

// NewRedis creates the Redis tier.
func NewRedis(ctx *pulumi.Context, name string, args *RedisArgs, opts ...pulumi.ResourceOption) (*Redis, error) {
	c := &Redis{}
	if err := ctx.RegisterComponentResource(componentType("Redis"), name, c, opts...); err != nil {
		return nil, err
	}
	var err error
	var queue, cache *appsv1.StatefulSet
	if c.Queue, queue, err = redisInstance(ctx, c, args, RedisQueue, args.Queue, RedisQueueService, true); err != nil {
		return nil, err
	}
	if c.Cache, cache, err = redisInstance(ctx, c, args, RedisCache, args.Cache, RedisCacheService, args.Cache.StorageSize != ""); err != nil {
		return nil, err
	}
	c.Ready = []pulumi.Resource{queue, cache}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"queueHost": c.Queue.Host, "queueSentinelMaster": pulumi.String(c.Queue.SentinelMaster),
		"cacheHost": c.Cache.Host, "cacheSentinelMaster": pulumi.String(c.Cache.SentinelMaster),
	})
}

// redisStartup works out, at every start, whether this pod is the primary: it asks the other
// pods' Sentinels for the current primary, and only when none answers (a new cluster) does
// pod 0 start as primary. It writes the runtime configuration into a memory-backed volume, so
// the password is never in the image, the ConfigMap or the pod spec.
const redisStartup = `me="$POD_NAME.$HEADLESS.$POD_NAMESPACE.svc"
primary=""
if [ "$REPLICAS" -gt 1 ]; then
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    peer="$STATEFULSET-$i.$HEADLESS.$POD_NAMESPACE.svc"
    if [ "$peer" != "$me" ]; then
      primary=$(redis-cli -h "$peer" -p 26379 --no-auth-warning -a "$REDIS_PASSWORD" sentinel get-master-addr-by-name "$SENTINEL_MASTER" 2>/dev/null | head -n 1)
      [ -n "$primary" ] && break
    fi
    i=$((i + 1))
  done
  [ -n "$primary" ] || primary="$STATEFULSET-0.$HEADLESS.$POD_NAMESPACE.svc"
fi
{
  echo "include /etc/redis/redis.conf"
  echo "requirepass $REDIS_PASSWORD"
  echo "masterauth $REDIS_PASSWORD"
  echo "replica-announce-ip $me"
  if [ -n "$primary" ] && [ "$primary" != "$me" ]; then echo "replicaof $primary 6379"; fi
} > /run/redis/redis.conf
if [ "$REPLICAS" -gt 1 ]; then
  {
    cat /etc/redis/sentinel.conf
    echo "sentinel announce-ip $me"
    echo "requirepass $REDIS_PASSWORD"
    sed "s/PRIMARY_HOST/$primary/" /etc/redis/sentinel-monitor.conf
    echo "sentinel auth-pass $SENTINEL_MASTER $REDIS_PASSWORD"
  } > /run/redis/sentinel.conf
fi
echo "starting as $([ -z "$primary" ] || [ "$primary" = "$me" ] && echo primary || echo "replica of $primary")"`

func redisInstance(ctx *pulumi.Context, c *Redis, args *RedisArgs, role RedisRole, t config.StatefulTier, svcName string, persistent bool) (RedisEndpoint, *appsv1.StatefulSet, error) {
	ns := args.Namespace
	parent := pulumi.Parent(c)
	component := "redis-" + string(role)
	headlessName := svcName + "-headless"
	sentinel := t.Replicas > 1
	master := ""
	if sentinel {
		master = svcName
	}
	fail := func(what string, err error) (RedisEndpoint, *appsv1.StatefulSet, error) {
		return RedisEndpoint{}, nil, fmt.Errorf("redis %s: %s: %w", role, what, err)
	}

	data := pulumi.StringMap{"redis.conf": pulumi.String(RedisConf(role, t))}
	if sentinel {
		data["sentinel.conf"] = pulumi.String(SentinelConf())
		data["sentinel-monitor.conf"] = pulumi.String(SentinelMonitor(master, "PRIMARY_HOST", t.Replicas))
	}
	cm, err := corev1.NewConfigMap(ctx, svcName, &corev1.ConfigMapArgs{
		// Auto-named: a configuration change rolls the StatefulSet.
		Metadata: &metav1.ObjectMetaArgs{Namespace: ns, Labels: labels(ctx, component)},
		Data:     data,
	}, parent)
	if err != nil {
		return fail("configmap", err)
	}

	ports := func(includeRedis bool) corev1.ServicePortArray {
		var p corev1.ServicePortArray
		if includeRedis {
			p = append(p, servicePort("redis", RedisPort))
		}
		if sentinel {
			p = append(p, servicePort("sentinel", sentinelPort))
		}
		return p
	}
	headless, err := service(ctx, c, ns, headlessName, component, selectorLabels(component), ports(true), true)
	if err != nil {
		return RedisEndpoint{}, nil, err
	}
	// With Sentinel, the role's Service offers only the Sentinels: a plain connection to port
	// 6379 could land on a read-only replica.
	svc, err := service(ctx, c, ns, svcName, component, selectorLabels(component), ports(!sentinel), false)
	if err != nil {
		return RedisEndpoint{}, nil, err
	}

	commonEnv := corev1.EnvVarArray{
		fieldEnv("POD_NAME", "metadata.name"),
		fieldEnv("POD_NAMESPACE", "metadata.namespace"),
		env("HEADLESS", headlessName),
		env("STATEFULSET", svcName),
		env("REPLICAS", fmt.Sprint(t.Replicas)),
		env("SENTINEL_MASTER", master),
		secretEnv("REDIS_PASSWORD", args.Secret, RedisPasswordKey),
		// redis-cli reads it, so probes authenticate without the password on a command line.
		secretEnv("REDISCLI_AUTH", args.Secret, RedisPasswordKey),
	}
	configMounts := corev1.VolumeMountArray{readOnlyMount("config", "/etc/redis"), mount("runtime", "/run/redis")}
	containers := corev1.ContainerArray{
		&corev1.ContainerArgs{
			Name:            pulumi.String("redis"),
			Image:           pulumi.String(args.Image),
			Command:         pulumi.StringArray{pulumi.String("redis-server"), pulumi.String("/run/redis/redis.conf")},
			Env:             commonEnv,
			Ports:           corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("redis"), ContainerPort: pulumi.Int(RedisPort)}},
			Resources:       resources(t.Resources),
			SecurityContext: containerSecurity(true),
			// Ready when it answers PING. Alive while it accepts connections: loading a large
			// append-only file answers LOADING to PING, and must not be killed for it.
			ReadinessProbe: readiness(execCommand("sh", "-c", "redis-cli -p 6379 ping | grep -q PONG")),
			LivenessProbe:  liveness(tcpSocket(RedisPort)),
			VolumeMounts:   append(configMounts, mount("data", "/data")),
		},
		&corev1.ContainerArgs{
			Name:            pulumi.String("exporter"),
			Image:           pulumi.String(args.Exporter),
			Env:             corev1.EnvVarArray{env("REDIS_ADDR", fmt.Sprintf("redis://127.0.0.1:%d", RedisPort)), secretEnv("REDIS_PASSWORD", args.Secret, RedisPasswordKey)},
			Ports:           corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("metrics"), ContainerPort: pulumi.Int(redisExporterPort)}},
			Resources:       resources(config.SidecarResources),
			SecurityContext: containerSecurity(true),
			ReadinessProbe:  readiness(httpGet("/health", redisExporterPort)),
			LivenessProbe:   liveness(httpGet("/health", redisExporterPort)),
		},
	}
	if sentinel {
		containers = append(containers, &corev1.ContainerArgs{
			Name:            pulumi.String("sentinel"),
			Image:           pulumi.String(args.Image),
			Command:         pulumi.StringArray{pulumi.String("redis-sentinel"), pulumi.String("/run/redis/sentinel.conf")},
			Env:             commonEnv,
			Ports:           corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("sentinel"), ContainerPort: pulumi.Int(sentinelPort)}},
			Resources:       resources(config.SidecarResources),
			SecurityContext: containerSecurity(true),
			ReadinessProbe:  readiness(execCommand("sh", "-c", "redis-cli -p 26379 ping | grep -q PONG")),
			LivenessProbe:   liveness(tcpSocket(sentinelPort)),
			VolumeMounts:    configMounts,
		})
	}
	volumes := corev1.VolumeArray{
		&corev1.VolumeArgs{Name: pulumi.String("config"), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{Name: cm.Metadata.Name()}},
		// Memory-backed: the runtime configuration holds the password.
		emptyDir("runtime", true),
	}
	var claims corev1.PersistentVolumeClaimTypeArray
	if persistent {
		claims = corev1.PersistentVolumeClaimTypeArray{claimTemplate(ctx, "data", component, t.StorageSize, args.StorageClass)}
	} else {
		volumes = append(volumes, emptyDir("data", false))
	}
	affinity, spreadConstraints := spread(component, args.Strict)
	sts, err := appsv1.NewStatefulSet(ctx, svcName, &appsv1.StatefulSetArgs{
		Metadata: objectMeta(ctx, ns, svcName, component),
		Spec: &appsv1.StatefulSetSpecArgs{
			ServiceName:                          headless.Metadata.Name().Elem(),
			Replicas:                             pulumi.Int(t.Replicas),
			Selector:                             &metav1.LabelSelectorArgs{MatchLabels: selectorLabels(component)},
			PodManagementPolicy:                  pulumi.String("OrderedReady"),
			PersistentVolumeClaimRetentionPolicy: statefulSetRetention(),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels(ctx, component), Annotations: scrapeAnnotations(redisExporterPort)},
				Spec: &corev1.PodSpecArgs{
					AutomountServiceAccountToken:  pulumi.Bool(false),
					SecurityContext:               podSecurity(redisUID, redisGID),
					Affinity:                      affinity,
					TopologySpreadConstraints:     spreadConstraints,
					TerminationGracePeriodSeconds: pulumi.Int(30),
					InitContainers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:            pulumi.String("topology"),
						Image:           pulumi.String(args.Image),
						Command:         pulumi.StringArray{pulumi.String("sh"), pulumi.String("-ec"), pulumi.String(redisStartup)},
						Env:             commonEnv,
						Resources:       resources(config.SidecarResources),
						SecurityContext: containerSecurity(true),
						VolumeMounts:    configMounts,
					}},
					Containers: containers,
					Volumes:    volumes,
				},
			},
			VolumeClaimTemplates: claims,
		},
	}, parent, stateful(args.Protect && persistent))
	if err != nil {
		return fail("statefulset", err)
	}
	if _, err := podDisruptionBudget(ctx, c, ns, svcName, component, selectorLabels(component), oneAtATime); err != nil {
		return RedisEndpoint{}, nil, err
	}
	port := RedisPort
	if sentinel {
		port = sentinelPort
	}
	return RedisEndpoint{
		Host:           pulumi.Sprintf("%s.%s.svc", svc.Metadata.Name().Elem(), ns),
		Port:           port,
		SentinelMaster: master,
		SecretName:     args.Secret.ToStringOutput(),
		PasswordKey:    RedisPasswordKey,
	}, sts, nil
}
