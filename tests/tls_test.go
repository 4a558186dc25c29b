package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/pynomaly/pynomaly-platform/monitoring"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tlsOn is whether an environment's profile turns internal TLS on (staging and prod).
var tlsOn = map[string]bool{"dev": false, "staging": true, "prod": true}

// mountedSecret is the Secret a file of a container comes from, found through its mounts and
// the pod's volumes; empty when no Secret volume holds it.
func mountedSecret(t *testing.T, p PodTemplate, container, file string) string {
	t.Helper()
	r := p.Owner
	mounts, _ := r.Get(container + ".volumeMounts")
	for i := range mounts.ArrayValue() {
		m := fmt.Sprintf("%s.volumeMounts.%d", container, i)
		if !strings.HasPrefix(file, r.Str(t, m+".mountPath")+"/") {
			continue
		}
		name := r.Str(t, m+".name")
		volumes, _ := r.Get(p.Path + ".volumes")
		for j := range volumes.ArrayValue() {
			v := fmt.Sprintf("%s.volumes.%d", p.Path, j)
			if r.Str(t, v+".name") == name && r.Has(v+".secret.secretName") {
				return r.Str(t, v+".secret.secretName")
			}
		}
	}
	return ""
}

// certificatesBySecret are the stack's Certificates by the Secret each writes.
func certificatesBySecret(t *testing.T, st *Stack) map[string]*Resource {
	out := map[string]*Resource{}
	for _, c := range st.OfType(certificateType) {
		out[c.Str(t, "spec.secretName")] = c
	}
	return out
}

// servedSecret is the Secret a pod template serves TLS from: its "tls" volume.
func servedSecret(t *testing.T, p PodTemplate) string {
	volumes, ok := p.Owner.Get(p.Path + ".volumes")
	if !ok || !volumes.IsArray() {
		return ""
	}
	for j := range volumes.ArrayValue() {
		v := fmt.Sprintf("%s.volumes.%d", p.Path, j)
		if p.Owner.Str(t, v+".name") == "tls" {
			return p.Owner.Str(t, v+".secret.secretName")
		}
	}
	return ""
}

// Every Service of the data tier, and every pod of a StatefulSet behind a headless Service,
// is served with a certificate whose names include every form a client dials (short, in the
// namespace, .svc, .svc.cluster.local). The names come from the Services and StatefulSets the
// program declares, and the certificate from the volume of the pods the Service selects.
func TestEveryCertificateCoversEveryNameItsClientsUse(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			certs := certificatesBySecret(t, st)
			if !tlsOn[env] {
				assert.Empty(t, certs, "no certificates with tls.internal off")
				return
			}
			ns := "pynomaly-data-science"
			forms := func(host string) []string {
				return []string{host, host + "." + ns, host + "." + ns + ".svc", host + "." + ns + ".svc.cluster.local"}
			}
			covered := 0
			for _, svc := range st.OfType(serviceType) {
				name := svc.Str(t, "metadata.name")
				component := svc.StringMap(t, "metadata.labels")["component"]
				selector := svc.StringMap(t, "spec.selector")
				for _, p := range st.PodTemplates() {
					if !p.LongRunning || !selects(selector, p.Owner.StringMap(t, "spec.template.metadata.labels")) {
						continue
					}
					secret := servedSecret(t, p)
					if secret == "" {
						assert.NotContains(t, []string{"postgres", "pooler", "redis-queue", "redis-cache", "influxdb"}, component,
							"%s: the pods behind Service %s serve no TLS", env, svc.Name)
						continue
					}
					cert := certs[secret]
					require.NotNil(t, cert, "%s mounts %s, which no Certificate writes", p.Owner.Name, secret)
					d, _ := cert.Get("spec.dnsNames")
					names := strings.Split(allStrings(d), "\n")
					assert.Subset(t, names, forms(name), "%s: certificate %s, Service %s", env, cert.Name, name)
					covered++
					if p.Owner.Type == statefulSetType && name == p.Owner.Str(t, "spec.serviceName") {
						for i := range p.Owner.Int(t, "spec.replicas") {
							pod := fmt.Sprintf("%s-%d.%s", p.Owner.Str(t, "metadata.name"), i, name)
							assert.Subset(t, names, forms(pod), "%s: certificate %s, pod %s", env, cert.Name, pod)
						}
					}
				}
			}
			// postgres (3 Services), pooler, each Redis role and InfluxDB (2 Services each).
			assert.GreaterOrEqual(t, covered, 10, env)
		})
	}
}

