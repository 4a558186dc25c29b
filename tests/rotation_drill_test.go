//go:build drills

package tests

import (
	"bufio"
	"context"
	"fmt"
	"net"
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
	rotationDrill(t, deploy(t, "dev", nil), deploy(t, "dev", cfg{"secrets": `{"rotation": {"all": 1}}`}), 1)
}

// The same drill with the credentials from a secret manager (secrets.source external), as the
// operator rotates them: the new values are in the store's keys of the idle slot (KEY-b) before
// the pulumi up that raises secrets.rotation.all. The Secrets hold what the External Secrets
// Operator merges into them from the stacks' ExternalSecrets (fillFromStore; the end-to-end suite
// runs the operator on the same objects); the setup job computes the verifiers itself.
func TestExternalRotationDrill(t *testing.T) {
	tool(t, "python3")
	before, after := deploy(t, "dev", externalSource("")), deploy(t, "dev", externalSource(`, "rotation": {"all": 1}`))
	store := storeFor(t, after) // slot b's keys too
	fillFromStore(t, before, store)
	fillFromStore(t, after, store)
	require.Equal(t, store["pynomaly/prod/postgresAppPassword"], appCredentials(t, before).password, "generation 0 is the store's slot a")
	require.Equal(t, store["pynomaly/prod/postgresAppPassword-b"], appCredentials(t, after).password, "generation 1 is the store's slot b")
	require.Equal(t, store["pynomaly/prod/redisPassword-b"], appCredentials(t, after).redisPassword)
	rotationDrill(t, before, after, 1)
}

// The next rotation from a store returns to slot a: the operator has written generation 2 over
// slot a's keys (generation 0's, retired), and the clients move from slot b to slot a.
func TestExternalRotationDrillBackToSlotA(t *testing.T) {
	tool(t, "python3")
	before, after := deploy(t, "dev", externalSource(`, "rotation": {"all": 1}`)), deploy(t, "dev", externalSource(`, "rotation": {"all": 2}`))
	store := storeFor(t, after)
	fillFromStore(t, before, store)
	fillFromStore(t, after, store)
	require.Equal(t, store["pynomaly/prod/postgresAppPassword-b"], appCredentials(t, before).password, "generation 1 is the store's slot b")
	require.Equal(t, store["pynomaly/prod/postgresAppPassword"], appCredentials(t, after).password, "generation 2 is the store's slot a")
	rotationDrill(t, before, after, 2)
}

