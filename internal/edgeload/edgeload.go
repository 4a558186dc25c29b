// Package edgeload is load through the edge's nginx on loopback, for the capacity the settings
// promise (edge.concurrentRequests): clients that each connect from an address of their own in
// 127.0.0.0/8 (Linux routes all of it to lo, so nginx's per-client limit_req, keyed on the peer's
// address, tells them apart with no setup), and a stand-in API that holds each request and counts
// how many it holds at once. cmd/benchedge (scripts/bench-edge.sh) measures with it, and
// tests/edge_capacity_test.go bounds the connection count with it.
package edgeload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// firstClient is the first client's address: 127.1.0.0/16 onwards, clear of 127.0.0.1, where
// nginx, its status page and the stand-in API listen.
var firstClient = netip.AddrFrom4([4]byte{127, 1, 0, 1})

// MaxClients is how many client addresses there are: up to 127.255.255.254.
const MaxClients = 0x7fffffff - 0x7f010001

// ClientAddr is the i-th client's address (0 <= i < MaxClients).
func ClientAddr(i int) netip.Addr {
	b := firstClient.As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n += uint32(i)
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// Client is an HTTP client whose connections come from addr: one client to nginx. It keeps
// its connections alive between requests, as a browser or an SDK does, and ignores any proxy
// of the environment.
func Client(addr netip.Addr, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)), Timeout: timeout, Control: reuseAddr}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}}
}

// reuseAddr sets SO_REUSEADDR on a client's socket before it is bound. A connection its client
// closes first stays a minute in TIME_WAIT on the client's address and port; without the option
// that entry refuses a later listener on the same port of the wildcard address (nginx listens on
// 0.0.0.0), and thousands of clients cover most of the ephemeral ports: the next test's nginx
// could not bind the free port it was given.
func reuseAddr(_, _ string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	}); cerr != nil {
		return cerr
	}
	return err
}

// HeldHeader is the response header in which the stand-in API says how long it held the
// request, in microseconds: what the edge added is the latency without it.
const HeldHeader = "X-Stand-In-Held-Us"

// Upstream is the stand-in API: it holds each request until Hold returns (nil: not at all),
// then answers 200 with a small JSON body, and counts the requests it holds at once.
type Upstream struct {
	Hold func(*http.Request)

	inFlight, peak, served atomic.Int64
	closing                atomic.Bool
}

// CloseConnections has each answer from now on end with the stand-in closing its connection,
// for the end of a run. A connection's TIME_WAIT entry, a minute long, stays with whoever closes
// it first: nginx closes each connection its idle pool has no room for, and every idle one when
// it stops, each on an ephemeral port of its own, where the entry refuses a later listener on
// that port of the wildcard address (nginx sets no SO_REUSEADDR on them). Such an answer has no
// length: its body ends when the stand-in closes the connection, so nginx cannot close first
// (with Connection: close alone it still did, for about one answer in ten), and the entries are
// all on the stand-in's port.
func (u *Upstream) CloseConnections() { u.closing.Store(true) }

func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	n := u.inFlight.Add(1)
	for p := u.peak.Load(); n > p && !u.peak.CompareAndSwap(p, n); p = u.peak.Load() {
	}
	if u.Hold != nil {
		u.Hold(r)
	}
	u.inFlight.Add(-1)
	u.served.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(HeldHeader, strconv.FormatInt(time.Since(start).Microseconds(), 10))
	if u.closing.Load() {
		// net/http: identity with no length, once the header is sent, is a body up to the close.
		w.Header().Set("Transfer-Encoding", "identity")
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	_, _ = io.WriteString(w, `{"anomalies": []}`)
}

// InFlight is how many requests the stand-in holds now; Peak the most it held at once; Served
// how many it has answered.
func (u *Upstream) InFlight() int { return int(u.inFlight.Load()) }
func (u *Upstream) Peak() int     { return int(u.peak.Load()) }
func (u *Upstream) Served() int   { return int(u.served.Load()) }

// ErrorKind names what a request that got no answer ran into, for counting by kind.
func ErrorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return "no local address"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files (client)"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed without an answer"
	}
	// The innermost error names the cause without the addresses the outer ones add.
	for inner := errors.Unwrap(err); inner != nil; inner = errors.Unwrap(err) {
		err = inner
	}
	return fmt.Sprintf("other (%v)", err)
}
