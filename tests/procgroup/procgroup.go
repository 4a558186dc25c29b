// Package procgroup waits for the process groups the test suites start their servers in: a
// server stopped is gone only once every process of its group is (nginx's workers, PostgreSQL's
// backends), so no test leaves one running.
package procgroup

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Gone polls until no process is in the process group pgid (kill(-pgid, 0) fails with ESRCH: a
// killed process is gone once reaped, an orphan by init), for at most timeout, and says whether
// it emptied.
func Gone(pgid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for syscall.Kill(-pgid, 0) != syscall.ESRCH {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// Processes lists the processes of the group pgid, as ps shows them, for a failure's message.
func Processes(pgid int) string {
	out, _ := exec.Command("ps", "-eo", "pid=,pgid=,ppid=,stat=,user=,args=").Output()
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == fmt.Sprint(pgid) {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return strings.Join(lines, "\n")
}
