//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/tests/objectstore"
)

// The disaster-recovery procedure (docs/disaster-recovery.md) on the local cluster: a primary
// stack (prod's stack file) and a standby stack beside it (prod's stack file in a namespace and
// with a StorageClass of its own, as in another region), both archiving to an S3 server in the
// test process. Each stack's PostgreSQL runs as real Patroni processes with its deployed
// settings, as the Patroni drill runs them: the primary archives through WAL-G's environment;
// the standby is Spilo's standby cluster built from the standby stack's STANDBY_ variables. The
// primary is lost, the standby is promoted as the runbook says (postgres.standby.promoted, pulumi
// up, the setup job's script run against the standby's member), and then it takes writes, holds
// every archived row, and its stack previews without a change.
const (
	drNamespace    = "pynomaly-dr"
	primaryBucket  = "pynomaly-prod-wal"
	standbyBucket  = "pynomaly-dr-wal"
	drArchiveAfter = 5 // archive_timeout of the drill's primary, in seconds (prod's 300 is asserted elsewhere)
)

func TestDisasterRecoveryStacks(t *testing.T) {
	installCRDs(t, "edge", certManagerCRDs[:2])
	start := time.Now()
	store := objectstore.Start(t)
	store.CreateBucket(t, primaryBucket)
	store.CreateBucket(t, standbyBucket)

	primary, primaryDone := clusterProject(t, "prod")
	archiveToStore(primary, store, primaryBucket)
	primary.must("up", "--yes", "--skip-preview")
	tools := drillDir(t, "wal-g")
	walg := objectstore.WalG(t, tools)
	pc := newPatroniClusterWith(t, patroniSetup{namespace: namespace, members: 1, restBase: 28100, portBase: 25530,
		secret: clusterSecret(t, namespace, "pynomaly-postgres-credentials")})
	archiving := walgEnvDir(t, tools, "env", pc, "")
	pc.customizeArchive(func(params map[string]any) {
		params["archive_command"] = fmt.Sprintf(`%s/envdir "%s" %s wal-push "%%p"`, tools, archiving, walg)
		params["archive_timeout"] = fmt.Sprint(drArchiveAfter)
	})
	// The stand-in's backup-push is pg_basebackup, a replication connection over the socket.
	pc.editConfig(pc.members[0], func(cfg map[string]any) {
		pg := cfg["postgresql"].(map[string]any)
		pg["pg_hba"] = append([]any{"local replication all trust"}, pg["pg_hba"].([]any)...)
	})
	pm := pc.members[0]
	pc.start(pm)
	pc.waitRole(pm, "leader", 2*time.Minute)
	pc.exec(pc.memberDSN(pm), "CREATE TABLE drill (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())")
	pc.runWalG(pm, archiving, walg, "backup-push", pm.dataDir())
	pc.exec(pc.memberDSN(pm), "INSERT INTO drill (id) SELECT generate_series(1, 100)")

	dr := standbyProject(t, store, primary)
	dr.must("up", "--yes", "--skip-preview")
	sc := newPatroniClusterWith(t, patroniSetup{namespace: drNamespace, members: 1, restBase: 28200, portBase: 25630,
		secret: clusterSecret(t, drNamespace, "pynomaly-postgres-credentials")})
	sc.asStandby(tools, walg)
	sm := sc.members[0]
	sc.start(sm)
	sc.waitRole(sm, "standby_leader", 3*time.Minute)
	waitRows(t, sc, sm, 100, "the standby replays the base backup and the archive")

	// Rows written after the standby started reach it through the archive alone.
	pc.exec(pc.memberDSN(pm), "INSERT INTO drill (id) SELECT generate_series(101, 200)")
	pc.exec(pc.memberDSN(pm), "SELECT pg_switch_wal()")
	waitRows(t, sc, sm, 200, "the standby replays what the primary archives")
	// The last rows are archived while the standby's replay is paused, and the primary is lost:
	// they are in the archive and not yet replayed when the promotion starts, as segments a
	// replicated bucket delivers late would be. The promotion must replay them first.
	sc.exec(sc.memberDSN(sm), "SELECT pg_wal_replay_pause()")
	pc.exec(pc.memberDSN(pm), "INSERT INTO drill (id) SELECT generate_series(201, 300)")
	pc.archiveNow(pm)
	pc.stop(pm)
	lost := time.Now()
	assert.Equal(t, 200, len(sc.ids(sm)), "the paused standby has not replayed the last rows")

	// The runbook's promotion: one setting, pulumi up. The PostgreSQL pods keep their template.
	template := mustKubectl(t, "-n", drNamespace, "get", "statefulset", "pynomaly-postgres", "-o", "jsonpath={.spec.template}")
	dr.must("config", "set", "--path", "postgres.standby.promoted", "true")
	dr.must("up", "--yes", "--skip-preview")
	assert.Equal(t, template, mustKubectl(t, "-n", drNamespace, "get", "statefulset", "pynomaly-postgres", "-o", "jsonpath={.spec.template}"),
		"the promotion restarts no PostgreSQL pod")
	writersResumed(t)
	// kwok runs no pod: the setup job's script, as deployed, runs against the standby's member.
	out := runSetupJob(t, drNamespace, sc, sm)
	assert.Contains(t, out, "postgres setup done")
	sc.waitRole(sm, "leader", time.Minute)
	sc.exec(sc.memberDSN(sm), "INSERT INTO drill (id) VALUES (301)")
	ids := sc.ids(sm)
	for id := int64(1); id <= 301; id++ {
		require.True(t, ids[id], "row %d is missing on the promoted standby", id)
	}
	promoted := time.Since(lost)
	dr.must("preview", "--expect-no-changes")
	summary(t, "disaster recovery stacks: the standby replayed 200 archived rows, then, promoted by pulumi up and the setup job with 100 more archived but not replayed, replayed them and took a write %s after the primary was lost (kwok: no pod rolled)",
		promoted.Round(time.Second))

	// Patroni writes its ConfigMaps while it runs, which would hold the namespace's deletion.
	sc.stop(sm)
	destroyStandby(t, dr)
	// The state the primary's Patroni kept (its ConfigMaps) goes with the drill's processes.
	mustKubectl(t, "-n", namespace, "delete", "configmap", "-l", "cluster-name=pynomaly-postgres", "--ignore-not-found")
	destroy(t, primary, "prod")
	primaryDone()
	// The namespace controller deletes a namespace's objects once it can list every API group:
	// the primary's metrics adapter (an APIService no pod serves here) is gone only now.
	waitGone(t, "namespace", drNamespace)
	t.Logf("disaster recovery stacks in %s", time.Since(start).Round(time.Second))
}

