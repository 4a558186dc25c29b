package tests

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeCluster is the cluster the program's preflight reads in the mocked-engine tests: a
// version, and what it lacks, as "groupVersion resource" for an API and "groupVersion resource
// namespace/name" for an object. Everything else is there.
type fakeCluster struct {
	version string
	missing map[string]bool
	// claims are the storage requests of the claims deployed in the namespace, by name.
	claims map[string]string
	// asked is every API and object the preflight looked for, in order.
	asked []string
	// objects are the objects Get reads, by "groupVersion resource namespace/name".
	objects map[string]map[string]any
}

func completeCluster() *fakeCluster { return &fakeCluster{version: "1.35", missing: map[string]bool{}} }

func (c *fakeCluster) without(keys ...string) *fakeCluster {
	for _, k := range keys {
		c.missing[k] = true
	}
	return c
}

func (c *fakeCluster) Version() (int, int, error) {
	c.asked = append(c.asked, "version")
	major, minor, _ := strings.Cut(c.version, ".")
	return atoi(major), atoi(minor), nil
}

func (c *fakeCluster) Serves(groupVersion, resource string) (bool, error) {
	k := groupVersion + " " + resource
	c.asked = append(c.asked, k)
	return !c.missing[k], nil
}

func (c *fakeCluster) Has(groupVersion, resource, namespace, name string) (bool, error) {
	k := groupVersion + " " + resource + " " + namespace + "/" + name
	c.asked = append(c.asked, k)
	return !c.missing[k], nil
}

func (c *fakeCluster) Get(groupVersion, resource, namespace, name string) (map[string]any, bool, error) {
	k := groupVersion + " " + resource + " " + namespace + "/" + name
	c.asked = append(c.asked, k)
	o, found := c.objects[k]
	return o, found, nil
}

// withObject is an object the cluster has, as Get reads it.
func (c *fakeCluster) withObject(key, object string) *fakeCluster {
	var o map[string]any
	if err := json.Unmarshal([]byte(object), &o); err != nil {
		panic(err)
	}
	if c.objects == nil {
		c.objects = map[string]map[string]any{}
	}
	c.objects[key] = o
	return c
}

func (c *fakeCluster) ClaimRequests(namespace string) (map[string]string, error) {
	c.asked = append(c.asked, "v1 persistentvolumeclaims "+namespace)
	return c.claims, nil
}

