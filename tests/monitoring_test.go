package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/internal/sizing"
	"github.com/pynomaly/pynomaly-platform/monitoring"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// The monitoring tier at each level: which workloads run, what Prometheus scrapes (every
// workload with a metrics port, found by its selector), the rules it loads, its access to the
// API, and Grafana's credentials.

const (
	roleType               = "kubernetes:rbac.authorization.k8s.io/v1:Role"
	clusterRoleType        = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
	clusterRoleBindingType = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
)

func TestMonitoringWorkloadsPerLevel(t *testing.T) {
	want := map[string][]string{
		"dev":     {"Deployment/pynomaly-grafana", "StatefulSet/pynomaly-prometheus"},
		"staging": {"Deployment/pynomaly-grafana", "Deployment/pynomaly-kube-state-metrics", "Deployment/pynomaly-metrics-adapter", "StatefulSet/pynomaly-alertmanager", "StatefulSet/pynomaly-prometheus"},
		"prod":    {"Deployment/pynomaly-grafana", "Deployment/pynomaly-kube-state-metrics", "Deployment/pynomaly-metrics-adapter", "StatefulSet/pynomaly-alertmanager", "StatefulSet/pynomaly-prometheus"},
	}
	replicas := map[string][2]int{"dev": {1, 0}, "staging": {1, 1}, "prod": {2, 3}}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			var got []string
			for _, w := range st.Platform.Monitoring.Declared() {
				got = append(got, w.Kind+"/"+w.Name)
			}
			slices.Sort(got)
			assert.Equal(t, want[env], got)
			prom := st.One(t, statefulSetType, monitoring.PrometheusName)
			assert.Equal(t, replicas[env][0], prom.Int(t, "spec.replicas"))
			if replicas[env][1] == 0 {
				assert.Empty(t, st.OfType(statefulSetType+"/"+monitoring.AlertmanagerName))
				return
			}
			am := st.One(t, statefulSetType, monitoring.AlertmanagerName)
			assert.Equal(t, replicas[env][1], am.Int(t, "spec.replicas"))
			cmd := strings.Join(stringList(t, am, am.Container(t, "spec.template.spec", "alertmanager")+".command"), " ")
			assert.Equal(t, replicas[env][1]*boolInt(replicas[env][1] > 1), strings.Count(cmd, "--cluster.peer="), "%s: one peer per member of a cluster", cmd)
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func stringList(t *testing.T, r *Resource, path string) []string {
	t.Helper()
	v, ok := r.Get(path)
	require.True(t, ok, "%s %s: no %s", r.Type, r.Name, path)
	var out []string
	for _, e := range v.ArrayValue() {
		out = append(out, e.StringValue())
	}
	return out
}

// promYAML is the part of prometheus.yml the tests read.
type promYAML struct {
	RuleFiles []string `yaml:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"alertmanagers"`
	} `yaml:"alerting"`
	ScrapeConfigs []struct {
		JobName      string `yaml:"job_name"`
		MetricsPath  string `yaml:"metrics_path"`
		KubernetesSD []struct {
			Role       string `yaml:"role"`
			Namespaces struct {
				Names []string `yaml:"names"`
			} `yaml:"namespaces"`
			Selectors []struct {
				Label string `yaml:"label"`
			} `yaml:"selectors"`
		} `yaml:"kubernetes_sd_configs"`
		RelabelConfigs []struct {
			SourceLabels []string `yaml:"source_labels"`
			Regex        string   `yaml:"regex"`
			Action       string   `yaml:"action"`
		} `yaml:"relabel_configs"`
	} `yaml:"scrape_configs"`
}

func prometheusYAML(t *testing.T, st *Stack) string {
	t.Helper()
	return st.One(t, configMapType, monitoring.PrometheusName).StringMap(t, "data")["prometheus.yml"]
}