// archiveToStore points a stack's WAL archive at the test's S3 server: its bucket, at the
// server's address (the stack keeps prod's workload identity; the drill's WAL-G gets the
// server's keys in its place).
func archiveToStore(p *project, store *objectstore.Store, bucket string) {
	p.must("config", "set", "--path", "postgres.walArchive.s3Bucket", bucket)
	p.must("config", "set", "--path", "postgres.walArchive.endpoint", store.Endpoint)
}

// standbyProject is the standby stack of the runbook: prod's stack file in its own namespace and
// StorageClass, its own bucket, the primary's PostgreSQL passwords (read from the primary's
// Secret, as the runbook reads them), and the primary's namespace and bucket to replay.
func standbyProject(t *testing.T, store *objectstore.Store, primary *project) *project {
	p := newProject(t, "dr", "Pulumi.prod.yaml")
	t.Cleanup(func() {
		if t.Failed() {
			p.run("state", "unprotect", "--all", "--yes")
			p.run("destroy", "--yes", "--skip-preview")
			kubectl(t, "delete", "namespace", drNamespace, "--ignore-not-found", "--wait=false")
		}
	})
	p.onLocalCluster()
	p.must("config", "set", "namespace", drNamespace)
	p.must("config", "set", "--path", "storage.className", "pynomaly-dr-ssd")
	archiveToStore(p, store, standbyBucket)
	primarySecret := clusterSecret(t, namespace, "pynomaly-postgres-credentials")
	for setting, key := range map[string]string{"postgresSuperuserPassword": "superuser-password",
		"postgresReplicationPassword": "replication-password", "postgresMonitorPassword": "monitor-password"} {
		p.setSecret(setting, primarySecret(key))
	}
	// Both stacks share one cluster here, where the primary's metrics adapter holds the external
	// metrics API; in its own region the standby's would.
	p.must("config", "set", "--path", "worker.queueScaling.enabled", "false")
	// And the primary's node-exporter holds its port on every node: one per node. Nor does it
	// collect logs: the agents' namespace would be deleted at the end while the primary's
	// external metrics API, which no adapter serves under kwok, keeps every namespace's deletion
	// waiting (in its own region, the standby runs both).
	p.must("config", "set", "--path", "prometheus.nodeExporter.enabled", "false")
	p.must("config", "set", "--path", "logging.mode", "off")
	p.must("config", "set", "--path", "postgres.standby.fromNamespace", namespace)
	p.must("config", "set", "--path", "postgres.standby.fromBucket", primaryBucket)
	return p
}

