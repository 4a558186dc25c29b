package tests

// The alert rules and the Alertmanager configuration are checked with Debian's promtool and
// amtool (packages prometheus and prometheus-alertmanager; scripts/test.sh installs them without
// starting their services). Every alert has a `promtool test rules` case: it fires on series that
// break its threshold for its duration, and stays silent on healthy series and on a breach
// shorter than its `for:`. Debian's promtool is Prometheus 2.x; evaluation times are kept off
// the exact window boundaries.

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/monitoring"
)

// alertCase is the synthetic history of one alert.
type alertCase struct {
	// Interval is the series' sample interval (1m unless set); Eval the rule evaluation
	// interval (15s unless set).
	Interval, Eval string
	// Breach breaks the threshold from its start; the alert fires at FireAt with Labels (its
	// own labels besides alertname and severity).
	Breach map[string]string
	FireAt string
	Labels map[string]string
	// Healthy never breaks it; at FireAt the alert is silent.
	Healthy map[string]string
	// Short breaks it for less than `for:`, then recovers: the alert is silent at ShortAt,
	// within the short breach (pending), and at FireAt. Without Short, the breach itself is
	// evaluated at ShortAt, when it has lasted less than `for:` (a range-based expression
	// cannot recover faster than its window).
	Short   map[string]string
	ShortAt string
}

const ns = `namespace="pynomaly-data-science"`

// nodeNS selects the node agents' series: node-exporter's and the log collector's carry the
// namespace of their pods.
const nodeNS = `namespace="pynomaly-data-science-node"`

// allRules are every alert the platform can load, the conditional ones included: the node
// agents' with node-exporter and the log collector running.
func allRules() []monitoring.AlertRule {
	rules := monitoring.AlertRules(config.DefaultNamespace, monitoring.Database{WALArchiving: true}, profileSLO(config.Prod))
	for _, r := range monitoring.AlertRules(config.DefaultNamespace, monitoring.Database{WALArchiving: true, Standby: true}, profileSLO(config.Prod)) {
		if !slices.ContainsFunc(rules, func(have monitoring.AlertRule) bool { return have.Name == r.Name }) {
			rules = append(rules, r)
		}
	}
	return append(rules, monitoring.NodeAlertRules(config.DefaultNamespace, monitoring.NodeAgents{
		Namespace: config.DefaultNamespace + "-node", NodeExporter: true, LogAlerts: true,
	})...)
}

// profileSLO is an environment's default objectives.
func profileSLO(env config.Environment) config.SLO {
	p, _ := config.Profile(env)
	return p.SLO
}

// casesOf are the cases of the alert name: its own, and "name/variant" ones for an alert that
// breaks in more than one way.
func casesOf(name string) map[string]alertCase {
	out := map[string]alertCase{}
	for k, c := range alertCases {
		if base, _, _ := strings.Cut(k, "/"); base == name {
			out[k] = c
		}
	}
	return out
}

// answers are the API's answers as counters: ok (200) and failed (500) series.
func answers(ok, failed string) map[string]string {
	return map[string]string{
		`http_requests_total{` + ns + `,component="api",pod="a",status="200"}`: ok,
		`http_requests_total{` + ns + `,component="api",pod="a",status="500"}`: failed,
	}
}

// latencies are the API's answers as its histogram counts them: all of them, and those within
// 0.5 s.
func latencies(all, within string) map[string]string {
	return map[string]string{
		`http_request_duration_seconds_count{` + ns + `,component="api",pod="a"}`:           all,
		`http_request_duration_seconds_bucket{` + ns + `,component="api",pod="a",le="0.5"}`: within,
	}
}