// selects says whether a Service's selector picks a pod template's pods. Patroni adds the role
// label to its pods at run time, so a Service selecting on it picks any of them.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if k == "spilo-role" {
			continue
		}
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Every client connection of every pod names TLS and the CA, and the CA file is mounted from a
// Secret a Certificate writes: libpq clients (PGSSLMODE verify-full), the PostgreSQL exporter,
// every redis-cli (start-up scripts, probes, init containers), the Redis exporter and the
// application. With tls.internal off none of them does.
func TestEveryClientConnectionVerifiesTLS(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			certs := certificatesBySecret(t, st)
			caFrom := func(p PodTemplate, c, file string) {
				t.Helper()
				secret := mountedSecret(t, p, c, file)
				assert.NotNil(t, certs[secret], "%s %s: the CA %s is not mounted from a certificate's Secret (%q)", p.Owner.Name, c, file, secret)
			}
			appConfig := st.One(t, configMapType, "pynomaly-app-config").StringMap(t, "data")
			clients := 0
			for _, p := range st.PodTemplates() {
				for _, c := range p.Containers() {
					e := p.Owner.Env(t, c)
					v, _ := p.Owner.Get(c)
					spec := allStrings(v)
					_, pgHost := e["PGHOST"]
					libpq := pgHost || strings.Contains(spec, "pg_isready") || strings.Contains(spec, "DATABASE_HOST")
					if !tlsOn[env] {
						assert.NotContains(t, e, "PGSSLMODE", "%s %s", p.Owner.Name, c)
						assert.Empty(t, e["REDIS_CLI_TLS"], "%s %s", p.Owner.Name, c)
						continue
					}
					if libpq {
						clients++
						assert.Equal(t, "verify-full", e["PGSSLMODE"], "%s %s", p.Owner.Name, c)
						caFrom(p, c, e["PGSSLROOTCERT"])
					}
					if uri, ok := e["DATA_SOURCE_URI"]; ok {
						clients++
						assert.Regexp(t, `sslmode=verify-(ca|full)&sslrootcert=/`, uri)
						caFrom(p, c, uri[strings.Index(uri, "sslrootcert=")+len("sslrootcert="):])
					}
					if addr, ok := e["REDIS_ADDR"]; ok {
						clients++
						assert.True(t, strings.HasPrefix(addr, "rediss://"), "%s %s: %s", p.Owner.Name, c, addr)
						caFrom(p, c, e["REDIS_EXPORTER_TLS_CA_CERT_FILE"])
					}
					if host, ok := e["INFLUX_HOST"]; ok {
						clients++
						assert.True(t, strings.HasPrefix(host, "https://"), "%s %s: %s", p.Owner.Name, c, host)
						caFrom(p, c, e["SSL_CERT_FILE"])
					}
					if strings.Contains(spec, "redis-cli") {
						clients++
						if cli, ok := e["REDIS_CLI_TLS"]; ok {
							require.True(t, strings.HasPrefix(cli, "--tls --cacert /"), "%s %s: %q", p.Owner.Name, c, cli)
							caFrom(p, c, strings.TrimPrefix(cli, "--tls --cacert "))
							assert.NotRegexp(t, `redis-cli (-|")`, spec, "%s %s: a redis-cli without $REDIS_CLI_TLS", p.Owner.Name, c)
						} else {
							// The application's wait script reads the ConfigMap.
							assert.Contains(t, spec, `--tls --cacert $REDIS_CA_CERT`, "%s %s", p.Owner.Name, c)
							assert.Equal(t, "true", appConfig["REDIS_TLS"])
							caFrom(p, c, appConfig["REDIS_CA_CERT"])
						}
					}
				}
			}
			if tlsOn[env] {
				// The application's own connections, from its ConfigMap.
				assert.Equal(t, "verify-full", appConfig["DATABASE_SSLMODE"])
				assert.Equal(t, "rediss", appConfig["REDIS_SCHEME"])
				assert.True(t, strings.HasPrefix(appConfig["INFLUXDB_URL"], "https://"), appConfig["INFLUXDB_URL"])
				// Prometheus scrapes InfluxDB over https, verifying a name its certificate
				// carries against the CA it mounts.
				prom := prometheusYAML(t, st)
				job := prom[strings.Index(prom, "job_name: pynomaly-influxdb"):]
				job = job[:strings.Index(job[1:], "job_name:")+1]
				assert.Contains(t, job, "scheme: https")
				assert.Contains(t, job, "server_name: pynomaly-influxdb\n")
				d, _ := certs["pynomaly-influxdb-tls"].Get("spec.dnsNames")
				assert.Contains(t, strings.Split(allStrings(d), "\n"), "pynomaly-influxdb")
				caFile := job[strings.Index(job, "ca_file: ")+len("ca_file: "):]
				caFile = caFile[:strings.Index(caFile, "\n")]
				promPod := PodTemplate{st.One(t, statefulSetType, monitoring.PrometheusName), "spec.template.spec", true}
				caFrom(promPod, promPod.Owner.Container(t, promPod.Path, "prometheus"), caFile)
				for _, d := range []string{"pynomaly-api", "pynomaly-worker"} {
					p := PodTemplate{st.One(t, "kubernetes:apps/v1:Deployment", d), "spec.template.spec", true}
					c := p.Owner.Container(t, p.Path, strings.TrimPrefix(d, "pynomaly-"))
					caFrom(p, c, appConfig["DATABASE_SSLROOTCERT"])
				}
				ini := st.One(t, configMapType, "pynomaly-postgres-pooler").StringMap(t, "data")["pgbouncer.ini"]
				assert.Contains(t, ini, "server_tls_sslmode = verify-full")
				assert.Contains(t, ini, "client_tls_sslmode = require")
				assert.Greater(t, clients, 10, "the clients found")
			}
		})
	}
}

// allStrings is every string in v, one a line: the text a container's command, probes and
// environment hold.
func allStrings(v resource.PropertyValue) string {
	var out []string
	var walk func(resource.PropertyValue)
	walk = func(v resource.PropertyValue) {
		switch {
		case v.IsString():
			out = append(out, v.StringValue())
		case v.IsArray():
			for _, e := range v.ArrayValue() {
				walk(e)
			}
		case v.IsObject():
			for _, e := range v.ObjectValue() {
				walk(e)
			}
		case v.IsSecret():
			walk(v.SecretValue().Element)
		case v.IsComputed():
			walk(v.Input().Element)
		case v.IsOutput():
			walk(v.OutputValue().Element)
		}
	}
	walk(v)
	return strings.Join(out, "\n")
}
