//go:build e2e

// Package e2e drives the real Pulumi engine and providers against a real Kubernetes API server
// (scripts/cluster.sh): preview, up, no-change preview, export, a setting change and destroy
// of every stack. Run it with scripts/e2e.sh, which builds the toolchain and starts the cluster.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	repo       string
	kubeconfig string
)

func TestMain(m *testing.M) {
	wd, _ := os.Getwd()
	repo = filepath.Clean(filepath.Join(wd, "..", ".."))
	kubeconfig = os.Getenv("PYNOMALY_E2E_KUBECONFIG")
	if kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "PYNOMALY_E2E_KUBECONFIG is not set: run scripts/e2e.sh")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// programFiles are what the Go language host compiles: the program exactly as committed.
var programFiles = []string{"go.mod", "go.sum", "main.go", "Pulumi.yaml", "components", "config"}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	}))
}

// project is a copy of the Pulumi project (the program and one committed stack file) in a
// temporary directory, with its own file backend.
type project struct {
	t       *testing.T
	dir     string
	backend string
	stack   string
}

func newProject(t *testing.T, stack, stackFile string) *project {
	t.Helper()
	dir := t.TempDir()
	for _, f := range programFiles {
		copyTree(t, filepath.Join(repo, f), filepath.Join(dir, f))
	}
	s, err := os.ReadFile(filepath.Join(repo, stackFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), s, 0o644))
	p := &project{t: t, dir: dir, backend: filepath.Join(dir, ".state"), stack: stack}
	require.NoError(t, os.MkdirAll(p.backend, 0o755))
	p.must("stack", "init")
	return p
}

// start starts the pulumi CLI in the project; the caller waits for it.
func (p *project) start(args ...string) (*exec.Cmd, *bytes.Buffer) {
	p.t.Helper()
	cmd := exec.Command("pulumi", append(args, "--stack", p.stack, "--non-interactive")...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "PULUMI_BACKEND_URL=file://"+p.backend)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(p.t, cmd.Start())
	return cmd, out
}

// run runs the pulumi CLI in the project and returns its combined output.
func (p *project) run(args ...string) (string, error) {
	p.t.Helper()
	cmd := exec.Command("pulumi", append(args, "--stack", p.stack, "--non-interactive")...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "PULUMI_BACKEND_URL=file://"+p.backend)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	p.t.Logf("pulumi %s: %s (%v)", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), errText(err))
	return out.String(), err
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func (p *project) must(args ...string) string {
	p.t.Helper()
	out, err := p.run(args...)
	require.NoError(p.t, err, "pulumi %s:\n%s", strings.Join(args, " "), out)
	return out
}

// kubectl runs the kubectl built with the cluster.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectl(t, args...)
	require.NoError(t, err, "kubectl %s:\n%s", strings.Join(args, " "), out)
	return out
}

// engineEvent is the part of a Pulumi engine event the suite reads.
type engineEvent struct {
	Sequence         int `json:"sequence"`
	ResourcePreEvent *struct {
		Metadata struct {
			Op  string `json:"op"`
			URN string `json:"urn"`
		} `json:"metadata"`
	} `json:"resourcePreEvent"`
	ResOutputsEvent *struct {
		Metadata struct {
			Op  string `json:"op"`
			URN string `json:"urn"`
		} `json:"metadata"`
	} `json:"resOutputsEvent"`
}

func readEvents(t *testing.T, path string) []engineEvent {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var events []engineEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var e engineEvent
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		events = append(events, e)
	}
	require.NoError(t, sc.Err())
	return events
}

// finished returns the sequence number at which the resource whose URN ends with suffix was
// done (its outputs recorded), and started the one at which its step began; -1 if absent.
func finished(events []engineEvent, suffix string) int {
	for _, e := range events {
		if e.ResOutputsEvent != nil && strings.HasSuffix(e.ResOutputsEvent.Metadata.URN, suffix) {
			return e.Sequence
		}
	}
	return -1
}

func started(events []engineEvent, suffix string) int {
	for _, e := range events {
		if e.ResourcePreEvent != nil && strings.HasSuffix(e.ResourcePreEvent.Metadata.URN, suffix) {
			return e.Sequence
		}
	}
	return -1
}
