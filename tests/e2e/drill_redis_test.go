//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/redis"
)

// The Redis drill runs Debian's redis-server and redis-sentinel as the pods of the deployed
// queue StatefulSet: each pod's containers get its volumes at the deployed mount paths (the
// ConfigMap's files, the runtime and data directories), the deployed environment and the
// deployed commands, starting with the init container's start-up script, which asks the other
// pods' Sentinels for the current primary. A pod is a mount namespace whose root holds the
// host's programs and the pod's volumes, and whose /etc/hosts resolves the pods' DNS names
// (<pod>.<headless Service>.<namespace>.svc) to loopback addresses; the one change to the
// deployed files is a bind line in each pod's copy of redis.conf and sentinel.conf, to that
// pod's address, standing in for the pod's own network namespace.

// secret is the value of a Secret's key in the drill's pods: the settled Secret as a stack whose
// users settled has it (generation 0, the users' version), so the pods start with the
// per-client users alone; every credential is the drill's one password.
func (c *redisCluster) secret(key string) string {
	switch key {
	case credentials.SettledRedisKey:
		return "0"
	case credentials.SettledRedisUsersKey:
		return credentials.RedisUsersVersion
	}
	return c.password
}

// drillUser is the drill's own Redis and Sentinel user.
const drillUser = "drill"

// redisPod is one pod of the drill.
type redisPod struct {
	name, host, addr string
	dir              string
	procs            []*process
}

type redisCluster struct {
	t        *testing.T
	sts      workload
	config   map[string]string
	env      func(pod string) map[string]string
	pods     []*redisPod
	hosts    string
	master   string
	password string
	redis    int
	sentinel int
}

func redisDrill(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the Redis drill makes mount namespaces: run it as root, as CI does")
	}
	for _, tool := range []string{"redis-server", "redis-sentinel", "redis-cli", "unshare", "chroot"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "%s is not installed: scripts/e2e.sh installs it", tool)
	}
	c := newRedisCluster(t)
	for _, p := range c.pods {
		c.start(p)
	}
	c.waitReplicated(c.pods[0], 2*time.Minute)
	c.failover()
}

func newRedisCluster(t *testing.T) *redisCluster {
	sts := deployedStatefulSet(t, redis.QueueService)
	ns := sts.Metadata.Namespace
	c := &redisCluster{t: t, sts: sts, password: randomHex(t)}
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			var cm struct {
				Data map[string]string `json:"data"`
			}
			require.NoError(t, jsonUnmarshal(mustKubectl(t, "-n", ns, "get", "configmap", v.ConfigMap.Name, "-o", "json"), &cm))
			c.config = cm.Data
		}
	}
	require.Contains(t, c.config, "sentinel.conf", "the queue runs Sentinel in prod")
	c.env = func(pod string) map[string]string {
		// The start-up script's: Redis and Sentinel read only the file it writes.
		return sts.containerNamed(t, "topology").env(pod, ns, c.secret)
	}
	c.master = c.env("")["SENTINEL_MASTER"]
	c.redis = sts.containerNamed(t, "redis").port(t, "redis")
	c.sentinel = sts.containerNamed(t, "sentinel").port(t, "sentinel")
	require.NotEmpty(t, c.master)

	dir := drillDir(t, "redis")
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1 localhost\n")
	for i := 0; i < sts.Spec.Replicas; i++ {
		name := fmt.Sprintf("%s-%d", redis.QueueService, i)
		p := &redisPod{name: name, host: fmt.Sprintf("%s.%s.%s.svc", name, sts.Spec.ServiceName, ns),
			addr: fmt.Sprintf("127.0.10.%d", i+1), dir: filepath.Join(dir, name)}
		fmt.Fprintf(&hosts, "%s %s\n", p.addr, p.host)
		c.pods = append(c.pods, p)
	}
	c.hosts = filepath.Join(dir, "hosts")
	require.NoError(t, os.WriteFile(c.hosts, []byte(hosts.String()), 0o644))
	for _, p := range c.pods {
		require.NoError(t, os.MkdirAll(filepath.Join(p.dir, "root"), 0o755))
		config := filepath.Join(p.dir, "volumes", "config")
		require.NoError(t, os.MkdirAll(config, 0o755))
		for name, text := range c.config {
			if name == "redis.conf" || name == "sentinel.conf" {
				// The drill's own user, which reads what the drill checks (INFO, Sentinel's view,
				// the queue), as no user of the stack may.
				text = plainPorts(text) + "bind " + p.addr + "\nuser " + drillUser + " on >" + c.password + " ~* &* +@all\n"
			}
			require.NoError(t, os.WriteFile(filepath.Join(config, name), []byte(text), 0o644))
		}
		// Every other volume starts empty: the runtime and data directories, the claim, and the
		// internal CA's certificates, which the drill has not (plainPorts).
		volumes := []string{"tmp"}
		for _, v := range sts.Spec.Template.Spec.Volumes {
			if v.ConfigMap == nil {
				volumes = append(volumes, v.Name)
			}
		}
		for _, v := range append(volumes, "data") {
			require.NoError(t, os.MkdirAll(filepath.Join(p.dir, "volumes", v), 0o777))
		}
	}
	return c
}

