package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/edgeload"
)

type options struct {
	stack, dir       string
	clients, abuse   int
	duration, ramp   time.Duration
	holdMin, holdMax time.Duration
}

// tally is what a set of requests got: answers by status, failures by kind, and the latency of
// each answer, whole and without the stand-in's hold (what the edge added).
type tally struct {
	status          map[int]int
	failed          map[string]int
	latency, added  []time.Duration
	first, last     time.Time
	completed, sent int
}

func newTally() *tally { return &tally{status: map[int]int{}, failed: map[string]int{}} }

// get sends one request and records its outcome.
func (t *tally) get(ctx context.Context, c *http.Client, url string) {
	start := time.Now()
	if t.first.IsZero() {
		t.first = start
	}
	t.last = start
	t.sent++
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if err != nil {
		t.failed[edgeload.ErrorKind(err)]++
		return
	}
	took := time.Since(start)
	t.completed++
	t.status[resp.StatusCode]++
	if resp.StatusCode != http.StatusOK {
		t.failed[fmt.Sprintf("HTTP %d", resp.StatusCode)]++
		return
	}
	t.latency = append(t.latency, took)
	if us, err := strconv.ParseInt(resp.Header.Get(edgeload.HeldHeader), 10, 64); err == nil {
		t.added = append(t.added, took-time.Duration(us)*time.Microsecond)
	}
}

func (t *tally) add(o *tally) {
	for k, v := range o.status {
		t.status[k] += v
	}
	for k, v := range o.failed {
		t.failed[k] += v
	}
	t.latency = append(t.latency, o.latency...)
	t.added = append(t.added, o.added...)
	t.completed += o.completed
	t.sent += o.sent
}

func run(o options) error {
	e, err := stackEdge(o.stack)
	if err != nil {
		return err
	}
	if err := o.validate(e); err != nil {
		return err
	}
	st, err := readSite(o.dir)
	if err != nil {
		return err
	}
	up, stopStandIn, err := standIn(o, st.UpstreamPort)
	if err != nil {
		return err
	}
	defer stopStandIn()

	base := fmt.Sprintf("http://127.0.0.1:%d", st.Port)
	if err := waitHealthy(base+"/health", 15*time.Second); err != nil {
		return err
	}
	ng, err := newNginxWatch(filepath.Join(o.dir, "nginx.pid"), fmt.Sprintf("http://127.0.0.1:%d/stub_status", st.StatusPort))
	if err != nil {
		return err
	}
	idle := ng.sample()
	stopSampling := ng.watch(200 * time.Millisecond)

	// Every request has ended 30 s after the last one starts, answered or not: the run is
	// bounded whatever nginx does.
	ctx, cancel := context.WithTimeout(context.Background(), o.duration+30*time.Second)
	defer cancel()
	start := time.Now()
	load := loadRun{ctx: ctx, o: o, url: base + "/api/v1/detect", deadline: start.Add(o.duration)}
	// What is in flight then is the last of the run: nginx's pool could not keep every
	// connection those answers free, so the stand-in closes them (see CloseConnections).
	time.AfterFunc(o.duration, up.CloseConnections)
	tallies := load.clients()
	abuser, abusive := load.abuser()
	load.wg.Wait()
	took := time.Since(start)
	stopSampling()
	end := ng.sample()

	all := newTally()
	for _, t := range tallies {
		all.add(t)
	}
	r := report{
		o: o, e: e, took: took, all: all, abusive: abusive, abuser: abuser.String(),
		peakInFlight: up.Peak(), idle: idle, peak: ng.peak, end: end,
	}
	r.print(os.Stdout)
	return r.verdict()
}