// alertCases has one case per alert, keyed by its name, and "name/variant" ones where an alert
// breaks in more than one way; a new alert without one fails TestEveryAlertHasACase.
var alertCases = map[string]alertCase{
	"PynomalyPodCrashLooping": {
		Breach:  map[string]string{`kube_pod_container_status_waiting_reason{` + ns + `,pod="p",container="c",reason="CrashLoopBackOff"}`: "1x30"},
		FireAt:  "10m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science", "pod": "p", "container": "c"},
		Healthy: map[string]string{`kube_pod_container_status_waiting_reason{` + ns + `,pod="p",container="c",reason="CrashLoopBackOff"}`: "0x30"},
		Short:   map[string]string{`kube_pod_container_status_waiting_reason{` + ns + `,pod="p",container="c",reason="CrashLoopBackOff"}`: "1x3 0x27"},
		ShortAt: "2m30s",
	},
	"PynomalyPodRestartingOften": {
		// One restart a minute: above 3 in 30 minutes from minute 4 on.
		Breach:  map[string]string{`kube_pod_container_status_restarts_total{` + ns + `,pod="p",container="c"}`: "0+1x60"},
		FireAt:  "12m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science", "pod": "p", "container": "c"},
		Healthy: map[string]string{`kube_pod_container_status_restarts_total{` + ns + `,pod="p",container="c"}`: "2x60"},
		ShortAt: "7m",
	},
	"PynomalyContainerCPUHigh": {
		// 0.95 of a one-core limit. The short breach: 0.5, then 0.95 for 6 minutes (the
		// 5-minute rate is above 0.9 from 14m to 17m), then 0.5 again.
		Breach: map[string]string{
			`container_cpu_usage_seconds_total{` + ns + `,pod="p",container="c"}`:                 "0+57x30",
			`kube_pod_container_resource_limits{` + ns + `,pod="p",container="c",resource="cpu"}`: "1x30",
		},
		FireAt: "10m",
		Labels: map[string]string{"namespace": "pynomaly-data-science", "pod": "p", "container": "c"},
		Healthy: map[string]string{
			`container_cpu_usage_seconds_total{` + ns + `,pod="p",container="c"}`:                 "0+30x30",
			`kube_pod_container_resource_limits{` + ns + `,pod="p",container="c",resource="cpu"}`: "1x30",
		},
		Short: map[string]string{
			`container_cpu_usage_seconds_total{` + ns + `,pod="p",container="c"}`:                 "0+30x10 357+57x5 672+30x14",
			`kube_pod_container_resource_limits{` + ns + `,pod="p",container="c",resource="cpu"}`: "1x30",
		},
		ShortAt: "16m30s",
	},
	"PynomalyContainerMemoryHigh": {
		Breach: map[string]string{
			`container_memory_working_set_bytes{` + ns + `,pod="p",container="c"}`:                   "950x30",
			`kube_pod_container_resource_limits{` + ns + `,pod="p",container="c",resource="memory"}`: "1000x30",
		},
		FireAt: "10m",
		Labels: map[string]string{"namespace": "pynomaly-data-science", "pod": "p", "container": "c"},
		Healthy: map[string]string{
			`container_memory_working_set_bytes{` + ns + `,pod="p",container="c"}`:                   "500x30",
			`kube_pod_container_resource_limits{` + ns + `,pod="p",container="c",resource="memory"}`: "1000x30",
		},
		Short: map[string]string{
			`container_memory_working_set_bytes{` + ns + `,pod="p",container="c"}`:                   "950x2 500x28",
			`kube_pod_container_resource_limits{` + ns + `,pod="p",container="c",resource="memory"}`: "1000x30",
		},
		ShortAt: "1m30s",
	},
	"PynomalyPostgresConnectionFailing": {
		Breach:  map[string]string{`pg_up{` + ns + `,pod="pynomaly-postgres-0",component="postgres"}`: "0x30"},
		FireAt:  "5m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science", "pod": "pynomaly-postgres-0", "component": "postgres"},
		Healthy: map[string]string{`pg_up{` + ns + `,pod="pynomaly-postgres-0",component="postgres"}`: "1x30"},
		Short:   map[string]string{`pg_up{` + ns + `,pod="pynomaly-postgres-0",component="postgres"}`: "0 1x29"},
		ShortAt: "30s",
	},
	"PynomalyRedisConnectionFailing": {
		Breach:  map[string]string{`redis_up{` + ns + `,pod="pynomaly-redis-queue-0",component="redis-queue"}`: "0x30"},
		FireAt:  "5m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science", "pod": "pynomaly-redis-queue-0", "component": "redis-queue"},
		Healthy: map[string]string{`redis_up{` + ns + `,pod="pynomaly-redis-queue-0",component="redis-queue"}`: "1x30"},
		Short:   map[string]string{`redis_up{` + ns + `,pod="pynomaly-redis-queue-0",component="redis-queue"}`: "0 1x29"},
		ShortAt: "30s",
	},
	// The objectives' burn-rate alerts, at prod's defaults: availability 99.9 % (a budget of
	// 0.1 % of answers), latency 99 % within 0.5 s (1 %). A fast burn pages within minutes, a
	// slow one opens a ticket after 15; answers within budget never alert, nor does a spike of a
	// few minutes after hours of healthy traffic.
	"PynomalyAPIErrorBudgetBurn": {
		// 2 % server errors: 20 times the budget.
		Breach:  answers("0+980x60", "0+20x60"),
		FireAt:  "10m",
		Labels:  map[string]string{},
		Healthy: answers("0+9995x60", "0+5x60"),
		// 30 errors a minute for four minutes, after 200 healthy minutes.
		Short:   answers("0+1000x240", "0x200 30+30x3 120x37"),
		ShortAt: "205m",
	},
	"PynomalyAPIErrorBudgetSlowBurn": {
		// 0.5 % server errors: 5 times the budget, below the fast alerts' 6.
		Breach:  answers("0+995x120", "0+5x120"),
		FireAt:  "30m",
		Labels:  map[string]string{},
		Healthy: answers("0+9995x120", "0+5x120"),
		ShortAt: "10m",
	},
	"PynomalyAPILatencyBudgetBurn": {
		// 20 % of answers slower than 0.5 s: 20 times the budget.
		Breach:  latencies("0+100x60", "0+80x60"),
		FireAt:  "10m",
		Labels:  map[string]string{},
		Healthy: latencies("0+1000x60", "0+995x60"),
		// Half the answers slow for four minutes, after 200 healthy minutes.
		Short:   latencies("0+100x240", "0+100x199 19950+50x3 20200+100x37"),
		ShortAt: "205m",
	},
	"PynomalyAPILatencyBudgetSlowBurn": {
		// 5 % of answers slower than 0.5 s: 5 times the budget.
		Breach:  latencies("0+100x120", "0+95x120"),
		FireAt:  "30m",
		Labels:  map[string]string{},
		Healthy: latencies("0+1000x120", "0+995x120"),
		ShortAt: "10m",
	},
	"PynomalyAPISlow": {
		// 3 s on average; healthy 0.5 s; the short breach recovers after 3 minutes.
		Breach: map[string]string{
			`http_request_duration_seconds_sum{` + ns + `,component="api",pod="a"}`:   "0+300x30",
			`http_request_duration_seconds_count{` + ns + `,component="api",pod="a"}`: "0+100x30",
		},
		FireAt: "10m",
		Labels: map[string]string{},
		Healthy: map[string]string{
			`http_request_duration_seconds_sum{` + ns + `,component="api",pod="a"}`:   "0+50x30",
			`http_request_duration_seconds_count{` + ns + `,component="api",pod="a"}`: "0+100x30",
		},
		Short: map[string]string{
			`http_request_duration_seconds_sum{` + ns + `,component="api",pod="a"}`:   "0+300x3 950+50x27",
			`http_request_duration_seconds_count{` + ns + `,component="api",pod="a"}`: "0+100x30",
		},
		ShortAt: "3m30s",
	},
	"PynomalyVolumeAlmostFull": {
		Breach: map[string]string{
			`kubelet_volume_stats_used_bytes{` + ns + `,persistentvolumeclaim="data-pynomaly-postgres-0"}`:     "95x30",
			`kubelet_volume_stats_capacity_bytes{` + ns + `,persistentvolumeclaim="data-pynomaly-postgres-0"}`: "100x30",
		},
		FireAt: "10m",
		Labels: map[string]string{"namespace": "pynomaly-data-science", "persistentvolumeclaim": "data-pynomaly-postgres-0"},
		Healthy: map[string]string{
			`kubelet_volume_stats_used_bytes{` + ns + `,persistentvolumeclaim="data-pynomaly-postgres-0"}`:     "50x30",
			`kubelet_volume_stats_capacity_bytes{` + ns + `,persistentvolumeclaim="data-pynomaly-postgres-0"}`: "100x30",
		},
		Short: map[string]string{
			`kubelet_volume_stats_used_bytes{` + ns + `,persistentvolumeclaim="data-pynomaly-postgres-0"}`:     "95x2 50x28",
			`kubelet_volume_stats_capacity_bytes{` + ns + `,persistentvolumeclaim="data-pynomaly-postgres-0"}`: "100x30",
		},
		ShortAt: "1m30s",
	},
	"PynomalyBackupFailed": {
		// InfluxDB's backup job: the rule covers the dump's, InfluxDB's and the snapshots'.
		Breach:  map[string]string{`kube_job_status_failed{` + ns + `,job_name="pynomaly-influxdb-backup-29400000"}`: "1x30"},
		FireAt:  "5m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science", "job_name": "pynomaly-influxdb-backup-29400000"},
		Healthy: map[string]string{`kube_job_status_failed{` + ns + `,job_name="pynomaly-influxdb-backup-29400000"}`: "0x30"},
		ShortAt: "30s",
	},
	"PynomalyBackupMissing": {
		// The last success at time 0: more than 26 hours ago from 26h on. Healthy: a success
		// every minute. (Samples a minute apart: an instant selector looks back 5 minutes.)
		Eval:    "1m",
		Breach:  map[string]string{`kube_cronjob_status_last_successful_time{` + ns + `,cronjob="pynomaly-postgres-backup"}`: "0x1600"},
		FireAt:  "26h25m",
		Labels:  map[string]string{},
		Healthy: map[string]string{`kube_cronjob_status_last_successful_time{` + ns + `,cronjob="pynomaly-postgres-backup"}`: "0+60x1600"},
		ShortAt: "26h5m",
	},
	"PynomalyBackupMissing/never-succeeded": {
		// Created at time 0 and never successful: no last successful time at all. Healthy: the
		// same CronJob with a success every minute.
		Eval:   "1m",
		Breach: map[string]string{`kube_cronjob_created{` + ns + `,cronjob="pynomaly-postgres-backup"}`: "0x1600"},
		FireAt: "26h25m",
		Labels: map[string]string{},
		Healthy: map[string]string{
			`kube_cronjob_created{` + ns + `,cronjob="pynomaly-postgres-backup"}`:                     "0x1600",
			`kube_cronjob_status_last_successful_time{` + ns + `,cronjob="pynomaly-postgres-backup"}`: "0+60x1600",
		},
		ShortAt: "26h5m",
	},
	"PynomalyPatroniNoLeader": {
		Breach: map[string]string{
			`pg_replication_is_replica{` + ns + `,component="postgres",pod="pynomaly-postgres-0"}`: "1x30",
			`pg_replication_is_replica{` + ns + `,component="postgres",pod="pynomaly-postgres-1"}`: "1x30",
		},
		FireAt: "5m",
		Labels: map[string]string{},
		Healthy: map[string]string{
			`pg_replication_is_replica{` + ns + `,component="postgres",pod="pynomaly-postgres-0"}`: "0x30",
			`pg_replication_is_replica{` + ns + `,component="postgres",pod="pynomaly-postgres-1"}`: "1x30",
		},
		// A switchover: a minute without a leader.
		Short: map[string]string{
			`pg_replication_is_replica{` + ns + `,component="postgres",pod="pynomaly-postgres-0"}`: "0 1 0x28",
			`pg_replication_is_replica{` + ns + `,component="postgres",pod="pynomaly-postgres-1"}`: "1x30",
		},
		ShortAt: "1m30s",
	},
	"PynomalyPostgresReplicationLag": {
		Breach:  map[string]string{`pg_replication_lag_seconds{` + ns + `,component="postgres",pod="pynomaly-postgres-1"}`: "120x30"},
		FireAt:  "10m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science", "component": "postgres", "pod": "pynomaly-postgres-1"},
		Healthy: map[string]string{`pg_replication_lag_seconds{` + ns + `,component="postgres",pod="pynomaly-postgres-1"}`: "0x30"},
		Short:   map[string]string{`pg_replication_lag_seconds{` + ns + `,component="postgres",pod="pynomaly-postgres-1"}`: "120x3 0x27"},
		ShortAt: "2m30s",
	},
	"PynomalyStandbyReplayLagging": {
		// The standby leader replays the archive (its lag grows between segments and falls when
		// one arrives); its replica streams from it. The most current member counts: a replica
		// behind its leader alone is no lost recovery point.
		Breach: map[string]string{
			`pg_replication_lag_seconds{` + ns + `,component="postgres",pod="pynomaly-postgres-0"}`: "960+60x30",
			`pg_replication_lag_seconds{` + ns + `,component="postgres",pod="pynomaly-postgres-1"}`: "1000+60x30",
		},
		FireAt: "10m",
		Labels: map[string]string{},
		Healthy: map[string]string{
			`pg_replication_lag_seconds{` + ns + `,component="postgres",pod="pynomaly-postgres-0"}`: "0+60x4 0+60x4 0+60x4 0+60x4 0+60x4 0+60x4",
			`pg_replication_lag_seconds{` + ns + `,component="postgres",pod="pynomaly-postgres-1"}`: "2000x30",
		},
		Short:   map[string]string{`pg_replication_lag_seconds{` + ns + `,component="postgres",pod="pynomaly-postgres-0"}`: "960+60x2 0+60x27"},
		ShortAt: "2m30s",
	},
	"PynomalyQueueRedisNearMaxmemory": {
		Breach: map[string]string{
			`redis_memory_used_bytes{` + ns + `,component="redis-queue",pod="pynomaly-redis-queue-0"}`: "950x30",
			`redis_memory_max_bytes{` + ns + `,component="redis-queue",pod="pynomaly-redis-queue-0"}`:  "1000x30",
		},
		FireAt: "10m",
		Labels: map[string]string{"namespace": "pynomaly-data-science", "component": "redis-queue", "pod": "pynomaly-redis-queue-0"},
		// The cache Redis at its maxmemory is normal (it evicts); the queue at half is healthy.
		Healthy: map[string]string{
			`redis_memory_used_bytes{` + ns + `,component="redis-queue",pod="pynomaly-redis-queue-0"}`: "500x30",
			`redis_memory_max_bytes{` + ns + `,component="redis-queue",pod="pynomaly-redis-queue-0"}`:  "1000x30",
			`redis_memory_used_bytes{` + ns + `,component="redis-cache",pod="pynomaly-redis-cache-0"}`: "1000x30",
			`redis_memory_max_bytes{` + ns + `,component="redis-cache",pod="pynomaly-redis-cache-0"}`:  "1000x30",
		},
		Short: map[string]string{
			`redis_memory_used_bytes{` + ns + `,component="redis-queue",pod="pynomaly-redis-queue-0"}`: "950x2 500x28",
			`redis_memory_max_bytes{` + ns + `,component="redis-queue",pod="pynomaly-redis-queue-0"}`:  "1000x30",
		},
		ShortAt: "1m30s",
	},
	"PynomalyQueueDepthGrowing": {
		// Ten more tasks a minute: above 100 from minute 11 on.
		Breach:  map[string]string{`redis_key_size{` + ns + `,component="redis-queue",key="pynomaly-tasks",db="db0",pod="pynomaly-redis-queue-0"}`: "0+10x60"},
		FireAt:  "40m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science", "component": "redis-queue", "key": "pynomaly-tasks", "db": "db0"},
		Healthy: map[string]string{`redis_key_size{` + ns + `,component="redis-queue",key="pynomaly-tasks",db="db0",pod="pynomaly-redis-queue-0"}`: "500x60"},
		ShortAt: "20m",
	},
	"PynomalyHPAAtMaximum": {
		Breach: map[string]string{
			`kube_horizontalpodautoscaler_status_current_replicas{` + ns + `,horizontalpodautoscaler="pynomaly-api"}`: "100x60",
			`kube_horizontalpodautoscaler_spec_max_replicas{` + ns + `,horizontalpodautoscaler="pynomaly-api"}`:       "100x60",
		},
		FireAt: "20m",
		Labels: map[string]string{"namespace": "pynomaly-data-science", "horizontalpodautoscaler": "pynomaly-api"},
		Healthy: map[string]string{
			`kube_horizontalpodautoscaler_status_current_replicas{` + ns + `,horizontalpodautoscaler="pynomaly-api"}`: "50x60",
			`kube_horizontalpodautoscaler_spec_max_replicas{` + ns + `,horizontalpodautoscaler="pynomaly-api"}`:       "100x60",
		},
		Short: map[string]string{
			`kube_horizontalpodautoscaler_status_current_replicas{` + ns + `,horizontalpodautoscaler="pynomaly-api"}`: "100x10 50x50",
			`kube_horizontalpodautoscaler_spec_max_replicas{` + ns + `,horizontalpodautoscaler="pynomaly-api"}`:       "100x60",
		},
		ShortAt: "8m",
	},
	"PynomalyCertificateExpiring": {
		// Valid for 20 days from time 0: within 14 days of expiry from 144h on. Renewed at 145h
		// in the short case; valid for 60 days in the healthy one.
		Eval:    "5m",
		Breach:  map[string]string{`certmanager_certificate_expiration_timestamp_seconds{` + ns + `,name="pynomaly-tls"}`: "1728000x9000"},
		FireAt:  "146h30m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science", "name": "pynomaly-tls"},
		Healthy: map[string]string{`certmanager_certificate_expiration_timestamp_seconds{` + ns + `,name="pynomaly-tls"}`: "5184000x9000"},
		Short:   map[string]string{`certmanager_certificate_expiration_timestamp_seconds{` + ns + `,name="pynomaly-tls"}`: "1728000x8699 5184000x300"},
		ShortAt: "144h30m",
	},
	"PynomalyWALArchivingFailing": {
		// Every archiving attempt fails from the first minute on, while the newest archived
		// segment is still young (4 minutes at FireAt): the failures alone fire it. A replica
		// (which does not archive) with an old archive never does.
		Breach:  archiver("pynomaly-postgres-0", "0+1x60", "100x60", "0+30x60", "0x60"),
		FireAt:  "8m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science", "component": "postgres", "pod": "pynomaly-postgres-0"},
		Healthy: merged(archiver("pynomaly-postgres-0", "0x60", "100+1x60", "30x60", "0x60"), archiver("pynomaly-postgres-1", "0+1x60", "0x60", "5000x60", "1x60")),
		// Two failed attempts, then the next one succeeds: archived_count moves again.
		Short:   archiver("pynomaly-postgres-0", "0 1 2x58", "100 100 100 101+1x57", "0 60 120 30x57", "0x60"),
		ShortAt: "2m30s",
	},
	"PynomalyWALArchivingFailing/stale": {
		// No attempt fails, but nothing has been archived for 16 minutes from minute 16 on
		// (the recovery point is past 15 minutes); healthy, a segment at least every 11 minutes;
		// the short case archives again at minute 17.
		Breach:  archiver("pynomaly-postgres-0", "0x60", "100x60", "0+60x60", "0x60"),
		FireAt:  "25m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science", "component": "postgres", "pod": "pynomaly-postgres-0"},
		Healthy: archiver("pynomaly-postgres-0", "0x60", "100+1x60", "0+60x10 0+60x10 0+60x10 0+60x10 0+60x10 0+60x5", "0x60"),
		Short:   archiver("pynomaly-postgres-0", "0x60", "100x17 101+1x43", "0+60x16 30x43", "0x60"),
		ShortAt: "16m30s",
	},
	"PynomalyTargetDown": {
		Breach:  map[string]string{`up{` + ns + `,job="pynomaly-api",instance="10.0.0.1:8000",pod="a"}`: "0x30"},
		FireAt:  "10m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science", "job": "pynomaly-api", "instance": "10.0.0.1:8000", "pod": "a"},
		Healthy: map[string]string{`up{` + ns + `,job="pynomaly-api",instance="10.0.0.1:8000",pod="a"}`: "1x30"},
		Short:   map[string]string{`up{` + ns + `,job="pynomaly-api",instance="10.0.0.1:8000",pod="a"}`: "0x2 1x28"},
		ShortAt: "1m30s",
	},
}

