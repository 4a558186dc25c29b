package tests

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/edge"
	"github.com/pynomaly/pynomaly-platform/monitoring"
	"github.com/pynomaly/pynomaly-platform/postgres"
)

// drStack is a disaster-recovery stack in another region: prod's settings, its own bucket
// (its archive once promoted), replaying the primary's from the replica of the primary's bucket
// in its region, with the primary's PostgreSQL passwords. standby is postgres.standby's JSON.
func drStack(t *testing.T, standby string, extra ...cfg) *Stack {
	t.Helper()
	c := cfg{"postgres": `{"walArchive": {"s3Bucket": "pynomaly-dr-wal", "region": "eu-west-1"}, "standby": ` + standby + `}`,
		"identity":                    `{"objectStorage": "arn:aws:iam::123456789012:role/pynomaly-dr-wal"}`,
		"postgresSuperuserPassword":   "primary-superuser-0123",
		"postgresReplicationPassword": "primary-replication-0123",
		"postgresMonitorPassword":     "primary-monitor-01234",
	}
	for _, more := range extra {
		maps.Copy(c, more)
	}
	return deploy(t, "prod", c, "postgresSuperuserPassword", "postgresReplicationPassword", "postgresMonitorPassword")
}

// dnsHostname is the annotation external-dns publishes a route's hosts from.
const dnsHostname = "external-dns.alpha.kubernetes.io/hostname"

const (
	primaryArchive = `{"fromNamespace": "pynomaly-eu-central", "fromBucket": "pynomaly-prod-wal-replica"}`
	promoted       = `{"fromNamespace": "pynomaly-eu-central", "fromBucket": "pynomaly-prod-wal-replica", "promoted": true}`
)

// A standby bootstraps from the primary's archive as Spilo's standby cluster: the primary's
// namespace and scope in the path, the replicated bucket, this stack's store settings and role.
func TestStandbyReplaysThePrimarysArchive(t *testing.T) {
	sts := drStack(t, primaryArchive).One(t, statefulSetType, postgres.Name)
	e := sts.Env(t, sts.Container(t, podSpec, "postgres"))
	assert.Equal(t, postgres.Name, e["STANDBY_SCOPE"])
	assert.Equal(t, "pynomaly-eu-central-", e["STANDBY_WAL_BUCKET_SCOPE_PREFIX"])
	assert.Equal(t, "pynomaly-prod-wal-replica", e["STANDBY_WAL_S3_BUCKET"])
	assert.Equal(t, "eu-west-1", e["STANDBY_AWS_REGION"])
	assert.Equal(t, "17", e["STANDBY_PGVERSION"], "the prefix's major version, from the Spilo image's name")
	assert.Equal(t, "true", e["STANDBY_USE_WALG_RESTORE"])
	// Spilo writes the standby's WAL-G environment from STANDBY_ variables alone.
	assert.Equal(t, "arn:aws:iam::123456789012:role/pynomaly-dr-wal", e["STANDBY_AWS_ROLE_ARN"])
	assert.Equal(t, "/var/run/secrets/eks.amazonaws.com/serviceaccount/token", e["STANDBY_AWS_WEB_IDENTITY_TOKEN_FILE"])
	// The read-write Service finds the standby leader.
	assert.Equal(t, e["PATRONI_KUBERNETES_LEADER_LABEL_VALUE"], e["PATRONI_KUBERNETES_STANDBY_LEADER_LABEL_VALUE"])
	// Its own archive stays its own: once promoted it archives there.
	assert.Equal(t, "pynomaly-dr-wal", e["WAL_S3_BUCKET"])
	assert.NotContains(t, e, "CLONE_METHOD")
	// Patroni and the replicas log in with the primary's passwords, whose roles they replay.
	assert.Equal(t, "secret:pynomaly-postgres-credentials/superuser-password", e["PGPASSWORD_SUPERUSER"])
}

// A primary has no STANDBY_ variable: Spilo would make it a standby.
func TestPrimaryHasNoStandbyVariables(t *testing.T) {
	for _, env := range []string{"dev", "staging", "prod"} {
		sts := deploy(t, env, nil).One(t, statefulSetType, postgres.Name)
		for k := range sts.Env(t, sts.Container(t, podSpec, "postgres")) {
			assert.NotRegexp(t, `^STANDBY_|STANDBY_LEADER`, k, env)
		}
	}
}