// clusterSecret reads the Secret name of the namespace ns: its value of a key.
func clusterSecret(t *testing.T, ns, name string) func(key string) string {
	var s struct {
		Data map[string]string `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(mustKubectl(t, "-n", ns, "get", "secret", name, "-o", "json")), &s))
	return func(key string) string {
		b, err := base64.StdEncoding.DecodeString(s.Data[key])
		require.NoError(t, err)
		require.NotEmpty(t, b, "%s/%s has no %s", ns, name, key)
		return string(b)
	}
}

// walgEnvDir writes WAL-G's environment as Spilo derives it from the cluster's deployed variables
// (prefix "" for its own archive, "STANDBY_" for the primary's), for its members' user, with the
// test server's keys standing in for the pod's workload identity.
func walgEnvDir(t *testing.T, tools, name string, c *patroniCluster, prefix string) string {
	env := objectstore.SpiloWalGEnv(t, c.env, prefix, spiloMajor(t, c.image))
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "drill", "drill-secret"
	delete(env, "AWS_INSTANCE_PROFILE")
	dir := filepath.Join(tools, name)
	objectstore.WriteEnvDir(t, dir, env)
	chownTree(t, dir, c.uid, c.gid)
	require.NoError(t, os.Chmod(dir, 0o700))
	return dir
}

// spiloMajor is the PostgreSQL major version a Spilo image's name says (spilo-17): the version
// of the archive's prefix.
func spiloMajor(t *testing.T, image string) string {
	major := config.PostgresMajor(image)
	require.NotEmpty(t, major, "the postgres image %s names no major version", image)
	return major
}

// customizeArchive changes every member's PostgreSQL parameters in its written configuration.
func (c *patroniCluster) customizeArchive(change func(params map[string]any)) {
	for _, m := range c.members {
		c.editConfig(m, func(cfg map[string]any) {
			change(cfg["postgresql"].(map[string]any)["parameters"].(map[string]any))
		})
	}
}

// asStandby makes the cluster Spilo's standby cluster of the archive its STANDBY_ variables
// name: the dynamic configuration's standby_cluster (the newest base backup fetched, then every
// archived segment replayed), as configure_spilo.py writes it.
func (c *patroniCluster) asStandby(tools, walg string) {
	env := walgEnvDir(c.t, tools, "env-standby", c, "STANDBY_")
	bootstrap := filepath.Join(tools, "bootstrap-standby")
	// Spilo's bootstrap_standby_with_wale (wale_restore.sh): Patroni passes --datadir among its
	// arguments.
	require.NoError(c.t, os.WriteFile(bootstrap, []byte(fmt.Sprintf(`#!/bin/sh
for a; do case $a in --datadir=*) datadir=${a#--datadir=} ;; esac; done
exec %s/envdir "%s" %s backup-fetch "$datadir" LATEST
`, tools, env, walg)), 0o755))
	standby := map[string]any{
		"create_replica_methods": []any{"bootstrap_standby_with_wale", "basebackup_fast_xlog"},
		"restore_command":        fmt.Sprintf(`%s/envdir "%s" %s wal-fetch "%%f" "%%p"`, tools, env, walg),
	}
	for _, m := range c.members {
		c.editConfig(m, func(cfg map[string]any) {
			dcs := map[string]any{"standby_cluster": standby}
			for k, v := range cfg["bootstrap"].(map[string]any)["dcs"].(map[string]any) {
				dcs[k] = v
			}
			cfg["bootstrap"].(map[string]any)["dcs"] = dcs
			cfg["postgresql"].(map[string]any)["bootstrap_standby_with_wale"] = map[string]any{"command": bootstrap, "no_master": 1}
		})
	}
}

// archiveNow switches member m's WAL segment and waits until the archiver has archived it.
func (c *patroniCluster) archiveNow(m *patroniMember) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.memberDSN(m))
	require.NoError(c.t, err)
	defer conn.Close(context.Background())
	var segment string
	require.NoError(c.t, conn.QueryRow(ctx, "SELECT pg_walfile_name(pg_switch_wal())").Scan(&segment))
	_, ok := eventually(time.Minute, 200*time.Millisecond, func() bool {
		var last *string
		return conn.QueryRow(ctx, "SELECT last_archived_wal FROM pg_stat_archiver").Scan(&last) == nil && last != nil && *last >= segment
	})
	require.True(c.t, ok, "segment %s was never archived", segment)
}

// waitRole waits until Patroni reports the member running in role.
func (c *patroniCluster) waitRole(m *patroniMember, role string, timeout time.Duration) {
	took, ok := eventually(timeout, 500*time.Millisecond, func() bool {
		for _, s := range c.states() {
			if s.Name == m.name && s.Role == role && s.State == "running" {
				return true
			}
		}
		return false
	})
	if !ok {
		c.dump()
		require.FailNow(c.t, m.name+" never ran as "+role, "members %+v", c.states())
	}
	c.t.Logf("%s: %s after %s", m.name, role, took.Round(100*time.Millisecond))
}

// runWalG runs a WAL-G command with the env dir as the members' user, against member m's socket.
func (c *patroniCluster) runWalG(m *patroniMember, envDir, walg string, args ...string) {
	cmd := exec.Command(filepath.Join(filepath.Dir(walg), "envdir"), append([]string{envDir, walg}, args...)...)
	cmd.Env = environ(map[string]string{"PATH": postgresBin(c.t) + ":" + os.Getenv("PATH"), "HOME": m.dir,
		"PGHOST": m.dir, "PGPORT": fmt.Sprint(m.port), "PGUSER": c.superuser})
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid)}}
	out, err := cmd.CombinedOutput()
	require.NoError(c.t, err, "wal-g %s: %s", strings.Join(args, " "), out)
}

// waitRows waits until the member holds n rows of the drill's table.
func waitRows(t *testing.T, c *patroniCluster, m *patroniMember, n int, what string) {
	took, ok := eventually(2*time.Minute, time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, c.memberDSN(m))
		if err != nil {
			return false
		}
		defer conn.Close(context.Background())
		var count int
		return conn.QueryRow(ctx, "SELECT count(*) FROM drill").Scan(&count) == nil && count >= n
	})
	if !ok {
		c.dump()
	}
	require.True(t, ok, "%s: %d rows never arrived", what, n)
	t.Logf("%s: %d rows after %s", what, n, took.Round(100*time.Millisecond))
}

// writersResumed: after the promotion the API and workers are autoscaled again, and
// server-side apply has reset the replica count the standby held at zero (an HPA leaves a
// Deployment at zero alone).
func writersResumed(t *testing.T) {
	for _, name := range []string{"pynomaly-api", "pynomaly-worker"} {
		replicas := mustKubectl(t, "-n", drNamespace, "get", "deployment", name, "-o", "jsonpath={.spec.replicas}")
		assert.NotEqual(t, "0", strings.TrimSpace(replicas), "%s stays at zero after the promotion", name)
		mustKubectl(t, "-n", drNamespace, "get", "hpa", name)
	}
	mustKubectl(t, "-n", drNamespace, "get", "job", "pynomaly-db-migrate")
}

// runSetupJob runs the deployed setup job's script with its environment (the Secrets' values
// read from the cluster) against member m. The only changes: where the server is (its socket and
// port), the way to Patroni (its REST port, as the proxy the job's curl honours), and no TLS
// (cert-manager issues no certificate here; the Patroni drill runs without it too).
func runSetupJob(t *testing.T, ns string, c *patroniCluster, m *patroniMember) string {
	var job workload
	require.NoError(t, jsonUnmarshal(mustKubectl(t, "-n", ns, "get", "job", "pynomaly-postgres-setup", "-o", "json"), &job))
	container := job.Spec.Template.Spec.Containers[0]
	require.Len(t, container.Command, 3, "the job runs sh -c SCRIPT")
	env := container.env("", ns, clusterSecret(t, ns, "pynomaly-postgres-credentials"))
	for k := range env {
		if strings.HasPrefix(k, "PGSSL") {
			delete(env, k)
		}
	}
	env["PGHOST"], env["PGPORT"], env["PGSSLMODE"] = m.dir, fmt.Sprint(m.port), "disable"
	env["http_proxy"] = fmt.Sprintf("http://127.0.0.1:%d", m.rest)
	env["PATH"] = postgresBin(t) + ":" + os.Getenv("PATH")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", container.Command[2])
	cmd.Env = environ(env)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the setup job's script: %s", out)
	return string(out)
}

// destroyStandby removes the standby stack and deletes its namespace (prod's protection lifted
// first).
func destroyStandby(t *testing.T, p *project) {
	p.must("state", "unprotect", "--all", "--yes")
	p.must("destroy", "--yes", "--skip-preview")
	p.must("stack", "rm", "--yes")
	mustKubectl(t, "delete", "namespace", drNamespace, "--wait=false")
}