// Every workload with a metrics port, the monitoring tier's own included, is one job: its pods
// found by its own selector in the namespace (the node agents' in theirs), kept on its metrics
// port and path. The kubelets, cAdvisor and the API server are scraped besides.
func TestScrapeJobsCoverEveryWorkloadWithMetrics(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			var conf promYAML
			require.NoError(t, yaml.Unmarshal([]byte(prometheusYAML(t, st)), &conf))
			jobs := map[string]int{}
			for i, j := range conf.ScrapeConfigs {
				jobs[j.JobName] = i
			}
			scraped := 0
			for _, w := range st.Platform.Workloads() {
				if w.Metrics == nil {
					continue
				}
				scraped++
				i, ok := jobs[w.Name]
				if !assert.True(t, ok, "%s: workload %s has metrics on %d but no scrape job", env, w.Name, w.Metrics.Port) {
					continue
				}
				j := conf.ScrapeConfigs[i]
				assert.Equal(t, w.Metrics.Path, j.MetricsPath, w.Name)
				require.Len(t, j.KubernetesSD, 1, w.Name)
				sd := j.KubernetesSD[0]
				assert.Equal(t, "pod", sd.Role, w.Name)
				// A DaemonSet is a node agent: its pods run in the node agents' namespace.
				ns := "pynomaly-data-science"
				if w.Kind == "DaemonSet" {
					ns += "-node"
				}
				assert.Equal(t, []string{ns}, sd.Namespaces.Names, w.Name)
				require.Len(t, sd.Selectors, 1, w.Name)
				selector := map[string]string{}
				for _, kv := range strings.Split(sd.Selectors[0].Label, ",") {
					k, v, _ := strings.Cut(kv, "=")
					selector[k] = v
				}
				assert.Equal(t, w.Selector, selector, "%s: the job selects the workload's pods", w.Name)
				keepsPort := false
				for _, r := range j.RelabelConfigs {
					if slices.Equal(r.SourceLabels, []string{"__meta_kubernetes_pod_container_port_number"}) {
						keepsPort = r.Action == "keep" && r.Regex == strconv.Itoa(w.Metrics.Port)
					}
				}
				assert.True(t, keepsPort, "%s: the job keeps only port %d", w.Name, w.Metrics.Port)
			}
			// API, workers, Nginx, PostgreSQL, both Redis, InfluxDB, Prometheus, Grafana at least.
			assert.GreaterOrEqual(t, scraped, 9, env)
			for _, job := range []string{"kubelet", "cadvisor", "apiserver"} {
				assert.Contains(t, jobs, job, env)
			}
			if env == "dev" {
				assert.Empty(t, conf.Alerting.Alertmanagers, "basic has no Alertmanager")
				return
			}
			require.Len(t, conf.Alerting.Alertmanagers, 1)
			members := map[string]int{"staging": 1, "prod": 3}[env]
			assert.Len(t, conf.Alerting.Alertmanagers[0].StaticConfigs[0].Targets, members, "every member gets every alert")
		})
	}
}

// A workload declared later with a metrics port is scraped without further code: the jobs
// come from the workload model alone.
func TestScrapeTargetsComeFromTheWorkloadModel(t *testing.T) {
	st := deploy(t, "dev", nil)
	var want []string
	for _, w := range st.Platform.Workloads() {
		if w.Metrics != nil {
			want = append(want, w.Name)
		}
	}
	var got []string
	for _, tg := range st.Platform.Monitoring.Targets {
		got = append(got, tg.Job)
	}
	slices.Sort(want)
	slices.Sort(got)
	assert.Equal(t, want, got)
}