// rotationDrill runs the drill from the stack before a rotation to the stack after it, at
// generation g.
func rotationDrill(t *testing.T, before, after *Stack, g int) {
	bin := filepath.Dir(tool(t, "/usr/lib/postgresql/*/bin/postgres"))
	pgbouncer, redisServer, redisCLI := tool(t, "pgbouncer"), tool(t, "redis-server"), tool(t, "redis-cli")
	tool(t, "curl")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	s := settings(t, "dev", nil) // the pooler and Redis, which neither the rotation nor the source changes

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
	r1 := startDrillRedis(t, redisServer, redisCLI, after, s.RedisQueue, fmt.Sprint(g-1))
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
	env["REDIS_PORT"] = fmt.Sprint(r1.port)
	out, err := runScript(ctx, "", script, env)
	require.NoError(t, err, "redis retirement: %s", out)
	steps.hold()
	newPG.stop()
	newRedis.stop()

	require.Equal(t, "OK", replica.as(redis.SentinelUser, "REPLICAOF", "NO", "ONE"))
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
	assert.False(t, r1.logsIn(oldApp.redisPassword), "Redis still accepts the previous password")
	assert.True(t, r1.logsIn(newApp.redisPassword))
	require.Equal(t, fmt.Sprint(g), settled)
	restarted := startDrillRedis(t, redisServer, redisCLI, after, s.RedisQueue, settled)
	assert.False(t, restarted.logsIn(oldApp.redisPassword), "a pod started after the rotation accepts the previous password")
	assert.True(t, restarted.logsIn(newApp.redisPassword))
	// A pod that restarted mid-rotation accepted both (the settled generation was still 0).
	midway := startDrillRedis(t, redisServer, redisCLI, after, s.RedisQueue, fmt.Sprint(g-1))
	assert.True(t, midway.logsIn(oldApp.redisPassword))
	assert.True(t, midway.logsIn(newApp.redisPassword))
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

// redisQuery increments a counter of the queue's keys at the current primary, on a new
// connection, as the application's user.
func redisQuery(cli string, primary *endpoints, password string) func() error {
	return func() error {
		cmd := exec.Command(cli, "-h", "127.0.0.1", "-p", fmt.Sprint(primary.next()), "--user", redis.AppUser, "INCR", redis.TaskQueueName+":drill")
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

// psql runs one statement in the platform's database, as user with password, over the socket.
func (p *drillPostgres) psql(user, password, sql string) (string, error) {
	return socketPsql(p.bin, p.dir)(user, password, postgres.Database, sql)
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

// drillRedis is one Redis pod: the generated redis.conf and users, and the runtime
// configuration its start-up script writes from the pod's environment (settled: the settled
// Secret's generation, "" before there is one; users: its users' version, "" before the
// per-client users settled).
type drillRedis struct {
	port    int
	cliPath string
	stop    func()
	dir     string
	env     map[string]string
}

func startDrillRedis(t *testing.T, server, cli string, st *Stack, tier config.StatefulTier, settled string) *drillRedis {
	t.Helper()
	users := ""
	if settled != "" {
		users = credentials.RedisUsersVersion // a stack deployed with the per-client users
	}
	return startRedisPod(t, server, cli, st, tier, settled, users)
}

func startRedisPod(t *testing.T, server, cli string, st *Stack, tier config.StatefulTier, settled, users string) *drillRedis {
	t.Helper()
	dir := t.TempDir()
	base := strings.Replace(redis.Conf(redis.Queue, tier), "dir /data\n", "dir "+dir+"\n", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "redis.conf.base"), []byte(base), 0o600))
	cm := st.One(t, configMapType, redis.QueueService).StringMap(t, "data")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "users.conf"), []byte(cm["users.conf"]), 0o600))
	script, env := podScript(t, st, st.One(t, statefulSetType, redis.QueueService), "topology")
	script = strings.ReplaceAll(script, "/etc/redis/redis.conf", filepath.Join(dir, "redis.conf.base"))
	script = strings.ReplaceAll(script, "/etc/redis/", dir+"/")
	script = strings.ReplaceAll(script, "/run/redis", dir)
	require.Equal(t, "1", env["REPLICAS"], "one pod: the drill plays Sentinel's part itself")
	env["POD_NAME"], env["POD_NAMESPACE"] = redis.QueueService+"-0", "pynomaly-data-science"
	env["REDIS_SETTLED_GENERATION"], env["REDIS_SETTLED_USERS"] = settled, users
	out, err := runScript(context.Background(), "", script, env)
	require.NoError(t, err, "redis start-up: %s", out)
	port := freePort(t)
	cmd := exec.Command(server, filepath.Join(dir, "redis.conf"), "--port", fmt.Sprint(port), "--daemonize", "no", "--bind", "127.0.0.1")
	exited, log := start(t, cmd)
	once := sync.Once{}
	stop := func() { once.Do(func() { _ = cmd.Process.Signal(syscall.SIGTERM); <-exited }) }
	t.Cleanup(stop)
	r := &drillRedis{port: port, cliPath: cli, stop: stop, dir: dir, env: env}
	waitFor(t, "redis to listen", exited, log, listening(port))
	return r
}

