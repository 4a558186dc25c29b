package procgroup

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startGroup starts sh -c script as the leader of a process group of its own.
func startGroup(t *testing.T, script string) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait() //nolint:errcheck // reaps the leader; the group is what is watched
	return cmd.Process.Pid
}

// A group whose processes all ended is gone; one with a child still running is not, and is
// listed, child included, until it is killed.
func TestGone(t *testing.T) {
	done := startGroup(t, "exit 0")
	if !Gone(done, 5*time.Second) {
		t.Errorf("group %d of a finished process is not gone", done)
	}
	running := startGroup(t, "sleep 30 & wait")
	defer syscall.Kill(-running, syscall.SIGKILL) //nolint:errcheck
	if Gone(running, 100*time.Millisecond) {
		t.Fatalf("group %d with a sleeping child reported gone", running)
	}
	if ps := Processes(running); !strings.Contains(ps, "sleep 30") {
		t.Errorf("the group's processes lack its child:\n%s", ps)
	}
	if err := syscall.Kill(-running, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !Gone(running, 5*time.Second) {
		t.Errorf("group %d still there after SIGKILL:\n%s", running, Processes(running))
	}
}