// standIn starts the stand-in API on the port nginx proxies to: each request held from
// -hold-min to -hold-max, then answered.
func standIn(o options, port int) (*edgeload.Upstream, func(), error) {
	up := &edgeload.Upstream{Hold: func(r *http.Request) {
		hold := o.holdMin + rand.N(o.holdMax-o.holdMin+1)
		select {
		case <-time.After(hold):
		case <-r.Context().Done():
		}
	}}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, nil, fmt.Errorf("stand-in API: %w", err)
	}
	srv := &http.Server{Handler: up, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return up, func() { _ = srv.Close() }, nil
}

// loadRun is one run's senders, which all stop starting requests at deadline.
type loadRun struct {
	ctx      context.Context
	o        options
	url      string
	deadline time.Time
	wg       sync.WaitGroup
}

// clients starts the clients within their budget: one connection each, one request after
// another, started over the ramp.
func (l *loadRun) clients() []*tally {
	tallies := make([]*tally, l.o.clients)
	for i := range l.o.clients {
		tallies[i] = newTally()
		l.wg.Add(1)
		go func(t *tally, c *http.Client, at time.Duration) {
			defer l.wg.Done()
			defer c.CloseIdleConnections()
			time.Sleep(at)
			for time.Now().Before(l.deadline) {
				failed := len(t.failed)
				t.get(l.ctx, c, l.url)
				if len(t.failed) > failed { // no busy loop on a failing client
					time.Sleep(l.o.holdMin)
				}
			}
		}(tallies[i], edgeload.Client(edgeload.ClientAddr(i), time.Minute), l.o.ramp*time.Duration(i)/time.Duration(l.o.clients))
	}
	return tallies
}

// abuser starts the abusive client: from the end of the ramp, -abuse requests a second from one
// address, each sent on time whatever the answers before it.
func (l *loadRun) abuser() (netip.Addr, *tally) {
	addr := edgeload.ClientAddr(l.o.clients)
	abusive := newTally()
	var mu sync.Mutex
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		c := edgeload.Client(addr, time.Minute)
		defer c.CloseIdleConnections()
		time.Sleep(l.o.ramp)
		tick := time.NewTicker(time.Second / time.Duration(l.o.abuse))
		defer tick.Stop()
		var each sync.WaitGroup
		for now := range tick.C {
			if !now.Before(l.deadline) {
				break
			}
			each.Add(1)
			go func() {
				defer each.Done()
				t := newTally()
				t.get(l.ctx, c, l.url)
				mu.Lock()
				if abusive.first.IsZero() || t.first.Before(abusive.first) {
					abusive.first = t.first
				}
				if t.first.After(abusive.last) {
					abusive.last = t.first
				}
				abusive.add(t)
				mu.Unlock()
			}()
		}
		each.Wait()
	}()
	return addr, abusive
}

// loopback is where the bench's own requests to nginx come from: its health and status pages.
var loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// waitHealthy polls url until it answers 200, for at most limit.
func waitHealthy(url string, limit time.Duration) error {
	c := edgeload.Client(loopback, 5*time.Second)
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nginx did not answer %s within %v: %w", url, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type report struct {
	o               options
	e               config.Edge
	took            time.Duration
	all, abusive    *tally
	abuser          string
	peakInFlight    int
	idle, peak, end nginxSample
}

// allowed is the most the abusive client may be served: the request that meets an empty bucket,
// the burst, and what drips in while it sends, plus one for a drip at the edge of the window.
func (r report) allowed() int {
	rl := r.e.RateLimit
	return 1 + rl.Burst + int(r.abusive.last.Sub(r.abusive.first).Minutes()*float64(rl.RequestsPerMinute)) + 1
}

