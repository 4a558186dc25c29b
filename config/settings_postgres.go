package config

import (
	"net/url"
	"strconv"
	"time"

	"github.com/pynomaly/pynomaly-platform/internal/sizing"
)

// Postgres is the PostgreSQL cluster: Patroni-managed instances, their tuning and backups.
type Postgres struct {
	StatefulTier
	// MaxConnections is max_connections; the pooler's server connections must fit in it.
	MaxConnections int `json:"maxConnections"`
	// SynchronousMode is Patroni's synchronous_mode: a commit returns only once a replica has
	// it, and only that replica may be promoted, so a failover loses no committed transaction.
	// A primary left without a healthy replica goes on alone (not strict), so a lost replica
	// never stops writes.
	SynchronousMode bool            `json:"synchronousMode"`
	Backup          PostgresBackup  `json:"backup"`
	WALArchive      WALArchive      `json:"walArchive"`
	Restore         PostgresRestore `json:"restore"`
	Standby         PostgresStandby `json:"standby"`
}

// PostgresStandby makes the cluster a standby of another stack's (a disaster-recovery stack in
// another region): Patroni's standby cluster, as Spilo configures it from STANDBY_ variables,
// bootstraps from the primary's newest base backup and replays its archive continuously.
// Its data are read-only and the application's writers are stopped. Promoted (pulumi config set
// --path postgres.standby.promoted true; pulumi up), the setup job ends the standby in Patroni's
// dynamic configuration, the writers start and the cluster archives to its own prefix; its pods
// keep their variables, so none restarts and the replay reaches the archive's end first.
type PostgresStandby struct {
	// FromNamespace is the namespace of the primary stack whose archive is replayed (WAL-G's
	// path holds it); empty: not a standby.
	FromNamespace string `json:"fromNamespace"`
	// FromBucket is the bucket (S3, GCS) or container (Azure) the primary archives to, read
	// with this stack's postgres.walArchive store, region, endpoint and credentials: in another
	// region, the replica of the primary's bucket there. Empty: this stack's own bucket.
	FromBucket string `json:"fromBucket"`
	// Promoted ends the standby: the cluster takes writes and the stack is an ordinary primary
	// (one that came from FromNamespace's archive, whose passwords it keeps).
	Promoted bool `json:"promoted"`
}

// On says whether the cluster is a standby now.
func (s PostgresStandby) On() bool { return s.FromPrimary() && !s.Promoted }

// FromPrimary says whether the cluster is, or was until promoted, a standby of another stack's:
// its pods keep the STANDBY_ variables either way (removing them restarts every pod, and a pod
// restarted before the promotion could no longer replay what the archive still holds).
func (s PostgresStandby) FromPrimary() bool { return s.FromNamespace != "" }

// Source is the WAL archive the standby replays: w with the primary's bucket.
func (s PostgresStandby) Source(w WALArchive) WALArchive {
	if s.FromBucket == "" {
		return w
	}
	switch w.Store() {
	case StoreS3:
		w.S3Bucket = s.FromBucket
	case StoreGCS:
		w.GCSBucket = s.FromBucket
	case StoreAzure:
		w.AzureContainer = s.FromBucket
	}
	return w
}

// PostgresRestore makes a new cluster start as a point-in-time copy of one whose WAL was
// archived to postgres.walArchive's bucket: Spilo's clone from WAL-G (CLONE_METHOD
// CLONE_WITH_WALE) fetches the newest base backup before TargetTime and replays the archived
// WAL up to it. Only a cluster without data bootstraps; an existing one ignores it.
type PostgresRestore struct {
	// TargetTime is the point to recover to, RFC 3339 with its zone, or "latest": everything
	// archived (after a lost cluster); empty: no restore.
	TargetTime string `json:"targetTime"`
	// FromNamespace is the namespace of the stack whose archive is read (WAL-G's path holds
	// it); empty: this stack's own.
	FromNamespace string `json:"fromNamespace"`
}

// LatestTarget is the restore target "everything archived".
const LatestTarget = "latest"