// cli runs one command as user, authenticated with password (from the environment, as the pods
// do).
func (r *drillRedis) cli(user, password string, args ...string) string {
	cmd := exec.Command(r.cliPath, append([]string{"-h", "127.0.0.1", "-p", fmt.Sprint(r.port), "--user", user}, args...)...)
	cmd.Env = append(os.Environ(), "REDISCLI_AUTH="+password)
	out, _ := cmd.CombinedOutput()
	return strings.TrimSpace(string(out))
}

// logsIn is whether the application's user logs in with password: it reads its queue (PING
// would answer the probe user after a failed AUTH).
func (r *drillRedis) logsIn(password string) bool {
	return r.cli(redis.AppUser, password, "LLEN", redis.TaskQueueName) == "0"
}

// as runs one command as user with the password the pod's environment gives it.
func (r *drillRedis) as(user string, args ...string) string {
	return r.cli(user, r.env[userPasswordEnv[user]], args...)
}

// userPasswordEnv is where the start-up script finds each Redis user's password.
var userPasswordEnv = map[string]string{
	redis.AppUser: "REDIS_PASSWORD", redis.ReplicationUser: "REDIS_REPLICATION_PASSWORD", redis.SentinelUser: "REDIS_SENTINEL_PASSWORD",
	redis.ExporterUser: "REDIS_EXPORTER_PASSWORD", redis.AdminUser: "REDIS_ADMIN_PASSWORD",
}

// rollFrom is a StatefulSet's rolling update under Sentinel: the new pod replicates from the
// current primary (with its generated replication user), then takes over.
func (r *drillRedis) rollFrom(t *testing.T, old *drillRedis) {
	t.Helper()
	r.replicate(t, old)
	require.Equal(t, "OK", r.as(redis.SentinelUser, "REPLICAOF", "NO", "ONE"))
}

// replicate makes the pod a replica of primary, as Sentinel does, and waits until it synced.
func (r *drillRedis) replicate(t *testing.T, primary *drillRedis) {
	t.Helper()
	require.Equal(t, "OK", r.as(redis.SentinelUser, "REPLICAOF", "127.0.0.1", fmt.Sprint(primary.port)))
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.as(redis.SentinelUser, "INFO", "replication"), "master_link_status:up") {
		require.True(t, time.Now().Before(deadline), "the pod never synced: %s", r.as(redis.SentinelUser, "INFO", "replication"))
		time.Sleep(50 * time.Millisecond)
	}
}

