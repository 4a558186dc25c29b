package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// redisServer is a Redis of the test's in role: the role's generated redis.conf, its users as
// the pod's start-up script writes them (every one with password, the probe user with none), and,
// with TLS, the generated TLS settings (no plain port). It returns the port.
func redisServer(t *testing.T, s *sharedServers, role redis.Role, password string, withTLS bool) int {
	t.Helper()
	dir := t.TempDir()
	tiers := map[redis.Role]config.StatefulTier{redis.Queue: s.settings.RedisQueue, redis.Cache: s.settings.RedisCache}
	conf := strings.Replace(redis.Conf(role, tiers[role]), "dir /data\n", "dir "+dir+"\n", 1)
	portFlag := "--port"
	if withTLS {
		conf += redis.TLSConf(redis.Port)
		portFlag = "--tls-port"
	}
	return startRedis(t, s, dir, conf+userLines(redis.Users(role), password), portFlag)
}

// queueServer and cacheServer are redisServer of each role.
func queueServer(t *testing.T, s *sharedServers, password string, withTLS bool) int {
	return redisServer(t, s, redis.Queue, password, withTLS)
}

func cacheServer(t *testing.T, s *sharedServers, password string, withTLS bool) int {
	return redisServer(t, s, redis.Cache, password, withTLS)
}

// userLines are the users' lines of a runtime configuration, each with password (the probe user
// without one), and the tests' own user, which reads what the tests check (INFO, any key).
func userLines(users []redis.User, password string) string {
	var b strings.Builder
	for _, u := range users {
		pw := ">" + password
		if u.Name == redis.ProbeUser {
			pw = "nopass"
		}
		fmt.Fprintf(&b, "user %s on %s %s\n", u.Name, pw, u.Rules)
	}
	fmt.Fprintf(&b, "user %s on >%s ~* &* +@all\n", testUser, password)
	return b.String()
}

// testUser is the tests' own Redis user.
const testUser = "inspector"

// sentinelServer is a Sentinel over TLS with the generated configuration, monitoring the
// primary on port as master: what REDIS_QUEUE_HOST names with more than one replica.
func sentinelServer(t *testing.T, s *sharedServers, password, master string, primary int) int {
	t.Helper()
	dir := t.TempDir()
	monitor := strings.ReplaceAll(redis.SentinelMonitor(master, "127.0.0.1", s.settings.RedisQueue.Replicas),
		fmt.Sprint(redis.Port), fmt.Sprint(primary))
	conf := redis.SentinelConf() + redis.TLSConf(26379) + userLines(redis.SentinelUsers(), password) + monitor +
		"sentinel auth-user " + master + " " + redis.SentinelUser + "\nsentinel auth-pass " + master + " " + password + "\n"
	conf = strings.Replace(conf, "dir /tmp\n", "dir "+dir+"\n", 1)
	return startRedis(t, s, dir, conf, "--tls-port", "--sentinel")
}

func startRedis(t *testing.T, s *sharedServers, dir, conf, portFlag string, extra ...string) int {
	t.Helper()
	if strings.Contains(conf, tier.ServerTLSMountPath) {
		if err := s.ca.serverFiles(dir, nil); err != nil {
			t.Fatal(err)
		}
		conf = strings.ReplaceAll(conf, tier.ServerTLSMountPath, dir)
	}
	path := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	server, _ := exec.LookPath("redis-server")
	args := append([]string{path, portFlag, fmt.Sprint(port), "--bind", "127.0.0.1", "--daemonize", "no"}, extra...)
	p, err := startProc("redis-server "+strings.Join(extra, " "), exec.Command(server, args...))
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, p)
	if err := waitUntil(10*time.Second, p, listening(port)); err != nil {
		t.Fatal(err)
	}
	return port
}

// redisClient is the tests' own client of a Redis on port (TLS verified against the CA).
func redisClient(t *testing.T, s *sharedServers, port int, password string, withTLS bool) *goredis.Client {
	t.Helper()
	opts := &goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), Username: testUser, Password: password, DisableIdentity: true}
	if withTLS {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(s.ca.pem)
		opts.TLSConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	if err := waitUntil(10*time.Second, nil, func() bool { return c.Ping(context.Background()).Err() == nil }); err != nil {
		t.Fatalf("redis on %d: %v", port, err)
	}
	return c
}
