package load

import (
	"regexp"

	"github.com/pynomaly/pynomaly-platform/config"
)

// validateStandby checks a standby stack (postgres.standby), promoted or not: it reads the
// primary's archive through this stack's store, never its own prefix, and logs in with the
// primary's passwords, whose roles it replays (and keeps once promoted).
func validateStandby(s *config.Settings, v *validator) {
	const key = "postgres.standby."
	sb, w := s.Postgres.Standby, s.Postgres.WALArchive
	if !sb.FromPrimary() {
		if sb.FromBucket != "" {
			v.fail(key+"fromBucket", quote(sb.FromBucket), "is only read with postgres.standby.fromNamespace (the primary's namespace); set that, or remove this")
		}
		if sb.Promoted {
			v.fail(key+"promoted", "true", "is only read with postgres.standby.fromNamespace (the primary's namespace): a stack that never was a standby has nothing to promote")
		}
		return
	}
	if !config.DNSLabel.MatchString(sb.FromNamespace) || len(sb.FromNamespace) > 63 {
		v.fail(key+"fromNamespace", quote(sb.FromNamespace), "must be the primary stack's namespace (a DNS label), or empty for no standby")
		return
	}
	if !w.On() {
		v.fail(key+"fromNamespace", quote(sb.FromNamespace),
			"needs postgres.walArchive's store (s3Bucket, gcsBucket or azureContainer): the standby replays the primary's archive through it")
		return
	}
	if s.Postgres.Restore.TargetTime != "" {
		v.fail("postgres.restore.targetTime", quote(s.Postgres.Restore.TargetTime),
			"must be empty while postgres.standby.fromNamespace is set: a cluster bootstraps either as a standby or as a restored copy (Spilo ignores the standby when cloning)")
	}
	if sb.FromBucket != "" && !bucketNamePattern[w.Store()].MatchString(sb.FromBucket) {
		v.fail(key+"fromBucket", quote(sb.FromBucket), "must be a bucket (or Azure container) name of postgres.walArchive's store, or empty for its own bucket")
	}
	if config.PostgresMajor(s.Images.Postgres) == "" {
		v.fail("images.postgres", quote(s.Images.Postgres),
			"must name its PostgreSQL major version as Spilo's images do (spilo-17) while postgres.standby.fromNamespace is set: the primary's archive is kept per major version")
	}
	if sb.FromNamespace == s.Namespace && sb.Source(w) == w {
		v.fail(key+"fromNamespace", quote(sb.FromNamespace),
			"must not be this stack's own namespace while postgres.standby.fromBucket is this stack's bucket: the standby would replay the archive it writes to once promoted")
	}
	for _, c := range []struct {
		key   string
		value config.Credential
	}{
		{"postgresSuperuserPassword", s.Credentials.PostgresSuperuserPassword},
		{"postgresReplicationPassword", s.Credentials.PostgresReplicationPassword},
		{"postgresMonitorPassword", s.Credentials.PostgresMonitorPassword},
	} {
		if c.value == "" && !s.Secrets.IsExternal(c.key) {
			v.fail(c.key, `""`, "must be set (pulumi config set --secret, or from the secret manager: secrets.sources) to the primary stack's value while postgres.standby.fromNamespace is set: "+
				"the standby replays the primary's roles, so Patroni, its replicas and the metrics exporter log in with the primary's passwords (docs/disaster-recovery.md)")
		}
	}
}

// bucketNamePattern is each store's bucket (Azure: container) name.
var bucketNamePattern = map[string]*regexp.Regexp{
	config.StoreS3: s3Bucket, config.StoreGCS: gcsBucket, config.StoreAzure: azureContainer,
}
