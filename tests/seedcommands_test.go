package tests

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/netpol"
	"github.com/pynomaly/pynomaly-platform/postgres"
)

// The seed's kubectl and psql commands address the objects by the names and the selectors the
// program gives them ("The seed's commands" in docs/operations.md); where one cannot, that page gives
// the replacement, and the replacement addresses what it says.
func TestSeedCommandsFindTheirObjects(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			// kubectl wait --for=condition=ready pod -l app=pynomaly,component=X: the pods of
			// long-running workloads only (a job's pod never becomes ready, the wait would hang).
			selected := func(selector map[string]string) (running, completing []string) {
				for _, p := range st.PodTemplates() {
					labels := p.Owner.StringMap(t, strings.TrimSuffix(p.Path, ".spec")+".metadata.labels")
					match := true
					for k, v := range selector {
						match = match && labels[k] == v
					}
					if match && p.LongRunning {
						running = append(running, p.Owner.Str(t, "metadata.name"))
					} else if match {
						completing = append(completing, p.Owner.Str(t, "metadata.name"))
					}
				}
				return running, completing
			}
			for component, want := range map[string]string{
				"postgres": "pynomaly-postgres", "influxdb": "pynomaly-influxdb", "api": "pynomaly-api",
			} {
				running, completing := selected(map[string]string{"app": "pynomaly", "component": component})
				assert.Equal(t, []string{want}, running, "component=%s", component)
				assert.Empty(t, completing, "component=%s selects pods that only complete", component)
			}
			// component=redis selects nothing: the replacement in docs/operations.md selects both roles.
			running, completing := selected(map[string]string{"app": "pynomaly", "component": "redis"})
			assert.Empty(t, append(running, completing...), "component=redis now selects pods: update the seed's commands in docs/operations.md")
			var redis []string
			for _, c := range []string{"redis-queue", "redis-cache"} {
				r, _ := selected(map[string]string{"app": "pynomaly", "component": c})
				redis = append(redis, r...)
			}
			assert.ElementsMatch(t, []string{"pynomaly-redis-queue", "pynomaly-redis-cache"}, redis)

			// kubectl logs KIND/NAME takes the first container: the main one.
			for _, w := range []struct{ typ, name, container string }{
				{statefulSetType, "pynomaly-postgres", "postgres"},
				{deploymentType, "pynomaly-api", "api"},
				{deploymentType, "pynomaly-worker", "worker"},
				{deploymentType, "pynomaly-nginx", "nginx"},
			} {
				r := st.One(t, w.typ, w.name)
				assert.Equal(t, w.container, r.Str(t, "spec.template.spec.containers.0.name"), "kubectl logs %s", w.name)
			}
			// port-forward svc/pynomaly-nginx-service 8080:80; psql -h pynomaly-postgres-service -U pynomaly.
			nginx := st.One(t, serviceType, "pynomaly-nginx-service")
			assert.Equal(t, 80, nginx.Int(t, "spec.ports.0.port"))
			pg := st.One(t, serviceType, "pynomaly-postgres-service")
			assert.Equal(t, postgres.Port, pg.Int(t, "spec.ports.0.port"))
			assert.Equal(t, "pynomaly", credentials.PostgresAppUser)
			assert.Equal(t, "pynomaly", postgres.Database, "psql -U pynomaly connects to the database of its name")
			// kubectl get hpa; kubectl create job --from=cronjob/pynomaly-postgres-backup.
			for _, name := range []string{"pynomaly-api", "pynomaly-worker"} {
				assert.Equal(t, name, st.One(t, hpaType, name).Str(t, "metadata.name"))
			}
			assert.Equal(t, "pynomaly-postgres-backup", st.One(t, "kubernetes:batch/v1:CronJob", "pynomaly-postgres-backup").Str(t, "metadata.name"))
			assert.Equal(t, "app-password", credentials.PostgresAppPasswordKey)
		})
	}
	b, err := os.ReadFile("../docs/operations.md")
	require.NoError(t, err)
	_, section, found := strings.Cut(string(b), "\n### The seed's commands\n")
	require.True(t, found, "docs/operations.md has no section The seed's commands")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, replacement := range []string{
		"`kubectl wait --for=condition=ready pod -l 'app=pynomaly,component in (redis-queue,redis-cache)' -n pynomaly-data-science --timeout=180s`",
		"`kubectl get secret -n pynomaly-data-science pynomaly-postgres-credentials -o jsonpath='{.data.app-password}' \\| base64 -d`",
		"`kubectl create job -n pynomaly-data-science --from=cronjob/pynomaly-postgres-backup pynomaly-postgres-backup-now`",
	} {
		assert.Contains(t, section, replacement, "the table of the seed's commands in docs/operations.md")
	}
}

// The seed's debug pod, as docs/operations.md gives it: labelled as a debug client, with an image
// the settings name (images.postgresClient, which admission allows), reaching the primary's
// Service. The NetworkPolicy evaluator (security_test.go) shows such a pod reaches PostgreSQL,
// the pooler and Redis where network.debugClients is on, and only DNS where it is off (prod).
func TestSeedDebugPodIsADebugClient(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	require.NoError(t, err)
	var row string
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(l, "| `kubectl run -it --rm debug") {
			row = l
		}
	}
	require.NotEmpty(t, row, "the seed's debug command's row")
	for _, env := range envs {
		s := settings(t, env, nil)
		assert.Equal(t, env != "prod", s.Network.DebugClients, "%s: debug clients by default", env)
		assert.Contains(t, row, "--image="+s.Images.PostgresClient, "%s: the image admission allows", env)
	}
	assert.Contains(t, row, "--labels="+netpol.DebugClientLabel+"=true")
	assert.Contains(t, row, "-n "+config.DefaultNamespace)
	assert.Contains(t, row, "psql -h "+postgres.ServiceName+" -U "+credentials.PostgresAppUser)
}
