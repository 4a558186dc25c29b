package preflight

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Connect reads a cluster through a kubeconfig as kubectl would: over TLS verified against the
// kubeconfig's CA, with its bearer token, from the context named (not the current one).
func TestConnectReadsTheClusterOfTheKubeconfig(t *testing.T) {
	var tokens []string
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens = append(tokens, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/version":
			fmt.Fprint(w, `{"major":"1","minor":"29+","gitVersion":"v1.29.4-eks"}`)
		case "/apis/cert-manager.io/v1":
			fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"cert-manager.io/v1","resources":[{"name":"certificates"},{"name":"clusterissuers"}]}`)
		case "/apis/metrics.k8s.io/v1beta1":
			http.Error(w, `{"kind":"Status","code":503}`, http.StatusServiceUnavailable)
		case "/api/v1/namespaces/pynomaly/persistentvolumeclaims":
			fmt.Fprint(w, `{"kind":"PersistentVolumeClaimList","items":[{"metadata":{"name":"pgdata-pynomaly-postgres-0"},"spec":{"resources":{"requests":{"storage":"10Gi"}}}}]}`)
		case "/api/v1/namespaces/new/persistentvolumeclaims":
			fmt.Fprint(w, `{"kind":"PersistentVolumeClaimList","items":[]}`)
		case "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.external.metrics.k8s.io":
			fmt.Fprint(w, `{"kind":"APIService","spec":{"service":{"namespace":"keda","name":"keda-metrics"}}}`)
		case "/apis/cert-manager.io/v1/clusterissuers/letsencrypt", "/api/v1/namespaces/pynomaly/secrets/wal-s3":
			fmt.Fprint(w, `{}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(caFile, ca, 0o600))
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- {name: real, cluster: {server: %q, certificate-authority: %q}}
- {name: other, cluster: {server: "https://127.0.0.1:1"}}
users: [{name: deployer, user: {token: deployer-token}}]
contexts:
- {name: prod, context: {cluster: real, user: deployer}}
- {name: elsewhere, context: {cluster: other, user: deployer}}
current-context: elsewhere
`, api.URL, caFile)

	for name, source := range map[string]string{"contents": kubeconfig, "path": writeFile(t, kubeconfig)} {
		t.Run(name, func(t *testing.T) {
			c, err := Connect(source, "prod")
			require.NoError(t, err)
			major, minor, err := c.Version()
			require.NoError(t, err)
			assert.Equal(t, [2]int{1, 29}, [2]int{major, minor})

			served, err := c.Serves("cert-manager.io/v1", "certificates")
			require.NoError(t, err)
			assert.True(t, served)
			served, err = c.Serves("cert-manager.io/v1", "issuers")
			require.NoError(t, err)
			assert.False(t, served, "a resource the group does not list")
			served, err = c.Serves("gateway.networking.k8s.io/v1", "gateways")
			require.NoError(t, err)
			assert.False(t, served, "a group the server does not know (404)")
			served, err = c.Serves("metrics.k8s.io/v1beta1", "pods")
			require.NoError(t, err)
			assert.False(t, served, "an aggregated API that is registered but down (503)")

			has, err := c.Has("cert-manager.io/v1", "clusterissuers", "", "letsencrypt")
			require.NoError(t, err)
			assert.True(t, has)
			has, err = c.Has("v1", "secrets", "pynomaly", "wal-s3")
			require.NoError(t, err)
			assert.True(t, has, "a namespaced object of the core group")
			has, err = c.Has("cert-manager.io/v1", "clusterissuers", "", "other")
			require.NoError(t, err)
			assert.False(t, has)

			o, found, err := c.Get("apiregistration.k8s.io/v1", "apiservices", "", "v1beta1.external.metrics.k8s.io")
			require.NoError(t, err)
			assert.True(t, found)
			assert.Equal(t, "keda", Field(o, "spec", "service", "namespace"))
			assert.Empty(t, Field(o, "spec", "service", "port"), "a field that is not there")
			_, found, err = c.Get("apiregistration.k8s.io/v1", "apiservices", "", "v1beta1.custom.metrics.k8s.io")
			require.NoError(t, err)
			assert.False(t, found)

			claims, err := c.ClaimRequests("pynomaly")
			require.NoError(t, err)
			assert.Equal(t, map[string]string{"pgdata-pynomaly-postgres-0": "10Gi"}, claims)
			claims, err = c.ClaimRequests("new")
			require.NoError(t, err)
			assert.Empty(t, claims, "a namespace not made yet has no claims")
		})
	}
	for _, tok := range tokens {
		assert.Equal(t, "Bearer deployer-token", tok)
	}
	require.NotEmpty(t, tokens)
}

// A cluster that does not answer is an error, not a missing piece.
func TestConnectFailsOnAnUnreachableCluster(t *testing.T) {
	c, err := Connect("apiVersion: v1\nkind: Config\nclusters: [{name: x, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: x, user: u}}]\ncurrent-context: x\n", "")
	require.NoError(t, err)
	_, _, err = c.Version()
	assert.Error(t, err)
	_, err = Run(c, []Requirement{{Check: "metrics-api", GroupVersion: "metrics.k8s.io/v1beta1", Resource: "pods"}})
	assert.ErrorContains(t, err, "cluster preflight, the pods API (metrics.k8s.io/v1beta1)")
}

func writeFile(t *testing.T, text string) string {
	f := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(f, []byte(text), 0o600))
	return f
}
