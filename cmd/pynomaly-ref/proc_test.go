package main

// Processes of the tests: the servers (PostgreSQL, PgBouncer, Redis) and the program itself,
// each the leader of a process group of its own, stopped as a kubelet stops a container
// (SIGTERM, then SIGKILL) and checked gone with tests/procgroup.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pynomaly/pynomaly-platform/tests/procgroup"
)

// TestMain runs the program when the test binary is called by its name: the tests start
// copies of it named pynomaly-ref and alembic, as the images hold them, so the program runs
// as its own process, with the pod's argv, environment and user.
func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "pynomaly-ref", "alembic":
		os.Exit(run(os.Args, os.LookupEnv, os.Stdout, os.Stderr))
	}
	code := m.Run()
	stopShared()
	os.Exit(code)
}

// lockedBuffer collects a process's output while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a process the tests started.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{}
}

const stopTimeout = 10 * time.Second

// startProc starts cmd as the leader of a new process group, its output collected.
func startProc(name string, cmd *exec.Cmd) (*proc, error) {
	p := &proc{name: name, cmd: cmd, out: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.WaitDelay = stopTimeout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// running says whether the process has not exited yet.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// wait waits up to d for the process to exit and returns its exit code (-1: it did not).
func (p *proc) wait(d time.Duration) int {
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		return -1
	}
}

// stop ends the process as a kubelet would (SIGTERM, SIGKILL after stopTimeout), then whatever
// of its group remains, and says whether the group is gone.
func (p *proc) stop() error {
	pgid := p.cmd.Process.Pid
	if p.running() {
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		if p.wait(stopTimeout) < 0 {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.exited
		}
	}
	if syscall.Kill(-pgid, 0) != syscall.ESRCH {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	if !procgroup.Gone(pgid, stopTimeout) {
		return fmt.Errorf("%s left processes behind:\n%s", p.name, procgroup.Processes(pgid))
	}
	return nil
}

// stopOnCleanup stops p when the test ends.
func stopOnCleanup(t *testing.T, p *proc) {
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Error(err)
		}
	})
}

// serviceUser is the account PostgreSQL and PgBouncer run as when the tests run as root (both
// refuse root): Debian's postgres user. nil when not root.
func serviceUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("the postgres user comes with Debian's postgresql package: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// asUser runs cmd as cred (nil: as the tests' user).
func asUser(cmd *exec.Cmd, cred *syscall.Credential) *exec.Cmd {
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	}
	return cmd
}

// ownedDir is a new directory for cred (the tests' user when nil), with mode.
func ownedDir(cred *syscall.Credential, mode os.FileMode) (string, error) {
	dir, err := os.MkdirTemp("", "pynomaly-ref-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, mode); err != nil {
		return "", err
	}
	if cred != nil {
		return dir, os.Chown(dir, int(cred.Uid), int(cred.Gid))
	}
	return dir, nil
}

// writeOwned writes a file owned by cred.
func writeOwned(path string, content []byte, mode os.FileMode, cred *syscall.Credential) error {
	if err := os.WriteFile(path, content, mode); err != nil {
		return err
	}
	if cred != nil {
		return os.Chown(path, int(cred.Uid), int(cred.Gid))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitUntil polls check every 50 ms for up to d; the process exiting ends the wait early.
func waitUntil(d time.Duration, p *proc, check func() bool) error {
	deadline := time.Now().Add(d)
	for !check() {
		if p != nil && !p.running() {
			return fmt.Errorf("%s exited:\n%s", p.name, p.out)
		}
		if time.Now().After(deadline) {
			if p != nil {
				return fmt.Errorf("timed out after %v waiting on %s:\n%s", d, p.name, p.out)
			}
			return fmt.Errorf("timed out after %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func listening(port int) func() bool {
	return func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
}

// copyFile copies src to dst with mode.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
