//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/tests/procgroup"
)

// The PostgreSQL drill runs Debian's Patroni and PostgreSQL as the members of the deployed
// StatefulSet pynomaly-postgres: each on its own loopback ports, with the deployed Patroni
// settings (scope, labels, role label, the dynamic configuration and the tuning of
// SPILO_CONFIGURATION, the leader label value), keeping its state in the cluster's ConfigMaps and
// pod labels with a token of the deployed pods' ServiceAccount. A Role that lacks something
// Patroni does fails the drill.
const (
	patroniRESTBase  = 28000
	postgresPortBase = 25430
	// failoverMargin is what a failover may take beyond ttl + loop_wait: the new leader's
	// round trips to the API server, PostgreSQL's promotion and the drill's polling.
	failoverMargin = 10 * time.Second
)

type patroniMember struct {
	name       string
	rest, port int
	dir        string
	config     string
	patroni    *process
}

func (m *patroniMember) dataDir() string { return filepath.Join(m.dir, "data") }

// patroniCluster is the drill's Patroni cluster and what it was configured from.
type patroniCluster struct {
	t           *testing.T
	ns          string
	image       string
	scope       string
	roleLabel   string
	scopeLabel  string
	leaderLabel string
	dcs         map[string]any
	env         map[string]string
	superuser   string
	password    string
	kubeconfig  string
	members     []*patroniMember
	uid, gid    int
}

func postgresDrill(t *testing.T) {
	_, err := exec.LookPath("patroni")
	require.NoError(t, err, "patroni is not installed: scripts/e2e.sh installs it")
	c := newPatroniCluster(t)
	for _, m := range c.members {
		c.start(m)
	}
	c.waitHealthy("bootstrap", 2*time.Minute)

	c.measureCommitCost()
	c.failover()
	c.switchover()
}

// patroniSetup is where a drill's Patroni cluster runs and what it starts from: its stack's
// namespace, how many members (0: the StatefulSet's replicas) on which loopback ports, the
// values of the deployed Secret's keys (nil: fresh random ones) and what a drill adds to each
// member's configuration (nil: nothing).
type patroniSetup struct {
	namespace          string
	members            int
	restBase, portBase int
	secret             func(key string) string
	customize          func(m *patroniMember, cfg map[string]any)
}

func newPatroniCluster(t *testing.T) *patroniCluster {
	return newPatroniClusterWith(t, patroniSetup{namespace: namespace, restBase: patroniRESTBase, portBase: postgresPortBase})
}

