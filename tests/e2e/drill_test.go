//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/tests/procgroup"
)

// The outage drill's pattern accepts the engine's connection errors and nothing that a
// cancelled or timed-out update prints, so the drill cannot pass on its own cancellation.
func TestOutagePatternMatchesOnlyConnectionErrors(t *testing.T) {
	re := regexp.MustCompile(outageError)
	for _, s := range []string{
		`error: configured Kubernetes cluster is unreachable: unable to load schema information from the API server: Get "https://127.0.0.1:26443/openapi/v2?timeout=32s": dial tcp 127.0.0.1:26443: connect: connection refused`,
		`error: resource pynomaly-data-science was not successfully created by the Kubernetes API server: Post "https://127.0.0.1:26443/api/v1/namespaces": unexpected EOF`,
		`error: Get "https://127.0.0.1:26443/apis/apps/v1/namespaces/pynomaly-data-science/statefulsets/pynomaly-postgres": http2: client connection lost`,
	} {
		assert.Regexp(t, re, s)
	}
	for _, s := range []string{
		"error: update canceled",
		"^C received; cancelling the update",
		"warning: resource operation was cancelled",
		`error: 1 error occurred: * the Kubernetes API server reported that "pynomaly-data-science/pynomaly-postgres" failed to fully initialize or become live: Timeout occurred`,
		"error: context deadline exceeded",
	} {
		assert.NotRegexp(t, re, s)
	}
}

// The failover drills: prod deployed to the local cluster, then the real servers (Patroni and
// PostgreSQL; Redis and Sentinel) run as the StatefulSets' members, configured from what was
// deployed, and lose their primary. The kwok nodes run no container, so the drills play the
// kubelet: they start each member's processes on loopback with the deployed configuration.
func TestFailoverDrills(t *testing.T) {
	p := newProject(t, "prod", "Pulumi.prod.yaml")
	p.onLocalCluster()
	// prod's internal TLS declares cert-manager objects; their certificates are never issued here,
	// and the drills run the servers without them (withoutTLS, plainPorts).
	installCRDs(t, "edge", certManagerCRDs[:2])
	p.must("up", "--yes", "--skip-preview")
	t.Run("postgres", postgresDrill)
	t.Run("redis", redisDrill)
	// What Patroni wrote into the cluster is not the program's: an operator removes it with the
	// namespace, and so does the teardown.
	mustKubectl(t, "-n", namespace, "delete", "configmap", "-l", "cluster-name=pynomaly-postgres", "--ignore-not-found")
	destroy(t, p, "prod")
}

// workload is the part of a deployed StatefulSet the drills run from.
type workload struct {
	Metadata struct {
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Replicas    int    `json:"replicas"`
		ServiceName string `json:"serviceName"`
		Template    struct {
			Spec struct {
				ServiceAccountName string      `json:"serviceAccountName"`
				InitContainers     []container `json:"initContainers"`
				Containers         []container `json:"containers"`
				Volumes            []struct {
					Name      string `json:"name"`
					ConfigMap *struct {
						Name string `json:"name"`
					} `json:"configMap"`
				} `json:"volumes"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type container struct {
	Name    string   `json:"name"`
	Image   string   `json:"image"`
	Command []string `json:"command"`
	Env     []struct {
		Name      string `json:"name"`
		Value     string `json:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `json:"fieldPath"`
			} `json:"fieldRef"`
			SecretKeyRef *struct {
				Name string `json:"name"`
				Key  string `json:"key"`
			} `json:"secretKeyRef"`
		} `json:"valueFrom"`
	} `json:"env"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	} `json:"volumeMounts"`
}

func deployedStatefulSet(t *testing.T, name string) workload {
	t.Helper()
	return deployedStatefulSetIn(t, namespace, name)
}

// deployedStatefulSetIn is the StatefulSet name of the namespace ns.
func deployedStatefulSetIn(t *testing.T, ns, name string) workload {
	t.Helper()
	var w workload
	require.NoError(t, jsonUnmarshal(mustKubectl(t, "-n", ns, "get", "statefulset", name, "-o", "json"), &w))
	return w
}

// containerNamed is the pod's container (or init container) name.
func (w workload) containerNamed(t *testing.T, name string) container {
	t.Helper()
	for _, c := range append(w.Spec.Template.Spec.InitContainers, w.Spec.Template.Spec.Containers...) {
		if c.Name == name {
			return c
		}
	}
	require.FailNow(t, "no container "+name)
	return container{}
}

// env is the container's environment in pod pod: plain values as deployed, the pod's name and
// namespace for those field references, and secret(key) for each Secret reference.
func (c container) env(pod, ns string, secret func(key string) string) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = pod
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = ns
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = secret(e.ValueFrom.SecretKeyRef.Key)
		}
	}
	return env
}

// environ is env as a process environment, after the test's own PATH.
func environ(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// process is one server process a drill started; kill is kill -9.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProcess(t *testing.T, name, logPath string, cmd *exec.Cmd) *process {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = f, f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	require.NoError(t, cmd.Start(), name)
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	// When the test ends nothing of the process is left: its group is killed, what outlived
	// its leader too, and must be gone.
	t.Cleanup(func() {
		p.kill()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if !procgroup.Gone(cmd.Process.Pid, 10*time.Second) {
			t.Errorf("%s left processes of its group %d behind", name, cmd.Process.Pid)
		}
	})
	return p
}

// kill is kill -9 of the process and of every process in its group (a server's children).
func (p *process) kill() {
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *process) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	return fmt.Sprintf("%s log:\n%s", p.name, lastLines(string(b), n))
}

// eventually polls cond every interval until it holds or timeout passes, and returns how long
// that took and whether it held.
func eventually(timeout, interval time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(interval)
	}
}

// drillDir is a directory for one drill's servers that survives a failed test for a look, and
// is removed on success.
func drillDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pynomaly-"+name+"-drill-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("%s drill files kept in %s", name, dir)
		}
	})
	return filepath.Clean(dir)
}

// summary prints one line a reader of the CI log finds: the drill's measured numbers.
func summary(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	fmt.Println("DRILL " + strings.TrimSpace(line))
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