// promtool check config loads prometheus.yml of each environment with the rule files it names.
// Debian builds Prometheus without the Kubernetes service discovery, so its promtool refuses
// kubernetes_sd_configs: the check runs on a copy where each is a static target, which still
// checks every job, relabelling, TLS and authorization block; the discovery blocks themselves are
// held to their shape by TestScrapeJobsCoverEveryWorkloadWithMetrics.
func TestPromtoolChecksThePrometheusConfig(t *testing.T) {
	promtool := tool(t, "promtool")
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			dir := t.TempDir()
			rulesDir := filepath.Join(dir, "rules")
			require.NoError(t, os.Mkdir(rulesDir, 0o755))
			rules := st.One(t, configMapType, monitoring.PrometheusName+"-rules").StringMap(t, "data")
			for name, content := range rules {
				require.NoError(t, os.WriteFile(filepath.Join(rulesDir, name), []byte(content), 0o644))
			}
			conf := prometheusYAML(t, st)
			var parsed promYAML
			require.NoError(t, yaml.Unmarshal([]byte(conf), &parsed))
			require.Len(t, parsed.RuleFiles, 1)
			ruleDir := filepath.Dir(parsed.RuleFiles[0])
			// The pod's paths, moved into the test's directory.
			conf = strings.ReplaceAll(conf, ruleDir, rulesDir)
			conf = strings.ReplaceAll(conf, "/var/run/secrets/kubernetes.io/serviceaccount", dir)
			for _, f := range []string{"ca.crt", "token"} {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644))
			}
			path := filepath.Join(dir, "prometheus.yml")
			require.NoError(t, os.WriteFile(path, []byte(withoutKubernetesSD(t, conf)), 0o644))
			out, err := exec.Command(promtool, "check", "config", path).CombinedOutput()
			require.NoError(t, err, "%s\n%s", out, conf)
			// Every rule of the file, the node agents' included where the stack runs them.
			assert.Contains(t, string(out), "SUCCESS: "+itoa(strings.Count(rules["pynomaly.yml"], "- alert: "))+" rules found")
			assert.GreaterOrEqual(t, strings.Count(rules["pynomaly.yml"], "- alert: "),
				len(monitoring.AlertRules(config.DefaultNamespace, monitoring.Database{WALArchiving: env == "prod"}, profileSLO(config.Environment(env)))))
		})
	}
}

