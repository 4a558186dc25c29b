package tests

// The generated configuration files are checked by the real servers from Debian's packages:
// PostgreSQL, Redis (and Sentinel) and PgBouncer start on loopback with them, and the running
// server is asked what it took. scripts/test.sh installs the packages.

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/tests/procgroup"
)

func settings(t *testing.T, env string, c cfg) *config.Settings {
	t.Helper()
	values, err := stackValues(env, c)
	require.NoError(t, err)
	values["environment"] = env
	s, err := load.Parse(project, load.Source{Values: values})
	require.NoError(t, err)
	return s
}

// tool finds a server binary or fails: these checks must run wherever the suite runs.
func tool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if matches, _ := filepath.Glob(n); len(matches) > 0 {
			return matches[len(matches)-1]
		}
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	require.Failf(t, "server binary not found", "%v: run scripts/test.sh, which installs it", names)
	return ""
}

// asServiceUser runs a command as the unprivileged postgres user when the tests run as root:
// PostgreSQL and PgBouncer refuse to run as root. The process is the server itself (no wrapper),
// so cancelling ctx stops it.
func asServiceUser(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err == nil {
			var uid, gid uint32
			fmt.Sscan(u.Uid, &uid)
			fmt.Sscan(u.Gid, &gid)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
			cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
		}
	}
	return cmd
}

// serviceDir is a temporary directory the service user owns (t.TempDir's parent is private to
// the test's user, which the service user cannot traverse).
func serviceDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pynomaly-server-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "the postgres user comes with Debian's postgresql package")
		var uid, gid int
		fmt.Sscan(u.Uid, &uid)
		fmt.Sscan(u.Gid, &gid)
		require.NoError(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Chown(p, uid, gid)
		}))
	}
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor polls check until it holds, failing early with the server's log if it exited.
func waitFor(t *testing.T, what string, exited <-chan struct{}, log fmt.Stringer, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !check() {
		select {
		case <-exited:
			require.Failf(t, "server exited", "while waiting for %s:\n%s", what, log)
		default:
		}
		require.True(t, time.Now().Before(deadline), "timed out waiting for %s:\n%s", what, log)
		time.Sleep(100 * time.Millisecond)
	}
}

// listening says whether something accepts TCP connections on the loopback port.
func listening(port int) func() bool {
	return func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	}
}

// start runs a server in the background (startGroup); the channel closes when it exits.
func start(t *testing.T, cmd *exec.Cmd) (<-chan struct{}, *strings.Builder) {
	t.Helper()
	log := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = log, log
	return startGroup(t, cmd), log
}

// startGroup starts a server as the leader of a process group of its own, which its own
// processes (nginx's workers, PostgreSQL's backends, a Redis save) join, and returns a channel
// that closes when the leader has exited. The caller stops the server as its operator would
// (pg_ctl stop, a signal); cancelling the context of a command made by exec.CommandContext sends
// the leader SIGTERM, as a kubelet would, so that it stops its own processes, where the default
// SIGKILL left nginx's workers running. When the test ends, after the caller's own stop,
// stopGroup ends what still runs and checks that nothing of the group is left.
func startGroup(t *testing.T, cmd *exec.Cmd) <-chan struct{} {
	t.Helper()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if cmd.Cancel != nil { // made by exec.CommandContext
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	}
	// A leader that ignores its cancellation is killed after this long, and a child that keeps
	// its output open does not hold up Wait beyond it either.
	cmd.WaitDelay = serverStopTimeout
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { stopGroup(t, filepath.Base(cmd.Path), cmd.Process.Pid, exited) })
	return exited
}

// serverStopTimeout bounds each step of stopping a server: its leader's exit after SIGTERM, and
// its group emptying after SIGKILL (an orphan is gone once init reaps it, a second or two here).
const serverStopTimeout = 10 * time.Second

// stopGroup ends the server whose process group is pgid: SIGTERM to its leader if it still
// runs, SIGKILL to the whole group if it has not exited within serverStopTimeout, then SIGKILL
// to whatever of the group outlived the leader. It fails the test if a process of the group is
// still there after another serverStopTimeout.
func stopGroup(t *testing.T, name string, pgid int, exited <-chan struct{}) {
	t.Helper()
	select {
	case <-exited:
	default:
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(serverStopTimeout):
			t.Logf("%s did not stop within %v of SIGTERM: killing its process group", name, serverStopTimeout)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-exited
		}
	}
	if syscall.Kill(-pgid, 0) != syscall.ESRCH {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	if !procgroup.Gone(pgid, serverStopTimeout) {
		t.Errorf("%s left processes of its group %d behind:\n%s", name, pgid, procgroup.Processes(pgid))
	}
}

