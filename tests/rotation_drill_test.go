//go:build drills

package tests

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/rotation"
)

// The rotation drill: real PostgreSQL, PgBouncer and Redis run with the generated
// configurations; what the program declares for generation 0 (the first deployment) and for
// generation 1 (secrets.rotation.all raised to 1) runs in the order the engine runs it (the
// steps of docs/operations.md's Rotate credentials, which TestRotatedTemplatesWaitForTheServers and TestRetirementAfterEveryClient
// hold the dependencies to). Clients with the credentials of the old pod template and of the new
// one, each opening a new connection for every query, work throughout: through PgBouncer, and to
// Redis. Afterwards only the new credentials work.
func TestRotationDrill(t *testing.T) {
	bin := filepath.Dir(tool(t, "/usr/lib/postgresql/*/bin/postgres"))
	pgbouncer, redisServer, redisCLI := tool(t, "pgbouncer"), tool(t, "redis-server"), tool(t, "redis-cli")
	tool(t, "curl")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	before, after := deploy(t, "dev", nil), deploy(t, "dev", cfg{"secrets": `{"rotation": {"all": 1}}`})
	s := settings(t, "dev", nil)

	// Generation 0, as the first deployment left it.
	pg := newDrillPostgres(t, ctx, bin)
	pg.setupJob(t, ctx, before)
	pools := &endpoints{}
	p0 := startPooler(t, ctx, pgbouncer, pg.dir, s.Pooler, secretData(t, before, credentials.PostgresSecretName)[credentials.PostgresPoolerUserlistKey])
	pools.set(p0.port)
	r0 := startDrillRedis(t, redisServer, redisCLI, before, s.RedisQueue, "")
	primary := &endpoints{}
	primary.set(r0.port)

	oldApp, newApp := appCredentials(t, before), appCredentials(t, after)
	_, err := pgThrough(bin, pools.next(), oldApp, "CREATE TABLE drill (login text NOT NULL, at timestamptz DEFAULT now())")
	require.NoError(t, err)
	oldPG := startDrillClient("PostgreSQL client of the old template", pgQuery(bin, pools, oldApp))
	oldRedis := startDrillClient("Redis client of the old template", redisQuery(redisCLI, primary, oldApp.redisPassword))
	steps := &drillSteps{}
	steps.hold()

	// 2. The servers learn the new password; the previous one stays valid.
	pg.setupJob(t, ctx, after)
	r1 := startDrillRedis(t, redisServer, redisCLI, after, s.RedisQueue, "0")
	r1.rollFrom(t, r0)
	primary.set(r1.port) // Sentinel's failover to the new pod, which clients follow
	drain()
	r0.stop()
	steps.hold()

	// 3. The pooler rolls (both pods serve for a while), then the clients roll.
	p1 := startPooler(t, ctx, pgbouncer, pg.dir, s.Pooler, secretData(t, after, credentials.PostgresSecretName)[credentials.PostgresPoolerUserlistKey])
	pools.set(p0.port, p1.port)
	steps.hold()
	pools.set(p1.port)
	drain()
	p0.stop()
	newPG := startDrillClient("PostgreSQL client of the new template", pgQuery(bin, pools, newApp))
	newRedis := startDrillClient("Redis client of the new template", redisQuery(redisCLI, primary, newApp.redisPassword))
	steps.hold()
	oldPG.stop()
	oldRedis.stop()

	// 4. The settled generation is recorded, then the previous password retired.
	settled := after.One(t, secretType, credentials.SettledSecret).StringMap(t, "stringData")[credentials.SettledRedisKey]
	// A replica that restarts now replicates with the new password, before and after retirement.
	replica := startDrillRedis(t, redisServer, redisCLI, after, s.RedisQueue, settled)
	replica.replicate(t, r1)
	pg.job(t, ctx, after, rotation.PostgresRetireJob, "postgres-retire", "previous login retired")
	script, env := podScript(t, after, after.One(t, jobType, rotation.RedisRetireJob), "redis-retire")
	env["REDIS_TARGETS"] = "127.0.0.1|"
	out, err := runScript(ctx, "", strings.ReplaceAll(script, fmt.Sprintf("-p %d", redis.Port), fmt.Sprintf("-p %d", r1.port)), env)
	require.NoError(t, err, "redis retirement: %s", out)
	steps.hold()
	newPG.stop()
	newRedis.stop()

	require.Equal(t, "OK", replica.cli(newApp.redisPassword, "REPLICAOF", "NO", "ONE"))
	replica.replicate(t, r1) // a new link, authenticated after the retirement

	// Every query and command of every client succeeded, during every step.
	clients := []*drillClient{oldPG, oldRedis, newPG, newRedis}
	total := map[string]int64{}
	for _, c := range clients {
		assert.Zero(t, c.failures.Load(), "%s failed: %v", c.name, c.errors())
		assert.GreaterOrEqual(t, c.ok.Load(), int64(10), "%s kept querying", c.name)
		kind, _, _ := strings.Cut(c.name, " ")
		total[kind] += c.ok.Load() + c.failures.Load()
	}
	t.Logf("rotation drill: %d PostgreSQL queries through PgBouncer, %d Redis commands, %d failures, in %s (steps held %s)",
		total["PostgreSQL"], total["Redis"], oldPG.failures.Load()+oldRedis.failures.Load()+newPG.failures.Load()+newRedis.failures.Load(),
		time.Since(began).Round(time.Millisecond), steps.held.Round(time.Millisecond))

	// Both logins wrote to one table owned by one role: the new login acts as the owner.
	rows, err := pg.psql("postgres", "", "SELECT string_agg(DISTINCT login, ',' ORDER BY login) || ' ' || (SELECT tableowner FROM pg_tables WHERE tablename = 'drill') FROM drill")
	require.NoError(t, err)
	assert.Equal(t, "pynomaly,pynomaly_b pynomaly", rows)

	// Afterwards only the new credentials work: at PostgreSQL, through PgBouncer, at Redis, and at
	// a Redis pod that starts after the rotation settled.
	_, err = pg.psql(oldApp.user, oldApp.password, "SELECT 1")
	assert.Error(t, err, "the previous login still logs in to PostgreSQL")
	_, err = pgThrough(bin, p1.port, oldApp, "SELECT 1")
	assert.Error(t, err, "the previous login still gets through PgBouncer")
	got, err := pgThrough(bin, p1.port, newApp, "SELECT current_user")
	assert.NoError(t, err, got)
	assert.Equal(t, "pynomaly", got)
	assert.NotEqual(t, "PONG", r1.cli(oldApp.redisPassword, "PING"), "Redis still accepts the previous password")
	assert.Equal(t, "PONG", r1.cli(newApp.redisPassword, "PING"))
	require.Equal(t, "1", settled)
	restarted := startDrillRedis(t, redisServer, redisCLI, after, s.RedisQueue, settled)
	assert.NotEqual(t, "PONG", restarted.cli(oldApp.redisPassword, "PING"), "a pod started after the rotation accepts the previous password")
	assert.Equal(t, "PONG", restarted.cli(newApp.redisPassword, "PING"))
	// A pod that restarted mid-rotation accepted both (the settled generation was still 0).
	midway := startDrillRedis(t, redisServer, redisCLI, after, s.RedisQueue, "0")
	assert.Equal(t, "PONG", midway.cli(oldApp.redisPassword, "PING"))
	assert.Equal(t, "PONG", midway.cli(newApp.redisPassword, "PING"))
}