// Where the entry point has a cert-manager certificate, Prometheus scrapes cert-manager for this
// namespace's certificates (so the certificate alert can fire in bundled mode); the
// configuration passes promtool. Without a certificate there is no such job.
func TestCertManagerIsScrapedWhereTheEntryHasACertificate(t *testing.T) {
	promtool := tool(t, "promtool")
	exposed := cfg{"edge": `{"entry": "ingress", "trustedProxies": ["10.244.0.0/16"], "hosts": ["api.pynomaly.test"]}`}
	st := deploy(t, "prod", exposed)
	conf := prometheusYAML(t, st)
	var doc struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			HonorLabels   bool   `yaml:"honor_labels"`
			StaticConfigs []struct {
				Targets []string          `yaml:"targets"`
				Labels  map[string]string `yaml:"labels"`
			} `yaml:"static_configs"`
			MetricRelabel []struct {
				SourceLabels []string `yaml:"source_labels"`
				Regex        string   `yaml:"regex"`
				Action       string   `yaml:"action"`
			} `yaml:"metric_relabel_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(conf), &doc))
	var found bool
	for _, j := range doc.ScrapeConfigs {
		if j.JobName != "cert-manager" {
			continue
		}
		found = true
		assert.True(t, j.HonorLabels, "the certificate's own namespace label is kept")
		assert.Equal(t, []string{monitoring.CertManagerMetrics}, j.StaticConfigs[0].Targets)
		assert.Equal(t, "pynomaly-data-science", j.StaticConfigs[0].Labels["namespace"], "its up series is the namespace's: PynomalyTargetDown sees it")
		require.Len(t, j.MetricRelabel, 2)
		assert.Equal(t, []string{"namespace"}, j.MetricRelabel[1].SourceLabels)
		assert.Equal(t, "pynomaly-data-science", j.MetricRelabel[1].Regex)
		assert.Equal(t, "keep", j.MetricRelabel[1].Action)
	}
	assert.True(t, found, "no cert-manager job:\n%s", conf)
	path := writeFile(t, "prometheus.yml", withoutKubernetesSD(t, strings.NewReplacer(
		"/var/run/secrets/kubernetes.io/serviceaccount/", "/dev/null/", "/etc/prometheus-rules/*.yml", "/dev/null/none-*.yml").Replace(conf)))
	out, err := exec.Command(promtool, "check", "config", "--syntax-only", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.NotContains(t, prometheusYAML(t, deploy(t, "prod", withoutEntry)), "job_name: cert-manager")
}

// Every rule is loaded in every environment.
func TestEveryRuleInEveryEnvironment(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		rules := st.One(t, configMapType, monitoring.PrometheusName+"-rules").StringMap(t, "data")["pynomaly.yml"]
		for _, r := range monitoring.AlertRules(config.DefaultNamespace, monitoring.Database{}, profileSLO(config.Environment(env))) {
			assert.Contains(t, rules, "alert: "+r.Name+"\n", env)
			assert.Contains(t, rules, r.Runbook(), env)
		}
	}
}

// The WAL-archive alert is loaded where PostgreSQL archives its WAL, bundled or for the
// operator, and only there.
func TestWALArchiveAlertOnlyWithArchiving(t *testing.T) {
	archive := `{"walArchive": {"s3Bucket": "pynomaly-wal", "region": "eu-west-1"}}`
	const alert = "alert: PynomalyWALArchivingFailing\n"
	rules := func(st *Stack) string {
		return st.One(t, configMapType, monitoring.PrometheusName+"-rules").StringMap(t, "data")["pynomaly.yml"]
	}
	// The security tier lets WAL-G reach only the object store's addresses, which it needs named.
	store := `{"objectStorageCidrs": ["203.0.113.0/24"]}`
	assert.Contains(t, rules(deploy(t, "staging", cfg{"postgres": archive, "network": store})), alert)
	assert.NotContains(t, rules(deploy(t, "staging", nil)), alert)
	assert.Contains(t, rules(deploy(t, "prod", nil)), alert, "prod archives WAL")
	operatorRules := func(c cfg) string {
		st := deploy(t, "staging", c)
		v, ok := st.One(t, prometheusRuleType, "pynomaly").Get("spec")
		require.True(t, ok)
		return sprintAll(v)
	}
	assert.Contains(t, operatorRules(cfg{"monitoringMode": "operator", "postgres": archive, "network": store}), "PynomalyWALArchivingFailing")
	assert.NotContains(t, operatorRules(cfg{"monitoringMode": "operator"}), "PynomalyWALArchivingFailing")
}

// Prometheus reads, and only reads: pods, services, endpoints and endpointslices in the
// namespace; nodes, the kubelets' metrics and the API server's /metrics in the cluster. No
// secrets, no wildcards, no nodes/proxy.
func TestPrometheusAccessIsDiscoveryOnly(t *testing.T) {
	st := deploy(t, "prod", nil)
	role := st.One(t, roleType, monitoring.PrometheusName)
	assert.Equal(t, []string{
		"/pods,services,endpoints/get,list,watch",
		"discovery.k8s.io/endpointslices/get,list,watch",
	}, rules(t, role))
	cr := st.One(t, clusterRoleType, monitoring.PrometheusName)
	assert.Equal(t, []string{
		"/nodes/list,watch",
		"/nodes/metrics/get",
		"urls:/metrics/get",
	}, rules(t, cr))
	assert.False(t, cr.Has("metadata.name"), "auto-named: stacks sharing a cluster do not collide")
	crb := st.One(t, clusterRoleBindingType, monitoring.PrometheusName)
	assert.Equal(t, monitoring.PrometheusName, crb.Str(t, "subjects.0.name"))
	prom := st.One(t, statefulSetType, monitoring.PrometheusName)
	assert.Equal(t, monitoring.PrometheusName, prom.Str(t, "spec.template.spec.serviceAccountName"))
	assert.True(t, st.DependsOn(prom, crb), "Prometheus starts with its rights")
	ksm := st.One(t, roleType, monitoring.KubeStateMetricsName)
	for _, r := range rules(t, ksm) {
		assert.True(t, strings.HasSuffix(r, "/list,watch"), r)
		assert.NotContains(t, r, "secrets")
	}
}

// rules renders a Role's rules as group/resources/verbs[names] (urls:path/verbs for non-resource
// URLs).
func rules(t *testing.T, r *Resource) []string {
	t.Helper()
	v, ok := r.Get("rules")
	require.True(t, ok)
	var out []string
	join := func(pv resource.PropertyValue) string {
		var s []string
		for _, e := range pv.ArrayValue() {
			s = append(s, e.StringValue())
		}
		return strings.Join(s, ",")
	}
	for _, rule := range v.ArrayValue() {
		m := rule.ObjectValue()
		verbs := join(m["verbs"])
		if u, ok := m["nonResourceURLs"]; ok {
			out = append(out, "urls:"+join(u)+"/"+verbs)
			continue
		}
		rule := join(m["apiGroups"]) + "/" + join(m["resources"]) + "/" + verbs
		if names, ok := m["resourceNames"]; ok {
			rule += "[" + join(names) + "]"
		}
		out = append(out, rule)
	}
	return out
}

func TestGrafanaCredentialsComeFromTheSecretsTier(t *testing.T) {
	st := deploy(t, "staging", nil)
	g := st.One(t, deploymentType, monitoring.GrafanaName)
	env := g.Env(t, g.Container(t, "spec.template.spec", "grafana"))
	assert.Equal(t, "secret:"+credentials.GrafanaSecretName+"/"+credentials.GrafanaAdminPasswordKey, env["GF_SECURITY_ADMIN_PASSWORD"])
	assert.Equal(t, "false", env["GF_USERS_ALLOW_SIGN_UP"])
	ds := st.One(t, configMapType, monitoring.GrafanaName+"-datasources").StringMap(t, "data")["datasources.yaml"]
	assert.Contains(t, ds, "url: http://pynomaly-prometheus.pynomaly-data-science.svc:9090")
}

// Grafana reads InfluxDB through the read-only login of the InfluxDB Secret: the datasource
// names only environment variables, which come from that Secret; no admin token reaches
// Grafana, and the password is secret wherever it is.
func TestGrafanaReadsInfluxDBWithTheReadOnlyLogin(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		var ds struct {
			Datasources []struct {
				Name, Type, URL, User string
				JSONData              map[string]string `yaml:"jsonData"`
				SecureJSONData        map[string]string `yaml:"secureJsonData"`
			} `yaml:"datasources"`
		}
		conf := st.One(t, configMapType, monitoring.GrafanaName+"-datasources").StringMap(t, "data")["datasources.yaml"]
		require.NoError(t, yaml.Unmarshal([]byte(conf), &ds))
		byType := map[string]int{}
		for i, d := range ds.Datasources {
			byType[d.Type] = i
		}
		require.Contains(t, byType, "influxdb", env)
		influx := ds.Datasources[byType["influxdb"]]
		// https where tls.internal is on (staging, prod), checked against the CA SSL_CERT_FILE names.
		scheme := map[string]string{"dev": "http", "staging": "https", "prod": "https"}[env]
		assert.Equal(t, scheme+"://pynomaly-influxdb.pynomaly-data-science.svc:8086", influx.URL)
		assert.Equal(t, "metrics", influx.JSONData["dbName"])
		assert.Equal(t, "${INFLUXDB_READER_USER}", influx.User)
		assert.Equal(t, map[string]string{"password": "${INFLUXDB_READER_PASSWORD}"}, influx.SecureJSONData)
		assert.NotContains(t, strings.ToLower(conf), "token", "%s: the datasources name no token", env)

		g := st.One(t, deploymentType, monitoring.GrafanaName)
		genv := g.Env(t, g.Container(t, "spec.template.spec", "grafana"))
		if scheme == "https" {
			gp := PodTemplate{g, "spec.template.spec", true}
			assert.Equal(t, tier.InternalTrustSecret, mountedSecret(t, gp, g.Container(t, gp.Path, "grafana"), genv["SSL_CERT_FILE"]), env)
		}
		assert.Equal(t, "secret:"+credentials.InfluxDBSecretName+"/"+credentials.InfluxDBReaderUserKey, genv["INFLUXDB_READER_USER"])
		assert.Equal(t, "secret:"+credentials.InfluxDBSecretName+"/"+credentials.InfluxDBReaderPasswordKey, genv["INFLUXDB_READER_PASSWORD"])
		for name, v := range genv {
			assert.NotContains(t, v, "secret:"+credentials.InfluxDBSecretName+"/admin-", "%s: Grafana's %s is an InfluxDB admin credential", env, name)
		}
		secret := st.One(t, secretType, credentials.InfluxDBSecretName)
		assert.True(t, secret.IsSecret(t, "stringData."+credentials.InfluxDBReaderPasswordKey), env)
		assert.NotEqual(t, secret.StringMap(t, "stringData")[credentials.InfluxDBAdminTokenKey],
			secret.StringMap(t, "stringData")[credentials.InfluxDBReaderPasswordKey], env)

		// The setup job keeps the login: the password reaches curl on standard input, the
		// admin token as a header file, neither as an argument.
		job := st.One(t, jobType, influxdb.SetupJob)
		je := job.Env(t, podSpec+".containers.0")
		assert.Equal(t, "secret:"+credentials.InfluxDBSecretName+"/"+credentials.InfluxDBReaderPasswordKey, je["READER_PASSWORD"])
		script := job.Str(t, podSpec+".containers.0.command.2")
		login := script[strings.Index(script, "influx v1 auth create"):]
		login = login[:strings.Index(login, "\n")]
		assert.Contains(t, login, "--read-bucket")
		assert.NotContains(t, login, "--write-bucket")
		assert.Contains(t, script, "--data-binary @- ")
		assert.Contains(t, script, "-H @/tmp/admin-header")
		assert.NotContains(t, script, "--password", "no password as an argument")
		assert.NotContains(t, script, "--token", "no token as an argument")
	}
}

// The webhook receiver's URL, given with --secret, is only in the Alertmanager configuration,
// a Secret that is secret in the state too, which the members mount; and in no other input.
func TestAlertWebhookURLStaysSecret(t *testing.T) {
	const hook = "https://hooks.example.com/services/T0/B0/TopSecret42"
	st := deploy(t, "staging", cfg{"alertmanagerWebhookUrl": hook}, "alertmanagerWebhookUrl")
	conf := st.One(t, secretType, monitoring.AlertmanagerName)
	assert.True(t, conf.IsSecret(t, "stringData"))
	assert.Contains(t, conf.StringMap(t, "stringData")["alertmanager.yml"], "url: "+hook)
	assert.Empty(t, st.OfType(configMapType+"/"+monitoring.AlertmanagerName), "no ConfigMap holds the configuration")
	for _, r := range st.Resources {
		walkPlain(resource.NewProperty(r.Inputs), func(s string) {
			assert.NotContains(t, s, "TopSecret42", "%s %s holds the webhook URL in plain text", r.Type, r.Name)
		})
	}
	am := st.One(t, statefulSetType, monitoring.AlertmanagerName)
	volumes, _ := am.Get("spec.template.spec.volumes")
	mounted := ""
	for i := range volumes.ArrayValue() {
		if p := "spec.template.spec.volumes." + itoa(i); am.Str(t, p+".name") == "config" {
			mounted = am.Str(t, p+".secret.secretName")
		}
	}
	assert.True(t, strings.HasPrefix(mounted, monitoring.AlertmanagerName+"-"), "the members mount the configuration Secret: %q", mounted)
	// Without the setting there is no webhook.
	none := deploy(t, "staging", nil).One(t, secretType, monitoring.AlertmanagerName)
	assert.NotContains(t, none.StringMap(t, "stringData")["alertmanager.yml"], "webhook_configs")
}

// withoutKubernetesSD replaces every job's kubernetes_sd_configs with a static target.
func withoutKubernetesSD(t *testing.T, conf string) string {
	t.Helper()
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(conf), &doc))
	jobs, _ := doc["scrape_configs"].([]any)
	for _, j := range jobs {
		job := j.(map[string]any)
		if _, ok := job["kubernetes_sd_configs"]; ok {
			delete(job, "kubernetes_sd_configs")
			job["static_configs"] = []any{map[string]any{"targets": []any{"127.0.0.1:9"}}}
		}
	}
	b, err := yaml.Marshal(doc)
	require.NoError(t, err)
	return string(b)
}

// Prometheus reads what the pod mounts: the configuration file its flag names, and the rule
// files the configuration names, each from the ConfigMap the program wrote.
func TestPrometheusReadsWhatItsPodMounts(t *testing.T) {
	st := deploy(t, "prod", nil)
	prom := st.One(t, statefulSetType, monitoring.PrometheusName)
	c := prom.Container(t, "spec.template.spec", "prometheus")
	mounts := map[string]string{}
	v, _ := prom.Get(c + ".volumeMounts")
	for i := range v.ArrayValue() {
		p := c + ".volumeMounts." + itoa(i)
		mounts[prom.Str(t, p+".name")] = prom.Str(t, p+".mountPath")
	}
	volumes := map[string]string{}
	v, _ = prom.Get("spec.template.spec.volumes")
	for i := range v.ArrayValue() {
		p := "spec.template.spec.volumes." + itoa(i)
		if prom.Has(p + ".configMap") {
			volumes[prom.Str(t, p+".name")] = prom.Str(t, p+".configMap.name")
		}
	}
	cmd := strings.Join(stringList(t, prom, c+".command"), " ")
	assert.Contains(t, cmd, "--config.file="+mounts["config"]+"/prometheus.yml")
	assert.True(t, strings.HasPrefix(volumes["config"], monitoring.PrometheusName+"-") &&
		!strings.HasPrefix(volumes["config"], monitoring.PrometheusName+"-rules"), volumes["config"])
	var conf promYAML
	require.NoError(t, yaml.Unmarshal([]byte(prometheusYAML(t, st)), &conf))
	assert.Equal(t, []string{mounts["rules"] + "/*.yml"}, conf.RuleFiles)
	assert.True(t, strings.HasPrefix(volumes["rules"], monitoring.PrometheusName+"-rules-"), volumes["rules"])
	assert.Contains(t, cmd, "--storage.tsdb.retention.time=30d")
}

const (
	podMonitorType     = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
	prometheusRuleType = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
)

// In operator mode the cluster's Prometheus Operator scrapes and alerts: the tier is a
// PodMonitor per workload with a metrics port (by the port's name) and the rules as a
// PrometheusRule, which promtool accepts; no monitoring pod runs in the namespace.
func TestOperatorModeWritesMonitorsAndRules(t *testing.T) {
	promtool := tool(t, "promtool")
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, cfg{"monitoringMode": "operator", "grafana": internalGrafana})
			assert.Empty(t, st.Platform.Monitoring.Declared())
			assert.Empty(t, st.OfType(clusterRoleType))
			monitors := map[string]*Resource{}
			for _, r := range st.OfType(podMonitorType) {
				monitors[r.Name] = r
			}
			for _, w := range st.Platform.Workloads() {
				if w.Metrics == nil {
					continue
				}
				m, ok := monitors[w.Name]
				if !assert.True(t, ok, "%s: no PodMonitor for %s", env, w.Name) {
					continue
				}
				assert.Equal(t, w.Selector, m.StringMap(t, "spec.selector.matchLabels"), w.Name)
				port := m.Str(t, "spec.podMetricsEndpoints.0.port")
				assert.Equal(t, w.Metrics.Port, w.Ports[port], "%s: the monitor's port %q is the metrics port", w.Name, port)
				assert.Equal(t, w.Metrics.Path, m.Str(t, "spec.podMetricsEndpoints.0.path"), w.Name)
			}
			rule := st.One(t, prometheusRuleType, "pynomaly")
			v, ok := rule.Get("spec")
			require.True(t, ok)
			b, err := yaml.Marshal(v.Mappable())
			require.NoError(t, err)
			out, err := exec.Command(promtool, "check", "rules", writeFile(t, "rules.yml", string(b))).CombinedOutput()
			require.NoError(t, err, "%s\n%s", out, b)
			// Every rule of the resource, the node agents' included where the stack runs them.
			loaded := strings.Count(string(b), "alert: Pynomaly")
			assert.Contains(t, string(out), "SUCCESS: "+itoa(loaded)+" rules found")
			assert.GreaterOrEqual(t, loaded, len(monitoring.AlertRules(config.DefaultNamespace, monitoring.Database{WALArchiving: env == "prod"}, profileSLO(config.Environment(env)))))
		})
	}
}

// The footprint follows the mode: in operator mode no monitoring pod counts against the quota.
func TestOperatorModeFootprintHasNoMonitoringPods(t *testing.T) {
	for _, w := range planOf(t, "prod", cfg{"monitoringMode": "operator", "grafana": internalGrafana}).Footprints() {
		assert.NotContains(t, []string{"prometheus", "grafana", "alertmanager", "kube-state-metrics"}, w.Name)
	}
}

// The quota rule and what the program declares agree in operator mode too.
func TestOperatorModeFootprintEqualsDeclaredPods(t *testing.T) {
	st := deploy(t, "prod", cfg{"monitoringMode": "operator", "grafana": internalGrafana})
	want, got := sizing.Total(planOf(t, "prod", cfg{"monitoringMode": "operator", "grafana": internalGrafana}).Footprints()), declaredTotals(t, st)
	assert.Equal(t, want.Pods, got.Pods)
	assert.Equal(t, want.Claims, got.Claims)
	assert.Zero(t, want.RequestsCPU.Cmp(got.RequestsCPU), "requests.cpu: %s vs %s", want.RequestsCPU.String(), got.RequestsCPU.String())
	assert.Zero(t, want.Storage.Cmp(got.Storage), "requests.storage: %s vs %s", want.Storage.String(), got.Storage.String())
}

// Receivers read their URLs and keys from the named Secret, mounted into Alertmanager; the
// configuration names files, never values.
func TestAlertReceiversReadTheirSecretsFromFiles(t *testing.T) {
	st := deploy(t, "prod", cfg{"alertmanager": `{"receivers": {"secretName": "alert-receivers", "slackChannel": "#alerts", "pagerduty": true}}`})
	am := st.One(t, statefulSetType, monitoring.AlertmanagerName)
	assert.Contains(t, sprintAll(am.Inputs), "alert-receivers")
	conf := st.One(t, secretType, monitoring.AlertmanagerName).StringMap(t, "stringData")["alertmanager.yml"]
	assert.Contains(t, conf, "api_url_file: /etc/alertmanager/secrets/slack-url")
	assert.Contains(t, conf, "routing_key_file: /etc/alertmanager/secrets/pagerduty-routing-key")
	c := am.Container(t, "spec.template.spec", "alertmanager")
	v, _ := am.Get(c + ".volumeMounts")
	mounted := false
	for i := range v.ArrayValue() {
		mounted = mounted || am.Str(t, c+".volumeMounts."+itoa(i)+".mountPath") == "/etc/alertmanager/secrets"
	}
	assert.True(t, mounted)
}