// Target is TargetTime parsed: the zero time for LatestTarget; ok is false when it is neither.
func (r PostgresRestore) Target() (t time.Time, ok bool) {
	if r.TargetTime == LatestTarget {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, r.TargetTime)
	return t, err == nil
}

// PostgresBackup is the daily logical backup to the backup claim.
type PostgresBackup struct {
	// Schedule is a cron expression (the seed: 02:00 daily), in TimeZone.
	Schedule string `json:"schedule"`
	TimeZone string `json:"timeZone"`
	// RetentionDays is how many days of dumps are kept.
	RetentionDays int `json:"retentionDays"`
	// DeadlineSeconds bounds one backup run; a stuck pg_dump is killed and reported.
	DeadlineSeconds int `json:"deadlineSeconds"`
}

// WALArchive is continuous WAL archiving to object storage (WAL-G), for a recovery point of
// minutes rather than a day. Off until one store is named: an S3 bucket (AWS, or an
// S3-compatible store at Endpoint), a GCS bucket, or an Azure Blob container.
type WALArchive struct {
	// S3Bucket is the S3 bucket WAL is archived to. Archiving is required in prod (the seed's
	// recovery point of 15 minutes), with network.objectStorageCidrs.
	S3Bucket string `json:"s3Bucket"`
	// Region is the S3 bucket's region.
	Region string `json:"region"`
	// Endpoint is for S3-compatible stores (MinIO, Ceph); empty means AWS.
	Endpoint string `json:"endpoint"`
	// GCSBucket is the Google Cloud Storage bucket WAL is archived to (kubernetes.cloud gcp).
	GCSBucket string `json:"gcsBucket"`
	// AzureContainer is the Azure Blob Storage container WAL is archived to (kubernetes.cloud
	// azure), in AzureStorageAccount.
	AzureContainer string `json:"azureContainer"`
	// AzureStorageAccount is the storage account that holds AzureContainer.
	AzureStorageAccount string `json:"azureStorageAccount"`
	// CredentialsSecret names an existing Secret with the store's keys: AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY (S3), GOOGLE_APPLICATION_CREDENTIALS_JSON (a service account key, GCS)
	// or AZURE_STORAGE_ACCESS_KEY (Azure); empty means workload identity (identity.objectStorage).
	CredentialsSecret string `json:"credentialsSecret"`
	// TimeoutSeconds forces a WAL segment switch at least this often (archive_timeout), which
	// bounds the data a lost cluster can lose.
	TimeoutSeconds int `json:"timeoutSeconds"`
	// BaseBackupSchedule is when Spilo pushes a base backup (BACKUP_SCHEDULE, a cron schedule
	// in UTC); a restore replays the WAL written since the last one, so its spacing bounds the
	// replay time of a point-in-time restore.
	BaseBackupSchedule string `json:"baseBackupSchedule"`
	// RetentionDays keeps at least this many base backups and every one younger than this many
	// days, with the WAL to replay them (Spilo's BACKUP_NUM_TO_RETAIN is both): the window a
	// point-in-time restore can reach back into.
	RetentionDays int `json:"retentionDays"`
}

// MaxArchiveTimeoutSeconds bounds archive_timeout: a segment is shipped at least every five
// minutes, well inside the seed's recovery point of 15.
const MaxArchiveTimeoutSeconds = 300

// Pooler is PgBouncer in front of PostgreSQL.
type Pooler struct {
	// Replicas are the pooler's pods.
	Replicas int `json:"replicas"`
	// PoolSize is the server connections each pooler pod opens to the primary.
	PoolSize int `json:"poolSize"`
	// MaxClientConnections is how many clients each pooler pod accepts.
	MaxClientConnections int `json:"maxClientConnections"`
	// Resources are each pooler pod's requests and limits.
	Resources sizing.Resources `json:"resources"`
}

// ReservedConnections of max_connections stay out of the pooler's reach: superuser reserve,
// Patroni, the metrics exporter, backups and setup jobs.
const ReservedConnections = 20

// On says whether WAL is archived: a store is named.
func (w WALArchive) On() bool { return w.Store() != "" }