// A server's processes end with the test that started it, however it stopped: a leader that
// was killed alone leaves its children to stopGroup (as a killed nginx master left its workers),
// and a leader still running at the end is stopped with its children.
func TestServerProcessGroupIsGoneWhenTheTestEnds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(cmd *exec.Cmd, exited <-chan struct{})
	}{
		{"leader killed alone", func(cmd *exec.Cmd, exited <-chan struct{}) { _ = cmd.Process.Kill(); <-exited }},
		{"leader running", func(*exec.Cmd, <-chan struct{}) {}},
	} {
		var pgid int
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", "sleep 300 & sleep 300 & wait")
			exited := startGroup(t, cmd)
			pgid = cmd.Process.Pid
			waitFor(t, "the children to start", exited, &strings.Builder{}, func() bool {
				return len(strings.Split(procgroup.Processes(pgid), "\n")) == 3 // sh and its two children
			})
			tc.before(cmd, exited)
		})
		require.NotZero(t, pgid)
		assert.Equal(t, syscall.ESRCH, syscall.Kill(-pgid, 0), "processes of group %d outlived the test:\n%s", pgid, procgroup.Processes(pgid))
	}
}

func TestPostgresAcceptsTheGeneratedTuning(t *testing.T) {
	bin := filepath.Dir(tool(t, "/usr/lib/postgresql/*/bin/postgres"))
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			s := settings(t, env, cfg{"postgres": `{"walArchive": {"s3Bucket": "pynomaly-wal"}}`, "network": `{"objectStorageCidrs": ["10.0.96.0/20"]}`})
			params := postgres.Parameters(s.Postgres)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			dir := serviceDir(t)
			data := filepath.Join(dir, "data")
			out, err := asServiceUser(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust").CombinedOutput()
			require.NoError(t, err, "%s", out)
			conf := filepath.Join(data, "postgresql.conf")
			f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteString("\n" + postgres.RenderConf(params))
			require.NoError(t, err)
			require.NoError(t, f.Close())

			port := freePort(t)
			server := asServiceUser(ctx, filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-p", fmt.Sprint(port), "-c", "listen_addresses=")
			exited, log := start(t, server)
			defer func() {
				_ = asServiceUser(context.Background(), filepath.Join(bin, "pg_ctl"), "-D", data, "stop", "-m", "fast").Run()
				<-exited
			}()
			waitFor(t, "postgres to accept connections", exited, log, func() bool {
				return exec.Command(filepath.Join(bin, "pg_isready"), "-q", "-h", dir, "-p", fmt.Sprint(port)).Run() == nil
			})
			show := func(sql string) string {
				out, err := exec.Command(filepath.Join(bin, "psql"), "-h", dir, "-p", fmt.Sprint(port), "-U", "postgres", "-Atc", sql).CombinedOutput()
				require.NoError(t, err, "%s\n%s", out, log.String())
				return strings.TrimSpace(string(out))
			}
			assert.Equal(t, "0", show("SELECT count(*) FROM pg_file_settings WHERE error IS NOT NULL"), "postgresql.conf errors")
			for name, want := range params {
				got := show("SELECT setting, unit FROM pg_settings WHERE name = '" + name + "'")
				assert.NotEmpty(t, got, "%s: unknown parameter", name)
				applied := show("SELECT count(*) FROM pg_file_settings WHERE name = '" + name + "' AND applied")
				assert.Equal(t, "1", applied, "%s = %s was not applied", name, want)
			}
			// The seed's numbers in the units PostgreSQL reports them in.
			if env == "prod" {
				assert.Equal(t, "500", show("SHOW max_connections"))
				assert.Equal(t, "2GB", show("SHOW shared_buffers"))
				assert.Equal(t, "32MB", show("SHOW work_mem"))
				assert.Equal(t, "512MB", show("SHOW maintenance_work_mem"))
				assert.Equal(t, "5min", show("SHOW archive_timeout"))
			}
		})
	}
}

