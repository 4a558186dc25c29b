package tests

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/influxdb"
)

func TestInfluxDBTier(t *testing.T) {
	storage := map[string]string{"dev": "5Gi", "staging": "50Gi", "prod": "500Gi"}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			sts := st.One(t, statefulSetType, "pynomaly-influxdb")
			assert.Equal(t, 1, sts.Int(t, "spec.replicas"))
			assert.Equal(t, storage[env], sts.Str(t, "spec.volumeClaimTemplates.0.spec.resources.requests.storage"))
			c := sts.Container(t, podSpec, "influxdb")
			e := sts.Env(t, c)
			for name := range e {
				assert.NotContains(t, name, "DOCKER_INFLUXDB_INIT_", "the image's first-start setup passes the password as an argument")
			}
			// The pod onboards itself when it starts empty, from the credentials Secret.
			assert.Equal(t, "secret:pynomaly-influxdb-credentials/admin-password", e["ADMIN_PASSWORD"])
			assert.Equal(t, "secret:pynomaly-influxdb-credentials/admin-username", e["ADMIN_USERNAME"])
			assert.Equal(t, "secret:pynomaly-influxdb-credentials/admin-token", e["ADMIN_TOKEN"])
			assert.Equal(t, influxdb.OnboardHook(env != "dev"), sts.Str(t, c+".lifecycle.postStart.exec.command.2"))
			assert.Equal(t, "/health", sts.Str(t, c+".readinessProbe.httpGet.path"))
			assert.True(t, sts.Bool(c+".securityContext.readOnlyRootFilesystem"))
			assert.Equal(t, 8086, st.One(t, serviceType, "pynomaly-influxdb").Int(t, "spec.ports.0.port"))
			assert.Equal(t, 1, st.One(t, pdbType, "pynomaly-influxdb").Int(t, "spec.maxUnavailable"))

			job := st.One(t, jobType, "pynomaly-influxdb-setup")
			assert.True(t, st.DependsOn(job, sts), "the setup job waits for InfluxDB")
			je := job.Env(t, podSpec+".containers.0")
			assert.Equal(t, "secret:pynomaly-influxdb-credentials/admin-token", je["INFLUX_TOKEN"])
			assert.Equal(t, "pynomaly", je["INFLUX_ORG"])
			task := je["DOWNSAMPLE_TASK"]
			assert.Contains(t, task, `option task = {name: "downsample-metrics", every: 1h, offset: 5m}`)
			assert.Contains(t, task, `from(bucket: "metrics")`)
			assert.Contains(t, task, `aggregateWindow(every: 5m, fn: mean, createEmpty: false)`)
			assert.Contains(t, task, `to(bucket: "metrics_longterm", org: "pynomaly")`)
			script := job.Str(t, podSpec+".containers.0.command.2")
			assert.Contains(t, script, "--retention 30d", "the seed's 30 days of high-resolution data")
			assert.Contains(t, script, "--name metrics_longterm --retention 365d")
			assert.Contains(t, script, "influx task update")
		})
	}
}

func TestInfluxDBDoesNotCluster(t *testing.T) {
	_, err := run("prod", cfg{"influxdb": `{"replicas": 2}`})
	assert.ErrorContains(t, err, "stack setting pynomaly-platform:influxdb.replicas = 2: must be 1: InfluxDB OSS does not cluster")
}

// The setup job's script, run as the pod runs it (sh) with a stand-in influx CLI and the real
// curl against a local server in InfluxDB's place (setupRig): it creates the read-only login once,
// with read access to the metrics bucket only and no password on the command line, then sets the
// password through the legacy-authorization API with the admin token as the header, on every
// run. Neither the token nor the password is ever an argument of influx or curl.
func TestInfluxDBSetupKeepsTheReadOnlyLogin(t *testing.T) {
	script, jobEnv := setupScript(t)
	r := newSetupRig(t, script, jobEnv, adminAuth)
	for range 2 {
		r.run()
	}
	creates := r.calls("influx v1 auth create")
	require.Len(t, creates, 1, "created once")
	assert.Contains(t, creates[0], "v1 auth create --username pynomaly-reader --read-bucket b0000000000000001 --no-password")
	assert.NotContains(t, creates[0], "--write-bucket")
	assertNoSecretIn(t, r.argv(), "a command's arguments")
	want := recorded{http.MethodPost, "/private/legacy/authorizations/a0000000000000009/password", "Token " + setupAdminToken,
		"application/json", `{"password":"` + setupReaderPassword + `"}`}
	assert.Equal(t, []recorded{want, want}, r.influx.all(), "the password is set on every run")
	_, err := os.Stat("/tmp/admin-header")
	assert.True(t, os.IsNotExist(err), "the header file is removed")
}

// The pod's onboarding hook, run as the kubelet runs it (sh) with the real curl against a local
// server in InfluxDB's place, answering as InfluxDB does: it waits for the server, onboards it
// when it is empty (the admin user, password and token in the body, never an argument), leaves
// it alone once set up, and fails on an answer it does not understand.
func TestInfluxDBOnboardsItselfWhenEmpty(t *testing.T) {
	const token, adminPassword = "AdminToken0123456789", "AdminPassword0123456789"
	var mu sync.Mutex
	var posts []string
	healthy, answer := false, ""
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.URL.Path == "/health" && !healthy:
			healthy = true // the first probe finds it still starting
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.URL.Path == "/health":
			fmt.Fprintln(w, `{"status": "pass"}`)
		case r.URL.Path == "/api/v2/setup" && r.Method == http.MethodGet:
			fmt.Fprint(w, answer)
		case r.URL.Path == "/api/v2/setup" && r.Method == http.MethodPost:
			posts = append(posts, string(body))
			answer = "{\n\t\"allowed\": false\n}\n"
			w.WriteHeader(http.StatusCreated)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer server.Close()

	st := deploy(t, "dev", nil)
	sts := st.One(t, statefulSetType, influxdb.ServiceName)
	hook := sts.Str(t, sts.Container(t, podSpec, "influxdb")+".lifecycle.postStart.exec.command.2")
	require.Contains(t, hook, "http://127.0.0.1:8086")
	hook = strings.ReplaceAll(hook, "http://127.0.0.1:8086", server.URL)
	bin := t.TempDir()
	argv := filepath.Join(bin, "argv")
	curl := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + argv + "\nexec " + tool(t, "curl") + " \"$@\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "curl"), []byte(curl), 0o755))
	run := func() (string, error) {
		cmd := exec.Command(tool(t, "sh"), "-ec", hook)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "ADMIN_USERNAME=admin", "ADMIN_PASSWORD=" + adminPassword, "ADMIN_TOKEN=" + token}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	answer = "{\n\t\"allowed\": true\n}\n" // as InfluxDB answers: indented JSON
	for range 2 {
		out, err := run()
		require.NoError(t, err, out)
	}
	assert.Equal(t, []string{`{"username":"admin","password":"` + adminPassword + `","token":"` + token + `","org":"pynomaly","bucket":"metrics"}`},
		posts, "onboarded once")
	answer = "<html>a proxy's error page</html>"
	out, err := run()
	assert.Error(t, err, "an answer that is neither")
	assert.Contains(t, out, "unexpected answer")
	log, err := os.ReadFile(argv)
	require.NoError(t, err)
	assert.NotContains(t, string(log), token, "the token is an argument")
	assert.NotContains(t, string(log), adminPassword, "the password is an argument")
}
