package monitoring

import (
	"slices"
	"strings"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/foundation"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
)

// RunbookBase is where every alert's runbook lives: a page of its own, docs/runbooks/<AlertName>.md
// in the repository.
const RunbookBase = "https://github.com/pynomaly/pynomaly-platform/blob/main/docs/runbooks/"

// Severities of the platform's alerts. A critical alert pages; a warning goes to the team's
// channel, and is silenced while a critical alert fires for the same target.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
)

// AlertRule is one Prometheus alerting rule.
type AlertRule struct {
	Name     string
	Expr     string
	For      string
	Severity string
	// Summary and Description are Go templates over the alert's $labels and $value.
	Summary, Description string
}

// Runbook is the page that says what to do when the alert fires.
func (r AlertRule) Runbook() string { return RunbookBase + r.Name + ".md" }

// AlertRules are the platform's alerts: the seed's (crash loops and restarts, CPU and memory
// near their limits, database connection failures, slow API responses, full volumes) and what an
// operator of this platform also needs (backups, WAL archiving where it is on, Patroni, the
// queue's memory, autoscaling at its ceiling, certificates). Every selector is limited to the
// namespace: a cluster's Prometheus (operator mode) stores every namespace's series. The API's
// objectives add their burn-rate alerts (slo.go).
func AlertRules(namespace string, db Database, slo config.SLO) []AlertRule {
	rules := append(slices.Clone(platformRules), sloRules(slo)...)
	switch {
	case db.Standby:
		// Every member is a replica and none archives: the replay's own lag is what counts.
		rules = slices.DeleteFunc(rules, func(r AlertRule) bool { return primaryRules[r.Name] })
		rules = append(rules, standbyReplayRule)
	case db.WALArchiving:
		rules = append(rules, walArchiveRule)
	}
	for i := range rules {
		rules[i].Expr = strings.ReplaceAll(rules[i].Expr, "{NS", `{namespace="`+namespace+`"`)
	}
	return rules
}

// Database says which PostgreSQL rules apply: WAL archiving's where it is on, and a standby
// cluster's (postgres.standby) instead of a primary's.
type Database struct {
	WALArchiving, Standby bool
}

// primaryRules hold for a cluster with a primary only: a standby has none, and its members lag
// behind the other region's primary by design.
var primaryRules = map[string]bool{"PynomalyPatroniNoLeader": true, "PynomalyPostgresReplicationLag": true}

// standbyReplayRule watches a standby cluster replaying the primary's archive: the newest
// transaction its most current member has replayed is older than the seed's recovery point of 15
// minutes. The archive delivers a segment at least every archive_timeout (at most 300 s) while
// the primary writes, so this is the archive, its copy to this region or the replay stuck. A
// primary that writes nothing for 15 minutes looks the same (the lag counts from the last replayed
// transaction).
var standbyReplayRule = AlertRule{
	Name:        "PynomalyStandbyReplayLagging",
	Expr:        `min(pg_replication_lag_seconds{NS,component="postgres"}) > 900`,
	For:         "5m",
	Severity:    SeverityCritical,
	Summary:     "The standby cluster has replayed nothing newer than {{ $value | humanizeDuration }} ago",
	Description: "The standby's newest replayed transaction is older than 15 minutes, the recovery point a promotion now would have.",
}