// Store is the object store named (StoreS3, StoreGCS or StoreAzure), or "" for none. Validation
// refuses more than one.
func (w WALArchive) Store() string {
	switch {
	case w.S3Bucket != "":
		return StoreS3
	case w.GCSBucket != "":
		return StoreGCS
	case w.AzureContainer != "":
		return StoreAzure
	}
	return ""
}

// StorePort is the port WAL-G reaches its object store on: the endpoint's own, or HTTP's or
// HTTPS's by its scheme (the clouds' stores: HTTPS); 0 while archiving is off.
func (w WALArchive) StorePort() int {
	if !w.On() {
		return 0
	}
	return URLPort(w.Endpoint)
}

// URLPort is the port a URL names, or its scheme's: 80 for http, 443 for https and for a URL
// that does not parse (or is empty).
func URLPort(raw string) int {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return 443
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "http" {
		return 80
	}
	return 443
}

// The seed's backup (daily at 02:00 UTC) and WAL archiving defaults; retention is per profile.
func backup(retentionDays int) PostgresBackup {
	return PostgresBackup{Schedule: "0 2 * * *", TimeZone: "Etc/UTC", RetentionDays: retentionDays, DeadlineSeconds: 3 * 3600}
}

// WAL archiving, where a stack names a bucket: a segment shipped at least every five minutes;
// base backups daily at 01:00 UTC (before the dump) and kept as long as the dumps, except in
// prod, where one every twelve hours halves the WAL a point-in-time restore replays (the seed's
// RTO is one hour) and two weeks of them make the window the dumps have.
func walArchive(schedule string, retentionDays int) WALArchive {
	return WALArchive{TimeoutSeconds: MaxArchiveTimeoutSeconds, BaseBackupSchedule: schedule, RetentionDays: retentionDays}
}

// postgresDefaults are PostgreSQL's per environment. prod has the seed's tuning: max_connections
// 500, shared_buffers 2GB = 25% of an 8Gi limit. Synchronous replication from staging on: the
// failover drill measured its cost on a commit (docs/availability.md) and a failover then loses
// no committed transaction.
func postgresDefaults(env Environment) Postgres {
	return byEnv(env,
		Postgres{StatefulTier: StatefulTier{Replicas: 1, Resources: resDisk("100m", "256Mi", "500m", "1Gi", postgresDisk), StorageSize: "10Gi"},
			MaxConnections: 100, Backup: backup(3), WALArchive: walArchive("0 1 * * *", 3)},
		Postgres{StatefulTier: StatefulTier{Replicas: 2, Resources: resDisk("250m", "1Gi", "1", "2Gi", postgresDisk), StorageSize: "50Gi"},
			MaxConnections: 200, SynchronousMode: true, Backup: backup(7), WALArchive: walArchive("0 1 * * *", 7)},
		Postgres{StatefulTier: StatefulTier{Replicas: 3, Resources: resDisk("1", "4Gi", "2", "8Gi", postgresDisk), StorageSize: "200Gi"},
			MaxConnections: 500, SynchronousMode: true, Backup: backup(14), WALArchive: walArchive("0 1,13 * * *", 14)})
}

// poolerDefaults are PgBouncer's per environment. prod: 3 x 150 server connections + 20
// reserved = 470 of 500; 3 x 1000 clients hold 100 API pods x 10 + 50 workers x 5 = 1250 even
// with a pooler pod down.
func poolerDefaults(env Environment) Pooler {
	return byEnv(env,
		Pooler{Replicas: 1, PoolSize: 50, MaxClientConnections: 200, Resources: res("25m", "32Mi", "100m", "64Mi")},
		Pooler{Replicas: 2, PoolSize: 80, MaxClientConnections: 500, Resources: res("50m", "32Mi", "250m", "128Mi")},
		Pooler{Replicas: 3, PoolSize: 150, MaxClientConnections: 1000, Resources: res("100m", "64Mi", "500m", "256Mi")})
}

// Spilo's root is writable: its start-up writes Patroni's configuration, the archiving
// environment and its own logs there.
var postgresDisk = disk{"256Mi", "2Gi"}