// The node agents' alerts: node-exporter's series of node n1 and the log collector's counter,
// all in the node agents' namespace.
var nodeAlertCases = map[string]alertCase{
	"PynomalyNodeFilesystemAlmostFull": {
		// 5% of the root filesystem left. Healthy: half of it left, and full filesystems the
		// alert leaves out: memory-backed, an image, one mounted read-only.
		Breach: filesystem("ext4", "/", "50x40", "0x40"),
		FireAt: "20m",
		Labels: map[string]string{"namespace": "pynomaly-data-science-node", "node": "n1", "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"},
		Healthy: merged(filesystem("ext4", "/", "500x40", "0x40"), filesystem("tmpfs", "/run", "0x40", "0x40"),
			filesystem("squashfs", "/snap/core", "0x40", "1x40"), filesystem("ext4", "/mnt/ro", "0x40", "1x40")),
		Short:   filesystem("ext4", "/", "50x5 500x35", "0x40"),
		ShortAt: "4m30s",
	},
	"PynomalyNodeFilesystemFillingUp": {
		// 250 of 1000 left, one less every minute: below 20% from minute 51, and at that pace
		// empty within 4 hours all along; fires an hour later. Healthy: 15% left but steady.
		Breach:  filesystem("ext4", "/", "250-1x200", "0x200"),
		FireAt:  "120m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science-node", "node": "n1", "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"},
		Healthy: filesystem("ext4", "/", "150x200", "0x200"),
		ShortAt: "100m",
	},
	"PynomalyNodeMemoryLow": {
		Breach:  nodeMemory("50x40", "1000x40"),
		FireAt:  "20m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science-node", "node": "n1"},
		Healthy: nodeMemory("500x40", "1000x40"),
		Short:   nodeMemory("50x5 500x35", "1000x40"),
		ShortAt: "4m30s",
	},
	"PynomalyAuthenticationFailures": {
		// 12 failures in 4 minutes (3 a minute from minute 11) fire it; a single failure does
		// not, nor do another namespace's failures.
		Breach:  authFailures("pynomaly-data-science", "5x10 8 11 14 17 17x20"),
		FireAt:  "14m30s",
		Labels:  map[string]string{},
		Healthy: merged(authFailures("pynomaly-data-science", "5x10 6 6x20"), authFailures("other", "0+20x30")),
		ShortAt: "13m30s",
	},
	"PynomalyNodeAgentDown": {
		Breach:  nodeUp("0x30"),
		FireAt:  "15m",
		Labels:  map[string]string{"namespace": "pynomaly-data-science-node", "job": "pynomaly-node-exporter", "instance": "10.0.0.1:9100", "node": "n1", "pod": "e"},
		Healthy: merged(nodeUp("1x30"), map[string]string{`up{` + ns + `,job="pynomaly-api",instance="10.0.0.2:8000",pod="a"}`: "0x30"}),
		Short:   nodeUp("0x2 1x28"),
		ShortAt: "1m30s",
	},
}

