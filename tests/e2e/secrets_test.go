//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
)

// secretStore is the ClusterSecretStore of the test: the External Secrets Operator's fake
// provider, whose data stand in for a secret manager's keys.
const secretStore = "pynomaly-e2e-store"

// Credentials from a secret manager: the External Secrets Operator's controller (built from its
// module) runs against the local cluster with a store whose keys the test writes. A dev stack
// with secrets.source external deploys; every credential in the cluster is the store's, none of
// them is in the stack's state. Then the operator's rotation: the new value written to the idle
// slot's keys, secrets.rotation.all raised, one pulumi up; the Secret holds both slots, the
// clients' templates name the new one, the retirement jobs ran after them. A second rotation
// returns to slot a, whose new value the operator reads at once.
func TestCredentialsFromASecretManager(t *testing.T) {
	start := time.Now()
	installCRDs(t, "secrets", []string{"externalsecrets.external-secrets.io", "clustersecretstores.external-secrets.io"})
	startSecretsOperator(t)
	store := map[string]string{}
	for _, c := range config.ExternalCredentials {
		store["pynomaly-e2e/"+c] = randomCredential(t)
	}
	writeStore(t, store)

	p, done := clusterProject(t, "dev")
	p.must("config", "set", "--plaintext", "--path", "secrets.source", "external")
	p.must("config", "set", "--plaintext", "--path", "secrets.external.storeName", secretStore)
	p.must("config", "set", "--plaintext", "--path", "secrets.external.keyPrefix", "pynomaly-e2e/")
	p.must("up", "--yes", "--skip-preview")

	inCluster := clusterCredentials(t)
	for key, credential := range map[string]string{
		"pynomaly-postgres-credentials/superuser-password":   "postgresSuperuserPassword",
		"pynomaly-postgres-credentials/replication-password": "postgresReplicationPassword",
		"pynomaly-postgres-credentials/monitor-password":     "postgresMonitorPassword",
		"pynomaly-postgres-credentials/app-password":         "postgresAppPassword",
		"pynomaly-redis-credentials/password":                "redisPassword",
		"pynomaly-influxdb-credentials/admin-password":       "influxdbAdminPassword",
		"pynomaly-influxdb-credentials/admin-token":          "influxdbAdminToken",
		"pynomaly-grafana-credentials/admin-password":        "grafanaAdminPassword",
		"pynomaly-api-credentials/secret-key":                "apiSecretKey",
	} {
		assert.Equal(t, store["pynomaly-e2e/"+credential], inCluster[key], "%s is not the store's %s", key, credential)
	}
	assert.Equal(t, `"pynomaly" "`+store["pynomaly-e2e/postgresAppPassword"]+`"`+"\n", inCluster["pynomaly-postgres-credentials/pgbouncer-userlist"],
		"the pooler's user list, written by the operator's template")
	_, hasVerifier := inCluster["pynomaly-postgres-credentials/app-password-scram-sha-256"]
	assert.False(t, hasVerifier, "a verifier of an external password: the program saw it")
	assertNotInState(t, p, store)
	annotations := mustKubectl(t, "-n", namespace, "get", "secret", "pynomaly-api-credentials", "-o", "jsonpath={.metadata.annotations}")
	assert.NotContains(t, annotations, "pulumi.com/waitFor", "the ExternalSecret's annotations were copied to its Secret, whose update would wait for a condition")
	// What the operator merged in is no change to the program: a PR's preview shows none.
	p.must("preview", "--expect-no-changes")

	// The operator's rotation: the idle slot's keys in the store, then one raise and one up.
	rotated := rotateFromStore(t, p, store, 1, "postgresAppPassword-b", "redisPassword-b")
	assert.Equal(t, `"pynomaly_b" "`+store["pynomaly-e2e/postgresAppPassword-b"]+`"`+"\n"+`"pynomaly" "`+store["pynomaly-e2e/postgresAppPassword"]+`"`+"\n",
		rotated["pynomaly-postgres-credentials/pgbouncer-userlist"], "the user list keeps both logins, the new one first")
	env := mustKubectl(t, "-n", namespace, "get", "deployment", "pynomaly-api", "-o", "jsonpath={.spec.template.spec.containers[0].env}")
	assert.Contains(t, env, `"key":"app-password-b"`, "the API rolled to the new slot")
	assert.Contains(t, env, `"key":"password-b"`, "the API rolled to the new slot")
	for _, job := range []string{"pynomaly-postgres-retire", "pynomaly-redis-retire"} {
		mustKubectl(t, "-n", namespace, "get", "job", job)
	}
	assertNotInState(t, p, store)

	// The next rotation returns to slot a: the ExternalSecret names the same keys as before and
	// only its annotation changes, which replaces it, so the operator reads slot a's new value
	// now rather than at its next refresh (an hour away).
	rotateFromStore(t, p, store, 2, "postgresAppPassword", "redisPassword")
	env = mustKubectl(t, "-n", namespace, "get", "deployment", "pynomaly-api", "-o", "jsonpath={.spec.template.spec.containers[0].env}")
	assert.Contains(t, env, `"key":"app-password"`, "the API rolled back to slot a")

	destroy(t, p, "dev")
	done()
	t.Logf("dev: from a secret manager and two rotations in %s", time.Since(start).Round(time.Second))
}

