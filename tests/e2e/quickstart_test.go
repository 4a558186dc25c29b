//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The quick start as a new user runs it, on a copy of the clone made a fresh clone (a git
// repository of its own, with its own local backend, .state) and with an ambient kubeconfig that
// answers, from a fake API server that records every call:
//
//   - without a target it deploys dev to the local cluster, and never calls the ambient one;
//   - PYNOMALY_RENDER=1 then writes the manifests with a stack of its own, and every object of
//     the deployment is still in the cluster, with the same UIDs;
//   - the program refuses to move the deployed dev stack to rendering;
//   - opting into the ambient cluster with the public default passphrase is refused, before
//     anything is contacted;
//   - after each of these, and after a render of prod and scripts/settings.sh, git status shows
//     nothing changed or new in the clone, and in the end no process runs in it;
//   - the seed's kubectl checks work against the deployment (docs/operations.md: "The seed's commands").
func TestQuickStart(t *testing.T) {
	var calls atomic.Int64
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		t.Logf("the ambient cluster was called: %s %s", r.Method, r.URL)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"major":"1","minor":"35","gitVersion":"v1.35.4"}`)
	}))
	defer fake.Close()
	tree := t.TempDir()
	copyProgram(t, repo, tree)
	committed, err := os.ReadFile(filepath.Join(repo, "Pulumi.dev.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(tree, "Pulumi.dev.yaml"), committed, 0o644))
	prod, err := os.ReadFile(filepath.Join(repo, "Pulumi.prod.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(tree, "Pulumi.prod.yaml"), prod, 0o644))
	// The copy is a fresh clone: every file committed, the program's .gitignore in force.
	freshClone(t, tree)
	ambient := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(ambient, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: shared, cluster: {server: %q}}]
users: [{name: someone, user: {token: not-for-the-quickstart}}]
contexts: [{name: shared-cluster, context: {cluster: shared, user: someone}}]
current-context: shared-cluster
`, fake.URL)), 0o600))

	quickstart := func(env ...string) (string, error) {
		return script(t, tree, ambient, env, "quickstart.sh", "dev")
	}
	p := &project{t: t, dir: tree, backend: filepath.Join(tree, ".state"), stack: "dev"}
	defer func() {
		p.run("destroy", "--yes", "--skip-preview")
		waitGone(t, "namespace", namespace)
	}()

	out, err := quickstart()
	require.NoError(t, err, out)
	assert.Contains(t, out, "Deploying dev to context pynomaly-local, server https://127.0.0.1:26443 (--target local).")
	assert.Zero(t, calls.Load(), "the quick start called the ambient cluster")
	assertClean(t, tree, "the quick start")
	before := objectUIDs(t)
	require.Greater(t, len(before), 40, "objects of the deployment")
	// The seed's checks work as written (Redis with the replacement selector of docs/operations.md).
	for _, args := range [][]string{
		{"wait", "--for=condition=ready", "pod", "-l", "app=pynomaly,component=postgres", "-n", namespace, "--timeout=300s"},
		{"wait", "--for=condition=ready", "pod", "-l", "app=pynomaly,component in (redis-queue,redis-cache)", "-n", namespace, "--timeout=180s"},
		{"wait", "--for=condition=ready", "pod", "-l", "app=pynomaly,component=influxdb", "-n", namespace, "--timeout=180s"},
		{"wait", "--for=condition=ready", "pod", "-l", "app=pynomaly,component=api", "-n", namespace, "--timeout=300s"},
		{"get", "pods", "-n", namespace},
		{"get", "svc,ingress", "-n", namespace},
		{"describe", "quota", "-n", namespace},
		{"get", "hpa", "-n", namespace},
		{"get", "statefulset/pynomaly-postgres", "deployment/pynomaly-api", "deployment/pynomaly-worker", "deployment/pynomaly-nginx",
			"svc/pynomaly-nginx-service", "svc/pynomaly-postgres-service", "cronjob/pynomaly-postgres-backup", "-n", namespace},
	} {
		mustKubectl(t, args...)
	}

	out, err = quickstart("PYNOMALY_RENDER=1")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Rendering dev's manifests to rendered/dev with the stack dev-render")
	manifests, _ := filepath.Glob(filepath.Join(tree, "rendered", "dev", "1-manifest", "*.yaml"))
	assert.Greater(t, len(manifests), 40, "manifests written")
	assert.Equal(t, before, objectUIDs(t), "rendering changed the deployed objects")
	assert.Zero(t, calls.Load(), "the quick start called the ambient cluster")
	assertClean(t, tree, "the render")
	// Then prod's manifests, as the README offers; its stack file has no encryption salt, which
	// a new stack's would write.
	out, err = script(t, tree, ambient, []string{"PYNOMALY_RENDER=1"}, "quickstart.sh", "prod")
	require.NoError(t, err, out)
	manifests, _ = filepath.Glob(filepath.Join(tree, "rendered", "prod", "1-manifest", "*.yaml"))
	assert.Greater(t, len(manifests), 40, "prod's manifests written")
	assertClean(t, tree, "the render of prod")
	// And a stack's effective settings.
	out, err = script(t, tree, ambient, nil, "settings.sh", "prod")
	require.NoError(t, err, out)
	assert.Contains(t, out, "environment: prod")
	assertClean(t, tree, "settings.sh")

	// The deployed stack itself cannot be moved to rendering by accident.
	moved := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	require.NoError(t, os.WriteFile(moved, committed, 0o644))
	p.must("config", "set", "--config-file", moved, "--path", "kubernetes.renderYamlToDirectory", "rendered/oops")
	out, err = p.run("preview", "--config-file", moved)
	require.Error(t, err, out)
	assert.Contains(t, out, `stack setting pynomaly-platform:kubernetes.renderYamlToDirectory = "rendered/oops": this stack's objects are in a cluster`)
	assert.Equal(t, before, objectUIDs(t))

	// Opting into the ambient cluster needs a passphrase of one's own.
	out, err = quickstart("PYNOMALY_TARGET=ambient")
	require.Error(t, err, out)
	assert.Contains(t, out, "the default passphrase is public: it is only for the local cluster, not for --target ambient")
	assert.Zero(t, calls.Load(), "the quick start called the ambient cluster")
	assertClean(t, tree, "the refused quick start")
	// Nothing the quick start started runs on: no engine, language host or provider is left in
	// the clone.
	left, _ := eventually(30*time.Second, 100*time.Millisecond, func() bool { return len(processesIn(tree)) == 0 })
	assert.Empty(t, processesIn(tree), "processes left running in the clone after %v", left.Round(time.Second))
}

