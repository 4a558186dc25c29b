//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clusterState is where scripts/cluster.sh keeps the local cluster's state: beside its kubeconfig.
func clusterState() string { return filepath.Dir(kubeconfig) }

// auditEvent is the part of an audit.k8s.io/v1 Event the checks read.
type auditEvent struct {
	Level, Verb  string
	User         struct{ Username string }
	Impersonated *struct {
		Username string
	} `json:"impersonatedUser"`
	ObjectRef *struct {
		Resource, Namespace, Name string
	}
	RequestObject  json.RawMessage
	ResponseObject json.RawMessage
}

// checkDeployerSecretReadAudited: a deployer reads one of the platform's Secrets, and the local
// cluster's audit log (scripts/cluster/audit-policy.yaml) records who read which Secret, at
// Metadata level: without the value.
func checkDeployerSecretReadAudited(t *testing.T, deployerKubeconfig, user string) {
	const secret = "pynomaly-postgres-credentials"
	out, err := exec.Command("kubectl", "--kubeconfig", deployerKubeconfig, "-n", namespace, "get", "secret", secret,
		"-o", "jsonpath={.data.superuser-password}").Output()
	require.NoError(t, err, "the deployer reads the Secret")
	value := string(out) // base64, as a Request or RequestResponse event would carry it
	require.NotEmpty(t, value)
	var found *auditEvent
	log := filepath.Join(clusterState(), "logs", "audit.log")
	f, err := os.Open(log)
	require.NoError(t, err, "the local cluster writes no audit log")
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	for lines.Scan() {
		assert.NotContains(t, lines.Text(), value, "a Secret's value is in the audit log")
		var e auditEvent
		require.NoError(t, json.Unmarshal(lines.Bytes(), &e))
		if e.Verb == "get" && e.ObjectRef != nil && e.ObjectRef.Resource == "secrets" && e.ObjectRef.Name == secret &&
			e.Impersonated != nil && e.Impersonated.Username == user {
			found = &e
		}
	}
	require.NoError(t, lines.Err())
	require.NotNil(t, found, "no audit event of %s reading the Secret %s", user, secret)
	assert.Equal(t, "Metadata", found.Level)
	assert.Equal(t, namespace, found.ObjectRef.Namespace)
	assert.Empty(t, found.ResponseObject, "the event carries the Secret")
}

// checkSecretsEncryptedAtRest: no credential of the stack is anywhere in etcd's files (the
// database and its write-ahead log), and Secrets are stored as the cluster's encryption
// configuration writes them (scripts/cluster.sh, secretbox).
func checkSecretsEncryptedAtRest(t *testing.T, credentials []string) {
	sealed := false
	err := filepath.WalkDir(filepath.Join(clusterState(), "etcd"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		content := string(b)
		for _, v := range credentials {
			assert.NotContains(t, content, v, "a credential is in etcd's %s in clear text", filepath.Base(path))
		}
		sealed = sealed || strings.Contains(content, "k8s:enc:secretbox:v1:local-1:")
		return nil
	})
	require.NoError(t, err)
	assert.True(t, sealed, "no Secret in etcd is encrypted with the cluster's key")
}
