// Package redis is the Redis tier: the task queue and the cache as two instances with opposite
// rules, each with Redis Sentinel for failover when it has replicas, and their generated redis.conf
// and sentinel.conf (conf.go).
package redis

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names and ports of the Redis tier.
const (
	QueueService      = "pynomaly-redis-queue"
	CacheService      = "pynomaly-redis-cache"
	Port              = 6379
	redisExporterPort = 9121
	// The user and group Redis, Sentinel and the exporter run as. The official image runs as
	// any user (its entry point changes ownership only when started as root, and the pods start
	// redis-server directly); fsGroup gives the data volume to the group. 10000 and more is a
	// range no account of the node uses.
	UID, redisGID = 10999, 11000
)

// Args configures the Redis tier.
type Args struct {
	tier.Context
	Queue, Cache config.StatefulTier
	Image        string
	Exporter     string
	// Volumes is where the StatefulSet's claims are made and whether they grow in place.
	Volumes kube.Volumes
	// Secret is the redis credentials Secret of the secrets tier.
	Secret pulumi.StringInput
	// Generation is the Redis password's (secrets.rotation): the pods name its slot's key.
	Generation int
}

// Endpoint is what a consumer of one Redis role needs.
type Endpoint struct {
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
	tier.OutputSet
	tier.Workloads

	Queue Endpoint
	Cache Endpoint
	// Ready are the StatefulSets; consumers depend on them.
	Ready []pulumi.Resource
	// Pods are each role's pods, for the rotation's retirement job.
	Pods []Pods
}

// New creates the Redis tier.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Redis, error) {
	c := &Redis{}
	if err := ctx.RegisterComponentResource(tier.Type("Redis"), name, c, opts...); err != nil {
		return nil, err
	}
	queue, cache := instances(args)
	for _, in := range []*redisInstance{queue, cache} {
		if err := in.declare(ctx, c, args); err != nil {
			return nil, err
		}
	}
	c.Queue, c.Cache = queue.endpoint, cache.endpoint
	c.Ready = []pulumi.Resource{queue.sts, cache.sts}
	c.Pods = []Pods{queue.pods(), cache.pods()}
	c.Keep(pulumi.Map{
		"queueHost": c.Queue.Host, "queueSentinelMaster": pulumi.String(c.Queue.SentinelMaster),
		"cacheHost": c.Cache.Host, "cacheSentinelMaster": pulumi.String(c.Cache.SentinelMaster),
	})
	return c, nil
}

// Plan is the Redis tier before it is declared: a StatefulSet per role.
func Plan(args *Args) (tier.Plan, error) {
	queue, cache := instances(args)
	return tier.Plan{Objects: []kube.Object{queue.statefulSet(args, nil, nil), cache.statefulSet(args, nil, nil)}}, nil
}

// instances are the two roles: the queue always persistent, the cache when it has a size.
func instances(args *Args) (queue, cache *redisInstance) {
	return &redisInstance{role: Queue, tier: args.Queue, name: QueueService, persistent: true},
		&redisInstance{role: Cache, tier: args.Cache, name: CacheService, persistent: args.Cache.StorageSize != ""}
}

const (
	// TaskQueueName is the Redis list the API enqueues to and the workers take from.
	TaskQueueName = "pynomaly-tasks"
)
