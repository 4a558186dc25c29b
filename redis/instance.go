package redis

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// redisInstance is one Redis role: its configuration, Services and StatefulSet.
type redisInstance struct {
	role Role
	tier config.StatefulTier
	// name is the StatefulSet's and the role's Service's.
	name       string
	persistent bool

	endpoint Endpoint
	sts      pulumi.Resource
}

func (r *redisInstance) component() string { return "redis-" + string(r.role) }
func (r *redisInstance) headless() string  { return r.name + "-headless" }
func (r *redisInstance) sentinel() bool    { return r.tier.Replicas > 1 }

// master is the name Sentinel monitors the primary under; empty without Sentinel.
func (r *redisInstance) master() string {
	if r.sentinel() {
		return r.name
	}
	return ""
}

func (r *redisInstance) declare(ctx *pulumi.Context, c *Redis, args *Args) error {
	cm, err := r.configMap(ctx, c, args.Namespace, args.TLS)
	if err != nil {
		return err
	}
	headless, svc, err := r.services(ctx, c, args.Namespace)
	if err != nil {
		return err
	}
	sts, w, err := kube.NewStatefulSet(ctx, c, args.Namespace, r.statefulSet(args, cm.Metadata.Name(), headless.Metadata.Name().Elem()))
	if err != nil {
		return err
	}
	c.Add(w)
	port := Port
	if r.sentinel() {
		port = SentinelPort
	}
	r.sts = sts
	r.endpoint = Endpoint{
		Host: pulumi.Sprintf("%s.%s.svc", svc.Metadata.Name().Elem(), args.Namespace), Port: port,
		SentinelMaster: r.master(), SecretName: args.Secret.ToStringOutput(), PasswordKey: credentials.RedisPasswordKeyOf(credentials.SlotOf(args.Generation)),
	}
	return nil
}

// statefulSet is the role's StatefulSet; configMap and headless are its ConfigMap's and headless
// Service's names once declared (nil in the plan).
func (r *redisInstance) statefulSet(args *Args, configMap pulumi.StringPtrInput, headless pulumi.StringInput) kube.StatefulSet {
	return kube.StatefulSet{
		Name: r.name, Replicas: r.tier.Replicas, ServiceName: headless,
		PodManagementPolicy: "OrderedReady",
		Pod:                 r.pod(args, configMap),
		Claim:               r.claim(),
		Volumes:             args.Volumes,
	}
}

func (r *redisInstance) pods() Pods {
	return Pods{Hosts: tier.StatefulHosts(r.name, r.headless(), r.name, r.tier.Replicas)[2:], Master: r.master()}
}

func (r *redisInstance) claim() kube.Claim {
	if !r.persistent {
		return kube.Claim{}
	}
	return kube.Claim{Name: tier.DataClaimTemplate, Size: r.tier.StorageSize}
}

// configMap holds redis.conf, the users' rules and, with Sentinel, its configuration and users. Auto-named: a change rolls
// the StatefulSet.
func (r *redisInstance) configMap(ctx *pulumi.Context, c *Redis, ns pulumi.StringInput, tls bool) (*corev1.ConfigMap, error) {
	redisConf, sentinelConf := Conf(r.role, r.tier), SentinelConf()
	if tls {
		redisConf += TLSConf(Port)
		sentinelConf += TLSConf(SentinelPort)
	}
	data := pulumi.StringMap{"redis.conf": pulumi.String(redisConf), "users.conf": pulumi.String(UsersFile(Users(r.role)))}
	if r.sentinel() {
		data["sentinel.conf"] = pulumi.String(sentinelConf)
		data["sentinel-users.conf"] = pulumi.String(UsersFile(SentinelUsers()))
		data["sentinel-monitor.conf"] = pulumi.String(SentinelMonitor(r.master(), "PRIMARY_HOST", r.tier.Replicas))
	}
	cm, err := corev1.NewConfigMap(ctx, r.name, &corev1.ConfigMapArgs{
		Metadata: kube.AutoNamedMeta(ctx, ns, r.component()), Data: data,
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("redis %s: configmap: %w", r.role, err)
	}
	return cm, nil
}

// services are the headless Service (every port) and the role's Service. With Sentinel, the
// role's Service offers only the Sentinels: a plain connection to port 6379 could land on a
// read-only replica.
func (r *redisInstance) services(ctx *pulumi.Context, c *Redis, ns pulumi.StringInput) (*corev1.Service, *corev1.Service, error) {
	ports := func(includeRedis bool) corev1.ServicePortArray {
		var p corev1.ServicePortArray
		if includeRedis {
			p = append(p, kube.ServicePort("redis", Port))
		}
		if r.sentinel() {
			p = append(p, kube.ServicePort("sentinel", SentinelPort))
		}
		return p
	}
	selector := kube.SelectorLabels(r.component())
	headless, err := kube.NewService(ctx, c, ns, kube.Service{
		Name: r.headless(), Component: r.component(), Selector: selector, Ports: ports(true), Headless: true,
	})
	if err != nil {
		return nil, nil, err
	}
	svc, err := kube.NewService(ctx, c, ns, kube.Service{
		Name: r.name, Component: r.component(), Selector: selector, Ports: ports(!r.sentinel()),
	})
	return headless, svc, err
}

// ServerTLS is one Redis role's Services and pods; Sentinel, in the same pods, shares them.
func ServerTLS(role Role, replicas int) tier.TLSServer {
	r := redisInstance{role: role, name: map[Role]string{Queue: QueueService, Cache: CacheService}[role]}
	return tier.TLSServer{Name: r.name, Hosts: tier.StatefulHosts(r.name, r.headless(), r.name, replicas)}
}

// Pods are one Redis role's pods as a client inside the namespace names them (the names
// their certificates carry), and Sentinel's name for its primary (empty: no Sentinel).
type Pods struct {
	Hosts  []string
	Master string
}
