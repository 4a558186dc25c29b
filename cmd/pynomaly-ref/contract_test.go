package main

import (
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config/load"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/influxdb"
)

// setButUnused are the variables the app pods get that the reference does not read: the real
// application's InfluxDB client, and libpq's own TLS variables (the same values as
// DATABASE_SSLMODE and DATABASE_SSLROOTCERT, for psql and the init containers).
var setButUnused = []string{"INFLUXDB_URL", "INFLUXDB_ORG", "INFLUXDB_BUCKET", "INFLUXDB_TOKEN", "INFLUXDB_CA_CERT", "PGSSLMODE", "PGSSLROOTCERT"}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// The pods' argv, ports, probes, scrape annotations, user and writable paths are what the
// reference serves and needs, and it starts with their environment, TLS on and off: nothing it
// requires is missing, and nothing the pods set is unknown to it.
func TestPodSpecsAreWhatTheReferenceServes(t *testing.T) {
	s, err := load.LoadFiles("../../Pulumi.yaml", "../../Pulumi.dev.yaml")
	require.NoError(t, err)
	secrets := map[string]string{
		credentials.PostgresAppPasswordKeyOf(credentials.SlotOf(testGeneration)): "pw",
		credentials.RedisPasswordKeyOf(credentials.SlotOf(testGeneration)):       "pw",
		credentials.APISecretKeyKey: "key", influxdb.AppTokenKey: "token",
	}
	for _, tls := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(tls), func(t *testing.T) {
			a := renderApp(t, s, tls, tls)
			set, known := map[string]bool{}, map[string]bool{"TMPDIR": true} // os.TempDir
			for _, k := range setButUnused {
				known[k] = true
			}
			for _, w := range []struct {
				mode string
				pod  k8sPod
			}{{modeAPI, a.API}, {modeWorker, a.Worker}, {modeMigrate, a.Migration}} {
				c := w.pod.main(t)
				env := a.env(t, c, secrets)
				argv := slices.Concat(c.Command, c.Args)
				if len(argv) == 0 {
					argv = imageArgs[w.mode]
				}
				mode, _, err := parseMode(argv)
				require.NoError(t, err, "%s: argv %q", w.mode, argv)
				assert.Equal(t, w.mode, mode, "argv %q", argv)
				_, read, err := readSettings(mode, lookupIn(env))
				require.NoError(t, err, "%s: the pod's environment", w.mode)
				for _, k := range slices.Concat(read.required, read.optional) {
					known[k] = true
				}
				for k := range env {
					set[k] = true
				}
				checkFilesystem(t, w.mode, w.pod, env, tls)
			}
			// The ConfigMap is every app pod's: a variable one mode ignores is another's.
			unknown := slices.DeleteFunc(slices.Sorted(maps.Keys(set)), func(k string) bool { return known[k] })
			assert.Empty(t, unknown, "variables the pods set that the contract does not know")
			checkAPIPorts(t, a)
			checkWorkerPorts(t, a)
			assert.Equal(t, primaryHost, a.env(t, a.Migration.main(t), secrets)["DATABASE_HOST"], "the migration runs on the primary")
			assert.Equal(t, poolerHost, a.env(t, a.API.main(t), secrets)["DATABASE_HOST"], "the API goes through the pooler")
		})
	}
}

func checkAPIPorts(t *testing.T, a appPods) {
	c := a.API.main(t)
	port, err := strconv.Atoi(a.ConfigMap["API_PORT"])
	require.NoError(t, err)
	require.Len(t, c.Ports, 1)
	assert.Equal(t, port, c.Ports[0].ContainerPort, "the container port is API_PORT")
	for _, p := range []*k8sProbe{c.StartupProbe, c.ReadinessProbe} {
		require.NotNil(t, p)
		require.NotNil(t, p.HTTPGet)
		assert.Equal(t, healthPath, p.HTTPGet.Path)
		assert.Equal(t, port, p.HTTPGet.Port)
	}
	require.NotNil(t, c.LivenessProbe.TCPSocket)
	assert.Equal(t, port, c.LivenessProbe.TCPSocket.Port)
	assert.Equal(t, strconv.Itoa(port), a.API.Metadata.Annotations["prometheus.io/port"])
	assert.Equal(t, metricsPath, a.API.Metadata.Annotations["prometheus.io/path"])
}

func checkWorkerPorts(t *testing.T, a appPods) {
	c := a.Worker.main(t)
	require.Len(t, c.Ports, 1)
	assert.Equal(t, workerMetricsPort, c.Ports[0].ContainerPort)
	require.NotNil(t, c.ReadinessProbe.HTTPGet)
	assert.Equal(t, workerHealthPath, c.ReadinessProbe.HTTPGet.Path)
	assert.Equal(t, workerMetricsPort, c.ReadinessProbe.HTTPGet.Port)
	require.NotNil(t, c.LivenessProbe.TCPSocket)
	assert.Equal(t, workerMetricsPort, c.LivenessProbe.TCPSocket.Port)
	assert.Equal(t, strconv.Itoa(workerMetricsPort), a.Worker.Metadata.Annotations["prometheus.io/port"])
	assert.Equal(t, metricsPath, a.Worker.Metadata.Annotations["prometheus.io/path"])
}

// checkFilesystem: a read-only root, the user the image need not know, /tmp and the model path
// writable volumes, the CA (with TLS) mounted where the variables point.
func checkFilesystem(t *testing.T, mode string, pod k8sPod, env map[string]string, tls bool) {
	c := pod.main(t)
	assert.True(t, c.SecurityContext.ReadOnlyRootFilesystem, "%s: read-only root", mode)
	assert.Equal(t, 10001, pod.Spec.SecurityContext.RunAsUser, "%s: the user the contract names", mode)
	mounts := map[string]bool{} // path: writable
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = !m.ReadOnly
	}
	assert.True(t, mounts["/tmp"], "%s: /tmp writable", mode)
	if path, ok := env["MODEL_STORAGE_PATH"]; ok {
		assert.True(t, mounts[path], "%s: MODEL_STORAGE_PATH %s writable", mode, path)
	}
	for _, k := range []string{"DATABASE_SSLROOTCERT", "REDIS_CA_CERT"} {
		if !tls {
			assert.NotContains(t, env, k)
			continue
		}
		writable, mounted := mounts[filepath.Dir(env[k])]
		assert.True(t, mounted && !writable, "%s: %s=%s on a read-only mount", mode, k, env[k])
	}
}