func newPatroniClusterWith(t *testing.T, setup patroniSetup) *patroniCluster {
	sts := deployedStatefulSetIn(t, setup.namespace, "pynomaly-postgres")
	ns := sts.Metadata.Namespace
	secret := setup.secret
	if secret == nil {
		secrets := map[string]string{}
		secret = func(key string) string {
			if secrets[key] == "" {
				secrets[key] = randomHex(t)
			}
			return secrets[key]
		}
	}
	spiloContainer := sts.containerNamed(t, "postgres")
	env := spiloContainer.env("", ns, secret)
	c := &patroniCluster{t: t, ns: ns, image: spiloContainer.Image, scope: env["SCOPE"], roleLabel: env["KUBERNETES_ROLE_LABEL"], scopeLabel: env["KUBERNETES_SCOPE_LABEL"],
		env: env, superuser: env["PGUSER_SUPERUSER"], password: env["PGPASSWORD_SUPERUSER"]}
	require.NotEmpty(t, c.scope)
	var spilo struct {
		Bootstrap struct {
			DCS map[string]any `json:"dcs"`
		} `json:"bootstrap"`
		Postgresql struct {
			Parameters map[string]any `json:"parameters"`
		} `json:"postgresql"`
	}
	require.NoError(t, json.Unmarshal([]byte(env["SPILO_CONFIGURATION"]), &spilo))
	c.dcs = spilo.Bootstrap.DCS
	// prod runs with internal TLS, whose certificates cert-manager would issue: the members run
	// without it (failover is the subject; tls_servers_test.go proves the same servers' TLS).
	withoutTLS(spilo.Postgresql.Parameters)
	if pg, ok := c.dcs["postgresql"].(map[string]any); ok {
		delete(pg, "pg_hba")
		if params, ok := pg["parameters"].(map[string]any); ok {
			withoutTLS(params)
		}
	}
	c.leaderLabel = installedLeaderLabel(t, env["PATRONI_KUBERNETES_LEADER_LABEL_VALUE"])

	pg, err := user.Lookup("postgres")
	require.NoError(t, err)
	c.uid, _ = strconv.Atoi(pg.Uid)
	c.gid, _ = strconv.Atoi(pg.Gid)
	dir := drillDir(t, "postgres-"+ns)
	c.kubeconfig = c.serviceAccountKubeconfig(dir, ns, sts.Spec.Template.Spec.ServiceAccountName)

	var labels map[string]string
	require.NoError(t, json.Unmarshal([]byte(env["KUBERNETES_LABELS"]), &labels))
	bin := postgresBin(t)
	members := setup.members
	if members == 0 {
		members = sts.Spec.Replicas
	}
	for i := 0; i < members; i++ {
		m := &patroniMember{name: fmt.Sprintf("%s-%d", c.scope, i), rest: setup.restBase + i, port: setup.portBase + i,
			dir: filepath.Join(dir, fmt.Sprint(i))}
		require.NoError(t, os.MkdirAll(m.dir, 0o700))
		cfg := c.memberConfig(m, ns, labels, env, spilo.Postgresql.Parameters, bin, secret)
		if setup.customize != nil {
			setup.customize(m, cfg)
		}
		b, err := yaml.Marshal(cfg)
		require.NoError(t, err)
		m.config = filepath.Join(m.dir, "patroni.yml")
		require.NoError(t, os.WriteFile(m.config, b, 0o600))
		c.members = append(c.members, m)
	}
	chownTree(t, dir, c.uid, c.gid)
	t.Cleanup(func() {
		for _, m := range c.members {
			group := m.postgresGroup()
			c.stop(m)
			if group > 0 && !procgroup.Gone(group, 10*time.Second) {
				t.Errorf("%s: processes of PostgreSQL's process group %d outlived the drill", m.name, group)
			}
		}
	})
	return c
}

// editConfig changes member m's written Patroni configuration before it starts.
func (c *patroniCluster) editConfig(m *patroniMember, change func(cfg map[string]any)) {
	b, err := os.ReadFile(m.config)
	require.NoError(c.t, err)
	var cfg map[string]any
	require.NoError(c.t, yaml.Unmarshal(b, &cfg))
	change(cfg)
	b, err = yaml.Marshal(cfg)
	require.NoError(c.t, err)
	require.NoError(c.t, os.WriteFile(m.config, b, 0o600))
}

// withoutTLS drops PostgreSQL's ssl parameters: they name certificate files the drill has not.
func withoutTLS(params map[string]any) {
	for k := range params {
		if strings.HasPrefix(k, "ssl") {
			delete(params, k)
		}
	}
}

// installedLeaderLabel is the role label the installed Patroni puts on the leader's pod.
// Patroni reads PATRONI_KUBERNETES_LEADER_LABEL_VALUE (the program sets it for Spilo's Patroni)
// from version 3.1 on; Debian 12's Patroni 3.0.2 ignores it and always writes "master". The
// drill then checks "master", says so, and leaves the program's value alone.
func installedLeaderLabel(t *testing.T, programs string) string {
	out, err := exec.Command("patroni", "--version").CombinedOutput()
	require.NoError(t, err, string(out))
	m := regexp.MustCompile(`(\d+)\.(\d+)`).FindStringSubmatch(string(out))
	require.NotNil(t, m, "patroni --version: %s", out)
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major < 3 || major == 3 && minor < 1 {
		t.Logf("installed %s writes the leader label %q: leader_label_value (the program's %q, which the read-write Service selects) arrived in Patroni 3.1; Spilo's Patroni writes the program's value",
			strings.TrimSpace(string(out)), "master", programs)
		return "master"
	}
	return programs
}

func postgresBin(t *testing.T) string {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	require.NotEmpty(t, bins, "PostgreSQL is not installed")
	sort.Strings(bins)
	return filepath.Dir(bins[len(bins)-1])
}

func randomHex(t *testing.T) string {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func chownTree(t *testing.T, dir string, uid, gid int) {
	require.NoError(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}))
}