// script runs one of the tree's scripts as a new user runs it from a clone: with the clone's
// own local backend, nothing the caller chose for targets or rendering, the ambient kubeconfig
// ambient, and env.
func script(t *testing.T, tree, ambient string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(tree, "scripts", name)}, args...)...)
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "PULUMI_BACKEND_URL=") || strings.HasPrefix(e, "PYNOMALY_") && !strings.HasPrefix(e, "PYNOMALY_TOOLS=") {
			continue
		}
		cmd.Env = append(cmd.Env, e)
	}
	cmd.Env = append(cmd.Env, "KUBECONFIG="+ambient,
		// The one local cluster of this clone, which the suite runs on.
		"PYNOMALY_CLUSTER="+filepath.Join(repo, ".tools", "cluster"))
	cmd.Env = append(cmd.Env, env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s %v: %s (%v)", name, strings.Join(args, " "), env, time.Since(start).Round(time.Second), errText(err))
	return string(out), err
}

// freshClone makes dir a git repository with one commit of every file in it that git does not
// ignore.
func freshClone(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", "clone"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
	}
	assertClean(t, dir, "the clone")
}

// ignoredOutput is what the scripts may leave in a clone, all of it ignored: the local backend,
// the Pulumi home, the built program and rendered manifests.
var ignoredOutput = map[string]bool{".state/": true, ".tools/": true, "bin/": true, "rendered/": true}

// assertClean checks that git status shows nothing changed, added or deleted in the clone dir
// after what, and nothing ignored beyond ignoredOutput (an ignored stack file is a stack too).
func assertClean(t *testing.T, dir, what string) {
	t.Helper()
	cmd := exec.Command("git", "status", "--porcelain", "--ignored")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git status: %s", out)
	var changed []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !(strings.HasPrefix(line, "!! ") && ignoredOutput[strings.TrimPrefix(line, "!! ")]) {
			changed = append(changed, line)
		}
	}
	assert.Empty(t, changed, "git status --ignored after %s", what)
}

// processesIn lists the processes whose working directory is dir or in it (pid and command line).
func processesIn(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || cwd != dir && !strings.HasPrefix(cwd, dir+string(filepath.Separator)) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		found = append(found, e.Name()+" "+strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return found
}

// objectUIDs are the UIDs of the namespace and every object of the deployment in it, by
// kind/name.
func objectUIDs(t *testing.T) map[string]string {
	out := mustKubectl(t, "-n", namespace, "get",
		"statefulsets,deployments,jobs,cronjobs,services,secrets,configmaps,persistentvolumeclaims,serviceaccounts,roles,rolebindings,horizontalpodautoscalers,poddisruptionbudgets,resourcequotas,limitranges",
		"-l", "app=pynomaly", "-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.uid}{"\n"}{end}`)
	uids := map[string]string{}
	for _, line := range strings.Fields(out) {
		k, v, _ := strings.Cut(line, "=")
		uids[k] = v
	}
	uids["Namespace/"+namespace] = strings.TrimSpace(mustKubectl(t, "get", "namespace", namespace, "-o", "jsonpath={.metadata.uid}"))
	return uids
}