// While standby the writers are stopped: no migration, the API and workers at zero pods without
// autoscalers (an HPA cannot hold zero); the setup job only hands Patroni the tuning.
func TestStandbyStopsTheWriters(t *testing.T) {
	st := drStack(t, primaryArchive)
	for _, name := range []string{app.APIName, app.WorkerName} {
		d := st.One(t, deploymentType, name)
		assert.Equal(t, 0, d.Int(t, "spec.replicas"), name)
	}
	assert.Empty(t, st.OfType(hpaType), "no autoscaler while standby")
	for _, j := range st.OfType(jobType) {
		assert.NotEqual(t, app.MigrationJobName, j.Str(t, "metadata.name"), "the schema is the primary's, replayed")
	}
	// Its hosts are served (the Gateway and routes exist) but not published: external-dns skips
	// an object that names another controller, where it would publish spec.hostnames alone.
	for _, route := range st.OfType(httpRouteType) {
		annotations := route.StringMap(t, "metadata.annotations")
		assert.Equal(t, edge.UnpublishedController, annotations[edge.ExternalDNSControllerAnnotation], route.Name)
		assert.NotContains(t, annotations, dnsHostname, "a standby's hosts are published once promoted")
	}
	setup := st.One(t, jobType, postgres.SetupJob)
	e := setup.Env(t, podSpec+".containers.0")
	assert.Equal(t, "pynomaly-eu-central", e["STANDBY_OF"])
	assert.NotContains(t, dynamicConfig(t, e), "standby_cluster", "the standby stays one")
}

// Promotion is postgres.standby.promoted: the setup job ends the standby in Patroni's dynamic
// configuration, the migration runs and the writers come back under their autoscalers, with
// spec.replicas left to them. The PostgreSQL pods keep their template: none restarts, so the
// replay goes on to the archive's end until Patroni promotes.
func TestPromotionEndsTheStandbyAndStartsTheWriters(t *testing.T) {
	st := drStack(t, promoted)
	setup := st.One(t, jobType, postgres.SetupJob)
	e := setup.Env(t, podSpec+".containers.0")
	assert.NotContains(t, e, "STANDBY_OF")
	cfg := dynamicConfig(t, e)
	require.Contains(t, cfg, "standby_cluster")
	assert.Nil(t, cfg["standby_cluster"], "null: Patroni drops the key, which promotes a standby cluster")
	assert.Len(t, st.OfType(hpaType), 2)
	for _, name := range []string{app.APIName, app.WorkerName} {
		assert.False(t, st.One(t, deploymentType, name).Has("spec.replicas"), "%s: the autoscaler's", name)
	}
	st.One(t, jobType, app.MigrationJobName)
	// external-dns publishes its hosts: the promotion is the DNS switch.
	annotations := st.One(t, httpRouteType, "pynomaly-nginx").StringMap(t, "metadata.annotations")
	assert.Equal(t, "api.pynomaly.io", annotations[dnsHostname])
	assert.NotContains(t, annotations, edge.ExternalDNSControllerAnnotation)
	sts := st.One(t, statefulSetType, postgres.Name)
	before := drStack(t, primaryArchive).One(t, statefulSetType, postgres.Name)
	was, _ := before.Get("spec.template")
	is, _ := sts.Get("spec.template")
	assert.Equal(t, sprintAll(was), sprintAll(is), "the promotion restarts no PostgreSQL pod")
}

// dynamicConfig is the setup job's PATCH body.
func dynamicConfig(t *testing.T, env map[string]string) map[string]any {
	t.Helper()
	var cfg map[string]any
	require.NoError(t, json.Unmarshal([]byte(env["PATRONI_DYNAMIC_CONFIG"]), &cfg))
	return cfg
}

// A standby loads its replay-lag alert instead of the primary's leader and replication-lag
// rules, which would page for as long as it is a standby; promoted, it loads the primary's.
func TestStandbyAlertsOnItsReplay(t *testing.T) {
	rules := func(st *Stack) string {
		return st.One(t, configMapType, monitoring.PrometheusName+"-rules").StringMap(t, "data")["pynomaly.yml"]
	}
	standby := rules(drStack(t, primaryArchive))
	assert.Contains(t, standby, "alert: PynomalyStandbyReplayLagging\n")
	assert.NotContains(t, standby, "alert: PynomalyPatroniNoLeader\n")
	assert.NotContains(t, standby, "alert: PynomalyPostgresReplicationLag\n")
	primary := rules(drStack(t, promoted))
	assert.NotContains(t, primary, "alert: PynomalyStandbyReplayLagging\n")
	assert.Contains(t, primary, "alert: PynomalyPatroniNoLeader\n")
	assert.Contains(t, primary, "alert: PynomalyWALArchivingFailing\n", "it archives to its own bucket")
}

// A rotation raised while standby retires the application's previous login only once the
// database takes writes: the retirement's ALTER ROLE would fail on a standby. Redis's goes on.
func TestStandbyDefersThePostgresRetirement(t *testing.T) {
	retirements := func(standby string) []string {
		st := drStack(t, standby, cfg{"secrets": `{"rotation": {"postgresApp": 1}}`})
		var names []string
		for _, j := range st.OfType(jobType) {
			if name := j.Str(t, "metadata.name"); strings.HasSuffix(name, "-retire") {
				names = append(names, name)
			}
		}
		return names
	}
	assert.ElementsMatch(t, []string{"pynomaly-redis-retire"}, retirements(primaryArchive))
	assert.ElementsMatch(t, []string{"pynomaly-postgres-retire", "pynomaly-redis-retire"}, retirements(promoted))
}
