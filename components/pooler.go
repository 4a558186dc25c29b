package components

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// pgbouncerUID is an unprivileged user for PgBouncer, which needs no file it does not read.
const pgbouncerUID = 998

// newPooler is PgBouncer in transaction mode in front of the primary: API and worker pods open
// as many client connections as they like (up to the budget validated in config), the primary
// sees at most replicas x poolSize.
func newPooler(ctx *pulumi.Context, c *Postgres, args *PostgresArgs, primaryHost pulumi.StringOutput, after []pulumi.Resource) (*appsv1.Deployment, error) {
	ns := args.Namespace
	parent := pulumi.Parent(c)
	ini := primaryHost.ApplyT(func(h string) string { return PgBouncerIni(h, args.Pooler) }).(pulumi.StringOutput)
	cm, err := corev1.NewConfigMap(ctx, PostgresPoolerName, &corev1.ConfigMapArgs{
		// Auto-named: a configuration change rolls the pooler.
		Metadata: &metav1.ObjectMetaArgs{Namespace: ns, Labels: labels(ctx, "pooler")},
		Data:     pulumi.StringMap{"pgbouncer.ini": ini},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("pooler: configmap: %w", err)
	}
	affinity, spreadConstraints := spread("pooler", args.Strict)
	deploy, err := appsv1.NewDeployment(ctx, PostgresPoolerName, &appsv1.DeploymentArgs{
		Metadata: objectMeta(ctx, ns, PostgresPoolerName, "pooler"),
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(args.Pooler.Replicas),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: selectorLabels("pooler")},
			Strategy: &appsv1.DeploymentStrategyArgs{
				Type:          pulumi.String("RollingUpdate"),
				RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{MaxUnavailable: pulumi.Int(0), MaxSurge: pulumi.Int(1)},
			},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels(ctx, "pooler")},
				Spec: &corev1.PodSpecArgs{
					AutomountServiceAccountToken: pulumi.Bool(false),
					SecurityContext:              podSecurity(pgbouncerUID, pgbouncerUID),
					Affinity:                     affinity,
					TopologySpreadConstraints:    spreadConstraints,
					// Since PgBouncer 1.23 SIGTERM is a safe shutdown: it stops accepting and waits
					// for the clients it has, which the grace period allows.
					TerminationGracePeriodSeconds: pulumi.Int(60),
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:            pulumi.String("pgbouncer"),
						Image:           pulumi.String(args.Images.PgBouncer),
						Command:         pulumi.StringArray{pulumi.String("pgbouncer"), pulumi.String("/etc/pgbouncer/config/pgbouncer.ini")},
						Ports:           corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("postgresql"), ContainerPort: pulumi.Int(PostgresPort)}},
						Resources:       resources(args.Pooler.Resources),
						SecurityContext: containerSecurity(true),
						ReadinessProbe:  readiness(tcpSocket(PostgresPort)),
						LivenessProbe:   liveness(tcpSocket(PostgresPort)),
						VolumeMounts: corev1.VolumeMountArray{
							readOnlyMount("config", "/etc/pgbouncer/config"),
							readOnlyMount("auth", "/etc/pgbouncer/auth"),
						},
					}},
					Volumes: corev1.VolumeArray{
						&corev1.VolumeArgs{Name: pulumi.String("config"), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{Name: cm.Metadata.Name()}},
						&corev1.VolumeArgs{Name: pulumi.String("auth"), Secret: &corev1.SecretVolumeSourceArgs{
							SecretName: args.Secret,
							Items: corev1.KeyToPathArray{&corev1.KeyToPathArgs{
								Key: pulumi.String(PostgresPoolerUserlistKey), Path: pulumi.String("userlist.txt"),
							}},
						}},
					},
				},
			},
		},
	}, parent, pulumi.DependsOn(after))
	if err != nil {
		return nil, fmt.Errorf("pooler: deployment: %w", err)
	}
	if _, err := service(ctx, c, ns, PostgresPoolerName, "pooler", selectorLabels("pooler"),
		corev1.ServicePortArray{servicePort("postgresql", PostgresPort)}, false); err != nil {
		return nil, err
	}
	if _, err := podDisruptionBudget(ctx, c, ns, PostgresPoolerName, "pooler", selectorLabels("pooler"), oneAtATime); err != nil {
		return nil, err
	}
	return deploy, nil
}
