//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkAdmissionPolicies: the local API server enforces the stack's ValidatingAdmissionPolicies,
// each refusing its forbidden request with its message (the stack itself was admitted: it is
// deployed). Requests are server-side dry runs.
func checkAdmissionPolicies(t *testing.T, dir string) {
	allowed := objectField(t, "deployment", "pynomaly-api", "{.spec.template.spec.containers[0].image}")

	// Image sources: a pod that Pod Security admits, with an image the settings do not name.
	out, err := kubectl(t, "-n", namespace, "create", "--dry-run=server", "-f", probePod(t, dir, "busybox:1.36", nil))
	require.Error(t, err, "a pod of an image the stack does not name was admitted")
	assert.Contains(t, out, "every image in the platform's namespace comes from a repository the stack's images settings name")
	mustKubectl(t, "-n", namespace, "create", "--dry-run=server", "-f", probePod(t, dir, allowed, nil))

	// Host isolation holds where Pod Security no longer does: the namespace's level loosened.
	const enforce = "pod-security.kubernetes.io/enforce"
	level := objectField(t, "namespace", namespace, `{.metadata.labels.pod-security\.kubernetes\.io/enforce}`)
	mustKubectl(t, "label", "namespace", namespace, enforce+"=privileged", "--overwrite")
	t.Cleanup(func() { mustKubectl(t, "label", "namespace", namespace, enforce+"="+level, "--overwrite") })
	// (A privileged container is not among them: this API server runs without --allow-privileged
	// and refuses one itself, before admission.)
	for _, tc := range []struct {
		spec map[string]any
		want string
	}{
		{map[string]any{"hostNetwork": true}, "no pod of the platform's namespace may share the node's network, process or IPC namespace"},
		{map[string]any{"hostPath": "/var/run"}, "no pod of the platform's namespace may mount a host path or take a host port"},
	} {
		out, err := kubectl(t, "-n", namespace, "create", "--dry-run=server", "-f", probePod(t, dir, allowed, tc.spec))
		require.Error(t, err, "%v was admitted", tc.spec)
		assert.Contains(t, out, tc.want)
	}
	mustKubectl(t, "label", "namespace", namespace, enforce+"="+level, "--overwrite")

	// Database pods: nobody but Patroni relabels them, and Patroni only its role label. A merge
	// patch, as Patroni sends (its Role may patch pods, not get one).
	const pod, patroni = "pynomaly-postgres-0", "system:serviceaccount:" + namespace + ":pynomaly-postgres"
	relabel := func(as, label, value string) (string, error) {
		args := []string{"-n", namespace, "patch", "pod", pod, "--type", "merge", "--dry-run=server",
			"-p", `{"metadata": {"labels": {"` + label + `": "` + value + `"}}}`}
		if as != "" {
			args = append([]string{"--as", as}, args...)
		}
		return kubectl(t, args...)
	}
	out, err = relabel("", "component", "api")
	require.Error(t, err, "an administrator relabelled a database pod")
	assert.Contains(t, out, "only Patroni ("+patroni+") may change the labels and annotations of a database pod")
	out, err = relabel(patroni, "component", "api")
	require.Error(t, err, "Patroni's account relabelled a database pod as the API")
	assert.Contains(t, out, "a database pod's labels may change only in spilo-role and its annotations only in status")
	out, err = relabel(patroni, "spilo-role", "replica")
	require.NoError(t, err, "Patroni's account may set its role label:\n%s", out)
}

// probePod writes a pod that Pod Security "restricted" admits, running image, with extra: the
// host's network, or a host path volume.
func probePod(t *testing.T, dir, image string, extra map[string]any) string {
	container := map[string]any{"name": "probe", "image": image, "securityContext": map[string]any{
		"runAsNonRoot": true, "runAsUser": 10000, "allowPrivilegeEscalation": false,
		"capabilities": map[string]any{"drop": []string{"ALL"}}, "seccompProfile": map[string]any{"type": "RuntimeDefault"},
	}}
	spec := map[string]any{"containers": []any{container}}
	if extra["hostNetwork"] == true {
		spec["hostNetwork"] = true
	}
	if path, ok := extra["hostPath"].(string); ok {
		spec["volumes"] = []any{map[string]any{"name": "host", "hostPath": map[string]any{"path": path}}}
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "admission-probe"}, "spec": spec})
	require.NoError(t, err)
	file := filepath.Join(dir, "admission-probe.json")
	require.NoError(t, os.WriteFile(file, b, 0o644))
	return file
}
