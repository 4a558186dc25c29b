package objectstore

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const archive = "s3://wal/spilo/pynomaly-prod-pynomaly-postgres/wal/15"

// walg is the stand-in, run through envdir as Spilo runs it, with env in its environment
// directory and nothing else of the test's but PATH and HOME.
type walg struct {
	path, envDir string
}

func newWalG(t *testing.T, env map[string]string) walg {
	t.Helper()
	if _, err := exec.LookPath("rclone"); err != nil {
		t.Fatal("rclone is not on PATH: scripts/test.sh installs Debian's package")
	}
	dir := t.TempDir()
	w := walg{path: WalG(t, dir), envDir: filepath.Join(dir, "env")}
	WriteEnvDir(t, w.envDir, env)
	return w
}

// run returns the command's standard output, its standard error and its exit status.
func (w walg) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(filepath.Dir(w.path), "envdir"), append([]string{w.envDir, w.path}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// ok runs the command and fails the test unless it succeeds.
func (w walg) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, status := w.run(t, args...)
	if status != 0 {
		t.Fatalf("wal-g %s: exit %d\n%s", strings.Join(args, " "), status, errs)
	}
	return out
}

func storeWithArchive(t *testing.T) (*Store, walg) {
	t.Helper()
	s := Start(t)
	s.CreateBucket(t, "wal")
	return s, newWalG(t, s.WalGEnv(archive))
}

// A segment pushed is in the store under the prefix's wal_005/, as it was (no compression), and
// comes back the same.
func TestWalPushThenFetchRoundTrip(t *testing.T) {
	s, w := storeWithArchive(t)
	segment := filepath.Join(t.TempDir(), "000000010000000000000003")
	content := make([]byte, 1<<20)
	_, _ = rand.Read(content)
	if err := os.WriteFile(segment, content, 0o600); err != nil {
		t.Fatal(err)
	}
	w.ok(t, "wal-push", segment)

	key := "spilo/pynomaly-prod-pynomaly-postgres/wal/15/wal_005/000000010000000000000003"
	if keys := s.Keys(t, "wal", ""); len(keys) != 1 || keys[0] != key {
		t.Fatalf("keys after wal-push: %q, want [%s]", keys, key)
	}
	if !bytes.Equal(s.Get(t, "wal", key), content) {
		t.Fatal("the stored segment differs from the pushed one")
	}
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	w.ok(t, "wal-fetch", "000000010000000000000003", dest)
	fetched, err := os.ReadFile(dest)
	if err != nil || !bytes.Equal(fetched, content) {
		t.Fatalf("wal-fetch wrote %d bytes (%v), want the %d pushed", len(fetched), err, len(content))
	}
}

// A segment never archived makes wal-fetch exit 74 and write nothing, as WAL-G does: PostgreSQL's
// recovery takes it as the end of the archive.
func TestWalFetchOfAMissingSegmentFails(t *testing.T) {
	_, w := storeWithArchive(t)
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	_, errs, status := w.run(t, "wal-fetch", "000000010000000000000009", dest)
	if status != 74 {
		t.Fatalf("wal-fetch of a missing segment: exit %d, want 74\n%s", status, errs)
	}
	if !strings.Contains(errs, "Archive '000000010000000000000009' does not exist.") {
		t.Errorf("wal-fetch's message: %s", errs)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("wal-fetch of a missing segment left %s", dest)
	}
}

// st put stores a file at its path under the prefix; st ls prints WAL-G's table of folders and
// objects; an existing object is kept without -f; st cat reads it back and st rm removes it.
func TestStorageToolsListWhatWasPut(t *testing.T) {
	s, w := storeWithArchive(t)
	local := filepath.Join(t.TempDir(), "globals.sql")
	if err := os.WriteFile(local, []byte("CREATE ROLE pynomaly;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.ok(t, "st", "put", "--no-compress", local, "20261125T020000Z/globals.sql")
	if keys := s.Keys(t, "wal", ""); len(keys) != 1 || keys[0] != "spilo/pynomaly-prod-pynomaly-postgres/wal/15/20261125T020000Z/globals.sql" {
		t.Fatalf("keys after st put: %q", keys)
	}

	root := strings.Split(strings.TrimSpace(w.ok(t, "st", "ls")), "\n")
	want := []string{"type size last modified                 name", "dir  0    0001-01-01 00:00:00 +0000 UTC 20261125T020000Z/"}
	if strings.Join(root, "\n") != strings.Join(want, "\n") {
		t.Errorf("st ls:\n%s\nwant:\n%s", strings.Join(root, "\n"), strings.Join(want, "\n"))
	}
	folder := strings.Split(strings.TrimSpace(w.ok(t, "st", "ls", "20261125T020000Z/")), "\n")
	object := regexp.MustCompile(`^obj  22   \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC globals.sql$`)
	if len(folder) != 2 || !object.MatchString(folder[1]) {
		t.Errorf("st ls 20261125T020000Z/:\n%s", strings.Join(folder, "\n"))
	}
	if recursive := w.ok(t, "st", "ls", "-r"); !strings.Contains(recursive, " 20261125T020000Z/globals.sql\n") {
		t.Errorf("st ls -r:\n%s", recursive)
	}

	if _, errs, status := w.run(t, "st", "put", "--no-compress", local, "20261125T020000Z/globals.sql"); status == 0 || !strings.Contains(errs, "add the -f flag") {
		t.Errorf("st put over an existing object: exit %d\n%s", status, errs)
	}
	if got := w.ok(t, "st", "cat", "20261125T020000Z/globals.sql"); got != "CREATE ROLE pynomaly;\n" {
		t.Errorf("st cat: %q", got)
	}
	w.ok(t, "st", "rm", "20261125T020000Z")
	if keys := s.Keys(t, "wal", ""); len(keys) != 0 {
		t.Errorf("keys after st rm of the folder: %q", keys)
	}
	if _, _, status := w.run(t, "st", "rm", "20261125T020000Z"); status == 0 {
		t.Error("st rm of nothing succeeded")
	}
}

// The scripts are shellcheck-clean (scripts/lint.sh lints the tiers' scripts, not the tests').
func TestScriptsAreShellcheckClean(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not on PATH (scripts/lint.sh installs it)")
	}
	if out, err := exec.Command(shellcheck, "wal-g.sh", "envdir.sh").CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
