package tests

// Encryption in transit, checked by the real servers: certificates made here (a CA and server
// certificates for the names the program's Certificates declare), the generated settings, and
// Debian's PostgreSQL, PgBouncer, Redis and Sentinel.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/tier"
)

const tlsNamespace = "pynomaly-data-science"

// testCA is a CA of the test's, as cert-manager's CA Issuer would be.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test internal CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serverFiles writes tls.crt, tls.key and ca.crt (what cert-manager puts in a server's Secret)
// for names into dir, owned by the service user, the key readable by it alone.
func (ca *testCA) serverFiles(t *testing.T, dir string, names []string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	for name, content := range map[string][]byte{
		"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"tls.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"ca.crt":  ca.pem,
	} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, content, 0o600))
		ownByServiceUser(t, path)
	}
}

// inDir moves the server's certificate paths from the pod's mount to dir.
func inDir(s, dir string) string { return strings.ReplaceAll(s, tier.ServerTLSMountPath, dir) }

// tlsPostgres is a real PostgreSQL with the generated TLS parameters and pg_hba rules, its
// certificate naming what the program's Certificate names, an application role and a
// replication role. It returns the port and the CA file clients trust.
func tlsPostgres(t *testing.T, ctx context.Context, ca *testCA, bin string) (int, string) {
	t.Helper()
	dir := serviceDir(t)
	data := filepath.Join(dir, "data")
	out, err := asServiceUser(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth-local=trust").CombinedOutput()
	require.NoError(t, err, "%s", out)
	certs := filepath.Join(dir, "tls")
	require.NoError(t, os.Mkdir(certs, 0o700))
	ownByServiceUser(t, certs)
	// The names of the program's Certificate, and localhost, which PgBouncer dials here.
	ca.serverFiles(t, certs, append(postgres.ServerTLS(3).DNSNames(tlsNamespace), "localhost"))
	hba := strings.Join(postgres.HBA(), "\n") + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600))
	ownByServiceUser(t, filepath.Join(data, "pg_hba.conf"))
	conf := inDir(postgres.RenderConf(postgres.TLSParameters()), certs)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(conf)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	port, _ := runPostgres(t, ctx, bin, dir, data)
	// A replication role as Spilo creates one.
	setupAppRole(t, ctx, bin, dir, port, "s3cret", `psql -X -v ON_ERROR_STOP=1 -c "CREATE ROLE standby REPLICATION LOGIN PASSWORD 'r3pl'"`)
	caFile := filepath.Join(dir, "client-ca.crt")
	require.NoError(t, os.WriteFile(caFile, ca.pem, 0o644))
	return port, caFile
}

