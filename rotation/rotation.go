// Package rotation ends a credential rotation: once every client rolled to the new generation, it
// records the settled generation and retires the previous one from PostgreSQL and Redis.
package rotation

import (
	"fmt"
	"strings"
	"time"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Credential rotation without an outage. A rotating credential has generations: the setting
// secrets.rotation counts them. Each generation lives in one of two slots, a (even generations)
// and b (odd ones), so the previous generation is still in its slot, known to the program, while
// the next one is generated into the other. One `pulumi up` then moves every party in order:
//
//  1. the Secret holds both generations, each under its slot's keys;
//  2. the servers learn the new password while the previous one stays valid: the PostgreSQL
//     setup job sets the idle login's password; the Redis pods roll to a configuration that
//     accepts both;
//  3. the pooler rolls to a user list with both logins; the clients roll to pod templates that
//     name the new slot's keys (a new template, so the Deployments roll);
//  4. after every client rolled, the settled Secret records the generation every server is to
//     hold alone; the retirement jobs wait until the last pod of the previous generation is gone
//     (a stopping worker finishes its task with the previous password), then take the previous
//     password from the servers.
//
// A pod restarted at any point reads the keys its template names, which hold the generation its
// template was made for until the rotation after next: it always has a valid password.

// Args configures the end of a rotation.
type Args struct {
	tier.Context
	Generations credentials.Generations
	// PostgresSecret and RedisSecret are the secrets tier's.
	PostgresSecret, RedisSecret pulumi.StringInput
	PrimaryHost                 pulumi.StringInput
	Redis                       []redis.Pods
	Images                      config.Images
	// DrainSeconds is the clients' longest grace period and a margin to kill: a stopping pod
	// of the previous generation is gone by then, so the retirement waits no longer for it.
	DrainSeconds int
	// After are every client of the rotating credentials: the retirement waits for all of them
	// to have rolled.
	After []pulumi.Resource
	// PostgresStandby: the database is a read-only standby (postgres.standby), whose logins are
	// the primary's; the application login's retirement waits for the promotion.
	PostgresStandby bool
}

// Rotation ends a rotation once every client holds the new generation: the settled Secret
// records the generations, then the retirement jobs take the previous password from the servers.
type Rotation struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads
}

// New declares the settled Secret and, after it, the retirement jobs of the
// credentials whose generation is past 0. In this order a Redis pod that restarts at any moment
// authenticates replication and Sentinel with a password every running server accepts: before
// the ConfigMap changes, the previous one (not yet retired); after, the new one (accepted all
// along). The other way round, a replica restarted between the two would keep the retired one.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Rotation, error) {
	c := &Rotation{}
	if err := ctx.RegisterComponentResource(tier.Type("Rotation"), name, c, opts...); err != nil {
		return nil, err
	}
	settled, err := corev1.NewSecret(ctx, credentials.SettledSecret, &corev1.SecretArgs{
		Metadata: kube.ObjectMeta(ctx, args.Namespace, credentials.SettledSecret, "rotation"),
		Type:     pulumi.String("Opaque"),
		StringData: pulumi.StringMap{
			credentials.SettledRedisKey:      pulumi.String(fmt.Sprint(args.Generations.Redis)),
			credentials.SettledRedisUsersKey: pulumi.String(credentials.RedisUsersVersion),
			"postgres-app-generation":        pulumi.String(fmt.Sprint(args.Generations.PostgresApp)),
		},
	}, pulumi.Parent(c), kube.After(args.After))
	if err != nil {
		return nil, fmt.Errorf("rotation: settled secret: %w", err)
	}
	for _, job := range retireJobs(args) {
		after := append([]pulumi.Resource{settled}, args.After...)
		if job.Pod.APIClient != "" {
			access, err := retireAccess(ctx, c, args, job.Name, job.Pod.Component)
			if err != nil {
				return nil, err
			}
			after = append(after, access)
		}
		// Pulumi waits for the job as long as it may take, not its default ten minutes.
		wait := time.Duration(job.DeadlineSeconds) * time.Second
		_, w, err := kube.NewJob(ctx, c, args.Namespace, job, kube.After(after),
			pulumi.Timeouts(&pulumi.CustomTimeouts{Create: wait.String(), Update: wait.String()}))
		if err != nil {
			return nil, err
		}
		c.Add(w)
	}
	c.Keep(pulumi.Map{})
	return c, nil
}

// Plan is the rotation before it is declared: the retirement job of each credential whose
// generation is past 0.
func Plan(args *Args) (tier.Plan, error) {
	var p tier.Plan
	for _, job := range retireJobs(args) {
		p.Objects = append(p.Objects, job)
	}
	return p, nil
}

// retireJobs are the retirement jobs of the credentials whose generation is past 0, and Redis's
// always: besides a rotation, it settles the per-client users on servers that a release without
// them started (redis/acl.go). A standby's database takes no write: its application login is
// retired once it is promoted (the setup job has set the current slot's password by then).
func retireJobs(args *Args) []kube.Job {
	var jobs []kube.Job
	if args.Generations.PostgresApp > 0 && !args.PostgresStandby {
		jobs = append(jobs, postgresJob(args))
	}
	return append(jobs, redisJob(args))
}

