//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	// Put back below; this is for a failure in between (the namespace may be gone by then).
	t.Cleanup(func() { _, _ = kubectl(t, "label", "namespace", namespace, enforce+"="+level, "--overwrite") })
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

	// Database pods: nobody but Patroni relabels them, and Patroni only its role label. A policy's
	// refusal is 422 Invalid (a validation's default reason).
	const patroni = "system:serviceaccount:" + namespace + ":pynomaly-postgres"
	code, body := relabelDatabasePod(t, "", "component", "api")
	assert.Equal(t, http.StatusUnprocessableEntity, code, "an administrator relabelled a database pod: %s", body)
	assert.Contains(t, body, "only Patroni ("+patroni+") may change the labels and annotations of a database pod")
	code, body = relabelDatabasePod(t, patroni, "component", "api")
	assert.Equal(t, http.StatusUnprocessableEntity, code, "Patroni's account relabelled a database pod as the API: %s", body)
	assert.Contains(t, body, "a database pod's labels may change only in spilo-role and its annotations only in status")
	code, body = relabelDatabasePod(t, patroni, "spilo-role", "replica")
	assert.Equal(t, http.StatusOK, code, "Patroni's account may set its role label: %s", body)
}

// relabelDatabasePod sends, as user (impersonated; "" for the administrator), what Patroni sends
// to label its pod: a merge patch of pynomaly-postgres-0, as a server-side dry run. (kubectl
// would get the pod first, which Patroni's Role does not allow.) It returns the HTTP status and
// the body.
func relabelDatabasePod(t *testing.T, user, label, value string) (int, string) {
	field := func(path string) string {
		return mustKubectl(t, "config", "view", "--raw", "--minify", "-o", "jsonpath={"+path+"}")
	}
	cert, err := tls.LoadX509KeyPair(field(".users[0].user.client-certificate"), field(".users[0].user.client-key"))
	require.NoError(t, err)
	caPEM, err := os.ReadFile(field(".clusters[0].cluster.certificate-authority"))
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caPEM))
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	patch := fmt.Sprintf(`{"metadata": {"labels": {%q: %q}}}`, label, value)
	url := field(".clusters[0].cluster.server") + "/api/v1/namespaces/" + namespace + "/pods/pynomaly-postgres-0?dryRun=All"
	req, err := http.NewRequest(http.MethodPatch, url, strings.NewReader(patch))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	if user != "" {
		req.Header.Set("Impersonate-User", user)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
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