// rotateFromStore is the operator's rotation to generation g: new values for the idle slot's keys
// in the store, secrets.rotation.all raised, one pulumi up. Both slots of the rotating
// credentials are then the store's in the cluster, whose credentials it returns.
func rotateFromStore(t *testing.T, p *project, store map[string]string, g int, idle ...string) map[string]string {
	for _, key := range idle {
		store["pynomaly-e2e/"+key] = randomCredential(t)
	}
	writeStore(t, store)
	p.must("config", "set", "--path", "secrets.rotation.all", fmt.Sprint(g))
	p.must("up", "--yes", "--skip-preview")
	inCluster := clusterCredentials(t)
	for key, remote := range map[string]string{
		"pynomaly-postgres-credentials/app-password": "postgresAppPassword", "pynomaly-postgres-credentials/app-password-b": "postgresAppPassword-b",
		"pynomaly-redis-credentials/password": "redisPassword", "pynomaly-redis-credentials/password-b": "redisPassword-b",
	} {
		assert.Equal(t, store["pynomaly-e2e/"+remote], inCluster[key], "generation %d: %s", g, key)
	}
	return inCluster
}

// startSecretsOperator runs the External Secrets Operator's controller against the cluster.
func startSecretsOperator(t *testing.T) {
	cmd := exec.Command(lookTool(t, "external-secrets"), "--store-requeue-interval=10s")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	startProcess(t, "external-secrets", filepath.Join(t.TempDir(), "external-secrets.log"), cmd)
}

// writeStore makes the fake provider's data those of store; the controller reads them anew
// from the store on every sync.
func writeStore(t *testing.T, store map[string]string) {
	var data []map[string]string
	for k, v := range store {
		data = append(data, map[string]string{"key": k, "value": v})
	}
	manifest, err := json.Marshal(map[string]any{
		"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
		"metadata": map[string]any{"name": secretStore},
		"spec":     map[string]any{"provider": map[string]any{"fake": map[string]any{"data": data}}},
	})
	require.NoError(t, err)
	cmd := exec.Command("kubectl", "--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager", "pynomaly-e2e", "-f", "-")
	cmd.Stdin = strings.NewReader(string(manifest))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	mustKubectl(t, "wait", "--for=condition=Ready", "--timeout=60s", "clustersecretstore/"+secretStore)
	t.Cleanup(func() { _, _ = kubectl(t, "delete", "clustersecretstore", secretStore, "--ignore-not-found") })
}

// assertNotInState: the program never held a credential of the store.
func assertNotInState(t *testing.T, p *project, store map[string]string) {
	export := p.must("stack", "export", "--show-secrets")
	for key, value := range store {
		assert.NotContains(t, export, value, "the store's %s is in the stack's state", key)
	}
}

// randomCredential is 40 letters and digits, as a secret manager's generator would make.
func randomCredential(t *testing.T) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 40)
	_, err := rand.Read(b)
	require.NoError(t, err)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return fmt.Sprint(string(b))
}