func init() { maps.Copy(alertCases, nodeAlertCases) }

// filesystem is node-exporter's series of one filesystem of node n1: of 1000 bytes, avail
// available, readonly 1 where it is mounted read-only.
func filesystem(fstype, mountpoint, avail, readonly string) map[string]string {
	device := "/dev/sda1"
	if fstype == "tmpfs" {
		device = "tmpfs"
	}
	l := `{` + nodeNS + `,node="n1",device="` + device + `",fstype="` + fstype + `",mountpoint="` + mountpoint + `"}`
	return map[string]string{
		"node_filesystem_avail_bytes" + l: avail, "node_filesystem_size_bytes" + l: "1000x400", "node_filesystem_readonly" + l: readonly,
	}
}

// nodeMemory is node-exporter's memory of node n1: available and total.
func nodeMemory(available, total string) map[string]string {
	l := `{` + nodeNS + `,node="n1"}`
	return map[string]string{"node_memory_MemAvailable_bytes" + l: available, "node_memory_MemTotal_bytes" + l: total}
}

// authFailures is one collector's counter of the 401 lines of namespace.
func authFailures(namespace, values string) map[string]string {
	return map[string]string{
		monitoring.AuthFailuresMetric + `{` + nodeNS + `,k8s_namespace_name="` + namespace + `",pod="pynomaly-log-collector-a",component="log-collector"}`: values,
	}
}