// An upgrade from a release whose one Redis user was default, with the application's password,
// mid-rotation: a pod of this release started then (the settled Secret has a generation and no
// users) accepts the previous release's clients and replicas as default, and the application's
// user with either password; Sentinel watches it as default. The retirement job then moves the
// running Redis and Sentinel to the users: afterwards each user holds only what it uses, and
// Sentinel still sees its primary, logged in as its own user.
func TestRedisUsersSettleAfterAnUpgrade(t *testing.T) {
	st := deploy(t, "prod", cfg{"secrets": `{"rotation": {"redis": 1}}`})
	pod := startSentinelPod(t, st, "0", "")
	previous := secretData(t, st, credentials.RedisSecretName)[credentials.RedisPasswordKeyOf(credentials.SlotOf(0))]
	current := pod.env["REDIS_PASSWORD"]
	require.NotEqual(t, previous, current)

	// The upgrade window: the previous release's clients log in as default.
	assert.Equal(t, "1", pod.redis.cli("default", previous, "LPUSH", "legacy", "t1"))
	legacy := holdRedisConn(t, pod.redis.port) // a previous release's pooled connection
	answer, err := legacy.do("AUTH", "default", previous)
	require.NoError(t, err)
	require.Equal(t, "+OK", answer)
	// Connections of this release that have not sent their AUTH yet, to Redis and to Sentinel.
	connecting := []*heldRedisConn{holdRedisConn(t, pod.redis.port), holdRedisConn(t, pod.sentinelPort)}
	assert.True(t, pod.redis.logsIn(previous))
	assert.True(t, pod.redis.logsIn(current))
	assert.Contains(t, pod.sentinel("SENTINEL", "MASTER", pod.master), "flags\nmaster\n")

	script, env := podScript(t, st, st.One(t, jobType, rotation.RedisRetireJob), "redis-retire")
	require.Contains(t, env["REDIS_TARGETS"], "|"+pod.master, "prod's Redis has Sentinels")
	// prod verifies Redis over TLS; these servers are plain.
	env["REDIS_TARGETS"], env["REDIS_CLI_TLS"] = "127.0.0.1|"+pod.master, ""
	env["REDIS_PORT"], env["SENTINEL_PORT"] = fmt.Sprint(pod.redis.port), fmt.Sprint(pod.sentinelPort)
	out, err := runScript(context.Background(), "", script, env)
	require.NoError(t, err, out)
	assert.Contains(t, out, "127.0.0.1 settled")
	for _, secret := range []string{current, env["REDISCLI_AUTH"], env["REDIS_REPLICATION_PASSWORD"], env["REDIS_SENTINEL_PASSWORD"]} {
		assert.NotContains(t, out, secret)
	}
	// The connection that ran commands as default is closed; the ones logging in are not.
	_, err = legacy.do("PING")
	assert.Error(t, err, "the previous release's connection as default is still open")
	for _, c := range connecting {
		answer, err := c.do("AUTH", redis.AppUser, current)
		assert.NoError(t, err, "a connection that had not logged in yet was closed")
		assert.Equal(t, "+OK", answer)
	}

	// Settled: default may only PING, the previous password is gone, and each user holds only
	// what it uses.
	assert.Equal(t, "PONG", pod.redis.cli("default", "", "PING"))
	assert.Contains(t, pod.redis.cli("default", previous, "LLEN", "legacy"), "NOPERM")
	assert.False(t, pod.redis.logsIn(previous), "Redis still accepts the previous password")
	assert.True(t, pod.redis.logsIn(current))
	assertUsersHoldOnlyWhatTheyUse(t, pod.redis)
	assertExporterReads(t, st, pod.redis)
	assert.Equal(t, "masteruser\n"+redis.ReplicationUser, pod.redis.cli(inspector, inspector, "CONFIG", "GET", "masteruser"))
	// Sentinel logs in as its own user now, to Redis and to its peers, and sees the primary up.
	m := ""
	require.Eventually(t, func() bool {
		m = pod.sentinel("SENTINEL", "MASTER", pod.master)
		return strings.Contains(m, "flags\nmaster\n") && field(m, "last-ok-ping-reply") < 1500 && field(m, "info-refresh") < 1500
	}, 15*time.Second, 100*time.Millisecond, "Sentinel's view of the primary after the users settled: %s", m)
	assert.Equal(t, "sentinel-user\n"+redis.SentinelUser, pod.sentinel("SENTINEL", "CONFIG", "GET", "sentinel-user"))
}

// heldRedisConn is one connection a test keeps open between commands, as a client's pool does.
type heldRedisConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func holdRedisConn(t *testing.T, port int) *heldRedisConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &heldRedisConn{conn: conn, r: bufio.NewReader(conn)}
}

// do sends one command and returns the first line of its answer, or why there is none (a
// closed connection).
func (h *heldRedisConn) do(args ...string) (string, error) {
	command := fmt.Sprintf("*%d\r\n", len(args))
	for _, a := range args {
		command += fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)
	}
	if err := h.conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return "", err
	}
	if _, err := h.conn.Write([]byte(command)); err != nil {
		return "", err
	}
	line, err := h.r.ReadString('\n')
	return strings.TrimSpace(line), err
}

