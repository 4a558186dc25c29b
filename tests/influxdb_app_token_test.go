package tests

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/influxdb"
)

// What the stand-in servers hold. None may be an argument of any command the setup script runs,
// nor in its log.
const (
	setupAdminToken     = "AdminToken0123456789"
	setupReaderPassword = "ReaderPassword0123456789"
	// InfluxDB generates the application's token: base64url, padded.
	setupAppToken = "AppToken0123456789-_=="
	// The setup job's service account token, as the kubelet projects it.
	setupAccountToken = "AccountToken0123456789"
	metricsBucketID   = "b0000000000000001"
)

// recorded is one request a stand-in server received.
type recorded struct{ Method, Path, Authorization, ContentType, Body string }

// requestLog is a stand-in server's record of what it was asked.
type requestLog struct {
	mu   sync.Mutex
	list []recorded
}

// handler records every request and gives each the same answer.
func (l *requestLog) handler(status int, answer string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		l.list = append(l.list, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(body)})
		l.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprint(w, answer)
	}
}

func (l *requestLog) all() []recorded {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]recorded(nil), l.list...)
}

// setupRig runs the InfluxDB setup job's script as its pod does (sh -ec) against a stand-in influx
// CLI (fakeInflux), with the real curl, awk, cat and rm, and local servers in place of InfluxDB's
// HTTP API and the Kubernetes API (TLS, its CA and the account's token where the pod has them).
// Every command's arguments go to argv.log.
type setupRig struct {
	t      *testing.T
	script string
	// dir holds the stand-in influx's state (auths: its authorizations, one line each, as
	// `influx auth list --hide-headers` prints them) and argv.log.
	dir          string
	env          []string
	influx, kube *requestLog
}

// setupScript is the staging setup job's script, with the plain values of its environment.
func setupScript(t *testing.T) (string, map[string]string) {
	t.Helper()
	job := deploy(t, "staging", nil).One(t, jobType, influxdb.SetupJob)
	return job.Str(t, podSpec+".containers.0.command.2"), job.Env(t, podSpec+".containers.0")
}

// adminAuth is the authorization onboarding makes: the admin's, with every permission.
const adminAuth = "a0000000000000001\tadmin's Token\t" + setupAdminToken + "\tadmin\tu1\t[read:/authorizations write:/authorizations read:/buckets write:/buckets]\n"

func newSetupRig(t *testing.T, script string, jobEnv map[string]string, auths string) *setupRig {
	t.Helper()
	r := &setupRig{t: t, script: script, dir: t.TempDir(), influx: &requestLog{}, kube: &requestLog{}}
	influxAPI := httptest.NewServer(r.influx.handler(http.StatusNoContent, ""))
	t.Cleanup(influxAPI.Close)
	// The API server answers a patch with the Secret, which carries the token.
	secret := `{"kind":"Secret","data":{"token":"` + base64.StdEncoding.EncodeToString([]byte(setupAppToken)) + `"}}`
	kubeAPI := httptest.NewTLSServer(r.kube.handler(http.StatusOK, secret))
	t.Cleanup(kubeAPI.Close)
	host, port, err := net.SplitHostPort(kubeAPI.Listener.Addr().String())
	require.NoError(t, err)

	account := filepath.Join(r.dir, "serviceaccount")
	require.NoError(t, os.Mkdir(account, 0o700))
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kubeAPI.Certificate().Raw})
	for name, content := range map[string]string{"token": setupAccountToken, "ca.crt": string(ca), "namespace": "pynomaly-data-science"} {
		require.NoError(t, os.WriteFile(filepath.Join(account, name), []byte(content), 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "auths"), []byte(auths), 0o600))

	r.env = append(os.Environ(), "PATH="+r.tools()+":"+os.Getenv("PATH"),
		"INFLUX_HOST="+influxAPI.URL, "INFLUX_TOKEN="+setupAdminToken, "INFLUX_ORG="+jobEnv["INFLUX_ORG"],
		"READER_USERNAME="+jobEnv["READER_USERNAME"], "READER_PASSWORD="+setupReaderPassword, "DOWNSAMPLE_TASK=task",
		"KUBERNETES_SERVICE_HOST="+host, "KUBERNETES_SERVICE_PORT="+port, "SERVICE_ACCOUNT_DIR="+account)
	return r
}