// serviceAccountKubeconfig is a kubeconfig for the API server of the suite's cluster whose user
// is a token of the ServiceAccount sa: Patroni gets exactly what the program's Role grants.
func (c *patroniCluster) serviceAccountKubeconfig(dir, ns, sa string) string {
	t := c.t
	require.NotEmpty(t, sa, "the StatefulSet names its ServiceAccount")
	token := strings.TrimSpace(mustKubectl(t, "-n", ns, "create", "token", sa, "--duration=2h"))
	var admin struct {
		Clusters []struct {
			Cluster struct {
				Server string `json:"server"`
				CA     string `json:"certificate-authority-data"`
			} `json:"cluster"`
		} `json:"clusters"`
	}
	require.NoError(t, jsonUnmarshal(mustKubectl(t, "config", "view", "--raw", "--minify", "--flatten", "-o", "json"), &admin))
	require.Len(t, admin.Clusters, 1)
	ca, err := base64.StdEncoding.DecodeString(admin.Clusters[0].Cluster.CA)
	require.NoError(t, err)
	caPath := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(caPath, ca, 0o644))
	cfg := map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": "drill",
		"clusters": []any{map[string]any{"name": "drill", "cluster": map[string]any{"server": admin.Clusters[0].Cluster.Server, "certificate-authority": caPath}}},
		"users":    []any{map[string]any{"name": "drill", "user": map[string]any{"token": token}}},
		"contexts": []any{map[string]any{"name": "drill", "context": map[string]any{"cluster": "drill", "user": "drill", "namespace": ns}}},
	}
	b, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	path := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

// memberConfig is what Spilo makes of the deployed environment for one member, with loopback
// addresses for the pod's: Kubernetes DCS on ConfigMaps with the program's labels, the
// program's dynamic configuration to bootstrap with, the program's tuning.
func (c *patroniCluster) memberConfig(m *patroniMember, ns string, labels, env map[string]string, params map[string]any, bin string, secret func(string) string) map[string]any {
	local := map[string]any{"unix_socket_directories": m.dir}
	for k, v := range params {
		local[k] = v
	}
	loopback := func(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
	return map[string]any{
		"scope": c.scope,
		"name":  m.name,
		// The REST API's unsafe methods take the deployed credentials, as Spilo configures them
		// from the same environment (patronictl reads them from this file too).
		"restapi": map[string]any{"listen": loopback(m.rest), "connect_address": loopback(m.rest),
			"authentication": map[string]any{"username": env["PATRONI_RESTAPI_USERNAME"], "password": env["PATRONI_RESTAPI_PASSWORD"]}},
		// No top-level namespace: it would override kubernetes.namespace.
		"kubernetes": map[string]any{
			"context":       "drill",
			"namespace":     ns,
			"labels":        labels,
			"scope_label":   c.scopeLabel,
			"role_label":    c.roleLabel,
			"use_endpoints": env["KUBERNETES_USE_CONFIGMAPS"] != "true",
		},
		"bootstrap": map[string]any{
			"dcs": c.dcs,
			// Checksums as Spilo's initdb makes them; with wal_log_hints they let pg_rewind
			// bring a failed leader back as a replica.
			"initdb": []any{map[string]any{"encoding": "UTF8"}, "data-checksums"},
		},
		"postgresql": map[string]any{
			"listen":          loopback(m.port),
			"connect_address": loopback(m.port),
			"data_dir":        m.dataDir(),
			"bin_dir":         bin,
			"pgpass":          filepath.Join(m.dir, "pgpass"),
			"authentication": map[string]any{
				"superuser":   map[string]any{"username": c.superuser, "password": c.password},
				"replication": map[string]any{"username": env["PGUSER_STANDBY"], "password": env["PGPASSWORD_STANDBY"]},
			},
			"parameters": local,
			"pg_hba": []string{
				"local all all trust",
				"host replication " + env["PGUSER_STANDBY"] + " 127.0.0.1/32 scram-sha-256",
				"host all all 127.0.0.1/32 scram-sha-256",
			},
		},
	}
}

// start runs the member's Patroni as postgres (it refuses root) with the drill's kubeconfig and
// the deployed container's PATRONI_ variables, as Spilo passes them on.
func (c *patroniCluster) start(m *patroniMember) {
	cmd := exec.Command("patroni", m.config)
	env := map[string]string{"HOME": m.dir, "KUBECONFIG": c.kubeconfig}
	for k, v := range c.env {
		if strings.HasPrefix(k, "PATRONI_") {
			env[k] = v
		}
	}
	cmd.Env = environ(env)
	cmd.Dir = m.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid)}}
	m.patroni = startProcess(c.t, m.name, filepath.Join(m.dir, "patroni.log"), cmd)
}

