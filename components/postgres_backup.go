package components

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// postgresBackup is the seed's daily pg_dump (02:00) into the backup claim, from a replica when
// there is one, keeping RetentionDays of dumps. A dump is written under a temporary name and
// renamed when complete, so a failed run never leaves a truncated file that looks good.
func postgresBackup(ctx *pulumi.Context, c *Postgres, args *PostgresArgs, replicaHost, primaryHost pulumi.StringOutput) error {
	b := args.Settings.Backup
	source := primaryHost
	if args.Settings.Replicas > 1 {
		source = replicaHost
	}
	script := fmt.Sprintf(`f="/backup/%[1]s-$(date -u +%%Y%%m%%dT%%H%%M%%SZ).dump"
pg_dump -h "$PGHOST" -p %[2]d -d %[1]s -Fc -f "$f.partial"
mv "$f.partial" "$f"
find /backup -name '%[1]s-*.dump' -mtime +%[3]d -print -delete
find /backup -name '*.partial' -mmin +%[4]d -print -delete
echo "backup written: $f ($(du -h "$f" | cut -f1))"`, PostgresDatabase, PostgresPort, b.RetentionDays, b.DeadlineSeconds/60)
	pod := kube.ScriptPod("postgres-backup", args.Images.PostgresClient, postgresClientUID, script, corev1.EnvVarArray{
		kube.EnvOutput("PGHOST", source),
		kube.Env("PGUSER", "postgres"),
		kube.SecretEnv("PGPASSWORD", args.Secret, PostgresSuperuserPasswordKey),
	}, corev1.VolumeArray{kube.ClaimVolume("backup", args.BackupClaim)}, corev1.VolumeMountArray{kube.Mount("backup", "/backup")})
	pod.PullPolicy = args.Images.PullPolicy
	_, w, err := kube.NewCronJob(ctx, c, args.Namespace, kube.CronJob{
		Job:      kube.Job{Name: PostgresBackupCronJob, Pod: pod, BackoffLimit: 2, DeadlineSeconds: b.DeadlineSeconds},
		Schedule: b.Schedule, TimeZone: b.TimeZone,
	})
	if err != nil {
		return err
	}
	c.add(w)
	return nil
}