// assertUsersHoldOnlyWhatTheyUse runs, as each user of the queue's Redis, what it uses and
// what it must not: the server's settings, its users, replication, the whole data set, and keys
// that are not its own.
func assertUsersHoldOnlyWhatTheyUse(t *testing.T, r *drillRedis) {
	t.Helper()
	q := redis.TaskQueueName
	uses := map[string][][]string{
		redis.AppUser:      {{"LPUSH", q, "t1"}, {"BLMOVE", q, q + ":processing", "RIGHT", "LEFT", "1"}, {"SET", q + ":lease:t1", "w"}, {"LREM", q + ":processing", "1", "t1"}, {"EVAL", "return redis.call('DEL', KEYS[1])", "1", q + ":lease:t1"}},
		redis.ExporterUser: {{"INFO", "memory"}, {"LLEN", q}, {"TYPE", q}, {"SLOWLOG", "GET"}, {"LATENCY", "LATEST"}},
		redis.SentinelUser: {{"INFO", "replication"}, {"ROLE"}, {"PUBLISH", "__sentinel__:hello", "x"}},
	}
	for user, commands := range uses {
		for _, c := range commands {
			assert.NotContains(t, r.as(user, c...), "NOPERM", "%s may run %v", user, c)
		}
	}
	refused := [][]string{{"ACL", "LIST"}, {"CONFIG", "GET", "masterauth"}, {"REPLICAOF", "NO", "ONE"}, {"FLUSHALL"}, {"GET", redis.CacheKeyPrefix + "task:1"}}
	for _, user := range []string{redis.AppUser, redis.ExporterUser, redis.ReplicationUser, redis.AdminUser} {
		for _, c := range refused {
			assert.Contains(t, r.as(user, c...), "NOPERM", "%s may not run %v", user, c)
		}
	}
	assert.Contains(t, r.as(redis.ExporterUser, "LPUSH", q, "t2"), "NOPERM", "the exporter only reads")
	assert.Contains(t, r.as(redis.AppUser, "EVAL", "return redis.call('FLUSHALL')", "0"), "can't run this command", "a script runs as its caller")
	for _, c := range [][]string{{"ACL", "LIST"}, {"FLUSHALL"}, {"GET", q}} {
		assert.Contains(t, r.as(redis.SentinelUser, c...), "NOPERM", "Sentinel may not run %v", c)
	}
}

// assertExporterReads runs Debian's Redis exporter with the deployed exporter's environment
// (its user and password, the queue's key) at r, over the plain port: it reaches Redis, and
// reports the queue's length, which the alerts and the autoscaler read.
func assertExporterReads(t *testing.T, st *Stack, r *drillRedis) {
	t.Helper()
	exporter := tool(t, "prometheus-redis-exporter")
	r.as(redis.AppUser, "RPUSH", redis.TaskQueueName, "t3", "t4")
	env := podEnv(t, st, st.One(t, statefulSetType, redis.QueueService), "exporter")
	delete(env, "REDIS_EXPORTER_TLS_CA_CERT_FILE")
	env["REDIS_ADDR"] = fmt.Sprintf("redis://127.0.0.1:%d", r.port)
	port := freePort(t)
	cmd := exec.Command(exporter, "--web.listen-address", fmt.Sprintf("127.0.0.1:%d", port))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	exited, log := start(t, cmd)
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	waitFor(t, "the exporter to listen", exited, log, listening(port))
	out, err := exec.Command("curl", "-sf", fmt.Sprintf("http://127.0.0.1:%d/metrics", port)).Output()
	require.NoError(t, err)
	metrics := string(out)
	assert.Contains(t, metrics, "\nredis_up 1\n", "the exporter logs in as its user")
	n := r.as(redis.ExporterUser, "LLEN", redis.TaskQueueName)
	assert.Contains(t, metrics, fmt.Sprintf("redis_key_size{db=\"db0\",key=%q} %s\n", redis.TaskQueueName, n))
	assert.Contains(t, metrics, `redis_exporter_last_scrape_error{err=""} 0`)
}

// field is a numeric field of a Sentinel's reply (name, value, name, value, ...).
func field(reply, name string) int {
	fields := strings.Split(reply, "\n")
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == name {
			n, _ := strconv.Atoi(fields[i+1])
			return n
		}
	}
	return 1 << 30
}