// fakeInflux answers what the setup script asks from the files in STATE, as influx 2 prints it
// (tab-separated columns), and records its arguments. Like the real CLI, `auth create` prints the
// authorization it made, token included, and builds its permissions from the bucket flags.
const fakeInflux = `#!/bin/sh
printf 'influx %s\n' "$*" >> STATE/argv.log
case "$*" in
  "bucket list --name metrics --hide-headers") printf 'b0000000000000001\tmetrics\t720h0m0s\tn/a\to1\timplicit\n' ;;
  "bucket list --name metrics_longterm --hide-headers") printf 'b0000000000000002\tmetrics_longterm\t8760h0m0s\tn/a\to1\timplicit\n' ;;
  "org list --name pynomaly --hide-headers") printf 'o1\tpynomaly\n' ;;
  "v1 auth list --username pynomaly-reader --hide-headers")
    if [ -f STATE/reader ]; then echo "a0000000000000009 grafana-read-only pynomaly-reader admin u1 [read:orgs/o1/buckets/b0000000000000001]"; fi ;;
  "v1 auth create "*) touch STATE/reader ;;
  "auth list --hide-headers") cat STATE/auths ;;
  "auth delete --id "*) awk -v id="$4" '$1 != id' STATE/auths > STATE/auths.new; mv STATE/auths.new STATE/auths ;;
  "auth create "*)
    perms=
    while [ $# -gt 0 ]; do
      case $1 in
        --read-bucket) perms="$perms read:orgs/o1/buckets/$2"; shift ;;
        --write-bucket) perms="$perms write:orgs/o1/buckets/$2"; shift ;;
      esac
      shift
    done
    printf 'a0000000000000042\tpynomaly-app\tAPPTOKEN\tadmin\tu1\t[%s]\n' "${perms# }" | tee -a STATE/auths ;;
esac
exit 0
`

// tools writes the stand-in influx and the recording wrappers of the real tools, and returns
// their directory.
func (r *setupRig) tools() string {
	bin := filepath.Join(r.dir, "bin")
	require.NoError(r.t, os.Mkdir(bin, 0o755))
	influx := strings.NewReplacer("STATE", r.dir, "APPTOKEN", setupAppToken).Replace(fakeInflux)
	require.NoError(r.t, os.WriteFile(filepath.Join(bin, "influx"), []byte(influx), 0o755))
	for _, name := range []string{"curl", "awk", "cat", "rm"} {
		wrapper := fmt.Sprintf("#!/bin/sh\nprintf '%s %%s\\n' \"$*\" >> %s/argv.log\nexec %s \"$@\"\n", name, r.dir, tool(r.t, name))
		require.NoError(r.t, os.WriteFile(filepath.Join(bin, name), []byte(wrapper), 0o755))
	}
	return bin
}

// run runs the script once, which must succeed, and returns its output.
func (r *setupRig) run() string {
	r.t.Helper()
	cmd := exec.Command(tool(r.t, "sh"), "-ec", r.script)
	cmd.Env, cmd.Dir = r.env, r.dir
	out, err := cmd.CombinedOutput()
	require.NoError(r.t, err, "%s", out)
	return string(out)
}

// argv is every command's arguments so far, one command a line, led by its name.
func (r *setupRig) argv() string {
	b, err := os.ReadFile(filepath.Join(r.dir, "argv.log"))
	require.NoError(r.t, err)
	return string(b)
}