// drain is the time between a pod leaving its Service's endpoints and its SIGTERM: connections
// a client began to the pod before go on (in a cluster, the endpoints' propagation; a connection
// that reaches a stopping PgBouncer is refused, in a rotation or any other rollout).
func drain() { time.Sleep(300 * time.Millisecond) }

// drillSteps lets the clients work through each step for a while.
type drillSteps struct{ held time.Duration }

func (s *drillSteps) hold() {
	const d = time.Second
	time.Sleep(d)
	s.held += d
}

// endpoints are the pods a Service sends new connections to, in turn.
type endpoints struct {
	mu    sync.Mutex
	ports []int
	n     int
}

func (e *endpoints) set(ports ...int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ports = ports
}

func (e *endpoints) next() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	return e.ports[e.n%len(e.ports)]
}

// drillClient runs one query after another, each on a new connection, until stopped.
type drillClient struct {
	name         string
	ok, failures atomic.Int64
	mu           sync.Mutex
	errs         []string
	done, exited chan struct{}
}

func startDrillClient(name string, query func() error) *drillClient {
	c := &drillClient{name: name, done: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		defer close(c.exited)
		for {
			select {
			case <-c.done:
				return
			default:
			}
			if err := query(); err != nil {
				c.failures.Add(1)
				c.mu.Lock()
				if len(c.errs) < 5 {
					c.errs = append(c.errs, err.Error())
				}
				c.mu.Unlock()
			} else {
				c.ok.Add(1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return c
}

func (c *drillClient) stop() { close(c.done); <-c.exited }

func (c *drillClient) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errs
}

// appCredentials are what the API pods of a stack hold: their login, password and Redis password.
type appCreds struct{ user, password, redisPassword string }

func appCredentials(t *testing.T, st *Stack) appCreds {
	env := podEnv(t, st, st.One(t, deploymentType, app.APIName), "api")
	require.NotEmpty(t, env["DATABASE_USER"])
	return appCreds{user: env["DATABASE_USER"], password: env["DATABASE_PASSWORD"], redisPassword: env["REDIS_PASSWORD"]}
}

func secretData(t *testing.T, st *Stack, name string) map[string]string {
	return st.One(t, secretType, name).StringMap(t, "stringData")
}

// pgThrough runs one statement through the pooler on port, on a new connection. A statement
// that takes 4 s failed: PgBouncer keeps a client whose login it accepted, but PostgreSQL
// refuses, waiting for a server connection (query_wait_timeout, 2 minutes) instead of failing it.
func pgThrough(bin string, port int, c appCreds, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", fmt.Sprint(port),
		"-U", c.user, "-d", postgres.Database, "-w", "-Atc", sql)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+c.password, "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=5")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s as %s through :%d: %v: %s", sql, c.user, port, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// pgQuery writes a row through the pooler and checks the session acts as the owning role.
func pgQuery(bin string, pools *endpoints, c appCreds) func() error {
	return func() error {
		out, err := pgThrough(bin, pools.next(), c, "INSERT INTO drill (login) VALUES (session_user) RETURNING current_user")
		if err == nil && out != credentials.PostgresAppUser {
			err = fmt.Errorf("as %s the session acted as %q", c.user, out)
		}
		return err
	}
}

// redisQuery increments a counter at the current primary, on a new connection.
func redisQuery(cli string, primary *endpoints, password string) func() error {
	return func() error {
		cmd := exec.Command(cli, "-h", "127.0.0.1", "-p", fmt.Sprint(primary.next()), "INCR", "drill")
		cmd.Env = append(os.Environ(), "REDISCLI_AUTH="+password)
		out, err := cmd.CombinedOutput()
		if _, perr := strconv.Atoi(strings.TrimSpace(string(out))); err != nil || perr != nil {
			return fmt.Errorf("INCR: %v: %s", err, out)
		}
		return nil
	}
}

// drillPostgres is PostgreSQL as socketPostgres runs it.
type drillPostgres struct {
	bin, dir string
	log      fmt.Stringer
}

func newDrillPostgres(t *testing.T, ctx context.Context, bin string) *drillPostgres {
	dir, log := socketPostgres(t, ctx, bin)
	return &drillPostgres{bin: bin, dir: dir, log: log}
}

// job runs a stack's job script against this server (its host and, for the setup job, the way
// to Patroni being the only changes to its environment).
func (p *drillPostgres) job(t *testing.T, ctx context.Context, st *Stack, name, container, done string) {
	t.Helper()
	script, env := podScript(t, st, st.One(t, jobType, name), container)
	env["PGHOST"] = p.dir
	if user, ok := env["PATRONI_RESTAPI_USERNAME"]; ok {
		proxy := httptest.NewServer(&fakePatroni{user: user, password: env["PATRONI_RESTAPI_PASSWORD"]})
		defer proxy.Close()
		env["http_proxy"] = proxy.URL
	}
	out, err := runScript(ctx, p.bin, script, env)
	require.NoError(t, err, "%s: %s\npostgres: %s", name, out, p.log)
	require.Contains(t, out, done)
	job := st.One(t, jobType, name)
	for v, ref := range job.Env(t, job.Container(t, podSpec, container)) {
		if strings.HasPrefix(ref, "secret:") {
			assert.NotContains(t, out, env[v], "%s logged %s", name, v)
		}
	}
}

func (p *drillPostgres) setupJob(t *testing.T, ctx context.Context, st *Stack) {
	p.job(t, ctx, st, postgres.SetupJob, "postgres-setup", "postgres setup done")
}

func (p *drillPostgres) psql(user, password, sql string) (string, error) {
	cmd := exec.Command(filepath.Join(p.bin, "psql"), "-X", "-h", p.dir, "-p", fmt.Sprint(postgres.Port),
		"-U", user, "-d", postgres.Database, "-w", "-Atc", sql)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// drillPooler is one PgBouncer pod: the generated pgbouncer.ini and the Secret's user list.
type drillPooler struct {
	port int
	stop func()
}

func startPooler(t *testing.T, ctx context.Context, pgbouncer, pgDir string, pooler config.Pooler, userlist string) *drillPooler {
	t.Helper()
	dir := serviceDir(t)
	port := freePort(t)
	ini := postgres.PgBouncerIni(pgDir, pooler, false)
	ini = strings.ReplaceAll(ini, "listen_addr = 0.0.0.0", "listen_addr = 127.0.0.1")
	ini = strings.ReplaceAll(ini, fmt.Sprintf("listen_port = %d", postgres.Port), fmt.Sprintf("listen_port = %d", port))
	ini = strings.ReplaceAll(ini, "/etc/pgbouncer/auth/userlist.txt", filepath.Join(dir, "userlist.txt"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "userlist.txt"), []byte(userlist), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644))
	cmd := asServiceUser(ctx, pgbouncer, filepath.Join(dir, "pgbouncer.ini"))
	exited, log := start(t, cmd)
	once := sync.Once{}
	// SIGINT: PgBouncer's safe shutdown, what the kubelet's SIGTERM is since 1.23.
	stop := func() { once.Do(func() { _ = cmd.Process.Signal(syscall.SIGINT); <-exited }) }
	t.Cleanup(stop)
	waitFor(t, "pgbouncer to listen", exited, log, listening(port))
	return &drillPooler{port: port, stop: stop}
}

// drillRedis is one Redis pod: the generated redis.conf, and the runtime configuration its
// start-up script writes from the pod's environment (settled: the settled Secret's value, ""
// before there is one).
type drillRedis struct {
	port      int
	cliPath   string
	stop      func()
	dir, conf string
}

func startDrillRedis(t *testing.T, server, cli string, st *Stack, tier config.StatefulTier, settled string) *drillRedis {
	t.Helper()
	dir := t.TempDir()
	base := strings.Replace(redis.Conf(redis.Queue, tier), "dir /data\n", "dir "+dir+"\n", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "base.conf"), []byte(base), 0o600))
	script, env := podScript(t, st, st.One(t, statefulSetType, redis.QueueService), "topology")
	script = strings.ReplaceAll(script, "/etc/redis/redis.conf", filepath.Join(dir, "base.conf"))
	script = strings.ReplaceAll(script, "/run/redis", dir)
	require.Equal(t, "1", env["REPLICAS"], "one pod: the drill plays Sentinel's part itself")
	env["POD_NAME"], env["POD_NAMESPACE"] = redis.QueueService+"-0", "pynomaly-data-science"
	env["REDIS_SETTLED_GENERATION"] = settled
	out, err := runScript(context.Background(), "", script, env)
	require.NoError(t, err, "redis start-up: %s", out)
	port := freePort(t)
	cmd := exec.Command(server, filepath.Join(dir, "redis.conf"), "--port", fmt.Sprint(port), "--daemonize", "no", "--bind", "127.0.0.1")
	exited, log := start(t, cmd)
	once := sync.Once{}
	stop := func() { once.Do(func() { _ = cmd.Process.Signal(syscall.SIGTERM); <-exited }) }
	t.Cleanup(stop)
	r := &drillRedis{port: port, cliPath: cli, stop: stop, dir: dir}
	waitFor(t, "redis to listen", exited, log, listening(port))
	return r
}