// withClaims are claims already made in the namespace, name -> request.
func (c *fakeCluster) withClaims(claims map[string]string) *fakeCluster {
	c.claims = claims
	return c
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

const (
	ingressTLS = `{"entry": "ingress", "trustedProxies": ["10.244.0.0/16"], "hosts": ["api.pynomaly.example"], "ingress": {"className": "nginx"}, "tls": {"enabled": true, "issuer": {"kind": "ClusterIssuer", "name": "letsencrypt", "create": ""}}}`
	gatewayTLS = `{"entry": "gateway", "trustedProxies": ["10.244.0.0/16"], "hosts": ["api.pynomaly.example"], "gateway": {"className": "eg", "implementation": "envoy-gateway"}, "tls": {"enabled": true}}`
)

// Each missing piece stops the program with its own line, naming what is missing, the setting
// that needs it and what to do; nothing is declared.
func TestPreflightNamesEachMissingPiece(t *testing.T) {
	cases := []struct {
		name    string
		env     string
		config  cfg
		cluster *fakeCluster
		want    string
	}{
		{"old cluster", "dev", nil, &fakeCluster{version: "1.29", missing: map[string]bool{}},
			"cluster preflight [kubernetes-version]: Kubernetes 1.30 or newer is missing (the cluster runs 1.29)"},
		{"no metrics API", "prod", nil, completeCluster().without("metrics.k8s.io/v1beta1 pods"),
			"cluster preflight [metrics-api]: the pods API (metrics.k8s.io/v1beta1) is missing; the API and worker HorizontalPodAutoscalers (CPU and memory) needs it. Install metrics-server"},
		{"no external metrics in operator mode", "prod", cfg{"monitoringMode": "operator", "grafana": internalGrafana, "worker": `{"queueScaling": {"enabled": true}}`},
			completeCluster().without("external.metrics.k8s.io/v1beta1 pynomaly_task_queue_depth"),
			"cluster preflight [external-metrics-api]: the pynomaly_task_queue_depth API (external.metrics.k8s.io/v1beta1) is missing; worker.queueScaling"},
		{"external metrics API held by KEDA", "prod", nil,
			completeCluster().withObject("apiregistration.k8s.io/v1 apiservices /v1beta1.external.metrics.k8s.io",
				`{"spec": {"service": {"namespace": "keda", "name": "keda-operator-metrics-apiserver"}}}`),
			`cluster preflight [external-metrics-holder]: apiservices "v1beta1.external.metrics.k8s.io" (apiregistration.k8s.io/v1) is held by the Service keda/keda-operator-metrics-apiserver; worker.queueScaling (the bundled metrics adapter serves the queue's depth) needs it for itself. Set worker.queueScaling.enabled false`},
		{"external metrics API held by another stack", "staging", nil,
			completeCluster().withObject("apiregistration.k8s.io/v1 apiservices /v1beta1.external.metrics.k8s.io",
				`{"spec": {"service": {"namespace": "pynomaly-other", "name": "pynomaly-metrics-adapter"}}}`),
			`is held by the Service pynomaly-other/pynomaly-metrics-adapter`},
		{"no External Secrets Operator", "prod", externalSource(""), completeCluster().without("external-secrets.io/v1 externalsecrets"),
			"cluster preflight [external-secrets]: the externalsecrets API (external-secrets.io/v1) is missing; secrets.source external (or an external secrets.sources entry) needs it. Install the External Secrets Operator's CustomResourceDefinitions."},
		{"no secret store", "prod", externalSource(""), completeCluster().without("external-secrets.io/v1 clustersecretstores /vault"),
			`cluster preflight [secret-store]: clustersecretstores "vault" (external-secrets.io/v1) is missing; secrets.external.storeName needs it. Create the ClusterSecretStore`},
		{"no secret store in the namespace", "dev", cfg{"secrets": `{"source": "external", "external": {"storeKind": "SecretStore", "storeName": "vault"}}`},
			completeCluster().without("external-secrets.io/v1 secretstores pynomaly-data-science/vault"),
			`cluster preflight [secret-store]: secretstores "vault" (external-secrets.io/v1) in namespace pynomaly-data-science is missing`},
		{"no cert-manager", "staging", cfg{"edge": ingressTLS}, completeCluster().without("cert-manager.io/v1 certificates"),
			"cluster preflight [cert-manager]: the certificates API (cert-manager.io/v1) is missing; edge.tls and tls.internal needs it. Install cert-manager's CustomResourceDefinitions."},
		{"no cert-manager for internal TLS", "dev", cfg{"tls": `{"internal": true}`}, completeCluster().without("cert-manager.io/v1 issuers"),
			"cluster preflight [cert-manager]: the issuers API (cert-manager.io/v1) is missing; tls.internal needs it. Install cert-manager's CustomResourceDefinitions."},
		{"no internal issuer", "prod", cfg{"tls": `{"issuer": {"kind": "ClusterIssuer", "name": "corp-ca"}}`}, completeCluster().without("cert-manager.io/v1 clusterissuers /corp-ca"),
			`cluster preflight [tls-issuer]: clusterissuers "corp-ca" (cert-manager.io/v1) is missing; tls.issuer needs it.`},
		{"no issuer", "staging", cfg{"edge": ingressTLS}, completeCluster().without("cert-manager.io/v1 clusterissuers /letsencrypt"),
			`cluster preflight [tls-issuer]: clusterissuers "letsencrypt" (cert-manager.io/v1) is missing; edge.tls.issuer needs it.`},
		{"no ingress class", "prod", cfg{"edge": ingressTLS}, completeCluster().without("networking.k8s.io/v1 ingressclasses /nginx"),
			`cluster preflight [ingress-class]: ingressclasses "nginx" (networking.k8s.io/v1) is missing; edge.ingress.className needs it.`},
		{"no Gateway API", "prod", cfg{"edge": gatewayTLS}, completeCluster().without("gateway.networking.k8s.io/v1 httproutes"),
			"cluster preflight [gateway-api]: the httproutes API (gateway.networking.k8s.io/v1) is missing; edge.entry gateway needs it. Install the Gateway API (standard channel)'s CustomResourceDefinitions."},
		{"no Envoy Gateway policy", "prod", cfg{"edge": gatewayTLS}, completeCluster().without("gateway.envoyproxy.io/v1alpha1 backendtrafficpolicies"),
			"cluster preflight [gateway-api]: the backendtrafficpolicies API (gateway.envoyproxy.io/v1alpha1) is missing"},
		{"no GatewayClass", "prod", cfg{"edge": gatewayTLS}, completeCluster().without("gateway.networking.k8s.io/v1 gatewayclasses /eg"),
			`cluster preflight [gateway-class]: gatewayclasses "eg" (gateway.networking.k8s.io/v1) is missing; edge.gateway.className needs it. Install the Gateway implementation (envoy-gateway)`},
		{"no storage class", "staging", cfg{"storage": `{"existingClass": "fast-ssd"}`}, completeCluster().without("storage.k8s.io/v1 storageclasses /fast-ssd"),
			`cluster preflight [storage-class]: storageclasses "fast-ssd" (storage.k8s.io/v1) is missing; storage.existingClass needs it.`},
		{"no RWX class", "prod", cfg{"storage": `{"modelClassName": "nfs"}`}, completeCluster().without("storage.k8s.io/v1 storageclasses /nfs"),
			`cluster preflight [storage-class]: storageclasses "nfs" (storage.k8s.io/v1) is missing; storage.modelClassName needs it.`},
		{"no Prometheus Operator", "staging", cfg{"monitoringMode": "operator"}, completeCluster().without("monitoring.coreos.com/v1 podmonitors"),
			"cluster preflight [prometheus-operator]: the podmonitors API (monitoring.coreos.com/v1) is missing; monitoringMode operator needs it. Install the Prometheus Operator's CustomResourceDefinitions."},
		{"a smaller database volume", "prod", cfg{"postgres": `{"storageSize": "100Gi"}`},
			completeCluster().withClaims(map[string]string{"pgdata-pynomaly-postgres-0": "200Gi", "pgdata-pynomaly-postgres-1": "250Gi", "data-pynomaly-influxdb-0": "500Gi"}),
			`cluster preflight [claim-size]: postgres.storageSize = "100Gi" is smaller than the deployed claim pgdata-pynomaly-postgres-1 (250Gi); a claim can grow but never shrink: set 250Gi or more.`},
		{"a smaller queue volume", "staging", cfg{"redisQueue": `{"storageSize": "4096Mi"}`},
			completeCluster().withClaims(map[string]string{"data-pynomaly-redis-queue-2": "5Gi", "data-pynomaly-redis-cache-0": "9Gi"}),
			`cluster preflight [claim-size]: redisQueue.storageSize = "4096Mi" is smaller than the deployed claim data-pynomaly-redis-queue-2 (5Gi); a claim can grow but never shrink: set 5Gi or more.`},
		{"a smaller backup claim", "dev", cfg{"storage": `{"backupSize": "5Gi"}`},
			completeCluster().withClaims(map[string]string{"pynomaly-backups": "10Gi"}),
			`cluster preflight [claim-size]: storage.backupSize = "5Gi" is smaller than the deployed claim pynomaly-backups (10Gi); a claim can grow but never shrink: set 10Gi or more.`},
		{"no WAL archive credentials", "prod", cfg{"identity": noIdentity, "postgres": `{"walArchive": {"s3Bucket": "pynomaly-wal", "credentialsSecret": "wal-s3"}}`, "network": `{"objectStorageCidrs": ["203.0.113.0/24"]}`},
			completeCluster().without("v1 secrets pynomaly-data-science/wal-s3"),
			`cluster preflight [wal-archive-secret]: secrets "wal-s3" (v1) in namespace pynomaly-data-science is missing; postgres.walArchive.credentialsSecret needs it.`},
		{"namespace of another stack", "dev", nil,
			completeCluster().withObject("v1 namespaces /pynomaly-data-science", `{"metadata": {"labels": {"app.kubernetes.io/instance": "pynomaly-prod"}}}`),
			`cluster preflight [stack-collision]: namespaces "pynomaly-data-science" (v1) is held by another stack (app.kubernetes.io/instance=pynomaly-prod); ` +
				"this stack (its namespace setting) needs it for itself. Give this stack a namespace of its own (pulumi config set namespace NAME)"},
		{"namespace made by hand", "prod", nil,
			completeCluster().withObject("v1 namespaces /pynomaly-data-science", `{"metadata": {"name": "pynomaly-data-science"}}`),
			`namespaces "pynomaly-data-science" (v1) is held by something other than a stack of this program (it has no app.kubernetes.io/instance label)`},
		{"storage class of another stack", "staging", nil,
			completeCluster().withObject("storage.k8s.io/v1 storageclasses /pynomaly-ssd", `{"metadata": {"labels": {"app.kubernetes.io/instance": "pynomaly-dev"}}}`),
			`cluster preflight [stack-collision]: storageclasses "pynomaly-ssd" (storage.k8s.io/v1) is held by another stack (app.kubernetes.io/instance=pynomaly-dev); ` +
				"this stack (storage.className, the class it creates) needs it for itself. Give this stack a StorageClass name of its own (pulumi config set --path storage.className NAME)"},
		{"no snapshot API", "prod", cfg{"storage": `{"snapshots": {"className": "csi-snapclass"}}`}, completeCluster().without("snapshot.storage.k8s.io/v1 volumesnapshots"),
			"cluster preflight [volume-snapshots]: the volumesnapshots API (snapshot.storage.k8s.io/v1) is missing; storage.snapshots needs it. Install the CSI snapshot controller and its CustomResourceDefinitions (kubernetes-csi/external-snapshotter), or turn snapshots off (storage.snapshots.createClass false, storage.snapshots.className empty)."},
		// prod creates its own class: only the API must be there.
		{"no snapshot class API", "prod", nil, completeCluster().without("snapshot.storage.k8s.io/v1 volumesnapshotclasses"),
			"cluster preflight [volume-snapshot-class]: the volumesnapshotclasses API (snapshot.storage.k8s.io/v1) is missing; storage.snapshots.createClass needs it. Install the CSI snapshot controller's CustomResourceDefinitions (kubernetes-csi/external-snapshotter)."},
		{"no pull secret", "dev", cfg{"images": `{"pullSecrets": ["registry-credentials"]}`}, completeCluster().without("v1 secrets pynomaly-data-science/registry-credentials"),
			`cluster preflight [image-pull-secret]: secrets "registry-credentials" (v1) in namespace pynomaly-data-science is missing; images.pullSecrets[0] needs it. Create it in the namespace (kubectl create secret docker-registry) before the first deployment.`},
		{"no workload identity", "prod", nil, completeCluster().without("admissionregistration.k8s.io/v1 mutatingwebhookconfigurations /pod-identity-webhook"),
			`cluster preflight [workload-identity]: mutatingwebhookconfigurations "pod-identity-webhook" (admissionregistration.k8s.io/v1) is missing; identity.objectStorage (kubernetes.cloud aws) needs it. Enable the cluster's workload identity (docs/clouds/aws.md): without its webhook the pods get no token and WAL-G cannot log in.`},
		{"no priority class", "staging", cfg{"priorityClasses": `{"names": {"worker": "batch-low"}}`}, completeCluster().without("scheduling.k8s.io/v1 priorityclasses /batch-low"),
			`cluster preflight [priority-class]: priorityclasses "batch-low" (scheduling.k8s.io/v1) is missing; priorityClasses.names.worker needs it. Create the PriorityClass, or name one the cluster has (kubectl get priorityclasses).`},
		{"no snapshot class", "staging", cfg{"storage": `{"snapshots": {"className": "csi-snapclass"}}`}, completeCluster().without("snapshot.storage.k8s.io/v1 volumesnapshotclasses /csi-snapclass"),
			`cluster preflight [volume-snapshot-class]: volumesnapshotclasses "csi-snapclass" (snapshot.storage.k8s.io/v1) is missing; storage.snapshots.className needs it. Create the VolumeSnapshotClass of the storage class's CSI driver, or name one the cluster has.`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := runOn(tc.cluster, nil, tc.env, tc.config)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "cluster preflight ["), "one line per missing piece:\n%s", err)
			assert.Empty(t, st.Resources, "nothing is declared on a cluster that lacks a piece")
		})
	}
}

