package tests

// The capacity the settings promise, held by the real nginx with the generated configuration:
// one pod's share of edge.concurrentRequests in flight through it at once. What the share costs
// in latency and memory is scripts/bench-edge.sh's to measure; this bounds the count.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/edge"
	"github.com/pynomaly/pynomaly-platform/internal/edgeload"
)

// describe prints what a function says, for a failure's message.
type describe func() string

func (d describe) String() string { return d() }

// prod's nginx.conf holds its pod's share of the concurrent requests (10,000 over 3 pods: 3,334):
// that many requests, each from a client address of its own in 127.0.0.0/8, are all in flight at
// the stand-in API at once, and each is then answered 200 (one request an address meets an empty
// limit_req bucket: the per-client budget refuses none of them). A worker_connections,
// worker_processes or worker_rlimit_nofile too small for the share fails here: nginx refuses the
// connections past its limit, or leaves them unaccepted, and the count is never reached.
func TestNginxHoldsItsShareOfTheConcurrentRequests(t *testing.T) {
	e := settings(t, "prod", nil).Edge // the committed stack's, as scripts/bench-edge.sh measures it
	share := (e.ConcurrentRequests + e.Replicas - 1) / e.Replicas
	require.Equal(t, 3334, share, "prod's 10,000 concurrent requests over 3 pods")
	// Each nginx worker sets its own limit to worker_rlimit_nofile, which an unprivileged process
	// can only do under the hard limit it inherits; the test holds both ends of the share's
	// connections (its clients', and the stand-in API's of nginx's).
	raiseOpenFiles(t, max(uint64(edge.NginxOpenFiles(e)), uint64(2*share+1024)))

	release := make(chan struct{})
	up := &edgeload.Upstream{Hold: func(r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}}
	api := &stubAPI{Server: httptest.NewServer(up)}
	t.Cleanup(api.Close)
	base := runNginx(t, e, api)

	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		answers  = map[int]int{}
		failures = map[string]int{}
		finished atomic.Int64
	)
	// The answers close nginx's connections to the stand-in, which closes them first (see
	// CloseConnections): no test after this one finds thousands of ports it cannot listen on.
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { up.CloseConnections(); close(release) }) }
	// Before nginx stops (cleanups run last first): let every request end.
	t.Cleanup(func() { unblock(); cancel(); wg.Wait() })
	for i := range share {
		wg.Add(1)
		go func(c *http.Client) {
			defer wg.Done()
			defer c.CloseIdleConnections()
			defer finished.Add(1)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/detect", nil)
			resp, err := c.Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures[edgeload.ErrorKind(err)]++
				return
			}
			resp.Body.Close()
			answers[resp.StatusCode]++
		}(edgeload.Client(edgeload.ClientAddr(i), 45*time.Second))
	}
	progress := describe(func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("%d of %d requests in flight at the stand-in API, %d ended early: answers %v, failures %v",
			up.InFlight(), share, finished.Load(), answers, failures)
	})
	waitFor(t, fmt.Sprintf("%d requests in flight through nginx at once", share), nil, progress, func() bool {
		return up.InFlight() >= share || finished.Load() > 0
	})
	require.Zero(t, finished.Load(), "a request ended before all were in flight: %s", progress)
	require.Equal(t, share, up.InFlight(), "%s", progress)

	unblock()
	wg.Wait()
	assert.Equal(t, map[int]int{http.StatusOK: share}, answers, "every request answered 200")
	assert.Empty(t, failures)
	assert.Equal(t, share, up.Peak())
}

// raiseOpenFiles raises the test process's open-file limit to at least n (nginx inherits it), as
// root may; it skips the test when the limit cannot be raised that far.
func raiseOpenFiles(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur >= n && lim.Max >= n {
		return
	}
	want := syscall.Rlimit{Cur: max(lim.Cur, n), Max: max(lim.Max, n)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		t.Skipf("needs %d open files (RLIMIT_NOFILE), has %d (hard %d) and cannot raise it: %v; run as root or raise `ulimit -n`",
			n, lim.Cur, lim.Max, err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
}