// platformRules are the rules of every stack, each expression's label matchers opened with {NS
// for AlertRules to scope to the namespace.
var platformRules = []AlertRule{
	{
		Name:        "PynomalyPodCrashLooping",
		Expr:        `max by (namespace, pod, container) (kube_pod_container_status_waiting_reason{NS,reason="CrashLoopBackOff"}) == 1`,
		For:         "5m",
		Severity:    SeverityCritical,
		Summary:     "Container {{ $labels.container }} of {{ $labels.pod }} is crash-looping",
		Description: "The container has been waiting in CrashLoopBackOff for 5 minutes.",
	},
	{
		Name:        "PynomalyPodRestartingOften",
		Expr:        `increase(kube_pod_container_status_restarts_total{NS}[30m]) > 3`,
		For:         "5m",
		Severity:    SeverityWarning,
		Summary:     "Container {{ $labels.container }} of {{ $labels.pod }} restarted {{ $value | printf \"%.0f\" }} times in 30 minutes",
		Description: "More than 3 restarts in 30 minutes, for 5 minutes.",
	},
	{
		Name: "PynomalyContainerCPUHigh",
		Expr: `sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{NS,container!=""}[5m]))` +
			` / sum by (namespace, pod, container) (kube_pod_container_resource_limits{NS,resource="cpu"}) > 0.9`,
		For:         "5m",
		Severity:    SeverityWarning,
		Summary:     "Container {{ $labels.container }} of {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its CPU limit",
		Description: "Above 90% of the CPU limit for 5 minutes: it is being throttled.",
	},
	{
		Name: "PynomalyContainerMemoryHigh",
		Expr: `sum by (namespace, pod, container) (container_memory_working_set_bytes{NS,container!=""})` +
			` / sum by (namespace, pod, container) (kube_pod_container_resource_limits{NS,resource="memory"}) > 0.9`,
		For:         "5m",
		Severity:    SeverityWarning,
		Summary:     "Container {{ $labels.container }} of {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its memory limit",
		Description: "Above 90% of the memory limit for 5 minutes: it is close to being OOM-killed.",
	},
	{
		Name:        "PynomalyPostgresConnectionFailing",
		Expr:        `pg_up{NS} == 0`,
		For:         "2m",
		Severity:    SeverityCritical,
		Summary:     "PostgreSQL on {{ $labels.pod }} refuses connections",
		Description: "The metrics exporter next to the server has not been able to connect for 2 minutes.",
	},
	{
		Name:        "PynomalyRedisConnectionFailing",
		Expr:        `redis_up{NS} == 0`,
		For:         "2m",
		Severity:    SeverityCritical,
		Summary:     "Redis on {{ $labels.pod }} refuses connections",
		Description: "The metrics exporter next to the server has not been able to connect for 2 minutes.",
	},
	{
		Name: "PynomalyAPISlow",
		Expr: `sum(rate(http_request_duration_seconds_sum{NS,component="api"}[5m]))` +
			` / sum(rate(http_request_duration_seconds_count{NS,component="api"}[5m])) > 2`,
		For:         "5m",
		Severity:    SeverityWarning,
		Summary:     "The API answers in {{ $value | humanizeDuration }} on average",
		Description: "The mean response time has been above 2 s for 5 minutes.",
	},
	{
		Name:        "PynomalyVolumeAlmostFull",
		Expr:        `kubelet_volume_stats_used_bytes{NS} / kubelet_volume_stats_capacity_bytes{NS} > 0.9`,
		For:         "5m",
		Severity:    SeverityWarning,
		Summary:     "Volume {{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full",
		Description: "Above 90% for 5 minutes.",
	},
	{
		Name: "PynomalyBackupFailed",
		Expr: `kube_job_status_failed{NS,job_name=~"(` + postgres.BackupCronJob + `|` + influxdb.BackupCronJob + `|` +
			app.ModelsBackupCronJob + `|` + foundation.VolumeSnapshotsCronJob + `)-.*"} > 0`,
		For:         "1m",
		Severity:    SeverityCritical,
		Summary:     "Backup {{ $labels.job_name }} failed",
		Description: "The backup job (database dump, InfluxDB backup, model files or volume snapshots, with their copies off the cluster) ran out of retries or time.",
	},
	{
		Name: "PynomalyBackupMissing",
		// A CronJob that never succeeded has no last successful time: its age counts instead.
		Expr: `(time() - max(kube_cronjob_status_last_successful_time{NS,cronjob="` + postgres.BackupCronJob + `"}) > 26 * 3600)` +
			` or (time() - max(kube_cronjob_created{NS,cronjob="` + postgres.BackupCronJob + `"}) > 26 * 3600` +
			` unless on() max(kube_cronjob_status_last_successful_time{NS,cronjob="` + postgres.BackupCronJob + `"}))`,
		For:         "10m",
		Severity:    SeverityCritical,
		Summary:     "No successful database backup for {{ $value | humanizeDuration }}",
		Description: "The daily backup has not succeeded for more than 26 hours, or not once in the 26 hours since it was created.",
	},
	{
		Name:        "PynomalyPatroniNoLeader",
		Expr:        `sum(1 - pg_replication_is_replica{NS,component="postgres"}) < 1`,
		For:         "2m",
		Severity:    SeverityCritical,
		Summary:     "The PostgreSQL cluster has no primary",
		Description: "No instance has been the Patroni leader for 2 minutes: writes fail.",
	},
	{
		Name:        "PynomalyPostgresReplicationLag",
		Expr:        `pg_replication_lag_seconds{NS,component="postgres"} > 60`,
		For:         "5m",
		Severity:    SeverityWarning,
		Summary:     "Replica {{ $labels.pod }} is {{ $value | humanizeDuration }} behind the primary",
		Description: "Replication lag above 60 s for 5 minutes: a failover now would lose that much.",
	},
	{
		Name:        "PynomalyQueueRedisNearMaxmemory",
		Expr:        `redis_memory_used_bytes{NS,component="redis-queue"} / (redis_memory_max_bytes{NS,component="redis-queue"} > 0) > 0.9`,
		For:         "5m",
		Severity:    SeverityCritical,
		Summary:     "The queue Redis {{ $labels.pod }} uses {{ $value | humanizePercentage }} of maxmemory",
		Description: "The queue runs with noeviction: at maxmemory every write, so every new task, fails.",
	},
	{
		Name: "PynomalyQueueDepthGrowing",
		Expr: `max without (pod, instance) (deriv(redis_key_size{NS,component="redis-queue",key="` + redis.TaskQueueName + `"}[15m])) > 0` +
			` and max without (pod, instance) (redis_key_size{NS,component="redis-queue",key="` + redis.TaskQueueName + `"}) > 100`,
		For:         "15m",
		Severity:    SeverityWarning,
		Summary:     "{{ $value | printf \"%.0f\" }} tasks wait in the queue, and more every minute",
		Description: "The task queue has held more than 100 tasks and grown for 15 minutes: the workers do not keep up.",
	},
	{
		Name:        "PynomalyHPAAtMaximum",
		Expr:        `kube_horizontalpodautoscaler_status_current_replicas{NS} >= kube_horizontalpodautoscaler_spec_max_replicas{NS}`,
		For:         "15m",
		Severity:    SeverityWarning,
		Summary:     "{{ $labels.horizontalpodautoscaler }} has run at its maximum replicas for 15 minutes",
		Description: "Demand may exceed what the autoscaler may add.",
	},
	{
		Name:        "PynomalyCertificateExpiring",
		Expr:        `certmanager_certificate_expiration_timestamp_seconds{NS} - time() < 14 * 86400`,
		For:         "1h",
		Severity:    SeverityWarning,
		Summary:     "Certificate {{ $labels.name }} expires in {{ $value | humanizeDuration }}",
		Description: "cert-manager renews 30 days ahead; a certificate this close to expiry is not being renewed.",
	},
	{
		Name:        "PynomalyTargetDown",
		Expr:        `up{NS} == 0`,
		For:         "5m",
		Severity:    SeverityWarning,
		Summary:     "{{ $labels.job }} target {{ $labels.instance }} is down",
		Description: "Prometheus has not been able to scrape it for 5 minutes.",
	},
}

