package main

// The servers the program runs against, from Debian's packages, configured by the platform's
// own generators (as tests/servers_test.go and tests/tls_servers_test.go do): PostgreSQL with
// the TLS parameters and client authentication rules of a TLS stack (every TCP connection must
// use TLS), the application's login made by the setup job's SQL, two PgBouncers with the
// generated pgbouncer.ini (plain and TLS), and per test a queue Redis (and Sentinel) with the
// generated redis.conf.

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// testGeneration is the credentials' generation the rendered pods name: 1, slot b, so the
// program logs in as the rotation's second login (pynomaly_b, whose sessions run as pynomaly).
const testGeneration = 1

type sharedServers struct {
	settings    *config.Settings
	bin         string
	socketDir   string
	pgPort      int
	pooler      int
	tlsPooler   int
	ca          *testCA
	caFile      string
	appPassword string
	// refDir holds pynomaly-ref and the alembic link to it, runnable by any user.
	refDir string
	procs  []*proc
	dirs   []string
}

var (
	sharedOnce sync.Once
	shared     = &sharedServers{}
	sharedErr  error
)

// postgresBin is the directory of Debian's PostgreSQL server binaries.
func postgresBin() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(matches) == 0 {
		return ""
	}
	return filepath.Dir(matches[len(matches)-1])
}