// calls are the recorded commands that start with prefix.
func (r *setupRig) calls(prefix string) []string {
	var out []string
	for _, line := range strings.Split(r.argv(), "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return out
}

// auths are the stand-in InfluxDB's authorizations now.
func (r *setupRig) auths() string {
	b, err := os.ReadFile(filepath.Join(r.dir, "auths"))
	require.NoError(r.t, err)
	return string(b)
}

// assertNoSecretIn fails when a token or password is in text, as it is or base64-encoded (as a
// Secret carries it).
func assertNoSecretIn(t *testing.T, text, where string) {
	t.Helper()
	for name, secret := range map[string]string{"the admin token": setupAdminToken, "the reader's password": setupReaderPassword,
		"the application's token": setupAppToken, "the account's token": setupAccountToken} {
		assert.NotContains(t, text, secret, "%s is in %s", name, where)
		assert.NotContains(t, text, base64.StdEncoding.EncodeToString([]byte(secret)), "%s is in %s, base64-encoded", name, where)
	}
}

// flags are a command line's flags, each with its value ("--org pynomaly") or alone ("--operator").
func flags(argv string) []string {
	var out []string
	for _, f := range strings.Fields(argv) {
		switch {
		case strings.HasPrefix(f, "--"):
			out = append(out, f)
		case len(out) > 0 && !strings.Contains(out[len(out)-1], " "):
			out[len(out)-1] += " " + f
		}
	}
	return out
}

// The setup job keeps the application's own token: run twice against a stand-in influx and
// Kubernetes API, it creates the authorization once, with read and write on the metrics bucket and
// nothing broader (no --all-access or --operator, no other bucket, no org-wide permission), and on
// every run patches its token into pynomaly-influxdb-app-token with the job's own account. No
// token or password is ever an argument or in the log.
func TestInfluxDBSetupKeepsTheAppToken(t *testing.T) {
	script, jobEnv := setupScript(t)
	r := newSetupRig(t, script, jobEnv, adminAuth)
	for run := range 2 {
		assertNoSecretIn(t, r.run(), fmt.Sprintf("the log of run %d", run))
	}
	creates := r.calls("influx auth create")
	require.Len(t, creates, 1, "created once over two runs")
	assert.ElementsMatch(t, []string{"--org pynomaly", "--read-bucket " + metricsBucketID, "--write-bucket " + metricsBucketID,
		"--description pynomaly-app"}, flags(creates[0]))
	assert.Empty(t, r.calls("influx auth delete"), "the admin's authorization is left alone")
	assert.Contains(t, r.auths(), "pynomaly-app\t"+setupAppToken+"\tadmin\tu1\t[read:orgs/o1/buckets/"+metricsBucketID+" write:orgs/o1/buckets/"+metricsBucketID+"]")

	patches := r.kube.all()
	require.Len(t, patches, 2, "the token is written on every run")
	for _, p := range patches {
		assert.Equal(t, http.MethodPatch, p.Method)
		assert.Equal(t, "/api/v1/namespaces/pynomaly-data-science/secrets/"+influxdb.AppTokenSecret, p.Path)
		assert.Equal(t, "Bearer "+setupAccountToken, p.Authorization, "as the job's own account")
		assert.Equal(t, "application/merge-patch+json", p.ContentType)
		assert.JSONEq(t, `{"stringData":{"`+influxdb.AppTokenKey+`":"`+setupAppToken+`"}}`, p.Body)
	}
	assertNoSecretIn(t, r.argv(), "a command's arguments")
	_, err := os.Stat("/tmp/kube-header")
	assert.True(t, os.IsNotExist(err), "the header file is removed")
}

// An authorization described pynomaly-app that may do anything but read and write the metrics
// bucket, or a second one, is deleted and made again; the right one is kept, in either order of
// its permissions.
func TestInfluxDBSetupReplacesAWrongAppToken(t *testing.T) {
	const other = "OtherAppToken0123456789"
	row := func(id, perms string) string {
		return id + "\tpynomaly-app\t" + other + "\tadmin\tu1\t[" + perms + "]\n"
	}
	read, write := "read:orgs/o1/buckets/"+metricsBucketID, "write:orgs/o1/buckets/"+metricsBucketID
	script, jobEnv := setupScript(t)
	for _, c := range []struct {
		name, auths string
		deleted     []string
	}{
		{"every bucket", row("a0000000000000002", "read:orgs/o1/buckets write:orgs/o1/buckets"), []string{"a0000000000000002"}},
		{"read only", row("a0000000000000002", read), []string{"a0000000000000002"}},
		{"another bucket", row("a0000000000000002", "read:orgs/o1/buckets/b0000000000000002 write:orgs/o1/buckets/b0000000000000002"),
			[]string{"a0000000000000002"}},
		{"one more permission", row("a0000000000000002", read+" "+write+" read:orgs/o1/authorizations"), []string{"a0000000000000002"}},
		{"twice", row("a0000000000000002", read+" "+write) + row("a0000000000000003", read+" "+write),
			[]string{"a0000000000000002", "a0000000000000003"}},
		{"kept", row("a0000000000000002", write+" "+read), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Another token without a description is someone else's, whatever it may do.
			r := newSetupRig(t, script, jobEnv, adminAuth+"a0000000000000005\t\tUndescribed0123456789\tadmin\tu1\t["+read+"]\n"+c.auths)
			assertNoSecretIn(t, r.run(), "the log")
			var deleted []string
			for _, d := range r.calls("influx auth delete --id ") {
				deleted = append(deleted, strings.TrimPrefix(d, "influx auth delete --id "))
			}
			assert.ElementsMatch(t, c.deleted, deleted)
			want := setupAppToken
			if c.deleted == nil {
				want = other
				assert.Empty(t, r.calls("influx auth create"))
			} else {
				assert.Len(t, r.calls("influx auth create"), 1)
			}
			patches := r.kube.all()
			require.Len(t, patches, 1)
			assert.JSONEq(t, `{"stringData":{"token":"`+want+`"}}`, patches[0].Body)
			assert.Contains(t, r.auths(), "a0000000000000005\t\tUndescribed", "left alone")
			assertNoSecretIn(t, r.argv(), "a command's arguments")
			assert.NotContains(t, r.argv(), other, "the kept token is an argument")
		})
	}
}