// A stack's own namespace and StorageClass, as its last update left them, are no collision.
func TestPreflightAcceptsTheStacksOwnObjects(t *testing.T) {
	own := `{"metadata": {"labels": {"app.kubernetes.io/instance": "pynomaly-prod"}}}`
	c := completeCluster().withObject("v1 namespaces /pynomaly-data-science", own).withObject("storage.k8s.io/v1 storageclasses /pynomaly-ssd", own)
	_, err := runOn(c, nil, "prod", nil)
	require.NoError(t, err)
	assert.Contains(t, c.asked, "v1 namespaces /pynomaly-data-science")
	assert.Contains(t, c.asked, "storage.k8s.io/v1 storageclasses /pynomaly-ssd")
}

// Every missing piece is reported in one run, each on its own line.
func TestPreflightReportsEveryMissingPieceAtOnce(t *testing.T) {
	// A cluster without cert-manager serves none of its APIs.
	c := completeCluster().without("metrics.k8s.io/v1beta1 pods", "cert-manager.io/v1 certificates",
		"cert-manager.io/v1 clusterissuers", "networking.k8s.io/v1 ingressclasses /nginx")
	_, err := runOn(c, nil, "prod", cfg{"edge": ingressTLS})
	require.Error(t, err)
	var checks []string
	for _, m := range regexp.MustCompile(`(?m)cluster preflight \[([a-z-]+)\]: .*$`).FindAllStringSubmatch(err.Error(), -1) {
		checks = append(checks, m[1])
	}
	assert.Equal(t, []string{"metrics-api", "cert-manager", "ingress-class"}, checks, "one line each:\n%s", err)
	// The issuer is not looked for while its API is missing: the cert-manager line says what to install.
	assert.NotContains(t, c.asked, "cert-manager.io/v1 clusterissuers /letsencrypt")
}

