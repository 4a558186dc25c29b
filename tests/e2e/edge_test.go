//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The edge tier's entry points against the real API server, with the real CustomResourceDefinitions
// of cert-manager, the Gateway API (standard channel) and Envoy Gateway, read from the Go module
// cache by scripts/crds.sh: each stack is deployed with edge.entry ingress, then switched to
// gateway, each update followed by a no-change preview. The API server validates every object
// against the CRDs' schemas and CEL rules; no controller runs, so nothing is issued or routed.
//
// Before the definitions are installed, the program's preflight stops a TLS stack, naming
// cert-manager, and nothing is created; the same stack deploys once they are.
func TestEdge(t *testing.T) {
	preflightWithoutCertManager(t)
	installCRDs(t, "edge", edgeCRDs)
	installEntryClasses(t)
	for _, env := range []string{"dev", "staging", "prod"} {
		t.Run(env, func(t *testing.T) { edgeLifecycle(t, env) })
	}
}

// edgeCRDs are the definitions the edge's objects need; the script installs others of the same
// groups too.
var edgeCRDs = []string{
	"certificates.cert-manager.io", "issuers.cert-manager.io",
	"gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io",
	"backendtrafficpolicies.gateway.envoyproxy.io",
}

// installCRDs applies (idempotently) the manifests scripts/crds.sh lists for set, straight from the Go module
// cache, and waits until the definitions in wait are established.
func installCRDs(t *testing.T, set string, wait []string) {
	start := time.Now()
	out, err := exec.Command("bash", filepath.Join(repo, "scripts", "crds.sh"), set).Output()
	require.NoError(t, err, "scripts/crds.sh %s: %s", set, errText(err))
	files := strings.Fields(string(out))
	require.NotEmpty(t, files)
	args := []string{"apply", "--server-side", "--force-conflicts", "--field-manager", "pynomaly-e2e"}
	for _, f := range files {
		require.True(t, strings.Contains(f, "/pkg/mod/"), "%s is not in the module cache", f)
		args = append(args, "-f", f)
	}
	mustKubectl(t, args...)
	mustKubectl(t, append([]string{"wait", "--for=condition=Established", "--timeout=60s", "crd"}, wait...)...)
	t.Logf("installed %d %s CRD manifests in %v", len(files), set, time.Since(start).Round(100*time.Millisecond))
}

// entryPodsCIDR is a pod network where the entry point's pods would be: the edge trusts their X-Forwarded-For.
const entryPodsCIDR = "10.244.0.0/16"

// certManagerCRDs are cert-manager's definitions that the edge's objects use.
var certManagerCRDs = []string{"certificates.cert-manager.io", "issuers.cert-manager.io", "clusterissuers.cert-manager.io"}

func preflightWithoutCertManager(t *testing.T) {
	mustKubectl(t, append([]string{"delete", "crd", "--ignore-not-found", "--wait=true"}, certManagerCRDs...)...)
	p := newProject(t, "dev", "Pulumi.dev.yaml")
	p.onLocalCluster()
	p.must("config", "set", "--path", "edge.entry", "ingress")
	p.must("config", "set", "--path", "edge.hosts[0]", "api.pynomaly.test")
	p.must("config", "set", "--path", "edge.trustedProxies[0]", entryPodsCIDR)
	out, err := p.run("up", "--yes", "--skip-preview")
	require.Error(t, err, "the preflight let a TLS stack through without cert-manager:\n%s", out)
	assert.Contains(t, out, "cluster preflight [cert-manager]: the certificates API (cert-manager.io/v1) is missing; edge.tls needs it. Install cert-manager's CustomResourceDefinitions.")
	_, err = kubectl(t, "get", "namespace", namespace)
	assert.Error(t, err, "the preflight failed, yet the namespace was created")
	assert.NotContains(t, p.must("stack", "export"), "kubernetes:", "the preflight failed, yet the state holds Kubernetes objects")
}