// cli runs one command authenticated with password (from the environment, as the pods do).
func (r *drillRedis) cli(password string, args ...string) string {
	cmd := exec.Command(r.cliPath, append([]string{"-h", "127.0.0.1", "-p", fmt.Sprint(r.port)}, args...)...)
	cmd.Env = append(os.Environ(), "REDISCLI_AUTH="+password)
	out, _ := cmd.CombinedOutput()
	return strings.TrimSpace(string(out))
}

// rollFrom is a StatefulSet's rolling update under Sentinel: the new pod replicates from the
// current primary (with its generated masterauth), then takes over.
func (r *drillRedis) rollFrom(t *testing.T, old *drillRedis) {
	t.Helper()
	own := r.replicate(t, old)
	require.Equal(t, "OK", r.cli(own, "REPLICAOF", "NO", "ONE"))
}

// replicate makes the pod a replica of primary and waits until it synced; it returns the
// pod's own password.
func (r *drillRedis) replicate(t *testing.T, primary *drillRedis) string {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join(r.dir, "redis.conf"))
	require.NoError(t, err)
	var own string
	for _, l := range strings.Split(string(conf), "\n") {
		if p, ok := strings.CutPrefix(l, "user default on >"); ok {
			own, _, _ = strings.Cut(p, " ")
		}
	}
	require.NotEmpty(t, own)
	require.Equal(t, "OK", r.cli(own, "REPLICAOF", "127.0.0.1", fmt.Sprint(primary.port)))
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.cli(own, "INFO", "replication"), "master_link_status:up") {
		require.True(t, time.Now().Before(deadline), "the pod never synced: %s", r.cli(own, "INFO", "replication"))
		time.Sleep(50 * time.Millisecond)
	}
	return own
}