// walArchiveRule watches continuous WAL archiving on the primary, from postgres_exporter's
// pg_stat_archiver metrics (on by default): archiving failing (attempts fail and none succeeds),
// or the newest archived segment older than 15 minutes, the seed's recovery point. Replicas do
// not archive (their last_archive_age is empty), so only the primary counts. Without archiving
// Spilo's archive_command succeeds doing nothing, so the rule is left out then.
var walArchiveRule = AlertRule{
	Name: "PynomalyWALArchivingFailing",
	Expr: `((increase(pg_stat_archiver_failed_count{NS,component="postgres"}[10m]) > 0` +
		` unless on (pod) increase(pg_stat_archiver_archived_count{NS,component="postgres"}[10m]) > 0)` +
		` or pg_stat_archiver_last_archive_age{NS,component="postgres"} > 900)` +
		` and on (pod) pg_replication_is_replica{NS,component="postgres"} == 0`,
	For:         "2m",
	Severity:    SeverityCritical,
	Summary:     "WAL archiving of {{ $labels.pod }} fails or lags: the recovery point is more than 15 minutes old",
	Description: "Archiving attempts fail without success, or the newest archived WAL segment is older than 15 minutes.",
}

type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name  string     `yaml:"name"`
	Rules []ruleYAML `yaml:"rules"`
}

type ruleYAML struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// RulesFile is the rule file of rules; withAnnotations false leaves the annotations out (the
// alert unit tests compare labels only).
func RulesFile(rules []AlertRule, withAnnotations bool) string {
	g := ruleGroup{Name: "pynomaly"}
	for _, r := range rules {
		y := ruleYAML{Alert: r.Name, Expr: r.Expr, For: r.For, Labels: map[string]string{"severity": r.Severity}}
		if withAnnotations {
			y.Annotations = map[string]string{"summary": r.Summary, "description": r.Description, "runbook_url": r.Runbook()}
		}
		g.Rules = append(g.Rules, y)
	}
	return marshalYAML(ruleFile{Groups: []ruleGroup{g}})
}
