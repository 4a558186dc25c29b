//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiTokensOnlyWhereListed: the API server injected no token into any pod (automounting is off
// everywhere), and the pods holding the program's projected token are those of the API clients.
func apiTokensOnlyWhereListed(t *testing.T) {
	out := mustKubectl(t, "-n", namespace, "get", "pods", "-o",
		`jsonpath={range .items[*]}{.metadata.labels.component}{" "}{.metadata.name}{" "}{.spec.volumes[*].name}{"\n"}{end}`)
	clients := map[string]bool{"postgres": true, "prometheus": true, "kube-state-metrics": true, "metrics-adapter": true,
		"influxdb-setup": true}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.NotEmpty(t, lines)
	for _, line := range lines {
		fields := strings.Fields(line)
		component, volumes := fields[0], " "+strings.Join(fields[2:], " ")+" "
		assert.NotContains(t, volumes, " kube-api-access-", "%s: the API server mounted its token", fields[1])
		assert.Equal(t, clients[component], strings.Contains(volumes, " api-token "), "%s: holds an API token", fields[1])
	}
}

// influxDBSetupRights asks the API server what InfluxDB's setup job may do with its token: patch
// the application's token Secret, and nothing else of any Secret, that one's reading included.
func influxDBSetupRights(t *testing.T) {
	as := "--as=system:serviceaccount:" + namespace + ":pynomaly-influxdb-setup"
	for _, r := range []struct {
		verb, resource, want string
	}{
		{"patch", "secrets/pynomaly-influxdb-app-token", "yes"},
		{"get", "secrets/pynomaly-influxdb-app-token", "no"},
		{"get", "secrets/pynomaly-influxdb-credentials", "no"},
		{"patch", "secrets/pynomaly-postgres-credentials", "no"},
		{"create", "secrets", "no"},
		{"list", "secrets", "no"},
	} {
		out, _ := kubectl(t, "auth", "can-i", r.verb, r.resource, "-n", namespace, as)
		assert.Equal(t, r.want, strings.TrimSpace(out), "influxdb setup: %s %s", r.verb, r.resource)
	}
}

// patroniRights asks the API server what Patroni's ServiceAccount may do: its own ConfigMaps and
// pods, as its Kubernetes DCS uses them, and nothing of the application's or any Secret.
func patroniRights(t *testing.T, appConfigMap string) {
	as := "--as=system:serviceaccount:" + namespace + ":pynomaly-postgres"
	can := func(verb, resource string) string {
		out, _ := kubectl(t, "auth", "can-i", verb, resource, "-n", namespace, as)
		return strings.TrimSpace(out)
	}
	for _, r := range [][2]string{
		{"patch", "configmaps/pynomaly-postgres-leader"}, {"patch", "configmaps/pynomaly-postgres-config"},
		{"patch", "configmaps/pynomaly-postgres-failover"}, {"patch", "configmaps/pynomaly-postgres-sync"},
		{"get", "configmaps/pynomaly-postgres-leader"}, {"create", "configmaps"},
		{"list", "configmaps"}, {"watch", "configmaps"}, {"list", "pods"}, {"watch", "pods"},
		{"patch", "pods/pynomaly-postgres-0"},
	} {
		assert.Equal(t, "yes", can(r[0], r[1]), "Patroni may %s %s", r[0], r[1])
	}
	for _, r := range [][2]string{
		{"patch", "configmaps/" + strings.TrimSpace(appConfigMap)}, {"get", "configmaps/" + strings.TrimSpace(appConfigMap)},
		{"update", "configmaps/pynomaly-postgres-leader"}, {"delete", "configmaps/pynomaly-postgres-leader"},
		{"get", "secrets"}, {"list", "secrets"}, {"get", "secrets/pynomaly-postgres-credentials"},
		{"patch", "pods/pynomaly-redis-queue-0"}, {"update", "pods/pynomaly-postgres-0"}, {"delete", "pods/pynomaly-postgres-0"},
		{"create", "services"}, {"patch", "endpoints/pynomaly-postgres"},
	} {
		assert.Equal(t, "no", can(r[0], r[1]), "Patroni may not %s %s", r[0], r[1])
	}
	out, _ := kubectl(t, "auth", "can-i", "get", "endpoints/kubernetes", "-n", "default", as)
	assert.Equal(t, "no", strings.TrimSpace(out), "Patroni reads nothing outside its namespace")
}

// deployerChanges proves that a deployer (access.deployers) runs a stack's later updates with
// the Roles the program gives it and nothing more: as that user (impersonated through the
// suite's administrator credentials), a preview passes the cluster preflight and an update
// changes a setting.
func deployerChanges(t *testing.T, p *project, user string) {
	kc := filepath.Join(p.dir, "deployer.kubeconfig")
	flat := mustKubectl(t, "config", "view", "--raw", "--flatten")
	require.Equal(t, 1, strings.Count(flat, "\n  user:\n"), "one user in the suite's kubeconfig:\n%s", flat)
	flat = strings.Replace(flat, "\n  user:\n", "\n  user:\n    as: "+user+"\n", 1)
	require.NoError(t, os.WriteFile(kc, []byte(flat), 0o600))
	denied, _ := exec.Command("kubectl", "--kubeconfig", kc, "get", "storageclasses").CombinedOutput()
	require.Contains(t, string(denied), "forbidden", "the deployer may list StorageClasses: not a least-privilege check")
	checkDeployerSecretReadAudited(t, kc, user)

	// Another kubeconfig of the same cluster replaces nothing (kubernetes.clusterIdentifier): only
	// the provider's inputs change.
	p.must("config", "set", "--path", "kubernetes.kubeconfig", kc)
	assert.Equal(t, []string{"update pulumi:providers:kubernetes::kubernetes"}, previewSteps(t, p), "the deployer's preview")
	p.must("config", "set", "--path", "api.maxReplicas", "7")
	p.must("up", "--yes", "--skip-preview")
	assert.Equal(t, "7", objectField(t, "horizontalpodautoscaler", "pynomaly-api", "{.spec.maxReplicas}"))
	// Back to the administrator, whose kubeconfig the state's provider then holds again (a
	// destroy uses the provider of the state).
	p.must("config", "rm", "--path", "api.maxReplicas")
	p.must("config", "set", "--path", "kubernetes.kubeconfig", kubeconfig)
	p.must("up", "--yes", "--skip-preview")
}