// kubernetes.skipPreflight skips the named checks, or all; a rendering stack has no cluster to check.
func TestPreflightSkips(t *testing.T) {
	lacking := func() *fakeCluster {
		return completeCluster().without("metrics.k8s.io/v1beta1 pods", "networking.k8s.io/v1 ingressclasses /nginx")
	}
	_, err := runOn(lacking(), nil, "prod", cfg{"edge": ingressTLS, "kubernetes": `{"skipPreflight": ["metrics-api"]}`})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "[metrics-api]")
	assert.Contains(t, err.Error(), "[ingress-class]")

	c := lacking()
	_, err = runOn(c, nil, "prod", cfg{"edge": ingressTLS, "kubernetes": `{"skipPreflight": ["all"]}`})
	require.NoError(t, err)
	assert.Empty(t, c.asked, "nothing is asked of the cluster")

	c = lacking()
	_, err = runOn(c, nil, "prod", cfg{"kubernetes": `{"renderYamlToDirectory": "rendered/prod"}`})
	require.NoError(t, err)
	assert.Empty(t, c.asked, "a rendering stack has no cluster")

	_, err = run("prod", cfg{"kubernetes": `{"skipPreflight": ["metrics"]}`})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `kubernetes.skipPreflight[0] = "metrics": must be one of all, kubernetes-version, metrics-api,`)
}