// stop is kill -9 of the member's Patroni and of its PostgreSQL: the postmaster and, since
// Patroni starts it in a session of its own, the postmaster's whole process group (its backends
// and auxiliary processes). What a node's sudden loss does.
func (c *patroniCluster) stop(m *patroniMember) {
	if m.patroni != nil {
		m.patroni.kill()
	}
	if pid := m.postmasterPID(); pid > 0 {
		if m.postgresGroup() == pid {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		} else {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// postgresGroup is the postmaster's process group if it runs and leads one, else 0.
func (m *patroniMember) postgresGroup() int {
	pid := m.postmasterPID()
	if pgid, err := syscall.Getpgid(pid); pid > 0 && err == nil && pgid == pid {
		return pid
	}
	return 0
}

// postmasterPID is the pid postmaster.pid names, or 0.
func (m *patroniMember) postmasterPID() int {
	b, err := os.ReadFile(filepath.Join(m.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// patroniState is a member as Patroni's REST API (/cluster) reports it.
type patroniState struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	State    string `json:"state"`
	Timeline int    `json:"timeline"`
	Lag      any    `json:"lag"`
}

// states is the cluster as any running member sees it.
func (c *patroniCluster) states() []patroniState {
	client := http.Client{Timeout: 2 * time.Second}
	for _, m := range c.members {
		if m.patroni == nil || !m.patroni.running() {
			continue
		}
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/cluster", m.rest))
		if err != nil {
			continue
		}
		var cl struct {
			Members []patroniState `json:"members"`
		}
		err = json.NewDecoder(resp.Body).Decode(&cl)
		resp.Body.Close()
		if err == nil {
			return cl.Members
		}
	}
	return nil
}

func (c *patroniCluster) member(name string) *patroniMember {
	for _, m := range c.members {
		if m.name == name {
			return m
		}
	}
	require.FailNow(c.t, "no member "+name)
	return nil
}

// leaderLock is the member that holds the leader lock (the leader ConfigMap's annotation).
func (c *patroniCluster) leaderLock() string {
	out, err := kubectl(c.t, "-n", c.ns, "get", "configmap", c.scope+"-leader", "-o", "jsonpath={.metadata.annotations.leader}")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// roleLabels are the members' pods' role labels.
func (c *patroniCluster) roleLabels() map[string]string {
	out, err := kubectl(c.t, "-n", c.ns, "get", "pods", "-l", c.scopeLabel+"="+c.scope,
		"-o", `jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.`+strings.ReplaceAll(c.roleLabel, ".", `\.`)+`}{"\n"}{end}`)
	labels := map[string]string{}
	if err != nil {
		return labels
	}
	for _, l := range strings.Fields(out) {
		if k, v, ok := strings.Cut(l, "="); ok {
			labels[k] = v
		}
	}
	return labels
}

// synchronous is the program's synchronous_mode.
func (c *patroniCluster) synchronous() bool { v, _ := c.dcs["synchronous_mode"].(bool); return v }

func (c *patroniCluster) seconds(key string) time.Duration {
	v, ok := c.dcs[key].(float64)
	require.True(c.t, ok, "the deployed dynamic configuration has %s", key)
	return time.Duration(v) * time.Second
}

// healthy: one leader holding the lock with its pod labelled leader, every other member a
// running replica labelled replica on the leader's timeline, and with synchronous_mode a
// synchronous standby.
func (c *patroniCluster) healthy() (string, bool) {
	states := c.states()
	if len(states) != len(c.members) {
		return "", false
	}
	lock := c.leaderLock()
	labels := c.roleLabels()
	var leader patroniState
	for _, s := range states {
		if s.Role == "leader" {
			leader = s
		}
	}
	if leader.Name == "" || leader.Name != lock || leader.State != "running" || labels[lock] != c.leaderLabel {
		return "", false
	}
	syncStandby := false
	for _, s := range states {
		if s.Name == lock {
			continue
		}
		if !slices.Contains([]string{"running", "streaming"}, s.State) || s.Timeline != leader.Timeline || labels[s.Name] != "replica" {
			return "", false
		}
		syncStandby = syncStandby || s.Role == "sync_standby"
	}
	return lock, syncStandby || !c.synchronous()
}

func (c *patroniCluster) waitHealthy(what string, timeout time.Duration) (string, time.Duration) {
	var leader string
	took, ok := eventually(timeout, 500*time.Millisecond, func() bool {
		var healthy bool
		leader, healthy = c.healthy()
		return healthy
	})
	if !ok {
		c.dump()
		require.FailNow(c.t, what+": the cluster did not become healthy", "members %+v, lock %q, labels %v", c.states(), c.leaderLock(), c.roleLabels())
	}
	c.t.Logf("%s: healthy after %s, leader %s", what, took.Round(100*time.Millisecond), leader)
	return leader, took
}

func (c *patroniCluster) dump() {
	for _, m := range c.members {
		if m.patroni != nil {
			c.t.Log(m.patroni.tail(30))
		}
	}
}

// dsn connects to whichever member takes writes, as a client of the read-write Service does.
func (c *patroniCluster) dsn() string {
	hosts, ports := make([]string, len(c.members)), make([]string, len(c.members))
	for i, m := range c.members {
		hosts[i], ports[i] = "127.0.0.1", fmt.Sprint(m.port)
	}
	return fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=postgres sslmode=disable connect_timeout=2 target_session_attrs=read-write",
		strings.Join(hosts, ","), strings.Join(ports, ","), c.superuser, c.password)
}

// memberDSN connects to one member, whatever its role.
func (c *patroniCluster) memberDSN(m *patroniMember) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=postgres sslmode=disable connect_timeout=2", m.port, c.superuser, c.password)
}

func (c *patroniCluster) exec(dsn, sql string, args ...any) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(c.t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql, args...)
	require.NoError(c.t, err, sql)
}

// ids are the rows of table drill on the member.
func (c *patroniCluster) ids(m *patroniMember) map[int64]bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.memberDSN(m))
	require.NoError(c.t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SELECT id FROM drill")
	require.NoError(c.t, err)
	ids := map[int64]bool{}
	for rows.Next() {
		var id int64
		require.NoError(c.t, rows.Scan(&id))
		ids[id] = true
	}
	require.NoError(c.t, rows.Err())
	return ids
}

// patchConfig changes the cluster's dynamic configuration as the setup job does (PATCH /config).
func (c *patroniCluster) patchConfig(patch map[string]any) {
	b, _ := json.Marshal(patch)
	req, err := http.NewRequest(http.MethodPatch, fmt.Sprintf("http://127.0.0.1:%d/config", c.members[0].rest), bytes.NewReader(b))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(c.env["PATRONI_RESTAPI_USERNAME"], c.env["PATRONI_RESTAPI_PASSWORD"])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(c.t, http.StatusOK, resp.StatusCode, string(body))
}

// commitLatency commits n single-row transactions one after another on the leader and returns
// their mean and 95th percentile.
func (c *patroniCluster) commitLatency(n int) (mean, p95 time.Duration) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.dsn())
	require.NoError(c.t, err)
	defer conn.Close(ctx)
	took := make([]time.Duration, n)
	var sum time.Duration
	for i := range took {
		start := time.Now()
		_, err := conn.Exec(ctx, "INSERT INTO drill_cost (v) VALUES ($1)", i)
		require.NoError(c.t, err)
		took[i] = time.Since(start)
		sum += took[i]
	}
	slices.Sort(took)
	return sum / time.Duration(n), took[n*95/100]
}