// plainPorts drops the TLS lines prod's internal TLS appends (redis.TLSConf), so the plain port
// above them serves again: the drill has no certificates of the internal CA (cert-manager would
// issue them), and failover is its subject; tls_servers_test.go proves the same servers' TLS.
func plainPorts(conf string) string {
	var kept []string
	for _, l := range strings.Split(conf, "\n") {
		if l != "port 0" && !strings.HasPrefix(l, "tls-") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

func (c container) port(t *testing.T, name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	require.FailNow(t, "container "+c.Name+" has no port "+name)
	return 0
}

// podShell sets up a pod's root in a new mount namespace and runs the command in it: the host's
// programs and /etc, the pod's /etc/hosts, /tmp and volumes at their mount paths.
const podShell = `set -e
root=$POD_DIR/root
mount -t tmpfs pod "$root"
for d in usr bin sbin lib lib32 lib64 libx32 etc; do
  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$root/$d"
  elif [ -d "/$d" ]; then mkdir "$root/$d"; mount --rbind "/$d" "$root/$d"; fi
done
mkdir -p "$root/dev" "$root/proc" "$root/tmp" "$root/run"
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount --bind "$POD_DIR/volumes/tmp" "$root/tmp"
mount --bind "$POD_HOSTS" "$root/etc/hosts"
for m in $POD_MOUNTS; do
  mkdir -p "$root${m#*=}"
  mount --bind "$POD_DIR/volumes/${m%%=*}" "$root${m#*=}"
done
exec chroot "$root" "$@"`

// run starts the deployed container name of pod p, as the kubelet would: its command, its
// environment and its volume mounts.
func (c *redisCluster) run(p *redisPod, name string) *process {
	ctr := c.sts.containerNamed(c.t, name)
	var mounts []string
	for _, m := range ctr.VolumeMounts {
		mounts = append(mounts, m.Name+"="+m.MountPath)
	}
	env := ctr.env(p.name, c.sts.Metadata.Namespace, c.secret)
	env["POD_DIR"], env["POD_HOSTS"], env["POD_MOUNTS"] = p.dir, c.hosts, strings.Join(mounts, " ")
	env["REDIS_CLI_TLS"] = "" // plain ports: see plainPorts
	args := append([]string{"--mount", "--propagation", "private", "sh", "-c", podShell, "pod"}, ctr.Command...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = environ(env)
	return startProcess(c.t, p.name+"/"+name, filepath.Join(p.dir, name+".log"), cmd)
}

// start runs the pod: the init container to its end, then Redis and Sentinel.
func (c *redisCluster) start(p *redisPod) {
	init := c.run(p, c.sts.Spec.Template.Spec.InitContainers[0].Name)
	select {
	case <-init.done:
	case <-time.After(time.Minute):
		require.FailNow(c.t, "the start-up script did not finish", init.tail(20))
	}
	require.Equal(c.t, 0, init.cmd.ProcessState.ExitCode(), init.tail(20))
	log, _ := os.ReadFile(init.log)
	c.t.Logf("%s start-up script: %s", p.name, strings.TrimSpace(string(log)))
	require.NotContains(c.t, string(log), "upgrade window", "the drill's pods start with the per-client users alone")
	p.procs = []*process{c.run(p, "redis"), c.run(p, "sentinel")}
}

// kill is kill -9 of every container of the pod: a lost node.
func (p *redisPod) kill() {
	for _, proc := range p.procs {
		proc.kill()
	}
}

// dial resolves the pods' DNS names as the pods' /etc/hosts does.
func (c *redisCluster) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	for _, p := range c.pods {
		if p.host == host {
			host = p.addr
		}
	}
	d := net.Dialer{Timeout: 500 * time.Millisecond}
	return d.DialContext(ctx, network, net.JoinHostPort(host, port))
}

// node is a client of one pod's Redis (port redis) or Sentinel (port sentinel).
func (c *redisCluster) node(p *redisPod, port int) *goredis.Client {
	cl := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("%s:%d", p.host, port), Username: drillUser, Password: c.password, Dialer: c.dial,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second, MaxRetries: -1, DisableIdentity: true})
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// client asks the Sentinels for the primary, as the application's Sentinel clients do.
func (c *redisCluster) client() *goredis.Client {
	var sentinels []string
	for _, p := range c.pods {
		sentinels = append(sentinels, fmt.Sprintf("%s:%d", p.host, c.sentinel))
	}
	cl := goredis.NewFailoverClient(&goredis.FailoverOptions{
		MasterName: c.master, SentinelAddrs: sentinels, Username: redis.AppUser, Password: c.password,
		SentinelUsername: redis.AppUser, SentinelPassword: c.password,
		Dialer: c.dial, DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second,
		MaxRetries: -1, DisableIdentity: true,
	})
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// primaryBySentinel is the primary a live pod's Sentinel names.
func (c *redisCluster) primaryBySentinel() string {
	for _, p := range c.pods {
		if !p.procs[1].running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		addr, err := c.node(p, c.sentinel).Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", c.master).StringSlice()
		cancel()
		if err == nil && len(addr) > 0 {
			return addr[0]
		}
	}
	return ""
}

// waitReplicated waits until primary p has every other live pod as a replica in sync, and
// every live Sentinel knows the other Sentinels and the replicas.
func (c *redisCluster) waitReplicated(primary *redisPod, timeout time.Duration) {
	want := 0
	for _, p := range c.pods {
		if p != primary && p.procs[0].running() {
			want++
		}
	}
	_, ok := eventually(timeout, 200*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		info, err := c.node(primary, c.redis).Info(ctx, "replication").Result()
		if err != nil || !strings.Contains(info, "role:master") ||
			!strings.Contains(info, fmt.Sprintf("connected_slaves:%d", want)) || strings.Contains(info, "state=wait_bgsave") {
			return false
		}
		for _, p := range c.pods {
			if !p.procs[1].running() {
				continue
			}
			m, err := c.node(p, c.sentinel).Do(ctx, "SENTINEL", "MASTER", c.master).Result()
			// Sentinels learn the replicas from the primary's INFO, every 10 s: a primary lost before
			// then has, to them, no replica to promote.
			if err != nil || field(m, "num-other-sentinels") != fmt.Sprint(want) || field(m, "num-slaves") != fmt.Sprint(want) {
				return false
			}
		}
		return c.primaryBySentinel() == primary.host
	})
	if !ok {
		for _, p := range c.pods {
			for _, proc := range p.procs {
				c.t.Log(proc.tail(15))
			}
		}
	}
	require.True(c.t, ok, "%s does not lead %d replicas with every Sentinel agreeing", primary.name, want)
}

// queueWriter pushes entries onto the task queue through the Sentinel client and records those
// acknowledged, and when.
type queueWriter struct {
	mu    sync.Mutex
	acked []string
	at    []time.Time
	stop  context.CancelFunc
	done  chan struct{}
}

func (c *redisCluster) startWriter(cl *goredis.Client) *queueWriter {
	ctx, cancel := context.WithCancel(context.Background())
	w := &queueWriter{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ctx.Err() == nil; i++ {
			entry := fmt.Sprintf("drill-task-%d", i)
			if err := cl.RPush(ctx, redis.TaskQueueName, entry).Err(); err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			w.mu.Lock()
			w.acked, w.at = append(w.acked, entry), append(w.at, time.Now())
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *queueWriter) count() int { w.mu.Lock(); defer w.mu.Unlock(); return len(w.acked) }

// firstAfter is when the first write after t was acknowledged.
func (w *queueWriter) firstAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := sort.Search(len(w.at), func(i int) bool { return w.at[i].After(t) })
	if i == len(w.at) {
		return time.Time{}, false
	}
	return w.at[i], true
}

// failover kills the primary's pod while entries are pushed, measures until the Sentinels name a
// new primary and until the Sentinel client writes again, checks every acknowledged entry on the
// new primary, and restarts the old pod, which must come back as a replica of the new one.
func (c *redisCluster) failover() {
	t := c.t
	cl := c.client()
	old := c.pods[0]
	require.Equal(t, old.host, c.primaryBySentinel())
	w := c.startWriter(cl)
	_, ok := eventually(time.Minute, 50*time.Millisecond, func() bool { return w.count() > 500 })
	require.True(t, ok, "the queue takes no writes")

	killed := time.Now()
	old.kill()
	var primary string
	promoted, ok := eventually(time.Minute, 100*time.Millisecond, func() bool {
		primary = c.primaryBySentinel()
		return primary != "" && primary != old.host
	})
	require.True(t, ok, "the Sentinels promoted no replica")
	var writing time.Time
	_, ok = eventually(time.Minute, 50*time.Millisecond, func() bool {
		writing, ok = w.firstAfter(killed.Add(promoted))
		return ok
	})
	require.True(t, ok, "the Sentinel client does not write again")
	_, ok = eventually(time.Minute, 50*time.Millisecond, func() bool { _, ok := w.firstAfter(writing.Add(time.Second)); return ok })
	require.True(t, ok)
	w.stop()
	<-w.done

	var newPrimary *redisPod
	for _, p := range c.pods {
		if p.host == primary {
			newPrimary = p
		}
	}
	require.NotNil(t, newPrimary, "the Sentinels name an unknown primary %q", primary)
	ctx := context.Background()
	entries, err := c.node(newPrimary, c.redis).LRange(ctx, redis.TaskQueueName, 0, -1).Result()
	require.NoError(t, err)
	have := map[string]bool{}
	for _, e := range entries {
		have[e] = true
	}
	var lost []string
	for _, e := range w.acked {
		if !have[e] {
			lost = append(lost, e)
		}
	}
	assert.Empty(t, lost, "acknowledged queue entries lost")

	// The old primary's pod starts again: its start-up script asks the Sentinels, and it
	// follows the new primary.
	restarted := time.Now()
	c.start(old)
	c.waitReplicated(newPrimary, 2*time.Minute)
	role, err := c.node(old, c.redis).Do(ctx, "ROLE").Slice()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(role), 2)
	assert.Equal(t, "slave", role[0])
	assert.Equal(t, newPrimary.host, role[1], "the old primary follows the new one")
	n, err := c.node(old, c.redis).LLen(ctx, redis.TaskQueueName).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(len(entries)), n, "the old primary holds the new primary's queue")
	summary(t, "redis failover (kill -9 of the queue primary's pod): Sentinels promoted %s %s after the kill, a Sentinel client wrote again after %s; %d of %d acknowledged entries lost (%s); old primary back as a replica %s after its restart",
		newPrimary.name, promoted.Round(100*time.Millisecond), writing.Sub(killed).Round(100*time.Millisecond), len(lost), len(w.acked),
		c.durability(), time.Since(restarted).Round(100*time.Millisecond))
}

// durability are the deployed redis.conf's lines that decide what a failover may lose.
func (c *redisCluster) durability() string {
	var lines []string
	for _, l := range strings.Split(c.config["redis.conf"], "\n") {
		if strings.HasPrefix(l, "appendfsync ") || strings.HasPrefix(l, "min-replicas-") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, ", ")
}

// field is a field of a reply that is a map (RESP3) or a flat list of names and values (RESP2).
func field(reply any, name string) string {
	switch r := reply.(type) {
	case map[any]any:
		if v, ok := r[name]; ok {
			return fmt.Sprint(v)
		}
	case []any:
		for i := 0; i+1 < len(r); i += 2 {
			if fmt.Sprint(r[i]) == name {
				return fmt.Sprint(r[i+1])
			}
		}
	}
	return ""
}