// redisServer starts redis-server (or Sentinel) on a loopback port with conf and returns a
// client for it.
func redisServer(t *testing.T, conf string, args ...string) func(args ...string) string {
	t.Helper()
	server := tool(t, "redis-server")
	cli := tool(t, "redis-cli")
	dir := t.TempDir()
	path := filepath.Join(dir, "redis.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	port := freePort(t)
	cmd := exec.Command(server, append([]string{path, "--port", fmt.Sprint(port), "--daemonize", "no", "--bind", "127.0.0.1"}, args...)...)
	exited, log := start(t, cmd)
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	client := func(a ...string) string {
		out, _ := exec.Command(cli, append([]string{"-p", fmt.Sprint(port), "--no-auth-warning"}, a...)...).CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	waitFor(t, "redis on "+path, exited, log, func() bool {
		out := client("-a", "s3cret", "ping")
		return out == "PONG"
	})
	return client
}

func TestRedisAcceptsTheGeneratedConfiguration(t *testing.T) {
	for _, env := range envs {
		s := settings(t, env, nil)
		for _, tc := range []struct {
			role redis.Role
			tier config.StatefulTier
			want map[string]string
		}{
			{redis.Queue, s.RedisQueue, map[string]string{
				"maxmemory-policy": "noeviction", "appendonly": "yes", "appendfsync": "everysec",
				"save": "900 1 300 10 60 10000", "tcp-keepalive": "60",
			}},
			{redis.Cache, s.RedisCache, map[string]string{
				"maxmemory-policy": "allkeys-lru", "appendonly": "no", "save": "", "tcp-keepalive": "60",
			}},
		} {
			t.Run(env+"/"+string(tc.role), func(t *testing.T) {
				dir := t.TempDir()
				base := filepath.Join(dir, "base.conf")
				// In the pod /data is the volume; here a directory of the test's.
				conf := strings.Replace(redis.Conf(tc.role, tc.tier), "dir /data\n", "dir "+dir+"\n", 1)
				require.Contains(t, conf, "dir "+dir)
				require.NoError(t, os.WriteFile(base, []byte(conf), 0o600))
				// What the pod's start-up script writes around the generated file.
				runtime := "include " + base + "\nrequirepass s3cret\nmasterauth s3cret\nreplica-announce-ip redis-0.example\n"
				cli := redisServer(t, runtime)
				assert.Contains(t, cli("ping"), "NOAUTH", "a password is required")
				for key, want := range tc.want {
					assert.Equal(t, strings.TrimSpace(key+"\n"+want), cli("-a", "s3cret", "config", "get", key), "%s %s", env, tc.role)
				}
				assert.Equal(t, fmt.Sprintf("maxmemory\n%d", redis.MaxMemory(tc.tier)), cli("-a", "s3cret", "config", "get", "maxmemory"))
				if tc.role == redis.Queue && tc.tier.Replicas > 1 {
					assert.Equal(t, "min-replicas-to-write\n1", cli("-a", "s3cret", "config", "get", "min-replicas-to-write"))
				}
				// noeviction: at maxmemory a write fails loudly instead of dropping a task.
				if tc.role == redis.Queue {
					cli("-a", "s3cret", "config", "set", "maxmemory", "1")
					assert.Contains(t, cli("-a", "s3cret", "lpush", "tasks", "t1"), "OOM")
				}
			})
		}
	}
}

func TestSentinelAcceptsTheGeneratedConfiguration(t *testing.T) {
	s := settings(t, "prod", nil)
	primary := redisServer(t, "user default on >s3cret ~* &* +@all\nmasterauth s3cret\n")
	port := strings.TrimPrefix(primary("-a", "s3cret", "config", "get", "port"), "port\n")
	monitor := strings.ReplaceAll(redis.SentinelMonitor("pynomaly-redis-queue", "127.0.0.1", s.RedisQueue.Replicas), "6379", port)
	conf := redis.SentinelConf() + "user default on >s3cret ~* &* +@all\n" + monitor + "sentinel auth-pass pynomaly-redis-queue s3cret\n"
	sentinel := redisServer(t, conf, "--sentinel")
	masters := sentinel("-a", "s3cret", "sentinel", "master", "pynomaly-redis-queue")
	assert.Contains(t, masters, "quorum\n2")
	assert.Contains(t, masters, "ip\n127.0.0.1")
	assert.Equal(t, "127.0.0.1\n"+port, sentinel("-a", "s3cret", "sentinel", "get-master-addr-by-name", "pynomaly-redis-queue"))
}

func TestPgBouncerAcceptsTheGeneratedConfiguration(t *testing.T) {
	bin := tool(t, "pgbouncer")
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			s := settings(t, env, nil)
			dir := serviceDir(t)
			port := freePort(t)
			ini := postgres.PgBouncerIni("127.0.0.1", s.Pooler, false)
			ini = strings.ReplaceAll(ini, "listen_addr = 0.0.0.0", "listen_addr = 127.0.0.1")
			ini = strings.ReplaceAll(ini, fmt.Sprintf("listen_port = %d", postgres.Port), fmt.Sprintf("listen_port = %d", port))
			ini = strings.ReplaceAll(ini, "/etc/pgbouncer/auth/userlist.txt", filepath.Join(dir, "userlist.txt"))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "userlist.txt"), []byte(`"pynomaly" "secret"`+"\n"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cmd := asServiceUser(ctx, bin, filepath.Join(dir, "pgbouncer.ini"))
			exited, log := start(t, cmd)
			defer func() { cancel(); <-exited }()
			waitFor(t, "pgbouncer to listen", exited, log, listening(port))
			assert.NotContains(t, log.String(), "FATAL", log.String())
			assert.NotContains(t, log.String(), "ERROR", log.String())
		})
	}
}