// sentinelPod is one prod queue pod from its start-up script: Redis and Sentinel with the
// runtime configuration it writes, the pod's own host name (which Sentinel monitors) replaced
// by loopback and the ports by free ones. With no peer answering, it starts as the primary.
type sentinelPod struct {
	redis        *drillRedis
	sentinelPort int
	master       string
	env          map[string]string
}

func startSentinelPod(t *testing.T, st *Stack, settled, users string) *sentinelPod {
	t.Helper()
	dir := t.TempDir()
	files := st.One(t, configMapType, redis.QueueService).StringMap(t, "data")
	files["redis.conf"] = strings.Replace(redis.Conf(redis.Queue, settings(t, "prod", nil).RedisQueue), "dir /data\n", "dir "+dir+"\n", 1)
	files["sentinel.conf"] = strings.Replace(redis.SentinelConf(), "dir /tmp\n", "dir "+dir+"\n", 1) // without TLS
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600))
	}
	script, env := podScript(t, st, st.One(t, statefulSetType, redis.QueueService), "topology")
	script = strings.ReplaceAll(strings.ReplaceAll(script, "/etc/redis/", dir+"/"), "/run/redis/", dir+"/run-")
	env["POD_NAME"], env["POD_NAMESPACE"], env["REDIS_CLI_TLS"] = redis.QueueService+"-0", "pynomaly-data-science", ""
	env["REDIS_SETTLED_GENERATION"], env["REDIS_SETTLED_USERS"] = settled, users
	out, err := runScript(context.Background(), "", script, env)
	require.NoError(t, err, "redis start-up: %s", out)
	me := fmt.Sprintf("%s-0.%s.%s.svc", redis.QueueService, env["HEADLESS"], env["POD_NAMESPACE"])
	require.Contains(t, out, "starting as primary")
	port, sentinelPort := freePort(t), freePort(t)
	runtime := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, "run-"+name))
		require.NoError(t, err)
		text := strings.ReplaceAll(string(b), me+" 6379", fmt.Sprintf("127.0.0.1 %d", port))
		path := filepath.Join(dir, "live-"+name)
		// One pod: writes need no replica here.
		test := "bind 127.0.0.1\nmin-replicas-to-write 0\nuser " + inspector + " on >" + inspector + " ~* &* +@all\n"
		require.NoError(t, os.WriteFile(path, []byte(text+test), 0o600))
		return path
	}
	server, cli := tool(t, "redis-server"), tool(t, "redis-cli")
	for _, p := range []struct {
		conf string
		port int
		args []string
	}{{runtime("redis.conf"), port, nil}, {runtime("sentinel.conf"), sentinelPort, []string{"--sentinel"}}} {
		cmd := exec.Command(server, append([]string{p.conf, "--port", fmt.Sprint(p.port), "--daemonize", "no"}, p.args...)...)
		exited, log := start(t, cmd)
		t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); <-exited })
		waitFor(t, "redis to listen", exited, log, listening(p.port))
	}
	return &sentinelPod{redis: &drillRedis{port: port, cliPath: cli, dir: dir, env: env, stop: func() {}},
		sentinelPort: sentinelPort, master: env["SENTINEL_MASTER"], env: env}
}

// sentinel runs one command at the pod's Sentinel as the test's own user.
func (p *sentinelPod) sentinel(args ...string) string {
	r := *p.redis
	r.port = p.sentinelPort
	return r.cli(inspector, inspector, args...)
}

// inspector is the test's own user, added to the runtime configuration: it reads what the test
// checks (the settings, Sentinel's view), which no user of the stack may.
const inspector = "inspector"

func tcpPort(t *testing.T, info string) string {
	for _, l := range strings.Split(info, "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(l), "tcp_port:"); ok {
			return p
		}
	}
	require.Failf(t, "no tcp_port", "%s", info)
	return ""
}