// Claims that are as large as their templates, or smaller (they grow), or that belong to no
// template of the stack, pass; skipping the check does not read the claims.
func TestPreflightLetsClaimsGrow(t *testing.T) {
	deployed := map[string]string{
		"pgdata-pynomaly-postgres-0": "10Gi", "pgdata-pynomaly-postgres-1": "5Gi", // grows
		"data-pynomaly-influxdb-0":   "5120Mi", // equal: 5Gi
		"pynomaly-backups-old":       "900Gi",  // no template's
		"pgdata-pynomaly-postgres-x": "900Gi",  // no replica's
		"data-pynomaly-postgres-0":   "900Gi",  // another template
	}
	c := completeCluster().withClaims(deployed)
	_, err := runOn(c, nil, "dev", nil)
	require.NoError(t, err)
	assert.Contains(t, c.asked, "v1 persistentvolumeclaims pynomaly-data-science")

	c = completeCluster().withClaims(map[string]string{"pgdata-pynomaly-postgres-0": "900Gi"})
	_, err = runOn(c, nil, "dev", cfg{"kubernetes": `{"skipPreflight": ["claim-size"]}`})
	require.NoError(t, err, "the API server still refuses the smaller request when the check is skipped")
	assert.NotContains(t, c.asked, "v1 persistentvolumeclaims pynomaly-data-science")
}

