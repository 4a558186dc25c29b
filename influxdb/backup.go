package influxdb

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// BackupCronJob backs InfluxDB up (influxdb.backup).
const BackupCronJob = "pynomaly-influxdb-backup"

// BackupScript is one run of InfluxDB's backup: `influx backup` over the API (every
// bucket, its metadata and the tasks) into a directory named by the UTC time, written as
// "<time>.partial" and renamed once complete; what a failed run left and backups past the
// retention go first (the newest kept whatever its age), as for the database's dumps. The
// token comes from INFLUX_TOKEN, never an argument. It reads INFLUX_HOST, INFLUX_TOKEN,
// BACKUP_DIR and RETENTION_DAYS. RestoreScript restores one.
//
// It shares two parts with postgres.BackupScript. backup/prune.sh enters BACKUP_DIR and removes
// what a failed run left and the backups (directories named by their UTC time) older than
// RETENTION_DAYS, the newest whatever its age, before the new backup needs the space: a full
// volume recovers by itself; LEGACY names one more pattern of old backups to prune (the
// database's dumps of an older layout). backup/keep.sh renames the run's complete backup
// $stamp.partial to $stamp and says where it is.
var BackupScript = tier.Fill(assets.ScriptTemplate("backup.sh.tmpl"), nil)

// RestoreScript restores a backup of BackupScript, RESTORE_FROM or the newest
// complete one, with `influx restore --full`: every bucket, the tasks and the metadata (users
// and tokens too) replace what the server holds. A server that lost its volume onboarded itself
// at start with the credentials Secret's token (OnboardHook), which the restore uses. It
// reads what the backup does (scripts/restore.sh --influxdb makes the Job, with cmd/restorejob).
var RestoreScript = assets.Script("restore.sh")

// BackupsKind is where the backups' copies are in the WAL archive's bucket:
// pynomaly-influxdb-backups/<namespace>/.
const BackupsKind = "pynomaly-influxdb-backups"

// influxDBBackup is the daily backup into the backup claim, under influxdb/, and its copy off the
// cluster where the stack names a bucket (tier.CopyOffCluster), kept as long as the backups. The
// pod runs in the claim's group (that of the database's backup job), so the kubelet never
// re-groups the volume between the two jobs and each one's files (umask 077) stay its own.
func influxDBBackup(ctx *pulumi.Context, c *InfluxDB, args *Args) error {
	_, w, err := kube.NewCronJob(ctx, c, args.Namespace, backupCronJob(args, c.URL))
	if err != nil {
		return err
	}
	c.Add(w)
	return nil
}

// backupCronJob is the backup's CronJob; url is InfluxDB's once its Service is declared.
func backupCronJob(args *Args, url pulumi.StringInput) kube.CronJob {
	b := args.Settings.Backup
	pod := kube.ScriptPod("influxdb-backup", args.Image, tier.JobResources, influxUID, BackupScript, corev1.EnvVarArray{
		kube.EnvOutput("INFLUX_HOST", url),
		kube.SecretEnv("INFLUX_TOKEN", args.Secret, credentials.InfluxDBAdminTokenKey),
		kube.Env("INFLUX_CONFIGS_PATH", "/tmp/influx-configs"),
		kube.Env("BACKUP_DIR", influxDBBackupDir),
		kube.Env("RETENTION_DAYS", fmt.Sprint(b.RetentionDays)),
	}, corev1.VolumeArray{kube.ClaimVolume("backup", args.BackupClaim)}, corev1.VolumeMountArray{kube.Mount("backup", tier.BackupMountPath)})
	pod.GID = tier.BackupClaimGID
	influxCLITrust(&pod, args.TLS)
	tier.CopyOffCluster(&pod, args.Store, tier.OffCluster{Kind: BackupsKind, Volume: "backup", MountPath: tier.BackupMountPath,
		Dir: influxDBBackupDir, Newest: true, RetentionDays: b.RetentionDays})
	return kube.CronJob{
		Job:      kube.Job{Name: BackupCronJob, Pod: pod, BackoffLimit: 2, DeadlineSeconds: 3 * 3600},
		Schedule: b.Schedule, TimeZone: "Etc/UTC",
	}
}

// influxCLITrust makes the influx CLI (Go) of a job trust the internal CA, where InfluxDB serves
// https: the CA bundle mounted and named by SSL_CERT_FILE.
func influxCLITrust(pod *kube.Pod, tls bool) {
	if !tls {
		return
	}
	tier.MountCA(pod, true)
	pod.Containers[0].Env = append(pod.Containers[0].Env, kube.Env("SSL_CERT_FILE", tier.CAFile))
}

// Where the backup claim is mounted, and the directories of the two backups on it.
const (
	influxDBBackupDir = tier.BackupMountPath + "/influxdb"
)