func (r report) print(w io.Writer) {
	rl := r.e.RateLimit
	row := func(label, format string, a ...any) { fmt.Fprintf(w, "%-46s %s\n", label, fmt.Sprintf(format, a...)) }
	fmt.Fprintf(w, "== %s: one nginx pod of %d, its share of edge.concurrentRequests %s: %s; %d workers x %s connections, %s files each; %d requests a minute and %d more at once per client address\n",
		r.o.stack, r.e.Replicas, thousands(r.e.ConcurrentRequests), thousands(perPod(r.e)), r.e.WorkerProcesses,
		thousands(r.e.WorkerConnections), thousands(2*r.e.WorkerConnections), rl.RequestsPerMinute, rl.Burst)
	row("clients within their budget", "%s addresses, %s to %s, one connection each", thousands(r.o.clients),
		edgeload.ClientAddr(0), edgeload.ClientAddr(r.o.clients-1))
	row("each request held by the stand-in API", "%v to %v; clients send for %v (starting over %v)", r.o.holdMin, r.o.holdMax, r.o.duration, r.o.ramp)
	row("completed requests", "%s in %.1f s (%s a second)", thousands(r.all.completed), r.took.Seconds(),
		thousands(int(float64(r.all.completed)/r.took.Seconds())))
	row("errors", "%s", kinds(r.all.failed))
	row("latency p50 / p90 / p99 / max", "%s", percentiles(r.all.latency, "s"))
	row("added by the edge p50 / p90 / p99 / max", "%s", percentiles(r.all.added, "ms"))
	row("peak requests in flight at the stand-in API", "%s (the pod's share: %s)", thousands(r.peakInFlight), thousands(perPod(r.e)))
	row("peak active connections (stub_status)", "%s", thousands(r.peak.active))
	row("connections accepted / handled (stub_status)", "%s / %s", thousands(r.end.accepts), thousands(r.end.handled))
	row(fmt.Sprintf("nginx RSS, master + %d workers: idle / peak", r.peak.workers), "%.1f MiB / %.1f MiB",
		float64(r.idle.rssKiB)/1024, float64(r.peak.rssKiB)/1024)
	row("abusive client "+r.abuser, "%d sent at %d a second: %d answered, %d refused with 429 (at most %d allowed)%s",
		r.abusive.sent, r.o.abuse, r.abusive.status[http.StatusOK], r.abusive.status[http.StatusTooManyRequests], r.allowed(),
		otherThan(r.abusive.failed, "HTTP 429"))
}

// verdict is nil when the run showed what it measures.
func (r report) verdict() error {
	var bad []string
	if r.peakInFlight < perPod(r.e) {
		bad = append(bad, fmt.Sprintf("at most %d requests were in flight at once, fewer than the pod's share %d", r.peakInFlight, perPod(r.e)))
	}
	if len(r.all.failed) > 0 {
		bad = append(bad, "clients within their budget saw errors: "+kinds(r.all.failed))
	}
	if r.end.accepts != r.end.handled {
		bad = append(bad, fmt.Sprintf("nginx dropped %d connections (worker_connections)", r.end.accepts-r.end.handled))
	}
	if r.abusive.status[http.StatusTooManyRequests] == 0 || r.abusive.status[http.StatusOK] > r.allowed() {
		bad = append(bad, fmt.Sprintf("the abusive client was not held to its budget: %v", r.abusive.status))
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// kinds lists counts by kind, largest first.
func kinds(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return m[b] - m[a] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %s", thousands(m[k]), k))
	}
	return strings.Join(parts, ", ")
}

// otherThan lists the failures but one kind, as a suffix.
func otherThan(m map[string]int, kind string) string {
	rest := map[string]int{}
	for k, v := range m {
		if k != kind {
			rest[k] = v
		}
	}
	if len(rest) == 0 {
		return ""
	}
	return "; also " + kinds(rest)
}

// percentiles prints p50, p90, p99 and the maximum of ds, in seconds ("s") or milliseconds ("ms").
func percentiles(ds []time.Duration, unit string) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	in := func(d time.Duration) string {
		if unit == "s" {
			return fmt.Sprintf("%.2f s", d.Seconds())
		}
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	at := func(p float64) string { return in(s[min(max(int(math.Ceil(p*float64(len(s))))-1, 0), len(s)-1)]) }
	return strings.Join([]string{at(0.50), at(0.90), at(0.99), in(s[len(s)-1])}, " / ")
}

// thousands prints n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
