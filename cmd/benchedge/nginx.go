package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pynomaly/pynomaly-platform/internal/edgeload"
)

// nginxSample is one look at the running nginx: the resident memory of its master and workers
// (VmRSS of /proc/PID/status), and its stub_status.
type nginxSample struct {
	rssKiB, workers                    int
	active, accepts, handled, requests int
}

// nginxWatch samples the nginx whose master wrote pidFile, and keeps the peak of each figure.
type nginxWatch struct {
	master    int
	statusURL string
	client    *http.Client

	mu   sync.Mutex
	peak nginxSample
}

func newNginxWatch(pidFile, statusURL string) (*nginxWatch, error) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil, fmt.Errorf("nginx's pid: %w", err)
	}
	master, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("nginx's pid file %s: %w", pidFile, err)
	}
	// One kept-alive connection of its own: the sampler adds one to the active connections.
	return &nginxWatch{master: master, statusURL: statusURL, client: edgeload.Client(loopback, 5*time.Second)}, nil
}

// sample reads the figures once and raises the peaks.
func (n *nginxWatch) sample() nginxSample {
	var s nginxSample
	for _, pid := range append([]int{n.master}, children(n.master)...) {
		if kib := vmRSS(pid); kib > 0 {
			s.rssKiB += kib
			if pid != n.master {
				s.workers++
			}
		}
	}
	if resp, err := n.client.Get(n.statusURL); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.active, s.accepts, s.handled, s.requests = parseStubStatus(b)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if s.rssKiB > n.peak.rssKiB {
		n.peak.rssKiB, n.peak.workers = s.rssKiB, s.workers
	}
	n.peak.active = max(n.peak.active, s.active)
	return s
}

// watch samples every interval until the returned function is called.
func (n *nginxWatch) watch(interval time.Duration) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				n.sample()
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// children are the processes whose parent is pid (nginx's workers and cache processes).
func children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			if child, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
				out = append(out, child)
			}
		}
	}
	return out
}

// vmRSS is the resident memory of pid in KiB, 0 when it is gone.
func vmRSS(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kib, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kib
		}
	}
	return 0
}

// parseStubStatus reads nginx's stub_status page:
//
//	Active connections: 291
//	server accepts handled requests
//	 16630948 16630948 31070465
//	Reading: 6 Writing: 179 Waiting: 106
func parseStubStatus(b []byte) (active, accepts, handled, requests int) {
	lines := strings.Split(string(b), "\n")
	if len(lines) < 3 {
		return
	}
	fmt.Sscanf(lines[0], "Active connections: %d", &active)
	fmt.Sscanf(strings.TrimSpace(lines[2]), "%d %d %d", &accepts, &handled, &requests)
	return
}