// nodeUp is the up series of node n1's node-exporter.
func nodeUp(values string) map[string]string {
	return map[string]string{`up{` + nodeNS + `,job="pynomaly-node-exporter",instance="10.0.0.1:9100",node="n1",pod="e"}`: values}
}

// archiver is one PostgreSQL instance's pg_stat_archiver series and its role (1: replica).
func archiver(pod, failed, archived, age, replica string) map[string]string {
	l := `{` + ns + `,component="postgres",pod="` + pod + `"}`
	return map[string]string{
		"pg_stat_archiver_failed_count" + l: failed, "pg_stat_archiver_archived_count" + l: archived,
		"pg_stat_archiver_last_archive_age" + l: age, "pg_replication_is_replica" + l: replica,
	}
}

func merged(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

func TestEveryAlertHasACase(t *testing.T) {
	names := map[string]bool{}
	for _, r := range allRules() {
		assert.False(t, names[r.Name], "%s: two alerts of one name", r.Name)
		names[r.Name] = true
		assert.Contains(t, alertCases, r.Name, "%s has no promtool test case", r.Name)
		for k, c := range casesOf(r.Name) {
			assert.NotEmpty(t, c.ShortAt, "%s: its case evaluates no breach shorter than for:", k)
		}
		assert.Contains(t, []string{monitoring.SeverityCritical, monitoring.SeverityWarning}, r.Severity, r.Name)
		assert.NotEmpty(t, r.Summary, r.Name)
		assert.NotEmpty(t, r.For, r.Name)
	}
	for name := range alertCases {
		base, _, _ := strings.Cut(name, "/")
		assert.True(t, names[base], "case %s tests no alert", name)
	}
}

// Every alert's runbook URL is a page of the repository, docs/runbooks/<AlertName>.md, headed by
// the alert's name, with its severity and a body; and every page there is an alert's (no
// runbook outlives its alert).
func TestEveryAlertHasARunbook(t *testing.T) {
	const dir = "../docs/runbooks"
	defined := map[string]bool{}
	for _, r := range allRules() {
		url := r.Runbook()
		name, ok := strings.CutPrefix(url, monitoring.RunbookBase)
		if !assert.True(t, ok, "%s: runbook URL %s is not under %s", r.Name, url, monitoring.RunbookBase) {
			continue
		}
		assert.Equal(t, r.Name+".md", name, "%s: runbook URL %s", r.Name, url)
		defined[name] = true
		b, err := os.ReadFile(filepath.Join(dir, name))
		if !assert.NoError(t, err, "%s: no runbook page for its URL %s", r.Name, url) {
			continue
		}
		heading, body, _ := strings.Cut(string(b), "\n")
		assert.Equal(t, "# "+r.Name, heading, "%s: the runbook page's heading", r.Name)
		// The severity's paragraph, then what the alert means and what to do.
		_, what, found := strings.Cut(body, "\nSeverity: "+r.Severity+".")
		assert.True(t, found, "%s: the runbook page names its severity (%s) first", r.Name, r.Severity)
		_, what, _ = strings.Cut(what, "\n\n")
		assert.Greater(t, len(strings.Fields(what)), 15, "%s: the runbook page says what to do", r.Name)
	}
	require.NotEmpty(t, defined)
	pages, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, p := range pages {
		assert.True(t, defined[p.Name()], "%s/%s is the runbook of no alert", dir, p.Name())
	}
}

func TestPromtoolChecksTheRules(t *testing.T) {
	promtool := tool(t, "promtool")
	rules := writeFile(t, "rules.yml", monitoring.RulesFile(allRules(), true))
	out, err := exec.Command(promtool, "check", "rules", rules).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "SUCCESS: "+itoa(len(allRules()))+" rules found")
}

