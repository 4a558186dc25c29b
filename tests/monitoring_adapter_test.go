package tests

import (
	"os"
	"strings"
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/monitoring"
)

const (
	apiServiceType = "kubernetes:apiregistration.k8s.io/v1:APIService"
)

// adapterConf is the part of prometheus-adapter's config.yaml the tests read.
type adapterConf struct {
	ExternalRules []struct {
		SeriesQuery string `yaml:"seriesQuery"`
		Resources   struct {
			Overrides map[string]struct {
				Resource string `yaml:"resource"`
			} `yaml:"overrides"`
		} `yaml:"resources"`
		Name struct {
			Matches string `yaml:"matches"`
			As      string `yaml:"as"`
		} `yaml:"name"`
		MetricsQuery string `yaml:"metricsQuery"`
	} `yaml:"externalRules"`
	Rules         []any `yaml:"rules"`
	ResourceRules any   `yaml:"resourceRules"`
}

// Where the level provides it (bundled, full and comprehensive) the workers scale on the queue's
// depth, served by the bundled prometheus-adapter: its one external rule serves the name the HPA
// asks for, from the series the queue Redis exporter reports, selected by the HPA's labels; the
// APIService sends the external metrics API to it once it is ready.
func TestMetricsAdapterServesTheQueueDepth(t *testing.T) {
	replicas := map[string]int{"dev": 0, "staging": 1, "prod": 2}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			hpa := st.One(t, hpaType, app.WorkerName)
			if replicas[env] == 0 {
				assert.Empty(t, st.OfType(apiServiceType))
				assert.Empty(t, st.OfType(deploymentType+"/"+monitoring.MetricsAdapterName))
				assert.False(t, hpa.Has("spec.metrics.2"), "no adapter, no external metric")
				return
			}
			d := st.One(t, deploymentType, monitoring.MetricsAdapterName)
			assert.Equal(t, replicas[env], d.Int(t, "spec.replicas"))
			c := d.Container(t, podSpec, "prometheus-adapter")
			cmd := strings.Join(stringList(t, d, c+".command"), " ")
			assert.Contains(t, cmd, "--prometheus-url=$(PROMETHEUS_URL)")
			assert.Equal(t, "http://pynomaly-prometheus.pynomaly-data-science.svc:9090", d.Env(t, c)["PROMETHEUS_URL"])
			assert.Equal(t, "HTTPS", d.Str(t, c+".readinessProbe.httpGet.scheme"))

			api := st.One(t, apiServiceType, monitoring.ExternalMetricsAPI)
			assert.Equal(t, monitoring.ExternalMetricsAPI, api.Str(t, "metadata.name"))
			assert.Equal(t, "external.metrics.k8s.io", api.Str(t, "spec.group"))
			assert.Equal(t, "v1beta1", api.Str(t, "spec.version"))
			assert.Equal(t, monitoring.MetricsAdapterName, api.Str(t, "spec.service.name"))
			assert.Equal(t, "pynomaly-data-science", api.Str(t, "spec.service.namespace"))
			svc := st.One(t, serviceType, monitoring.MetricsAdapterName)
			assert.Equal(t, api.Int(t, "spec.service.port"), svc.Int(t, "spec.ports.0.port"))
			assert.Equal(t, d.StringMap(t, "spec.selector.matchLabels"), svc.StringMap(t, "spec.selector"))
			assert.True(t, st.DependsOn(api, d), "registered once the adapter is ready")
			checkAdapterIsVerified(t, st, d, api)

			var conf adapterConf
			cm := st.One(t, configMapType, monitoring.MetricsAdapterName).StringMap(t, "data")["config.yaml"]
			require.NoError(t, yaml.Unmarshal([]byte(cm), &conf))
			assert.Empty(t, conf.Rules, "no custom metrics")
			assert.Nil(t, conf.ResourceRules, "no resource metrics")
			require.Len(t, conf.ExternalRules, 1)
			r := conf.ExternalRules[0]
			assert.Equal(t, hpa.Str(t, "spec.metrics.2.external.metric.name"), r.Name.As, "the rule serves the name the HPA asks for")
			assert.Equal(t, "namespace", r.Resources.Overrides["namespace"].Resource)
			for k, v := range hpa.StringMap(t, "spec.metrics.2.external.metric.selector.matchLabels") {
				assert.Contains(t, r.SeriesQuery, k+`="`+v+`"`, "the series carry the HPA's selector labels")
			}
			assert.True(t, strings.HasPrefix(r.SeriesQuery, "redis_key_size{"), r.SeriesQuery)
			assert.Contains(t, r.SeriesQuery, `component="redis-queue"`)
			assert.Contains(t, r.SeriesQuery, `namespace="pynomaly-data-science"`)
			assert.Contains(t, r.MetricsQuery, "<<.LabelMatchers>>", "the HPA's selector and namespace reach the query")
		})
	}
}

// The adapter's rule queries parse once prometheus-adapter fills in its template, as it does
// for the worker HPA's request.
func TestMetricsAdapterQueriesParse(t *testing.T) {
	r := monitoring.QueueDepthRule("pynomaly-data-science", "pynomaly_task_queue_depth")
	tmpl, err := template.New("q").Delims("<<", ">>").Parse(r.MetricsQuery)
	require.NoError(t, err)
	var q strings.Builder
	require.NoError(t, tmpl.Execute(&q, map[string]string{
		"Series": "redis_key_size", "LabelMatchers": `key="pynomaly-tasks",namespace="pynomaly-data-science"`, "GroupBy": "namespace",
	}))
	assert.NotContains(t, q.String(), "<<")
	assertPromQLParses(t, []string{r.SeriesQuery, q.String()})
}