// retireJob is a retirement job of the credential at generation g, whose client pods carry
// label: run again for each rotation, once the last client pod of generation g-1 is gone (at
// generation 0 there is none to wait for).
func retireJob(name string, pod kube.Pod, label string, g int, args *Args) kube.Job {
	pod.Annotations = map[string]string{credentials.GenerationAnnotation: fmt.Sprint(g)}
	job := kube.Job{Name: name, Pod: pod, BackoffLimit: 6, DeadlineSeconds: retireSeconds}
	if g == 0 {
		return job
	}
	job.DeadlineSeconds += args.DrainSeconds
	job.Pod.InitContainers = append(pod.InitContainers, kube.Container{
		Name: waitForPreviousClients, Image: args.Images.Kubectl,
		Command: kube.Script("/bin/sh", waitForPreviousClientsScript),
		Env: corev1.EnvVarArray{
			kube.Env("GENERATION_LABEL", label),
			kube.Env("PREVIOUS_GENERATION", fmt.Sprint(g-1)),
			kube.Env("DRAIN_SECONDS", fmt.Sprint(args.DrainSeconds)),
			// kubectl keeps its discovery cache under $HOME.
			kube.Env("HOME", "/tmp"),
		},
		Resources: tier.JobResources,
		Mounts:    corev1.VolumeMountArray{kube.Mount("tmp", "/tmp")},
	})
	job.Pod.APIClient = waitForPreviousClients
	return job
}

// retireSeconds is how long a retirement may take once the previous generation's pods are gone.
const retireSeconds = 600

// waitForPreviousClients is the retirement jobs' init container, the one that calls the
// Kubernetes API: it waits for the pods of the previous generation to be gone.
const waitForPreviousClients = "wait-for-previous-clients"

// waitForPreviousClientsScript waits, up to DRAIN_SECONDS, until no pod carries the previous
// generation's label; past that the kubelets have killed them all.
var waitForPreviousClientsScript = assets.Script("wait-for-previous-clients.sh")

// retireAccess lets a retirement job's init container watch the namespace's pods: kubectl wait
// lists them by label, gets each, then watches it until it is deleted.
func retireAccess(ctx *pulumi.Context, c *Rotation, args *Args, job, component string) (pulumi.Resource, error) {
	return kube.NewAccess(ctx, c, args.Namespace, kube.Access{Name: job, Component: component, Rules: rbacv1.PolicyRuleArray{
		kube.Rule("", []string{"pods"}, "get", "list", "watch"),
	}})
}

// PostgresRetireScript waits for the primary, then retires the previous login.
var PostgresRetireScript = tier.Fill(assets.ScriptTemplate("postgres-retire.sh.tmpl"), map[string]any{
	"Port": postgres.Port, "RetireStep": postgres.RetireStep,
})

func postgresJob(args *Args) kube.Job {
	g := args.Generations.PostgresApp
	pod := kube.ScriptPod("postgres-retire", args.Images.Postgres, tier.JobResources, postgres.ClientUID, PostgresRetireScript, corev1.EnvVarArray{
		kube.EnvOutput("PGHOST", args.PrimaryHost),
		kube.Env("PGUSER", "postgres"),
		kube.Env("PGDATABASE", "postgres"),
		kube.SecretEnv("PGPASSWORD", args.PostgresSecret, credentials.PostgresSuperuserPasswordKey),
		kube.Env("OLD_LOGIN", credentials.PostgresAppLogin(credentials.SlotOf(g-1))),
	}, nil, nil)
	tier.TrustInternalCA(&pod, args.TLS)
	return retireJob(PostgresRetireJob, pod, credentials.PostgresAppGenerationLabel, g, args)
}

// RedisRetireScript settles the Redis users on every running server and Sentinel: replicas and
// Sentinels authenticate as their own users, the application's user keeps only the current
// password, and the default user may only PING.
var RedisRetireScript = assets.Script("redis-retire.sh")

// RedisTargets is the retirement job's REDIS_TARGETS: host|master per pod.
func RedisTargets(pods []redis.Pods) string {
	var targets []string
	for _, p := range pods {
		for _, h := range p.Hosts {
			targets = append(targets, h+"|"+p.Master)
		}
	}
	return strings.Join(targets, " ")
}

func redisJob(args *Args) kube.Job {
	g := args.Generations.Redis
	cliTLS := ""
	if args.TLS {
		cliTLS = redis.CLITLS(tier.CAMountPath + "/ca.crt")
	}
	pod := kube.ScriptPod("redis-retire", args.Images.Redis, tier.JobResources, redis.UID, RedisRetireScript, corev1.EnvVarArray{
		kube.SecretEnv("REDISCLI_AUTH", args.RedisSecret, credentials.RedisAdminPasswordKey),
		kube.SecretEnv("REDIS_PASSWORD", args.RedisSecret, credentials.RedisPasswordKeyOf(credentials.SlotOf(g))),
		kube.SecretEnv("REDIS_REPLICATION_PASSWORD", args.RedisSecret, credentials.RedisReplicationPasswordKey),
		kube.SecretEnv("REDIS_SENTINEL_PASSWORD", args.RedisSecret, credentials.RedisSentinelPasswordKey),
		kube.Env("REDIS_TARGETS", RedisTargets(args.Redis)),
		kube.Env("REDIS_PORT", fmt.Sprint(redis.Port)),
		kube.Env("SENTINEL_PORT", fmt.Sprint(redis.SentinelPort)),
		kube.Env("REDIS_CLI_TLS", cliTLS),
	}, nil, nil)
	tier.MountCA(&pod, args.TLS)
	return retireJob(RedisRetireJob, pod, credentials.RedisGenerationLabel, g, args)
}

// The retirement jobs' names.
const (
	PostgresRetireJob = "pynomaly-postgres-retire"
	RedisRetireJob    = "pynomaly-redis-retire"
)