// synchronousStandbys is the leader's synchronous_standby_names, which Patroni sets.
func (c *patroniCluster) synchronousStandbys() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn())
	if err != nil {
		return "?"
	}
	defer conn.Close(ctx)
	var names string
	if err := conn.QueryRow(ctx, "SHOW synchronous_standby_names").Scan(&names); err != nil {
		return "?"
	}
	return names
}

func (c *patroniCluster) setSynchronous(on bool) {
	c.patchConfig(map[string]any{"synchronous_mode": on})
	_, ok := eventually(2*time.Minute, 500*time.Millisecond, func() bool {
		names := c.synchronousStandbys()
		return names != "?" && (names != "") == on
	})
	require.True(c.t, ok, "synchronous_mode %t did not reach the leader: synchronous_standby_names %q", on, c.synchronousStandbys())
}

// measureCommitCost is the price of synchronous replication on a commit: the same single-row
// transactions with synchronous_mode on and off (on loopback, so it is the replica's round trip
// and fsync, without a network's latency). It ends with the program's setting.
func (c *patroniCluster) measureCommitCost() {
	c.exec(c.dsn(), "CREATE TABLE drill (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())")
	c.exec(c.dsn(), "CREATE TABLE drill_cost (v int)")
	const n = 500
	results := map[bool][2]time.Duration{}
	for _, on := range []bool{!c.synchronous(), c.synchronous()} {
		c.setSynchronous(on)
		mean, p95 := c.commitLatency(n)
		results[on] = [2]time.Duration{mean, p95}
	}
	summary(c.t, "postgres commit latency over %d single-row commits (loopback): synchronous mean %s p95 %s, asynchronous mean %s p95 %s; program's synchronous_mode: %t",
		n, results[true][0].Round(time.Microsecond), results[true][1].Round(time.Microsecond),
		results[false][0].Round(time.Microsecond), results[false][1].Round(time.Microsecond), c.synchronous())
	c.waitHealthy("back on the program's synchronous_mode", time.Minute)
}