// The adapter may authenticate and authorize the API server's requests, and nothing else: the
// built-in auth-delegator and authentication-reader roles, bound (auto-named) to its own
// account; it reads no object of the cluster.
func TestMetricsAdapterAccess(t *testing.T) {
	st := deploy(t, "prod", nil)
	d := st.One(t, deploymentType, monitoring.MetricsAdapterName)
	assert.Equal(t, monitoring.MetricsAdapterName, d.Str(t, podSpec+".serviceAccountName"))
	st.One(t, serviceAccountType, monitoring.MetricsAdapterName)
	crb := st.One(t, clusterRoleBindingType, monitoring.MetricsAdapterName)
	assert.Equal(t, "system:auth-delegator", crb.Str(t, "roleRef.name"))
	assert.False(t, crb.Has("metadata.name"), "auto-named: stacks sharing a cluster do not collide")
	rb := st.One(t, roleBindingType, monitoring.MetricsAdapterName+"-auth-reader")
	assert.Equal(t, "kube-system", rb.Str(t, "metadata.namespace"))
	assert.Equal(t, "extension-apiserver-authentication-reader", rb.Str(t, "roleRef.name"))
	assert.Equal(t, "Role", rb.Str(t, "roleRef.kind"))
	assert.False(t, rb.Has("metadata.name"))
	for _, b := range []*Resource{crb, rb} {
		assert.Equal(t, monitoring.MetricsAdapterName, b.Str(t, "subjects.0.name"))
		assert.Equal(t, "pynomaly-data-science", b.Str(t, "subjects.0.namespace"))
		assert.True(t, st.DependsOn(d, b), "the adapter starts with its rights")
	}
	for _, r := range append(st.OfType(clusterRoleType), st.OfType(roleType)...) {
		assert.NotContains(t, r.Name, "adapter", "the adapter needs no role of its own")
	}
}

// In operator mode the cluster serves external metrics, if anything does: no adapter, and the
// workers scale on the queue only when a stack says so.
func TestOperatorModeLeavesQueueScalingToTheCluster(t *testing.T) {
	st := deploy(t, "prod", cfg{"monitoringMode": "operator", "grafana": internalGrafana})
	assert.Empty(t, st.OfType(apiServiceType))
	assert.False(t, st.One(t, hpaType, app.WorkerName).Has("spec.metrics.2"))
	st = deploy(t, "prod", cfg{"monitoringMode": "operator", "grafana": internalGrafana, "worker": `{"queueScaling": {"enabled": true}}`})
	assert.Empty(t, st.OfType(apiServiceType))
	assert.Equal(t, "External", st.One(t, hpaType, app.WorkerName).Str(t, "spec.metrics.2.type"))
	// And a bundled stack at the basic level may ask for it: the adapter comes with it.
	st = deploy(t, "dev", cfg{"worker": `{"queueScaling": {"enabled": true}}`})
	st.One(t, apiServiceType, monitoring.ExternalMetricsAPI)
	assert.Equal(t, 1, st.One(t, deploymentType, monitoring.MetricsAdapterName).Int(t, "spec.replicas"))
}

// The rule docs/monitoring.md gives an operator-mode cluster is the program's own.
func TestReadmeGivesTheAdapterRule(t *testing.T) {
	page, err := os.ReadFile("../docs/monitoring.md")
	require.NoError(t, err)
	r := monitoring.QueueDepthRule(config.DefaultNamespace, "pynomaly_task_queue_depth")
	assert.Contains(t, string(page), "seriesQuery: '"+r.SeriesQuery+"'")
	assert.Contains(t, string(page), "metricsQuery: '"+r.MetricsQuery+"'")
}

// With internal TLS (staging and prod) the API server verifies the adapter: the adapter serves
// the internal CA's certificate for its Service's name, and cert-manager's CA injector writes that
// CA into the APIService, which no longer skips verification.
func checkAdapterIsVerified(t *testing.T, st *Stack, d, api *Resource) {
	t.Helper()
	// Unset rather than false: the API server drops a false, and the next preview would differ.
	assert.False(t, api.Has("spec.insecureSkipTLSVerify"), "the API server skips verifying the adapter, or a false the server drops")
	cert := monitoring.MetricsAdapterTLS().SecretName()
	assert.Equal(t, "pynomaly-data-science/"+cert, api.StringMap(t, "metadata.annotations")["cert-manager.io/inject-ca-from"])
	c := d.Container(t, podSpec, "prometheus-adapter")
	cmd := stringList(t, d, c+".command")
	assert.Contains(t, cmd, "--tls-cert-file=/etc/pynomaly/tls/tls.crt")
	assert.Contains(t, cmd, "--tls-private-key-file=/etc/pynomaly/tls/tls.key")
	assert.Contains(t, sprintAll(d.Inputs), cert, "the certificate's Secret is mounted")
	names := stringList(t, st.One(t, certificateType, cert), "spec.dnsNames")
	assert.Contains(t, names, monitoring.MetricsAdapterName+".pynomaly-data-science.svc", "the name the API server dials")
}
