package objectstore

import (
	_ "embed"
	"os"
	"path/filepath"
	"testing"
)

var (
	// walgScript is the stand-in for WAL-G's command line (wal-g.sh says what it does).
	//go:embed wal-g.sh
	walgScript []byte
	// envdirScript is daemontools' envdir, through which Spilo runs WAL-G.
	//go:embed envdir.sh
	envdirScript []byte
)

// WalG writes the stand-in for WAL-G's command line into dir as wal-g, and envdir beside it,
// and returns wal-g's path. Both are world-executable: PostgreSQL's archiver runs them as the
// server's user.
func WalG(t testing.TB, dir string) string {
	t.Helper()
	for name, script := range map[string][]byte{"wal-g": walgScript, "envdir": envdirScript} {
		if err := os.WriteFile(filepath.Join(dir, name), script, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "wal-g")
}

// WriteEnvDir writes env into dir as envdir reads it, a file a variable, as Spilo writes WAL-G's
// environment (under /run/etc/wal-e.d/env). The files are world-readable, as Spilo leaves them:
// a directory only the server's user can enter keeps the keys.
func WriteEnvDir(t testing.TB, dir string, env map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, value := range env {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