// writer inserts rows one after another through the read-write connection until stopped,
// reconnecting after any error, and records which it acknowledged and when. A row whose commit
// got no answer may or may not exist; an acknowledged one must.
type writer struct {
	mu    sync.Mutex
	acked []int64
	at    []time.Time
	stop  context.CancelFunc
	done  chan struct{}
}

func (c *patroniCluster) startWriter(from int64) *writer {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writer{stop: cancel, done: make(chan struct{})}
	dsn := c.dsn()
	go func() {
		defer close(w.done)
		var conn *pgx.Conn
		for id := from; ctx.Err() == nil; id++ {
			if conn == nil {
				cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
				conn, _ = pgx.Connect(cctx, dsn)
				ccancel()
				if conn == nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
			}
			qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := conn.Exec(qctx, "INSERT INTO drill (id) VALUES ($1)", id)
			qcancel()
			if err != nil {
				conn.Close(context.Background())
				conn = nil
				continue
			}
			w.mu.Lock()
			w.acked, w.at = append(w.acked, id), append(w.at, time.Now())
			w.mu.Unlock()
		}
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	return w
}

func (w *writer) count() int { w.mu.Lock(); defer w.mu.Unlock(); return len(w.acked) }

// waitFor waits until n more writes than now are acknowledged.
func (w *writer) waitFor(t *testing.T, n int, timeout time.Duration) {
	target := w.count() + n
	_, ok := eventually(timeout, 50*time.Millisecond, func() bool { return w.count() >= target })
	require.True(t, ok, "writes did not go on: %d acknowledged", w.count())
}

// finish stops the writer and returns the acknowledged rows and the longest time between two
// acknowledged writes: how long writes were refused.
func (w *writer) finish() ([]int64, time.Duration) {
	w.stop()
	<-w.done
	var gap time.Duration
	for i := 1; i < len(w.at); i++ {
		gap = max(gap, w.at[i].Sub(w.at[i-1]))
	}
	return w.acked, gap
}

// lost are the acknowledged rows missing on member m.
func (c *patroniCluster) lost(m *patroniMember, acked []int64) []int64 {
	have := c.ids(m)
	var lost []int64
	for _, id := range acked {
		if !have[id] {
			lost = append(lost, id)
		}
	}
	return lost
}

// failover kills the leader's Patroni and PostgreSQL (kill -9) while a writer commits, then
// measures until another member holds the leader lock and its pod carries the leader label,
// checks every acknowledged row on the new leader, and brings the old leader back as a replica.
func (c *patroniCluster) failover() {
	t := c.t
	ttl, loopWait := c.seconds("ttl"), c.seconds("loop_wait")
	old := c.member(c.leaderLock())
	w := c.startWriter(1_000_000)
	w.waitFor(t, 200, time.Minute)

	c.stop(old)
	var leader string
	took, ok := eventually(2*(ttl+loopWait), 200*time.Millisecond, func() bool {
		leader = c.leaderLock()
		return leader != "" && leader != old.name && c.roleLabels()[leader] == c.leaderLabel
	})
	if !ok {
		c.dump()
	}
	require.True(t, ok, "no new leader after %s: lock %q, labels %v", took, c.leaderLock(), c.roleLabels())
	w.waitFor(t, 200, time.Minute)
	acked, refused := w.finish()
	lost := c.lost(c.member(leader), acked)
	summary(t, "postgres failover (kill -9 of the leader's Patroni and PostgreSQL): %s held the leader lock and the %q label %s after the kill (bound ttl %s + loop_wait %s + margin %s); writes refused for %s; %d of %d acknowledged rows lost (synchronous_mode %t); the dead leader's pod still says %q",
		leader, c.leaderLabel, took.Round(100*time.Millisecond), ttl, loopWait, failoverMargin, refused.Round(100*time.Millisecond),
		len(lost), len(acked), c.synchronous(), c.roleLabels()[old.name])
	assert.LessOrEqual(t, took, ttl+loopWait+failoverMargin, "failover took longer than ttl + loop_wait + margin")
	if c.synchronous() {
		assert.Empty(t, lost, "synchronous_mode: no acknowledged row may be lost")
	} else {
		t.Logf("asynchronous replication: up to maximum_lag_on_failover (%v bytes) of acknowledged rows may be lost; lost %d", c.dcs["maximum_lag_on_failover"], len(lost))
	}

	// The old leader comes back: Patroni rewinds it (pg_rewind) onto the new timeline if it
	// diverged, and it follows the new leader.
	back := time.Now()
	c.start(old)
	c.waitHealthy("old leader "+old.name+" rejoined", 3*time.Minute)
	log, _ := os.ReadFile(old.patroni.log)
	rewound := strings.Contains(string(log), "pg_rewind")
	c.exec(c.dsn(), "INSERT INTO drill (id) VALUES (1)")
	_, ok = eventually(30*time.Second, 200*time.Millisecond, func() bool { return c.ids(old)[1] })
	require.True(t, ok, "a row written on the new leader does not reach the old one")
	summary(t, "postgres rejoin: %s back as a replica of %s %s after its restart (pg_rewind in its log: %t), and replicates new rows",
		old.name, leader, time.Since(back).Round(100*time.Millisecond), rewound)
}

// switchover is an operator's planned change of leader (patronictl switchover, as before a
// node's maintenance) while a writer commits: how long writes are refused, and that none is lost.
func (c *patroniCluster) switchover() {
	t := c.t
	old := c.leaderLock()
	var candidate string
	for _, s := range c.states() {
		if s.Name != old && (s.Role == "sync_standby" || !c.synchronous()) {
			candidate = s.Name
		}
	}
	require.NotEmpty(t, candidate, "a member to switch over to: %+v", c.states())
	w := c.startWriter(2_000_000)
	w.waitFor(t, 200, time.Minute)
	cmd := exec.Command("patronictl", "-c", c.member(old).config, "switchover", "--leader", old, "--candidate", candidate, "--force")
	cmd.Env = environ(map[string]string{"KUBECONFIG": c.kubeconfig, "HOME": c.member(old).dir})
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "patronictl switchover: %s", out)
	took, ok := eventually(2*time.Minute, 200*time.Millisecond, func() bool {
		return c.leaderLock() == candidate && c.roleLabels()[candidate] == c.leaderLabel
	})
	require.True(t, ok, "switchover: lock %q, labels %v\n%s", c.leaderLock(), c.roleLabels(), out)
	w.waitFor(t, 200, time.Minute)
	acked, refused := w.finish()
	lost := c.lost(c.member(candidate), acked)
	summary(t, "postgres switchover (patronictl switchover --candidate %s --force): %s held the leader lock and the %q label %s after the command; writes refused for %s; %d of %d acknowledged rows lost",
		candidate, candidate, c.leaderLabel, took.Round(100*time.Millisecond), refused.Round(100*time.Millisecond), len(lost), len(acked))
	assert.Empty(t, lost, "a switchover loses no acknowledged row")
	c.waitHealthy("after the switchover", 2*time.Minute)
}