// installEntryClasses adds the IngressClass and GatewayClass the profiles name, as installing
// ingress-nginx or Envoy Gateway would (no controller runs here: the preflight only needs them to exist).
func installEntryClasses(t *testing.T) {
	classes := filepath.Join(t.TempDir(), "classes.yaml")
	require.NoError(t, os.WriteFile(classes, []byte(`apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
`), 0o644))
	mustKubectl(t, "apply", "--server-side", "--field-manager", "pynomaly-e2e", "-f", classes)
}

func edgeLifecycle(t *testing.T, env string) {
	p, done := clusterProject(t, env)
	p.must("config", "set", "--path", "edge.hosts[0]", "api.pynomaly.test")
	// The entry point's pods, whose X-Forwarded-For the edge believes.
	p.must("config", "set", "--path", "edge.trustedProxies[0]", entryPodsCIDR)

	p.must("config", "set", "--path", "edge.entry", "ingress")
	p.must("up", "--yes", "--skip-preview")
	assert.Equal(t, "pynomaly-tls", objectField(t, "ingress", "pynomaly-ingress", "{.spec.tls[0].secretName}"))
	assert.Equal(t, "pynomaly-nginx-service", objectField(t, "ingress", "pynomaly-ingress", "{.spec.rules[0].http.paths[0].backend.service.name}"))
	checkEdgeCommon(t, env)
	p.must("preview", "--expect-no-changes")

	p.must("config", "set", "--path", "edge.entry", "gateway")
	p.must("up", "--yes", "--skip-preview")
	assert.Equal(t, "https", objectField(t, "gateway", "pynomaly-gateway", "{.spec.listeners[1].name}"))
	assert.Equal(t, "pynomaly-tls", objectField(t, "gateway", "pynomaly-gateway", "{.spec.listeners[1].tls.certificateRefs[0].name}"))
	assert.Equal(t, "api.pynomaly.test", objectField(t, "httproute", "pynomaly-nginx", "{.spec.hostnames[0]}"))
	assert.Equal(t, "Distinct", objectField(t, "backendtrafficpolicy", "pynomaly-nginx", "{.spec.rateLimit.local.rules[0].clientSelectors[0].sourceCIDR.type}"))
	assert.Equal(t, "100", objectField(t, "backendtrafficpolicy", "pynomaly-nginx", "{.spec.rateLimit.local.rules[0].limit.requests}"))
	out, err := kubectl(t, "-n", namespace, "get", "ingress", "pynomaly-ingress")
	assert.Error(t, err, "the Ingress is gone in gateway mode")
	assert.Contains(t, out, "NotFound")
	checkEdgeCommon(t, env)
	p.must("preview", "--expect-no-changes")

	destroy(t, p, env)
	done()
}

// checkEdgeCommon: Nginx runs at the profile's replicas, and the certificate names its issuer.
func checkEdgeCommon(t *testing.T, env string) {
	replicas := map[string]string{"dev": "1", "staging": "2", "prod": "3"}[env]
	assert.Equal(t, replicas+"/"+replicas, objectField(t, "deployment", "pynomaly-nginx", "{.status.readyReplicas}/{.spec.replicas}"))
	issuer := objectField(t, "certificate", "pynomaly-tls", "{.spec.issuerRef.name}")
	assert.Equal(t, map[string]string{"dev": "pynomaly-selfsigned", "staging": "pynomaly-letsencrypt-staging", "prod": "pynomaly-letsencrypt"}[env], issuer)
	assert.Equal(t, issuer, objectField(t, "issuer", issuer, "{.metadata.name}"))
	assert.Equal(t, "ClientIP", objectField(t, "service", "pynomaly-nginx-service", "{.spec.sessionAffinity}"))
}

// objectField reads one field of a namespaced object.
func objectField(t *testing.T, kind, name, jsonpath string) string {
	t.Helper()
	return mustKubectl(t, "-n", namespace, "get", kind, name, "-o", "jsonpath="+jsonpath)
}
