package postgres

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// BackupScript is one run of the nightly backup: the database as a custom-format dump
// and the roles and other globals (without password hashes: the secrets tier and the setup job
// own the passwords), written into a directory named by the UTC time and renamed from
// "<time>.partial" only once pg_restore has read the dump back. What an earlier failed run left
// is removed first, and so are backups past the retention, before the new dump needs the space,
// so a full volume recovers; the newest backup is kept whatever its age. It reads PGHOST, PGPORT,
// PGUSER, PGPASSWORD, PGDATABASE, BACKUP_DIR and RETENTION_DAYS from its environment. It
// shares its pruning and its last step with influxdb.BackupScript.
var BackupScript = tier.Fill(assets.ScriptTemplate("backup.sh.tmpl"), nil)

// RestoreScript restores a backup of BackupScript into the database PGDATABASE
// of the server PGHOST, which the program's setup job has made (role and database exist): the
// globals first (roles that exist are kept), then the dump, each object dropped and re-created.
// RESTORE_FROM names the backup (a directory in BACKUP_DIR); empty means the newest one.
// scripts/restore.sh runs it as a Job made from the backup CronJob's pod.
var RestoreScript = assets.Script("restore.sh")

// postgresBackup is the seed's daily backup (02:00) into the backup claim, from a replica when
// there is one (BackupScript).
func postgresBackup(ctx *pulumi.Context, c *Postgres, args *Args, replicaHost, primaryHost pulumi.StringInput) error {
	_, w, err := kube.NewCronJob(ctx, c, args.Namespace, backupCronJob(args, replicaHost, primaryHost))
	if err != nil {
		return err
	}
	c.Add(w)
	return nil
}

// backupCronJob is the backup's CronJob; replicaHost and primaryHost are the Services' once
// declared.
func backupCronJob(args *Args, replicaHost, primaryHost pulumi.StringInput) kube.CronJob {
	b := args.Settings.Backup
	source := primaryHost
	if args.Settings.Replicas > 1 {
		source = replicaHost
	}
	pod := kube.ScriptPod("postgres-backup", args.Images.PostgresClient, tier.JobResources, ClientUID, BackupScript, corev1.EnvVarArray{
		kube.EnvOutput("PGHOST", source),
		kube.Env("PGPORT", fmt.Sprint(Port)),
		kube.Env("PGUSER", "postgres"),
		kube.SecretEnv("PGPASSWORD", args.Secret, credentials.PostgresSuperuserPasswordKey),
		kube.Env("PGDATABASE", Database),
		kube.Env("BACKUP_DIR", postgresBackupDir),
		kube.Env("RETENTION_DAYS", fmt.Sprint(b.RetentionDays)),
	}, corev1.VolumeArray{kube.ClaimVolume("backup", args.BackupClaim)}, corev1.VolumeMountArray{kube.Mount("backup", postgresBackupDir)})
	tier.TrustInternalCA(&pod, args.TLS)
	copyDumpOffCluster(&pod, args)
	return kube.CronJob{
		Job:      kube.Job{Name: BackupCronJob, Pod: pod, BackoffLimit: 2, DeadlineSeconds: b.DeadlineSeconds},
		Schedule: b.Schedule, TimeZone: b.TimeZone,
	}
}

// DumpCopyScript copies the newest complete backup of BackupScript off the cluster: the shared
// copy (tier.CopyScript), which the backup pod runs in the Spilo image, whose WAL-G the dump image
// lacks. A lost cluster so keeps its dumps.
var DumpCopyScript = tier.CopyScript

// DumpsKind is where the dumps' copies are in the WAL archive's bucket: pynomaly-dumps/<namespace>/.
const DumpsKind = "pynomaly-dumps"

// copyDumpOffCluster makes the backup pod copy its newest dump to the WAL archive's store, where
// there is one, once the dump is done, and keep as many days of copies as of dumps.
func copyDumpOffCluster(pod *kube.Pod, args *Args) {
	tier.CopyOffCluster(pod, args.Store, tier.OffCluster{Kind: DumpsKind, Volume: "backup", MountPath: postgresBackupDir,
		Dir: postgresBackupDir, Newest: true, RetentionDays: args.Settings.Backup.RetentionDays})
}

// postgresBackupDir is where the dumps are: the backup claim's top directory.
const postgresBackupDir = tier.BackupMountPath