// amtool accepts alertmanager.yml without receivers and with every kind of receiver, and routes
// a critical alert to the pager and the default receivers, a warning to the default ones only.
func TestAmtoolChecksTheAlertmanagerConfig(t *testing.T) {
	amtool := tool(t, "amtool")
	const hook = "https://hooks.example.com/services/T0/B0/xyz"
	all := config.AlertReceivers{SecretName: "alert-receivers", SlackChannel: "#alerts", PagerDuty: true,
		Email: config.AlertEmail{To: "ops@example.com", From: "am@example.com", Smarthost: "smtp.example.com:587", Username: "am"}}
	pager := config.AlertReceivers{SecretName: "alert-receivers", PagerDuty: true}
	for name, c := range map[string]struct {
		r       config.AlertReceivers
		webhook string
	}{
		"none": {}, "all": {all, hook}, "pager only": {pager, ""}, "webhook only": {config.AlertReceivers{}, hook},
		"pager and webhook": {pager, hook},
	} {
		conf := writeFile(t, "alertmanager.yml", monitoring.AlertmanagerConf(c.r, c.webhook))
		out, err := exec.Command(amtool, "check-config", conf).CombinedOutput()
		require.NoError(t, err, "%s: %s", name, out)
		assert.Contains(t, string(out), "SUCCESS", name)
		if c.webhook != "" {
			var parsed struct {
				Receivers []struct {
					Name     string `yaml:"name"`
					Webhooks []struct {
						URL string `yaml:"url"`
					} `yaml:"webhook_configs"`
				} `yaml:"receivers"`
			}
			require.NoError(t, yaml.Unmarshal([]byte(monitoring.AlertmanagerConf(c.r, c.webhook)), &parsed))
			assert.Equal(t, "default", parsed.Receivers[0].Name)
			require.Len(t, parsed.Receivers[0].Webhooks, 1, name)
			assert.Equal(t, hook, parsed.Receivers[0].Webhooks[0].URL, name)
		}
	}
	for name, c := range map[string]struct {
		r       config.AlertReceivers
		webhook string
	}{"all": {all, hook}, "pager and webhook": {pager, hook}} {
		conf := writeFile(t, "alertmanager.yml", monitoring.AlertmanagerConf(c.r, c.webhook))
		for labels, want := range map[string]string{"severity=critical": "pager,default", "severity=warning": "default"} {
			// Standard output only: amtool warns on standard error that the file overrides a URL.
			out, err := exec.Command(amtool, "config", "routes", "test", "--config.file="+conf, labels).Output()
			require.NoError(t, err, "%s", out)
			assert.Equal(t, want, strings.TrimSpace(string(out)), "%s: %s", name, labels)
		}
	}
}