// The retirement job settles a rotation at Sentinel too: Sentinel and Redis keep only the new
// password, Sentinel authenticates to the primary with it and still sees it up.
func TestRedisRetirementReachesSentinel(t *testing.T) {
	s := settings(t, "prod", nil)
	const old, current = "PreviousGeneration0123456789abcd", "CurrentGeneration0123456789abcde"
	// What the start-up script writes mid-rotation (and s3cret, the test helper's password).
	both := "user default on >" + old + " >" + current + " >s3cret ~* &* +@all\n"
	primary := redisServer(t, both+"masterauth "+old+"\n")
	port := strings.TrimPrefix(primary("-a", "s3cret", "config", "get", "port"), "port\n")
	const master = redis.QueueService
	monitor := strings.ReplaceAll(redis.SentinelMonitor(master, "127.0.0.1", s.RedisQueue.Replicas), "6379", port)
	sentinel := redisServer(t, redis.SentinelConf()+both+monitor+"sentinel auth-pass "+master+" "+old+"\n", "--sentinel")
	sentinelPort := tcpPort(t, sentinel("-a", "s3cret", "info", "server"))

	st := deploy(t, "prod", cfg{"secrets": `{"rotation": {"redis": 1}}`})
	script, env := podScript(t, st, st.One(t, jobType, rotation.RedisRetireJob), "redis-retire")
	require.Contains(t, env["REDIS_TARGETS"], "|"+master, "prod's Redis has Sentinels")
	// prod verifies Redis over TLS; these servers are plain.
	env["REDIS_TARGETS"], env["REDISCLI_AUTH"], env["REDIS_CLI_TLS"] = "127.0.0.1|"+master, current, ""
	script = strings.ReplaceAll(script, "-p 6379", "-p "+port)
	script = strings.ReplaceAll(script, "-p 26379", "-p "+sentinelPort)
	out, err := runScript(context.Background(), "", script, env)
	require.NoError(t, err, out)
	assert.Contains(t, out, "127.0.0.1 settled")
	assert.NotContains(t, out, current)

	for name, cli := range map[string]func(...string) string{"Redis": primary, "Sentinel": sentinel} {
		assert.Contains(t, cli("-a", old, "ping"), "WRONGPASS", "%s still accepts the previous password", name)
		assert.Equal(t, "PONG", cli("-a", current, "ping"), name)
	}
	assert.Equal(t, "masterauth\n"+current, primary("-a", current, "config", "get", "masterauth"))
	// The peers' Sentinels now accept only the new password: this one asks them with it.
	assert.Equal(t, "sentinel-pass\n"+current, sentinel("-a", current, "sentinel", "config", "get", "sentinel-pass"))
	time.Sleep(1500 * time.Millisecond)
	m := sentinel("-a", current, "sentinel", "master", master)
	assert.Contains(t, m, "flags\nmaster\n", "Sentinel sees the primary up")
	fields := strings.Split(m, "\n")
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "last-ok-ping-reply" {
			ms, _ := strconv.Atoi(fields[i+1])
			assert.Less(t, ms, 1500, "Sentinel's pings authenticate with the new password")
		}
	}
}

// tcpPort is the port in a server's INFO server.
func tcpPort(t *testing.T, info string) string {
	for _, l := range strings.Split(info, "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(l), "tcp_port:"); ok {
			return p
		}
	}
	require.Failf(t, "no tcp_port", "%s", info)
	return ""
}