// Every shell script the program puts in a pod is valid sh.
func TestEveryPodScriptIsValidShell(t *testing.T) {
	sh := tool(t, "sh")
	for _, env := range envs {
		st := deploy(t, env, nil)
		n := 0
		for _, p := range st.PodTemplates() {
			for _, c := range p.Containers() {
				v, ok := p.Owner.Get(c + ".command")
				if !ok || len(v.ArrayValue()) != 3 || !strings.HasSuffix(v.ArrayValue()[0].StringValue(), "sh") {
					continue
				}
				script := v.ArrayValue()[2].StringValue()
				out, err := exec.Command(sh, "-n", "-c", script).CombinedOutput()
				assert.NoError(t, err, "%s %s: %s", env, p.Owner.Name, out)
				n++
			}
		}
		assert.GreaterOrEqual(t, n, 5, "%s: scripts checked", env)
	}
}

// A client logs in through PgBouncer, configured as the program configures it (pgbouncer.ini,
// and the user list exactly as the secrets tier writes it), to a real PostgreSQL whose role the
// setup job's SQL created from the password's SCRAM verifier, with a password that needs quoting
// everywhere (config allows only letters, digits and -._~, but the quoting holds beyond that):
// in the shell, and in PgBouncer's user list.
func TestPgBouncerLogsInToPostgreSQL(t *testing.T) {
	bin := filepath.Dir(tool(t, "/usr/lib/postgresql/*/bin/postgres"))
	pgbouncer := tool(t, "pgbouncer")
	const password = `p"a ss'w\rd%$1`
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// PostgreSQL on loopback, SCRAM for TCP clients (as Spilo's pg_hba), trust on its socket
	// for the setup.
	dir := serviceDir(t)
	data := filepath.Join(dir, "data")
	out, err := asServiceUser(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth-local=trust", "--auth-host=scram-sha-256").CombinedOutput()
	require.NoError(t, err, "%s", out)
	pgPort, log := runPostgres(t, ctx, bin, dir, data)
	setupAppRole(t, ctx, bin, dir, pgPort, password, "")

	// PgBouncer with the generated configuration, pointed at that server.
	s := settings(t, "prod", nil)
	poolDir := serviceDir(t)
	poolPort := freePort(t)
	ini := postgres.PgBouncerIni("127.0.0.1", s.Pooler, false)
	ini = strings.Replace(ini, fmt.Sprintf("port=%d", postgres.Port), fmt.Sprintf("port=%d", pgPort), 1)
	ini = strings.ReplaceAll(ini, "listen_addr = 0.0.0.0", "listen_addr = 127.0.0.1")
	ini = strings.ReplaceAll(ini, fmt.Sprintf("listen_port = %d", postgres.Port), fmt.Sprintf("listen_port = %d", poolPort))
	ini = strings.ReplaceAll(ini, "/etc/pgbouncer/auth/userlist.txt", filepath.Join(poolDir, "userlist.txt"))
	require.Contains(t, ini, fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s", pgPort, postgres.Database))
	userlist := credentials.PgBouncerUserlist(credentials.PostgresAppUser, password)
	require.NoError(t, os.WriteFile(filepath.Join(poolDir, "userlist.txt"), []byte(userlist), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(poolDir, "pgbouncer.ini"), []byte(ini), 0o644))
	pool := asServiceUser(ctx, pgbouncer, filepath.Join(poolDir, "pgbouncer.ini"))
	poolExited, poolLog := start(t, pool)
	defer func() { _ = pool.Process.Signal(syscall.SIGINT); <-poolExited }()
	waitFor(t, "pgbouncer to listen", poolExited, poolLog, listening(poolPort))

	login := func(pw string) (string, error) {
		cmd := exec.Command(filepath.Join(bin, "psql"), "-h", "127.0.0.1", "-p", fmt.Sprint(poolPort),
			"-U", credentials.PostgresAppUser, "-d", postgres.Database, "-w", "-Atc", "SELECT current_user || '@' || current_database()")
		cmd.Env = append(os.Environ(), "PGPASSWORD="+pw, "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=10")
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	got, err := login(password)
	require.NoError(t, err, "login through PgBouncer: %s\npgbouncer: %s\npostgres: %s", got, poolLog, log)
	waitForPostgresPasses(t, bin, poolPort)
	assert.Equal(t, credentials.PostgresAppUser+"@"+postgres.Database, got)
	_, err = login("wrong" + password)
	assert.Error(t, err, "PgBouncer let a wrong password in")
	// The user list line is what PgBouncer's documentation specifies: quotes doubled, nothing
	// escaped with a backslash.
	assert.Equal(t, `"pynomaly" "p""a ss'w\rd%$1"`+"\n", userlist)
}

// waitForPostgresPasses runs the API pod's wait-for-postgres init container script, with its
// environment, against the pooler on port, as the pod's user: an account the image does not
// have (when the suite runs as root, which can take any user). It must finish at once.
func waitForPostgresPasses(t *testing.T, bin string, port int) {
	t.Helper()
	api := deploy(t, "dev", nil).One(t, "kubernetes:apps/v1:Deployment", "pynomaly-api")
	c := api.Container(t, podSpec, "wait-for-postgres")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-ec", api.Str(t, c+".command.2"))
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "DATABASE_HOST=127.0.0.1", "DATABASE_PORT=" + fmt.Sprint(port),
		"DATABASE_USER=" + credentials.PostgresAppUser}
	if os.Geteuid() == 0 {
		uid := uint32(api.Int(t, podSpec+".securityContext.runAsUser"))
		_, err := user.LookupId(fmt.Sprint(uid))
		require.Error(t, err, "the pod's user %d must be one this machine does not know, as in the image", uid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "wait-for-postgres did not finish: %s", out)
}

// runPostgres runs PostgreSQL on loopback from data (made by initdb), its socket in dir,
// until the test ends, and returns its port and its log.
func runPostgres(t *testing.T, ctx context.Context, bin, dir, data string) (int, fmt.Stringer) {
	t.Helper()
	port := freePort(t)
	server := asServiceUser(ctx, filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-p", fmt.Sprint(port),
		"-c", "listen_addresses=127.0.0.1")
	exited, log := start(t, server)
	t.Cleanup(func() {
		_ = asServiceUser(context.Background(), filepath.Join(bin, "pg_ctl"), "-D", data, "stop", "-m", "fast").Run()
		<-exited
	})
	waitFor(t, "postgres to accept connections", exited, log, func() bool {
		return exec.Command(filepath.Join(bin, "pg_isready"), "-q", "-h", dir, "-p", fmt.Sprint(port)).Run() == nil
	})
	return port, log
}

// setupAppRole runs the setup job's psql step over the server's socket in dir, with the
// password's verifier as the secrets tier computes it, then the extra shell commands.
func setupAppRole(t *testing.T, ctx context.Context, bin, dir string, port int, password, extra string) {
	t.Helper()
	salt := make([]byte, 16)
	_, err := rand.Read(salt)
	require.NoError(t, err)
	verifier, err := credentials.PostgresSCRAMVerifier(password, salt)
	require.NoError(t, err)
	monitor, err := credentials.PostgresSCRAMVerifier("monitor-"+password, salt)
	require.NoError(t, err)
	out, err := runScript(ctx, bin, postgres.SetupRoleStep+"\n"+extra, map[string]string{
		"PGHOST": dir, "PGPORT": fmt.Sprint(port), "PGUSER": "postgres", "PGDATABASE": "postgres",
		"APP_OWNER": credentials.PostgresAppUser, "APP_USER": credentials.PostgresAppUser, "APP_PASSWORD_VERIFIER": verifier, "APP_DATABASE": postgres.Database,
		"MONITOR_USER": credentials.PostgresMonitorUser, "MONITOR_PASSWORD_VERIFIER": monitor,
	})
	require.NoError(t, err, "the setup job's SQL: %s", out)
}