// TestAlertsFireOnlyOnSustainedBreaches runs one `promtool test rules` file per alert, with the
// rule file that alert alone: a breach fires it, healthy series and a short breach do not.
func TestAlertsFireOnlyOnSustainedBreaches(t *testing.T) {
	promtool := tool(t, "promtool")
	dir := t.TempDir()
	var files []string
	for _, r := range allRules() {
		rules := filepath.Join(dir, r.Name+".rules.yml")
		require.NoError(t, os.WriteFile(rules, []byte(monitoring.RulesFile([]monitoring.AlertRule{r}, false)), 0o644))
		// TestEveryAlertHasACase reports an alert without one.
		for k, c := range casesOf(r.Name) {
			test := filepath.Join(dir, strings.ReplaceAll(k, "/", "-")+".test.yml")
			require.NoError(t, os.WriteFile(test, []byte(promtoolTest(r, c, rules)), 0o644))
			files = append(files, test)
		}
	}
	out, err := exec.Command(promtool, append([]string{"test", "rules"}, files...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, len(files), strings.Count(string(out), "SUCCESS"), "%s", out)
}

type promSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type promAlert struct {
	ExpLabels map[string]string `yaml:"exp_labels"`
}

type promAlertTest struct {
	EvalTime  string      `yaml:"eval_time"`
	Alertname string      `yaml:"alertname"`
	ExpAlerts []promAlert `yaml:"exp_alerts"`
}

type promTestGroup struct {
	Name     string          `yaml:"name"`
	Interval string          `yaml:"interval"`
	Input    []promSeries    `yaml:"input_series"`
	Alerts   []promAlertTest `yaml:"alert_rule_test"`
}

func promtoolTest(r monitoring.AlertRule, c alertCase, rules string) string {
	interval, eval := c.Interval, c.Eval
	if interval == "" {
		interval = "1m"
	}
	if eval == "" {
		eval = "15s"
	}
	series := func(m map[string]string) []promSeries {
		var out []promSeries
		for _, k := range sortedKeys(m) {
			out = append(out, promSeries{Series: k, Values: m[k]})
		}
		return out
	}
	labels := map[string]string{"severity": r.Severity}
	for k, v := range c.Labels {
		labels[k] = v
	}
	silent := func(at string) []promAlertTest {
		return []promAlertTest{{EvalTime: at, Alertname: r.Name, ExpAlerts: []promAlert{}}}
	}
	groups := []promTestGroup{
		{Name: r.Name + " fires on a sustained breach", Interval: interval, Input: series(c.Breach),
			Alerts: []promAlertTest{{EvalTime: c.FireAt, Alertname: r.Name, ExpAlerts: []promAlert{{ExpLabels: labels}}}}},
		{Name: r.Name + " is silent on healthy series", Interval: interval, Input: series(c.Healthy), Alerts: silent(c.FireAt)},
	}
	if c.Short != nil {
		groups = append(groups, promTestGroup{Name: r.Name + " is silent on a short breach", Interval: interval,
			Input: series(c.Short), Alerts: append(silent(c.ShortAt), silent(c.FireAt)...)})
	} else {
		groups = append(groups, promTestGroup{Name: r.Name + " is pending, not firing, before for: " + r.For, Interval: interval,
			Input: series(c.Breach), Alerts: silent(c.ShortAt)})
	}
	b, err := yaml.Marshal(map[string]any{
		"rule_files": []string{rules}, "evaluation_interval": eval, "tests": groups,
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}
