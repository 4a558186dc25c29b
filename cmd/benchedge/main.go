// Command benchedge measures one nginx pod of the edge at its share of edge.concurrentRequests,
// on loopback, for scripts/bench-edge.sh, which starts the real nginx between its two steps:
//
//	benchedge conf [-stack prod] DIR   # DIR/nginx.conf: the stack's generated configuration for a
//	                                   # local run, and DIR/site.json: the loopback ports it uses
//	benchedge run [-stack prod] [-clients N] [-duration 30s] [-ramp 5s] [-hold 1s-2s] [-abuse 20] DIR
//
// conf writes what the pod runs: edge.NginxConf of the stack's settings as load.LoadFiles reads
// the stack file (cmd/settings reads it the same way); only the site differs (edge.NginxSite:
// free loopback ports, DIR for the pid file and buffers, the stand-in API as the upstream), as in
// the tests. Every limit is the stack's.
//
// run serves the stand-in API on the upstream port (each request held for a random time within
// -hold), then sends requests through nginx from -clients addresses of 127.0.0.0/8, one
// connection each, for -duration (the clients start evenly over -ramp), each within the
// per-client budget; and from one more address, the abusive client, -abuse requests a second,
// far past it. It samples nginx's stub_status and the resident memory of its processes, prints
// a table, and exits 1 if the pod's share was not in flight at once, a client within its budget
// saw an error, or the abusive client was not refused.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
	"github.com/pynomaly/pynomaly-platform/edge"
	"github.com/pynomaly/pynomaly-platform/internal/edgeload"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "conf":
		fs := flag.NewFlagSet("conf", flag.ExitOnError)
		stack := fs.String("stack", "prod", "the stack whose settings generate nginx.conf (Pulumi.STACK.yaml in the current directory)")
		_ = fs.Parse(os.Args[2:])
		if fs.NArg() != 1 {
			usage()
		}
		err = writeConf(*stack, fs.Arg(0))
	case "run":
		fs := flag.NewFlagSet("run", flag.ExitOnError)
		o := options{}
		fs.StringVar(&o.stack, "stack", "prod", "the stack whose settings nginx.conf was generated from")
		fs.IntVar(&o.clients, "clients", 0, "client addresses within their budget, one connection each (default: the pod's share of edge.concurrentRequests and 5%)")
		fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long the clients send requests (at most 90s)")
		fs.DurationVar(&o.ramp, "ramp", 5*time.Second, "the clients start evenly over this long")
		hold := fs.String("hold", "1s-2s", "how long the stand-in API holds each request: a duration, or MIN-MAX")
		fs.IntVar(&o.abuse, "abuse", 20, "requests a second from the abusive client")
		_ = fs.Parse(os.Args[2:])
		if fs.NArg() != 1 {
			usage()
		}
		o.dir = fs.Arg(0)
		if o.holdMin, o.holdMax, err = parseHold(*hold); err == nil {
			err = run(o)
		}
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchedge:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchedge conf [-stack STACK] DIR\n       benchedge run [-stack STACK] [flags] DIR")
	os.Exit(2)
}

// site is where the local nginx listens and proxies to: what conf chose and run uses.
type site struct {
	Port         int `json:"port"`
	StatusPort   int `json:"statusPort"`
	UpstreamPort int `json:"upstreamPort"`
}

// stackEdge is the edge settings of the stack, read as the program reads them.
func stackEdge(stack string) (config.Edge, error) {
	s, err := load.LoadFiles("Pulumi.yaml", "Pulumi."+stack+".yaml")
	if err != nil {
		return config.Edge{}, fmt.Errorf("stack %s: %w", stack, err)
	}
	return s.Edge, nil
}

// writeConf writes the stack's nginx.conf for a run on loopback into dir, and the ports it uses.
func writeConf(stack, dir string) error {
	e, err := stackEdge(stack)
	if err != nil {
		return err
	}
	var st site
	for _, p := range []*int{&st.Port, &st.StatusPort, &st.UpstreamPort} {
		if *p, err = freePort(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	conf := edge.NginxConf(e, edge.NginxSite{
		Upstream: fmt.Sprintf("127.0.0.1:%d", st.UpstreamPort), Port: st.Port, StatusPort: st.StatusPort,
		TempDir: abs, HSTS: e.TLSOn(),
	})
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		return err
	}
	b, _ := json.Marshal(st)
	return os.WriteFile(filepath.Join(dir, "site.json"), b, 0o644)
}

func readSite(dir string) (site, error) {
	var st site
	b, err := os.ReadFile(filepath.Join(dir, "site.json"))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	return st, err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// parseHold reads "1s-2s" or "1500ms".
func parseHold(s string) (lo, hi time.Duration, err error) {
	for i := 1; i < len(s); i++ {
		if s[i] == '-' {
			if lo, err = time.ParseDuration(s[:i]); err == nil {
				hi, err = time.ParseDuration(s[i+1:])
			}
			if err == nil && (lo <= 0 || hi < lo) {
				err = errors.New("-hold: MIN-MAX with 0 < MIN <= MAX")
			}
			return lo, hi, err
		}
	}
	lo, err = time.ParseDuration(s)
	if err == nil && lo <= 0 {
		err = errors.New("-hold: a positive duration")
	}
	return lo, lo, err
}

// perPod is a pod's share of the concurrent requests the settings promise, rounded up.
func perPod(e config.Edge) int { return (e.ConcurrentRequests + e.Replicas - 1) / max(e.Replicas, 1) }

// validate bounds a run: its clients and its time.
func (o *options) validate(e config.Edge) error {
	if o.clients == 0 {
		o.clients = perPod(e) + perPod(e)/20
	}
	switch {
	case o.clients < 1 || o.clients >= edgeload.MaxClients:
		return fmt.Errorf("-clients: 1 to %d", edgeload.MaxClients-1)
	case o.duration <= o.ramp || o.duration > 90*time.Second:
		return errors.New("-duration: longer than -ramp, at most 90s")
	case o.ramp < 0:
		return errors.New("-ramp: not negative")
	case o.abuse < 1 || o.abuse > 1000:
		return errors.New("-abuse: 1 to 1000 requests a second")
	}
	return nil
}