// psqlAt runs one query as a libpq client with conninfo, the password in the environment.
func psqlAt(bin, conninfo, password, query string) (string, error) {
	cmd := exec.Command(filepath.Join(bin, "psql"), "-w", "-X", "-Atc", query, conninfo)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=10")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// A real PostgreSQL with the generated settings refuses a plain remote connection (replication
// too) and accepts verify-full, for the name a client dials, against the CA; another CA is
// refused by the client.
func TestPostgresTLSRefusesPlainAndAcceptsVerifyFull(t *testing.T) {
	bin := filepath.Dir(tool(t, "/usr/lib/postgresql/*/bin/postgres"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ca := newTestCA(t)
	port, caFile := tlsPostgres(t, ctx, ca, bin)
	svc := postgres.ServiceName + "." + tlsNamespace + ".svc"
	conn := func(host, mode, user, extra string) string {
		return fmt.Sprintf("host=%s hostaddr=127.0.0.1 port=%d dbname=%s user=%s sslmode=%s sslrootcert=%s %s",
			host, port, postgres.Database, user, mode, caFile, extra)
	}

	out, err := psqlAt(bin, conn(svc, "disable", credentials.PostgresAppUser, ""), "s3cret", "SELECT 1")
	require.Error(t, err, "a plain remote connection was let in: %s", out)
	assert.Contains(t, out, "no encryption", "refused by pg_hba's hostnossl reject")
	out, err = psqlAt(bin, conn(svc, "disable", "standby", "replication=true"), "r3pl", "IDENTIFY_SYSTEM")
	require.Error(t, err, "a plain replication connection was let in: %s", out)
	assert.Contains(t, out, "no encryption")

	// Every name clients and replicas use: the Services and each pod behind the headless one.
	for _, host := range []string{svc, postgres.ReplicaService + "." + tlsNamespace + ".svc",
		postgres.Name + "-2." + postgres.HeadlessService + "." + tlsNamespace + ".svc"} {
		out, err = psqlAt(bin, conn(host, "verify-full", credentials.PostgresAppUser, ""), "s3cret",
			"SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
		require.NoError(t, err, "verify-full to %s: %s", host, out)
		assert.Equal(t, "t", out, host)
	}
	out, err = psqlAt(bin, conn(svc, "verify-full", "standby", "replication=true"), "r3pl", "IDENTIFY_SYSTEM")
	require.NoError(t, err, "replication over TLS: %s", out)

	// A name the certificate does not carry, and a CA that did not sign it, fail verification.
	out, err = psqlAt(bin, conn("elsewhere.example", "verify-full", credentials.PostgresAppUser, ""), "s3cret", "SELECT 1")
	require.Error(t, err, out)
	assert.Contains(t, out, "does not match host name")
	other := filepath.Join(t.TempDir(), "other-ca.crt")
	require.NoError(t, os.WriteFile(other, newTestCA(t).pem, 0o644))
	out, err = psqlAt(bin, strings.Replace(conn(svc, "verify-full", credentials.PostgresAppUser, ""), caFile, other, 1), "s3cret", "SELECT 1")
	require.Error(t, err, out)
	assert.Contains(t, out, "certificate verify failed")
}

// A real PgBouncer with the generated configuration in front of that PostgreSQL: clients must
// use TLS and verify the pooler's certificate; the pooler reaches PostgreSQL over TLS with
// verify-full.
func TestPgBouncerTLSBothWays(t *testing.T) {
	bin := filepath.Dir(tool(t, "/usr/lib/postgresql/*/bin/postgres"))
	pgbouncer := tool(t, "pgbouncer")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ca := newTestCA(t)
	pgPort, caFile := tlsPostgres(t, ctx, ca, bin)

	s := settings(t, "prod", nil)
	poolDir := serviceDir(t)
	ca.serverFiles(t, poolDir, postgres.PoolerTLS().DNSNames(tlsNamespace))
	poolPort := freePort(t)
	ini := postgres.PgBouncerIni("localhost", s.Pooler, true)
	require.Contains(t, ini, "server_tls_sslmode = verify-full")
	ini = strings.Replace(ini, fmt.Sprintf("port=%d", postgres.Port), fmt.Sprintf("port=%d", pgPort), 1)
	ini = strings.ReplaceAll(ini, "listen_addr = 0.0.0.0", "listen_addr = 127.0.0.1")
	ini = strings.ReplaceAll(ini, fmt.Sprintf("listen_port = %d", postgres.Port), fmt.Sprintf("listen_port = %d", poolPort))
	ini = strings.ReplaceAll(ini, "/etc/pgbouncer/auth/userlist.txt", filepath.Join(poolDir, "userlist.txt"))
	ini = inDir(ini, poolDir)
	require.NoError(t, os.WriteFile(filepath.Join(poolDir, "userlist.txt"), []byte(credentials.PgBouncerUserlist(credentials.PostgresAppUser, "s3cret")), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(poolDir, "pgbouncer.ini"), []byte(ini), 0o644))
	pool := asServiceUser(ctx, pgbouncer, filepath.Join(poolDir, "pgbouncer.ini"))
	exited, log := start(t, pool)
	defer func() { _ = pool.Process.Signal(syscall.SIGINT); <-exited }()
	waitFor(t, "pgbouncer to listen", exited, log, listening(poolPort))
	conn := func(mode string) string {
		return fmt.Sprintf("host=%s.%s.svc hostaddr=127.0.0.1 port=%d dbname=%s user=%s sslmode=%s sslrootcert=%s",
			postgres.PoolerName, tlsNamespace, poolPort, postgres.Database, credentials.PostgresAppUser, mode, caFile)
	}
	out, err := psqlAt(bin, conn("disable"), "s3cret", "SELECT 1")
	require.Error(t, err, "PgBouncer let a plain client in: %s", out)
	// verify-full to the pooler; the server connection behind it is TLS too (pg_stat_ssl is
	// the server's view of the pooler's connection).
	out, err = psqlAt(bin, conn("verify-full"), "s3cret", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
	require.NoError(t, err, "through PgBouncer: %s\npgbouncer: %s", out, log)
	assert.Equal(t, "t", out)
}

// tlsRedis starts redis-server (Sentinel with --sentinel) with conf, its certificate paths moved
// to dir, on a TLS port of loopback; it returns the port.
func tlsRedis(t *testing.T, dir, conf string, args ...string) int {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("redis-%d.conf", time.Now().UnixNano()))
	require.NoError(t, os.WriteFile(path, []byte(inDir(conf, dir)), 0o600))
	port := freePort(t)
	// The generated port lines, moved to a free port of the test's.
	cmd := exec.Command(tool(t, "redis-server"), append([]string{path, "--tls-port", fmt.Sprint(port), "--daemonize", "no", "--bind", "127.0.0.1"}, args...)...)
	exited, log := start(t, cmd)
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	waitFor(t, "redis with TLS on "+path, exited, log, listening(port))
	return port
}

// redisCLI runs redis-cli with the options the pods use (redis.CLITLS), or plain.
func redisCLI(t *testing.T, port int, tlsOptions string, args ...string) string {
	t.Helper()
	all := append(strings.Fields(tlsOptions), append([]string{"-p", fmt.Sprint(port), "--no-auth-warning", "-a", "s3cret"}, args...)...)
	out, _ := exec.Command(tool(t, "redis-cli"), all...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// A real Redis with the generated configuration answers redis-cli over TLS, checked against
// the CA, and nothing in plain text; its port 6379 is the TLS one.
func TestRedisTLSOnly(t *testing.T) {
	s := settings(t, "prod", nil)
	ca := newTestCA(t)
	dir := t.TempDir()
	ca.serverFiles(t, dir, redis.ServerTLS(redis.Queue, s.RedisQueue.Replicas).DNSNames(tlsNamespace))
	conf := redis.Conf(redis.Queue, s.RedisQueue) + redis.TLSConf(redis.Port)
	conf = strings.Replace(conf, "dir /data\n", "dir "+dir+"\n", 1) + "requirepass s3cret\n"
	port := tlsRedis(t, dir, conf)
	withTLS := redis.CLITLS(filepath.Join(dir, "ca.crt"))
	assert.Equal(t, "PONG", redisCLI(t, port, withTLS, "ping"))
	assert.Equal(t, "port\n0", redisCLI(t, port, withTLS, "config", "get", "port"), "no plain port")
	assert.Equal(t, "tls-replication\nyes", redisCLI(t, port, withTLS, "config", "get", "tls-replication"))
	assert.NotEqual(t, "PONG", redisCLI(t, port, "", "ping"), "a plain client was answered")
	other := filepath.Join(t.TempDir(), "other-ca.crt")
	require.NoError(t, os.WriteFile(other, newTestCA(t).pem, 0o644))
	assert.Contains(t, redisCLI(t, port, redis.CLITLS(other), "ping"), "certificate verify failed")
}

// A real Sentinel with the generated configuration, over TLS, monitors a TLS-only primary
// (its connection to the primary is TLS too, or the primary would not answer) and answers
// redis-cli over TLS only.
func TestSentinelTLSOnly(t *testing.T) {
	s := settings(t, "prod", nil)
	ca := newTestCA(t)
	dir := t.TempDir()
	ca.serverFiles(t, dir, redis.ServerTLS(redis.Queue, s.RedisQueue.Replicas).DNSNames(tlsNamespace))
	primary := tlsRedis(t, dir, "user default on >s3cret ~* &* +@all\nmasterauth s3cret\n"+redis.TLSConf(redis.Port))
	monitor := strings.ReplaceAll(redis.SentinelMonitor("pynomaly-redis-queue", "127.0.0.1", s.RedisQueue.Replicas),
		fmt.Sprint(redis.Port), fmt.Sprint(primary))
	conf := redis.SentinelConf() + redis.TLSConf(26379) + "user default on >s3cret ~* &* +@all\n" + monitor +
		"sentinel auth-pass pynomaly-redis-queue s3cret\n"
	sentinel := tlsRedis(t, dir, conf, "--sentinel")
	withTLS := redis.CLITLS(filepath.Join(dir, "ca.crt"))
	assert.NotEqual(t, "PONG", redisCLI(t, sentinel, "", "ping"), "Sentinel answered a plain client")
	deadline := time.Now().Add(15 * time.Second)
	var master string
	for time.Now().Before(deadline) {
		master = redisCLI(t, sentinel, withTLS, "sentinel", "master", "pynomaly-redis-queue")
		if strings.Contains(master, "role-reported\nmaster") && strings.Contains(master, "flags\nmaster\n") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	assert.Contains(t, master, "flags\nmaster\n", "Sentinel reaches the primary over TLS")
	assert.Contains(t, master, "role-reported\nmaster")
}
