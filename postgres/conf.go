package postgres

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Parameters is the PostgreSQL tuning of a cluster. Memory settings scale with the
// container's memory limit, so every environment gets the seed's proportions; prod (8Gi) gets
// the seed's numbers exactly: shared_buffers 2GB (25%), work_mem 32MB, maintenance_work_mem 512MB.
func Parameters(p config.Postgres) map[string]string {
	limit := resource.MustParse(p.Resources.MemoryLimit)
	limitMB := limit.Value() / (1 << 20)
	mb := func(v int64) string { return fmt.Sprintf("%dMB", max(v, 1)) }
	params := map[string]string{
		"max_connections":      fmt.Sprint(p.MaxConnections),
		"shared_buffers":       mb(limitMB / 4),
		"effective_cache_size": mb(limitMB * 3 / 4),
		"work_mem":             mb(limitMB / 256),
		"maintenance_work_mem": mb(limitMB / 16),
		// Replication for Patroni's replicas and for pg_basebackup-based reinitialisation.
		"wal_level":             "replica",
		"hot_standby":           "on",
		"max_wal_senders":       "10",
		"max_replication_slots": "10",
		"wal_log_hints":         "on",
		"password_encryption":   "scram-sha-256",
		// Slow statements are the first thing anyone asks about an anomaly-detection API.
		"log_min_duration_statement": "1000",
		"log_checkpoints":            "on",
		"log_lock_waits":             "on",
	}
	if p.WALArchive.S3Bucket != "" {
		// Every finished WAL segment is archived (Spilo sets archive_command to WAL-G's
		// wal-push), and one is finished at least this often, which bounds the recovery point.
		params["archive_mode"] = "on"
		params["archive_timeout"] = fmt.Sprint(p.WALArchive.TimeoutSeconds)
	}
	return params
}

// RecoveryParameters are what a point-in-time restore sets: WAL fetched with
// restoreCommand and replayed up to target (the zero time: to the end of the archive), on the
// newest timeline, then the server promoted. They are Spilo's recovery settings for its clone
// from WAL-G (bootstrap.clone_with_wale's recovery_conf, from restoreEnv's CLONE_TARGET_TIME),
// with restoreCommand standing in for Spilo's WAL-G fetch wherever WAL is archived elsewhere
// (the unit suite's local archive).
func RecoveryParameters(restoreCommand string, target time.Time) map[string]string {
	params := map[string]string{
		"restore_command":          restoreCommand,
		"recovery_target_timeline": "latest",
		"recovery_target_action":   "promote",
	}
	if !target.IsZero() {
		params["recovery_target_time"] = RecoveryTargetTime(target)
	}
	return params
}

// RecoveryTargetTime is a recovery target as PostgreSQL and Spilo's clone both read it: UTC to
// the microsecond (PostgreSQL's resolution), with its zone, which Spilo requires.
func RecoveryTargetTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.000000") + "+00"
}

// TLSParameters turn TLS on with the server's cert-manager certificate: TLS 1.2 at
// least, and the CA for the replicas that present their own certificates.
func TLSParameters() map[string]string {
	return map[string]string{
		"ssl":                      "on",
		"ssl_cert_file":            tier.ServerTLSMountPath + "/tls.crt",
		"ssl_key_file":             tier.ServerTLSMountPath + "/tls.key",
		"ssl_ca_file":              tier.ServerTLSMountPath + "/ca.crt",
		"ssl_min_protocol_version": "TLSv1.2",
	}
}

// HBA are the client authentication rules with TLS on: the pod's own socket (Patroni,
// Spilo's scripts) is trusted as Spilo has it; every TCP connection, replication and loopback
// included, must use TLS: a plain one is refused before a password is asked for.
func HBA() []string {
	return []string{
		"local all all trust",
		"local replication standby trust",
		"hostnossl all all all reject",
		"hostnossl replication all all reject",
		"hostssl replication standby all md5",
		"hostssl all all all md5",
	}
}

// RenderConf writes parameters in postgresql.conf syntax, sorted, one per line.
func RenderConf(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = '%s'\n", k, strings.ReplaceAll(params[k], "'", "''"))
	}
	return b.String()
}

// PgBouncerIni is the pooler's configuration: transaction pooling, the pool size that the
// connection budget in config allows, and the user list from the secrets tier. Without TLS the
// pooler asks PostgreSQL for TLS with Spilo's own self-signed certificate, unverified. With it,
// clients must use TLS and get the pooler's certificate; the pooler verifies PostgreSQL's
// against the CA and its name against the host it dials.
func PgBouncerIni(primaryHost string, pooler config.Pooler, tls bool) string {
	return tier.Fill(pgbouncerTemplate, map[string]any{
		"Database": Database, "Host": primaryHost, "Port": Port, "AuthFile": pgbouncerUserlistPath,
		"PoolSize": pooler.PoolSize, "MaxClientConnections": pooler.MaxClientConnections,
		"TLS": tls, "TLSDir": tier.ServerTLSMountPath,
	})
}

var pgbouncerTemplate = assets.ConfigTemplate("pgbouncer.ini.tmpl")

const pgbouncerUserlistPath = "/etc/pgbouncer/auth/userlist.txt"