// servers starts the shared servers once, or skips the test where the binaries are missing.
func servers(t *testing.T) *sharedServers {
	t.Helper()
	bin := postgresBin()
	for _, tool := range []string{"pgbouncer", "redis-server"} {
		if _, err := exec.LookPath(tool); err != nil || bin == "" {
			t.Skipf("PostgreSQL, PgBouncer and Redis from Debian's packages are needed (scripts/test.sh installs them): %s missing", tool)
		}
	}
	sharedOnce.Do(func() { sharedErr = shared.start(bin) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func stopShared() {
	for i := len(shared.procs) - 1; i >= 0; i-- {
		if err := shared.procs[i].stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	for _, d := range shared.dirs {
		os.RemoveAll(d)
	}
}

func (s *sharedServers) dir(cred *syscall.Credential, mode os.FileMode) (string, error) {
	d, err := ownedDir(cred, mode)
	if err == nil {
		s.dirs = append(s.dirs, d)
	}
	return d, err
}

func (s *sharedServers) start(bin string) error {
	var err error
	s.bin = bin
	if s.settings, err = load.LoadFiles("../../Pulumi.yaml", "../../Pulumi.dev.yaml"); err != nil {
		return err
	}
	if s.ca, err = newTestCA("test internal CA"); err != nil {
		return err
	}
	if err := s.installProgram(); err != nil {
		return err
	}
	cred, err := serviceUser()
	if err != nil {
		return err
	}
	if err := s.startPostgres(cred); err != nil {
		return err
	}
	if s.pooler, err = s.startPooler(cred, false); err != nil {
		return err
	}
	s.tlsPooler, err = s.startPooler(cred, true)
	return err
}

// installProgram puts the test binary where the image has the program, and the CA bundle
// where any user reads it.
func (s *sharedServers) installProgram() error {
	dir, err := s.dir(nil, 0o755)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := copyFile(self, filepath.Join(dir, "pynomaly-ref"), 0o755); err != nil {
		return err
	}
	if err := os.Symlink("pynomaly-ref", filepath.Join(dir, "alembic")); err != nil {
		return err
	}
	s.refDir, s.caFile = dir, filepath.Join(dir, "ca.crt")
	return os.WriteFile(s.caFile, s.ca.pem, 0o644)
}

func (s *sharedServers) startPostgres(cred *syscall.Credential) error {
	var err error
	if s.socketDir, err = s.dir(cred, 0o700); err != nil {
		return err
	}
	data, certs := filepath.Join(s.socketDir, "data"), filepath.Join(s.socketDir, "tls")
	if out, err := asUser(exec.Command(filepath.Join(s.bin, "initdb"), "-D", data, "-U", "postgres", "--auth-local=trust"), cred).CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v: %s", err, out)
	}
	if err := os.Mkdir(certs, 0o700); err != nil {
		return err
	}
	if cred != nil {
		_ = os.Chown(certs, int(cred.Uid), int(cred.Gid))
	}
	if err := s.ca.serverFiles(certs, cred); err != nil {
		return err
	}
	hba := strings.Join(postgres.HBA(), "\n") + "\n"
	if err := writeOwned(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600, cred); err != nil {
		return err
	}
	conf := strings.ReplaceAll(postgres.RenderConf(postgres.TLSParameters()), tier.ServerTLSMountPath, certs)
	if err := appendFile(filepath.Join(data, "postgresql.conf"), conf); err != nil {
		return err
	}
	if s.pgPort, err = freePort(); err != nil {
		return err
	}
	p, err := startProc("postgres", asUser(exec.Command(filepath.Join(s.bin, "postgres"), "-D", data, "-k", s.socketDir,
		"-p", fmt.Sprint(s.pgPort), "-c", "listen_addresses=127.0.0.1"), cred))
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	if err := waitUntil(20*time.Second, p, func() bool {
		return exec.Command(filepath.Join(s.bin, "pg_isready"), "-q", "-h", s.socketDir, "-p", fmt.Sprint(s.pgPort)).Run() == nil
	}); err != nil {
		return err
	}
	return s.setupRole()
}

func appendFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("\n" + content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// setupRole runs the setup job's SQL (postgres.SetupRoleStep) for the generation's
// login, with a verifier of a fresh password, over the server's socket.
func (s *sharedServers) setupRole() error {
	s.appPassword = rand.Text()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	verifier, err := credentials.PostgresSCRAMVerifier(s.appPassword, salt)
	if err != nil {
		return err
	}
	cmd := exec.Command("sh", "-ec", postgres.SetupRoleStep)
	cmd.Env = []string{"PATH=" + s.bin + ":/usr/bin:/bin", "HOME=" + os.TempDir(),
		"PGHOST=" + s.socketDir, fmt.Sprintf("PGPORT=%d", s.pgPort), "PGUSER=postgres", "PGDATABASE=postgres",
		"APP_OWNER=" + credentials.PostgresAppUser, "APP_USER=" + appLogin(), "APP_PASSWORD_VERIFIER=" + verifier,
		"APP_DATABASE=" + postgres.Database,
		// The exporter's login, which the job creates too; nothing here logs in with it.
		"MONITOR_USER=" + credentials.PostgresMonitorUser, "MONITOR_PASSWORD_VERIFIER=" + verifier}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("the setup job's SQL: %v: %s", err, out)
	}
	return nil
}

func appLogin() string { return credentials.PostgresAppLogin(credentials.SlotOf(testGeneration)) }

// startPooler runs PgBouncer with the generated pgbouncer.ini in front of the server. A wildcard
// database entry is added, so that each test can have a database of its own.
func (s *sharedServers) startPooler(cred *syscall.Credential, tls bool) (int, error) {
	dir, err := s.dir(cred, 0o700)
	if err != nil {
		return 0, err
	}
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	host := "127.0.0.1"
	if tls {
		host = "localhost" // verify-full: a name the server's certificate carries
		if err := s.ca.serverFiles(dir, cred); err != nil {
			return 0, err
		}
	}
	ini := postgres.PgBouncerIni(host, s.settings.Pooler, tls)
	ini = strings.Replace(ini, fmt.Sprintf("port=%d", postgres.Port), fmt.Sprintf("port=%d", s.pgPort), 1)
	ini = strings.Replace(ini, "[databases]\n", fmt.Sprintf("[databases]\n* = host=%s port=%d\n", host, s.pgPort), 1)
	ini = strings.ReplaceAll(ini, "listen_addr = 0.0.0.0", "listen_addr = 127.0.0.1")
	ini = strings.ReplaceAll(ini, fmt.Sprintf("listen_port = %d", postgres.Port), fmt.Sprintf("listen_port = %d", port))
	ini = strings.ReplaceAll(ini, "/etc/pgbouncer/auth/userlist.txt", filepath.Join(dir, "userlist.txt"))
	ini = strings.ReplaceAll(ini, tier.ServerTLSMountPath, dir)
	userlist := credentials.PgBouncerUserlist(appLogin(), s.appPassword)
	if err := writeOwned(filepath.Join(dir, "userlist.txt"), []byte(userlist), 0o600, cred); err != nil {
		return 0, err
	}
	if err := writeOwned(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o600, cred); err != nil {
		return 0, err
	}
	pgbouncer, _ := exec.LookPath("pgbouncer")
	p, err := startProc(fmt.Sprintf("pgbouncer (tls %v)", tls), asUser(exec.Command(pgbouncer, filepath.Join(dir, "pgbouncer.ini")), cred))
	if err != nil {
		return 0, err
	}
	s.procs = append(s.procs, p)
	return port, waitUntil(20*time.Second, p, listening(port))
}

// superuser connects to database db over the server's socket (trusted there).
func (s *sharedServers) superuser(t *testing.T, db string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=%s", s.socketDir, s.pgPort, db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// newDatabase is a database of the test's own, owned by the application's role as the setup
// job makes pynomaly: migrations start from nothing in it.
func (s *sharedServers) newDatabase(t *testing.T) string {
	t.Helper()
	name := "ref_" + strings.ToLower(rand.Text()[:10])
	if _, err := s.superuser(t, "postgres").Exec(context.Background(),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, credentials.PostgresAppUser)); err != nil {
		t.Fatal(err)
	}
	return name
}