// influxAdminTokenHolders are the workloads that may hold InfluxDB's admin token: the server (its
// onboarding hook), its setup job and its backup (from whose CronJob a restore's Job is made).
var influxAdminTokenHolders = map[string]bool{
	"StatefulSet/" + influxdb.ServiceName: true,
	"Job/" + influxdb.SetupJob:            true,
	"CronJob/" + influxdb.BackupCronJob:   true,
}

// No container of any other pod template, in any stack variant, reaches the admin token of
// pynomaly-influxdb-credentials: not by a secretKeyRef, not by envFrom of the whole Secret, not
// by a volume of it. Checked over every pod template, so a new workload is held to it too.
func TestOnlyInfluxDBHoldsItsAdminToken(t *testing.T) {
	variants := append(rbacVariants(), rbacVariant{"staging/rotation", "staging", cfg{"secrets": `{"rotation": {"all": 1}}`}})
	for _, v := range variants {
		st := deploy(t, v.env, v.c)
		holders := map[string]bool{}
		for _, p := range st.PodTemplates() {
			key := kindOf(p.Owner) + "/" + p.Owner.Name
			for _, c := range p.Containers() {
				if reachesInfluxAdminToken(t, p, c) {
					holders[key] = true
					assert.True(t, influxAdminTokenHolders[key], "%s: %s container %s holds InfluxDB's admin token", v.name, key, p.Owner.Str(t, c+".name"))
				}
			}
		}
		// The check sees the references it looks for.
		assert.Equal(t, influxAdminTokenHolders, holders, "%s: the workloads that hold it", v.name)
	}
}

// reachesInfluxAdminToken says container c of p may read the admin token.
func reachesInfluxAdminToken(t *testing.T, p PodTemplate, c string) bool {
	t.Helper()
	r := p.Owner
	for _, ref := range r.Env(t, c) {
		if ref == "secret:"+credentials.InfluxDBSecretName+"/"+credentials.InfluxDBAdminTokenKey {
			return true
		}
	}
	for i := 0; r.Has(fmt.Sprintf("%s.envFrom.%d", c, i)); i++ {
		if r.Has(fmt.Sprintf("%s.envFrom.%d.secretRef", c, i)) && r.Str(t, fmt.Sprintf("%s.envFrom.%d.secretRef.name", c, i)) == credentials.InfluxDBSecretName {
			return true
		}
	}
	secretVolumes := influxSecretVolumes(t, p)
	for i := 0; r.Has(fmt.Sprintf("%s.volumeMounts.%d", c, i)); i++ {
		if secretVolumes[r.Str(t, fmt.Sprintf("%s.volumeMounts.%d.name", c, i))] {
			return true
		}
	}
	return false
}

// influxSecretVolumes are p's volumes that hold the admin token: the credentials Secret, as a
// volume of its own or a projected source, whole or with that key among its items.
func influxSecretVolumes(t *testing.T, p PodTemplate) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, v := range p.SecretVolumes(t) {
		if v.Secret == credentials.InfluxDBSecretName && (len(v.Keys) == 0 || slices.Contains(v.Keys, credentials.InfluxDBAdminTokenKey)) {
			out[v.Volume] = true
		}
	}
	return out
}
