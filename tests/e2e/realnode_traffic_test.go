//go:build e2e && realnode

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// client is an HTTP client whose connections leave from one local address: the edge limits
// requests per client address, so two clients with two addresses are two clients to it.
func client(from string) *http.Client {
	d := &net.Dialer{Timeout: 3 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// task is what the reference application answers about a detection task.
type task struct {
	ID     string          `json:"id"`
	Status string          `json:"status"`
	Result json.RawMessage `json:"result"`
}

// detect posts a detection through base (the edge) and returns the queued task.
func detect(c *http.Client, base string, values ...float64) (task, int, error) {
	body, _ := json.Marshal(map[string]any{"values": values})
	resp, err := c.Post(base+"/api/v1/detections", "application/json", bytes.NewReader(body))
	if err != nil {
		return task{}, 0, err
	}
	defer resp.Body.Close()
	var t task
	if resp.StatusCode/100 == 2 {
		err = json.NewDecoder(resp.Body).Decode(&t)
	}
	return t, resp.StatusCode, err
}

// taskStatus reads a task back through base.
func taskStatus(c *http.Client, base, id string) (task, error) {
	resp, err := c.Get(base + "/api/v1/tasks/" + id)
	if err != nil {
		return task{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return task{}, fmt.Errorf("GET task: %s", resp.Status)
	}
	var t task
	return t, json.NewDecoder(resp.Body).Decode(&t)
}

// waitDone polls a task until a worker has finished it.
func waitDone(t *testing.T, c *http.Client, base, id string) task {
	t.Helper()
	var last task
	require.Eventually(t, func() bool {
		var err error
		last, err = taskStatus(c, base, id)
		return err == nil && last.Status == "done"
	}, time.Minute, 200*time.Millisecond, "task %s never done (last %+v)", id, last)
	return last
}

// prober writes through the edge every interval until stopped, and records the window in which
// writes failed: from the first failure to the first success after the last failure.
type prober struct {
	mu                  sync.Mutex
	ok, failed          int
	firstFail, lastFail time.Time
	recovered           time.Time
	stop                context.CancelFunc
	done                chan struct{}
}

func startProber(c *http.Client, base string, interval time.Duration) *prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			_, code, err := detect(c, base, 1, 2, 3)
			p.record(err == nil && code/100 == 2)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *prober) record(ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if ok {
		p.ok++
		if !p.lastFail.IsZero() && p.recovered.Before(p.lastFail) {
			p.recovered = now
		}
		return
	}
	p.failed++
	if p.firstFail.IsZero() {
		p.firstFail = now
	}
	p.lastFail = now
}

// finish stops the prober and returns its counts and the error window (0 when nothing failed).
func (p *prober) finish() (ok, failed int, window time.Duration) {
	p.stop()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed > 0 {
		end := p.recovered
		if end.Before(p.lastFail) {
			end = p.lastFail // never recovered: the window is open
		}
		window = end.Sub(p.firstFail)
	}
	return p.ok, p.failed, window
}
