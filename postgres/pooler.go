package postgres

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// pgbouncerUID is an unprivileged user for PgBouncer, which needs no file it does not read and
// so runs as any user; 10000 and more is a range no account of the node uses.
const pgbouncerUID = 10998

// poolerShutdownDelay is how long a stopping pooler keeps accepting clients (seconds).
const poolerShutdownDelay = 5

// newPooler is PgBouncer in transaction mode in front of the primary: API and worker pods open
// as many client connections as they like (up to the budget validated in config), the primary
// sees at most replicas x poolSize. It owns its configuration, Service and disruption budget.
func newPooler(ctx *pulumi.Context, c *Postgres, args *Args, primaryHost pulumi.StringOutput, after []pulumi.Resource) (pulumi.Resource, error) {
	ns := args.Namespace
	ini := primaryHost.ApplyT(func(h string) string { return PgBouncerIni(h, args.Pooler, args.TLS) }).(pulumi.StringOutput)
	// Auto-named: a configuration change rolls the pooler.
	cm, err := corev1.NewConfigMap(ctx, PoolerName, &corev1.ConfigMapArgs{
		Metadata: kube.AutoNamedMeta(ctx, ns, "pooler"),
		Data:     pulumi.StringMap{"pgbouncer.ini": ini},
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("pooler: configmap: %w", err)
	}
	planned := poolerDeployment(args, cm.Metadata.Name())
	pod := planned.Pod
	deploy, w, err := kube.NewDeployment(ctx, c, ns, planned, kube.After(after))
	if err != nil {
		return nil, err
	}
	c.Add(w)
	if _, err := kube.NewService(ctx, c, ns, kube.Service{
		Name: PoolerName, Component: "pooler", Selector: pod.Selector(),
		Ports: corev1.ServicePortArray{kube.ServicePort("postgresql", Port)},
	}); err != nil {
		return nil, err
	}
	return deploy, nil
}

// poolerDeployment is PgBouncer's Deployment; configMap is its configuration's name once declared.
func poolerDeployment(args *Args, configMap pulumi.StringPtrInput) kube.Deployment {
	pod := kube.Pod{
		Component: "pooler", UID: pgbouncerUID, GID: pgbouncerUID, Spread: args.Spread,
		// Since PgBouncer 1.23 SIGTERM is a safe shutdown: it stops accepting and waits for the
		// clients it has, which the grace period allows.
		GracePeriodSeconds: poolerShutdownDelay + 60,
		Containers: []kube.Container{{
			Name:      "pgbouncer",
			Image:     args.Images.PgBouncer,
			Command:   []string{"pgbouncer", "/etc/pgbouncer/config/pgbouncer.ini"},
			Ports:     []kube.Port{{Name: "postgresql", Port: Port}},
			Resources: args.Pooler.Resources,
			// Ready while it accepts clients. No liveness probe: PgBouncer is one process that
			// exits when it fails (and the kubelet restarts it), and the only check it offers
			// without credentials, a connection to its port, is the readiness check: used for
			// liveness too, a burst of clients would restart every pooler at once.
			ReadinessProbe: kube.Readiness(kube.TCPSocket(Port)),
			// PgBouncer stops accepting at SIGTERM, while the pod's endpoint is still being
			// removed: it keeps accepting for a moment first, so no client meets a closed port.
			Lifecycle: &corev1.LifecycleArgs{PreStop: &corev1.LifecycleHandlerArgs{
				Sleep: &corev1.SleepActionArgs{Seconds: pulumi.Int(poolerShutdownDelay)},
			}},
			Mounts: corev1.VolumeMountArray{
				kube.ReadOnlyMount("config", "/etc/pgbouncer/config"),
				kube.ReadOnlyMount("auth", "/etc/pgbouncer/auth"),
			},
		}},
		Volumes: corev1.VolumeArray{kube.ConfigMapVolume("config", configMap), poolerUserlist(args.Secret)},
	}
	// PgBouncer reads its user list at start: the pods roll to one with the new login, after the
	// setup job gave the login its password.
	pod.Annotations = map[string]string{credentials.GenerationAnnotation: fmt.Sprint(args.Generation)}
	tier.ServeTLS(&pod, PoolerTLS(), args.TLS, "pgbouncer")
	return kube.Deployment{
		Name: PoolerName, Pod: pod, Replicas: args.Pooler.Replicas,
		MaxSurge: pulumi.Int(1), DisruptionBudget: kube.OneAtATime,
	}
}

// poolerUserlist is PgBouncer's auth file, from the credentials Secret: only the key it needs.
func poolerUserlist(secret pulumi.StringInput) *corev1.VolumeArgs {
	return &corev1.VolumeArgs{Name: pulumi.String("auth"), Secret: &corev1.SecretVolumeSourceArgs{
		SecretName: secret,
		Items: corev1.KeyToPathArray{&corev1.KeyToPathArgs{
			Key: pulumi.String(credentials.PostgresPoolerUserlistKey), Path: pulumi.String("userlist.txt"),
		}},
	}}
}