// On a complete cluster each environment checks what its settings need, and passes.
func TestPreflightAsksWhatEachStackNeeds(t *testing.T) {
	for _, env := range []string{"dev", "staging", "prod"} {
		c := completeCluster()
		_, err := runOn(c, nil, env, cfg{"edge": ingressTLS, "monitoringMode": "operator", "grafana": internalGrafana})
		require.NoError(t, err, env)
		for _, want := range []string{"version", "metrics.k8s.io/v1beta1 pods", "cert-manager.io/v1 certificates",
			"cert-manager.io/v1 clusterissuers /letsencrypt", "networking.k8s.io/v1 ingressclasses /nginx",
			"monitoring.coreos.com/v1 podmonitors", "monitoring.coreos.com/v1 prometheusrules"} {
			assert.Contains(t, c.asked, want, env)
		}
		assert.NotContains(t, c.asked, "gateway.networking.k8s.io/v1 gateways", "%s: no Gateway API without a gateway entry", env)
	}
}

// The external metrics API the bundled adapter registers passes the preflight when no one holds
// it or the stack's own adapter does (a later update of the same stack); it is not looked for
// when the workers do not scale on the queue.
func TestPreflightLetsTheStackKeepItsOwnExternalMetricsAPI(t *testing.T) {
	const key = "apiregistration.k8s.io/v1 apiservices /v1beta1.external.metrics.k8s.io"
	own := completeCluster().withObject(key, `{"spec": {"service": {"namespace": "pynomaly-data-science", "name": "pynomaly-metrics-adapter"}}}`)
	_, err := runOn(own, nil, "prod", nil)
	require.NoError(t, err)
	assert.Contains(t, own.asked, key)
	other := completeCluster().withObject(key, `{"spec": {"service": {"namespace": "keda", "name": "keda"}}}`)
	_, err = runOn(other, nil, "prod", cfg{"worker": `{"queueScaling": {"enabled": false}}`})
	require.NoError(t, err, "without queue scaling the stack registers no external metrics API")
	assert.NotContains(t, other.asked, key)
}
