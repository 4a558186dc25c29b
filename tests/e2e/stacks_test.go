//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const namespace = "pynomaly-data-science"

// Each stack, as committed, against the local cluster: preview, up, ordering, Pod Security,
// no-change preview, no credential in clear text, one setting changed, destroy.
func TestStacks(t *testing.T) {
	// staging and prod declare cert-manager objects (tls.internal).
	installCRDs(t, "edge", certManagerCRDs[:2])
	for _, env := range []string{"dev", "staging", "prod"} {
		t.Run(env, func(t *testing.T) { stackLifecycle(t, env) })
	}
}

func stackLifecycle(t *testing.T, env string) {
	p := newProject(t, env, "Pulumi."+env+".yaml")
	p.onLocalCluster()
	const deployer = "ci-deployer"
	if env == "staging" {
		p.must("config", "set", "--path", "access.deployers[0]", "user:"+deployer)
	}
	p.must("preview")

	out := p.must("up", "--yes", "--skip-preview")
	assert.NotContains(t, out, "would violate PodSecurity", "a pod spec breaks the namespace's Pod Security level")
	if env == "dev" {
		secondStackStopsAtPreflight(t)
	}

	// The databases were ready, and the migrations done, before the API was created: every
	// database pod turned Ready, and every setup and migration job completed, no later than
	// the API Deployment's creation (API server timestamps, one-second resolution).
	apiCreated := timestamp(t, mustKubectl(t, "-n", namespace, "get", "deployment", "pynomaly-api", "-o", "jsonpath={.metadata.creationTimestamp}"))
	for _, component := range []string{"postgres", "redis-queue", "redis-cache", "influxdb"} {
		ready := mustKubectl(t, "-n", namespace, "get", "pods", "-l", "app=pynomaly,component="+component,
			"-o", `jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].lastTransitionTime}{"\n"}{end}`)
		lines := strings.Fields(ready)
		require.NotEmpty(t, lines, component)
		for _, l := range lines {
			assert.False(t, timestamp(t, l).After(apiCreated), "%s was ready at %s, after the API was created at %s", component, l, apiCreated)
		}
	}
	for _, job := range []string{"pynomaly-postgres-setup", "pynomaly-influxdb-setup", "pynomaly-db-migrate"} {
		completed := timestamp(t, mustKubectl(t, "-n", namespace, "get", "job", job, "-o", "jsonpath={.status.completionTime}"))
		assert.False(t, completed.After(apiCreated), "%s completed after the API was created", job)
	}
	migrationCreated := timestamp(t, mustKubectl(t, "-n", namespace, "get", "job", "pynomaly-db-migrate", "-o", "jsonpath={.metadata.creationTimestamp}"))
	setupDone := timestamp(t, mustKubectl(t, "-n", namespace, "get", "job", "pynomaly-postgres-setup", "-o", "jsonpath={.status.completionTime}"))
	assert.False(t, setupDone.After(migrationCreated), "migrations started before the database was set up")
	for _, sts := range []string{"pynomaly-postgres", "pynomaly-redis-queue", "pynomaly-redis-cache", "pynomaly-influxdb"} {
		ready := mustKubectl(t, "-n", namespace, "get", "statefulset", sts, "-o", "jsonpath={.status.readyReplicas}/{.spec.replicas}")
		parts := strings.Split(ready, "/")
		assert.Equal(t, parts[1], parts[0], "%s ready replicas", sts)
	}

	// Tokens and Patroni's and InfluxDB's setup job's rights, as the API server sees them.
	apiTokensOnlyWhereListed(t)
	patroniRights(t, p.must("stack", "output", "appConfigMap"))
	influxDBSetupRights(t)

	// Pod Security: a pod that breaks "restricted" (but not "baseline") is refused where the
	// profile enforces restricted, and only reported in dev.
	enforce := mustKubectl(t, "get", "namespace", namespace, "-o", `jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}`)
	// An image of the stack's own, which the image-sources admission policy allows.
	image := objectField(t, "deployment", "pynomaly-api", "{.spec.template.spec.containers[0].image}")
	loose := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"psa-probe"},"spec":{"containers":[{"name":"c","image":"` + image + `"}]}}`
	probe := filepath.Join(p.dir, "psa-probe.json")
	require.NoError(t, os.WriteFile(probe, []byte(loose), 0o644))
	out, err := kubectl(t, "-n", namespace, "create", "--dry-run=server", "-f", probe)
	if env == "dev" {
		assert.Equal(t, "baseline", enforce)
		assert.NoError(t, err, out)
		assert.Contains(t, out, `would violate PodSecurity "restricted`)
	} else {
		assert.Equal(t, "restricted", enforce)
		assert.Error(t, err)
		assert.Contains(t, out, `violates PodSecurity "restricted`)
	}

	checkNodeAgents(t, env, image)
	assertNetworkPolicies(t)
	if env == "prod" {
		checkAdmissionPolicies(t, p.dir)
	}
	checkInternalTLS(t, env)
	p.must("preview", "--expect-no-changes")
	checkDriftDetection(t, p)
	if env == "prod" {
		checkRestoreProcedure(t)
	}

	// No credential in clear text anywhere in the state.
	export := p.must("stack", "export")
	assert.Contains(t, export, "ciphertext")
	credentials := clusterSecretValues(t)
	require.GreaterOrEqual(t, len(credentials), 8)
	for _, v := range credentials {
		assert.NotContains(t, export, v, "a credential is in the state in clear text")
		assert.NotContains(t, export, jsonText(v), "a credential is in the state in clear text")
	}
	if env == "prod" {
		checkSecretsEncryptedAtRest(t, credentials)
	}

	// One setting changes exactly one object, in place; nothing stateful is replaced.
	p.must("config", "set", "--path", "api.maxReplicas", "7")
	steps := previewSteps(t, p)
	assert.Equal(t, []string{"update kubernetes:autoscaling/v2:HorizontalPodAutoscaler::pynomaly-api"}, steps)
	p.must("config", "rm", "--path", "api.maxReplicas")
	p.must("preview", "--expect-no-changes")

	if env == "dev" {
		rollBackAPIImage(t, p)
	}
	if env == "staging" {
		deployerChanges(t, p, deployer)
	}
	destroy(t, p, env)
}

// rollBackAPIImage is the application rollback of docs/operations.md: a release's image, then
// the previous setting again and pulumi up. The rollback's preview changes the API's Deployment
// and the migration job (which runs the API's image) and nothing else; the Deployment returns to
// the ReplicaSet it ran before, and no StatefulSet, claim or Secret of the data tiers changes.
func rollBackAPIImage(t *testing.T, p *project) {
	previous := objectField(t, "deployment", "pynomaly-api", "{.spec.template.spec.containers[0].image}")
	repository := previous[:strings.LastIndex(previous, ":")]
	before, data := currentReplicaSet(t), dataTierVersions(t)
	p.must("config", "set", "--path", "images.api", repository+":1.0.1-release")
	p.must("up", "--yes", "--skip-preview")
	released := currentReplicaSet(t)
	require.NotEqual(t, before, released, "the release rolled a new ReplicaSet")

	p.must("config", "set", "--path", "images.api", previous)
	for _, s := range previewSteps(t, p) {
		assert.Regexp(t, `:(Deployment::pynomaly-api|Job::pynomaly-db-migrate)$`, s, "the rollback changes only the API and its migration")
	}
	p.must("up", "--yes", "--skip-preview")
	assert.Equal(t, before, currentReplicaSet(t), "the Deployment is back on the ReplicaSet it ran before the release")
	assert.Equal(t, data, dataTierVersions(t), "the rollback touched the data tiers")
	t.Logf("rollback: %s -> %s -> %s, data tiers unchanged", before, released, before)
	p.must("config", "rm", "--path", "images.api")
	p.must("preview", "--expect-no-changes")
}

// currentReplicaSet is the API's ReplicaSet that holds its pods, once its rollout is done.
func currentReplicaSet(t *testing.T) string {
	t.Helper()
	out := mustKubectl(t, "-n", namespace, "get", "replicasets", "-l", "app=pynomaly,component=api",
		"-o", `jsonpath={range .items[?(@.spec.replicas>0)]}{.metadata.name}{"\n"}{end}`)
	names := strings.Fields(out)
	require.Len(t, names, 1, "one ReplicaSet of the API holds pods: %v", names)
	return names[0]
}

// dataTierVersions are the generations of the namespace's StatefulSets (a change of their spec
// raises it; their status moves on its own) and the resource versions of its claims and Secrets.
func dataTierVersions(t *testing.T) string {
	t.Helper()
	sets := mustKubectl(t, "-n", namespace, "get", "statefulsets",
		"-o", `jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}/{.metadata.generation}{"\n"}{end}`)
	return sets + mustKubectl(t, "-n", namespace, "get", "persistentvolumeclaims,secrets",
		"-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.uid}/{.metadata.resourceVersion}{"\n"}{end}`)
}

// A second stack of the program on the same cluster, with the same namespace and StorageClass
// name (prod's stack file beside a deployed dev, as an operator tried it), stops at its preview's
// preflight naming both objects; before the check it failed half-way, on the class's reclaim policy.
func secondStackStopsAtPreflight(t *testing.T) {
	second := newProject(t, "second", "Pulumi.prod.yaml")
	second.onLocalCluster()
	out, err := second.run("preview")
	require.Error(t, err, "a second stack with the first one's namespace previewed:\n%s", out)
	assert.Contains(t, out, `cluster preflight [stack-collision]: namespaces "pynomaly-data-science" (v1) is held by another stack (app.kubernetes.io/instance=pynomaly-dev)`)
	assert.Contains(t, out, `cluster preflight [stack-collision]: storageclasses "pynomaly-ssd" (storage.k8s.io/v1) is held by another stack (app.kubernetes.io/instance=pynomaly-dev)`)
}

// The daily drift check (.github/workflows/drift.yml) runs `pulumi preview --refresh
// --expect-no-changes`: it passes on a stack just deployed, and fails, naming the object, once
// someone deletes one of the stack's objects by hand. An update puts it back.
func checkDriftDetection(t *testing.T, p *project) {
	settleDeployments(t)
	if out, err := p.run("preview", "--refresh", "--expect-no-changes"); err != nil {
		// A Deployment found short of ready pods is the cluster at work, not drift: settled
		// again, the refresh must then find nothing (seen once in prod, after the rollout).
		require.Contains(t, out, "Refreshed resource is in an unhealthy state", "drift in a stack just deployed:\n%s", out)
		t.Logf("a Deployment was short of ready pods at the refresh; settling again:\n%s", lastLines(out, 15))
		settleDeployments(t)
		p.must("preview", "--refresh", "--expect-no-changes")
	}
	mustKubectl(t, "-n", namespace, "delete", "poddisruptionbudget", "pynomaly-api")
	out, err := p.run("preview", "--refresh", "--expect-no-changes")
	require.Error(t, err, "drift went unnoticed:\n%s", out)
	assert.Contains(t, out, "pynomaly-api")
	p.must("up", "--yes", "--skip-preview", "--refresh")
	objectField(t, "poddisruptionbudget", "pynomaly-api", "{.metadata.name}")
	p.must("preview", "--expect-no-changes")
}

// settleDeployments waits until every Deployment has all its replicas available. An HPA that
// scales one (to its minimum after a deployment, or to new bounds) is the cluster at work, not
// drift, but a refresh in the middle of it finds the Deployment short of pods and proposes an
// update (seen once in staging, after the deployer's change of api.maxReplicas).
func settleDeployments(t *testing.T) {
	t.Helper()
	for _, d := range strings.Fields(mustKubectl(t, "-n", namespace, "get", "deployments", "-o", "jsonpath={.items[*].metadata.name}")) {
		mustKubectl(t, "-n", namespace, "rollout", "status", "deployment/"+d, "--timeout=120s")
	}
}

// The restore runbook of docs/operations.md, scripts/restore.sh, against the deployed stack, for PostgreSQL
// and for InfluxDB: the writers are stopped, the restore Job made from the backup CronJob's pod
// is admitted under the namespace's Pod Security level and completes (kwok), and the writers
// come back at their HPAs' minimum.
func checkRestoreProcedure(t *testing.T) {
	for _, db := range []struct{ name, from string }{{"postgres", "20261125T020000Z"}, {"influxdb", ""}} {
		args := []string{filepath.Join(repo, "scripts", "restore.sh"), "--kubeconfig", kubeconfig}
		if db.name == "influxdb" {
			args = append(args, "--influxdb")
		}
		if db.from != "" {
			args = append(args, "--from", db.from)
		}
		start := time.Now()
		out, err := exec.Command("bash", args...).CombinedOutput()
		require.NoError(t, err, "scripts/restore.sh %s:\n%s", db.name, out)
		t.Logf("scripts/restore.sh (%s): %v", db.name, time.Since(start).Round(100*time.Millisecond))
		job := regexp.MustCompile(`job/(pynomaly-` + db.name + `-restore-[0-9t]+)`).FindStringSubmatch(string(out))
		require.NotNil(t, job, "%s", out)
		from := db.from
		if from == "" {
			from = "newest"
		}
		assert.Equal(t, from, objectField(t, "job", job[1], "{.metadata.annotations.pynomaly\\.io/restore-from}"))
		assert.Equal(t, db.name+"-backup", objectField(t, "job", job[1], "{.spec.template.metadata.labels.component}"))
		for _, d := range []string{"pynomaly-api", "pynomaly-worker"} {
			assert.Equal(t, objectField(t, "hpa", d, "{.spec.minReplicas}"), objectField(t, "deployment", d, "{.spec.replicas}"), d)
		}
		mustKubectl(t, "-n", namespace, "delete", "job", job[1])
	}
}

// assertNetworkPolicies checks that the API server took the security tier's policies: the
// namespace's default deny, and a policy named after every workload.
func assertNetworkPolicies(t *testing.T) {
	deny := mustKubectl(t, "-n", namespace, "get", "networkpolicy", "pynomaly-default-deny", "-o", "jsonpath={.spec.podSelector}|{.spec.policyTypes}")
	assert.Equal(t, `{}|["Ingress","Egress"]`, deny)
	policies := strings.Fields(mustKubectl(t, "-n", namespace, "get", "networkpolicies", "-o", "jsonpath={.items[*].metadata.name}"))
	workloads := strings.Fields(mustKubectl(t, "-n", namespace, "get", "deployments,statefulsets,jobs,cronjobs", "-l", "app=pynomaly",
		"-o", "jsonpath={.items[*].metadata.name}"))
	require.NotEmpty(t, workloads)
	for _, w := range workloads {
		assert.Contains(t, policies, w, "no NetworkPolicy for %s", w)
	}
}

// clusterSecretValues are the decoded values of the program's Secrets, as the cluster holds them.
func clusterSecretValues(t *testing.T) []string {
	var values []string
	for _, v := range clusterCredentials(t) {
		values = append(values, v)
	}
	return values
}

// clusterCredentials are the credentials the program's Secrets hold in the cluster, decoded, by
// "secret/key": every value but the user names (which the state may show, as ConfigMaps do) and
// short values, which could turn up in the state by chance.
func clusterCredentials(t *testing.T) map[string]string {
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Data map[string]string `json:"data"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(mustKubectl(t, "-n", namespace, "get", "secrets", "-l", "app=pynomaly", "-o", "json")), &list))
	values := map[string]string{}
	for _, s := range list.Items {
		for k, v := range s.Data {
			b, err := base64.StdEncoding.DecodeString(v)
			require.NoError(t, err)
			if len(b) >= 16 && !strings.HasSuffix(k, "-username") && !strings.HasSuffix(k, "-user") {
				values[s.Metadata.Name+"/"+k] = string(b)
			}
		}
	}
	return values
}

// previewSteps are the steps of a preview that change something, as "op type::name": not
// "same", and not "read" (the program reads its own stack's outputs on every run).
func previewSteps(t *testing.T, p *project) []string {
	all, out, err := p.preview()
	require.NoError(t, err, "pulumi preview --json:\n%s", out)
	var steps []string
	for _, s := range all {
		if s.Op != "same" && s.Op != "read" {
			steps = append(steps, s.String())
		}
	}
	return steps
}

// destroy tears a stack down. In prod the stateful objects are protected and retained: the
// suite unprotects them explicitly, checks that exactly those stayed in the cluster, then
// removes them by hand, as an operator would.
func destroy(t *testing.T, p *project, env string) {
	if env == "prod" {
		out, err := p.run("destroy", "--yes", "--skip-preview")
		require.Error(t, err, "destroy must refuse protected resources")
		assert.Contains(t, out, "protected")
		p.must("state", "unprotect", "--all", "--yes")
	}
	p.must("destroy", "--yes", "--skip-preview")
	p.must("stack", "rm", "--yes")

	left := strings.Fields(mustKubectl(t, "get", "storageclass", "-o", "name"))
	assert.NotContains(t, left, "storageclass.storage.k8s.io/pynomaly-ssd")
	if env != "prod" {
		waitGone(t, "namespace", namespace)
		return
	}
	objects := strings.Fields(mustKubectl(t, "-n", namespace, "get", "statefulsets,deployments,jobs,cronjobs,services,secrets,configmaps,persistentvolumeclaims",
		"-l", "app=pynomaly", "-o", "name"))
	// The StatefulSets are deleted orphaning their pods: the databases keep running on their
	// claims until someone deletes the namespace.
	for _, component := range []string{"postgres", "redis-queue", "influxdb"} {
		pods := mustKubectl(t, "-n", namespace, "get", "pods", "-l", "app=pynomaly,component="+component, "-o", "name")
		assert.NotEmpty(t, strings.Fields(pods), "prod's %s pods outlive a destroy", component)
	}
	assert.ElementsMatch(t, []string{
		"persistentvolumeclaim/pynomaly-backups", "persistentvolumeclaim/pynomaly-models",
		// and the credentials that open them
		"secret/pynomaly-postgres-credentials", "secret/pynomaly-redis-credentials", "secret/pynomaly-influxdb-credentials",
		"secret/pynomaly-grafana-credentials", "secret/pynomaly-api-credentials",
	}, filterClaims(objects), "prod keeps exactly its stateful objects and their credentials")
	mustKubectl(t, "delete", "namespace", namespace, "--wait=false")
	waitGone(t, "namespace", namespace)
}

// filterClaims drops the StatefulSets' own claims (data-*, pgdata-*), which follow them.
func filterClaims(objects []string) []string {
	var out []string
	for _, o := range objects {
		if strings.HasPrefix(o, "persistentvolumeclaim/data-") || strings.HasPrefix(o, "persistentvolumeclaim/pgdata-") {
			continue
		}
		out = append(out, o)
	}
	return out
}

func waitGone(t *testing.T, kind, name string) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := kubectl(t, "get", kind, name, "-o", "name")
		if err != nil && strings.Contains(out, "NotFound") {
			return
		}
		require.True(t, time.Now().Before(deadline), "%s %s still there: %s", kind, name, out)
		time.Sleep(time.Second)
	}
}

// The render-to-directory mode writes manifests a real API server accepts.
func TestRenderedManifestsAreAccepted(t *testing.T) {
	p := newProject(t, "render", "Pulumi.dev.yaml")
	dir := filepath.Join(p.dir, "rendered")
	p.must("config", "set", "--path", "kubernetes.renderYamlToDirectory", dir)
	p.must("up", "--yes", "--skip-preview")
	files, err := filepath.Glob(filepath.Join(dir, "1-manifest", "*.yaml"))
	require.NoError(t, err)
	require.Greater(t, len(files), 40)
	// A server-side dry run of namespaced objects needs their namespace to exist.
	ns, err := filepath.Glob(filepath.Join(dir, "1-manifest", "v1-namespace-*.yaml"))
	require.NoError(t, err)
	require.Len(t, ns, 1)
	mustKubectl(t, "apply", "-f", ns[0])
	defer func() {
		mustKubectl(t, "delete", "namespace", namespace, "--wait=false")
		waitGone(t, "namespace", namespace)
	}()
	out := mustKubectl(t, "apply", "--dry-run=server", "-f", filepath.Join(dir, "1-manifest"))
	assert.Equal(t, len(files), strings.Count(out, "(server dry run)"), out)
	p.must("destroy", "--yes", "--skip-preview")
	left, _ := filepath.Glob(filepath.Join(dir, "1-manifest", "*.yaml"))
	assert.Empty(t, left, "destroy removes the rendered files")
}

// With the API server stopped in the middle of `pulumi up`, the update fails with a clear
// error; after a restart a second `pulumi up` converges and no generated credential changed.
func TestAPIServerOutageMidUpdate(t *testing.T) {
	p := newProject(t, "outage", "Pulumi.dev.yaml")
	p.onLocalCluster()
	defer func() {
		cluster(t, "resume")
		p.run("destroy", "--yes", "--skip-preview")
		waitGone(t, "namespace", namespace)
	}()

	up, out := p.start("up", "--yes", "--skip-preview")
	exited := make(chan error, 1)
	go func() { exited <- up.Wait() }()
	// Kill the API server the moment the update's Kubernetes provider starts: the program is
	// registering resources and the first Kubernetes calls are about to be made.
	require.True(t, waitForProcess("pulumi-resource-kubernetes", 2*time.Minute), "the kubernetes provider never started")
	cluster(t, "pause")
	// The drill waits for the engine to give up by itself: nothing here cancels the update, so
	// only the engine's own connection error can satisfy the pattern below (a cancellation
	// prints "update canceled", which it does not accept). A call that was already waiting for
	// readiness when the server died retries until its await timeout (10 minutes by default).
	var err error
	select {
	case err = <-exited:
	case <-time.After(12 * time.Minute):
		_ = up.Process.Kill()
		<-exited
		require.Fail(t, "pulumi up did not report the outage within 12 minutes", lastLines(out.String(), 30))
	}
	require.Error(t, err, "pulumi up succeeded with the API server down")
	assert.Regexp(t, outageError, out.String(), "the engine did not report the connection error")
	t.Logf("error reported:\n%s", lastLines(out.String(), 15))

	cluster(t, "resume")
	// Creates that were in flight when the run ended are dropped from the state; the re-run
	// applies them again (server-side apply adopts what the server had already stored).
	p.must("refresh", "--yes", "--clear-pending-creates")
	p.must("up", "--yes", "--skip-preview")
	p.must("preview", "--expect-no-changes")
	// Nothing lost: the credentials generated before the outage are the ones in the cluster.
	secrets := clusterSecretValues(t)
	export := p.must("stack", "export", "--show-secrets")
	for _, v := range secrets {
		// Derived values (PgBouncer's user list) are checked through the password they carry.
		if strings.ContainsAny(v, "\" \n") {
			continue
		}
		// A value derived in the program (the SCRAM verifier) is only in the Secret, which the
		// provider stores as base64 data.
		inState := strings.Contains(export, v) || strings.Contains(export, base64.StdEncoding.EncodeToString([]byte(v)))
		assert.True(t, inState, "a credential in the cluster differs from the state's")
	}
	// The program reads its own previous outputs (the StackReference of the render-mode guard);
	// the re-run read those of the failed update, so a refresh now would report the reference as
	// changed, which is no disagreement with the cluster. A second, no-change `up` lets it read
	// the current outputs; `up` never refreshes, so it hides no drift from the refresh below.
	p.must("up", "--yes", "--skip-preview")
	refresh, err := p.run("refresh", "--yes", "--expect-no-changes")
	assert.NoError(t, err, "the state and the cluster disagree after the re-run:\n%s", refresh)
}

// outageError is what the engine and the Kubernetes provider report when the API server is gone:
// the provider's check that the cluster answers, or a refused, reset or dropped connection.
// Nothing in it matches a cancelled update.
const outageError = `configured Kubernetes cluster is unreachable|connect: connection refused|dial tcp [^ ]+: connect|unexpected EOF|http2: client connection lost|connection reset by peer`

func cluster(t *testing.T, verb string) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(repo, "scripts", "cluster.sh"), verb)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "cluster.sh %s: %s", verb, out)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func timestamp(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	require.NoError(t, err, "timestamp %q", s)
	return ts
}

// jsonText is how a string appears inside a JSON document such as a stack export.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// waitForProcess waits until a process whose command line contains name is running.
func waitForProcess(name string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), name) {
				return true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// The node agents' namespace is admitted at its own level, privileged, and its DaemonSets run a
// pod on every node, while the platform's namespace stays restricted: a pod that mounts a host
// path is refused there and admitted in the agents' namespace. dev runs no agent.
func checkNodeAgents(t *testing.T, env, image string) {
	nodeNamespace := namespace + "-node"
	level, err := kubectl(t, "get", "namespace", nodeNamespace, "-o", `jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}`)
	if env == "dev" {
		assert.Error(t, err, "dev runs no node agent: %s", level)
		return
	}
	require.NoError(t, err, level)
	assert.Equal(t, "privileged", level)
	nodes := len(strings.Fields(mustKubectl(t, "get", "nodes", "-o", "name")))
	for _, ds := range []string{"pynomaly-log-collector", "pynomaly-node-exporter"} {
		ready := mustKubectl(t, "-n", nodeNamespace, "get", "daemonset", ds, "-o", "jsonpath={.status.numberReady}/{.status.desiredNumberScheduled}")
		assert.Equal(t, fmt.Sprintf("%d/%d", nodes, nodes), ready, "%s: a ready pod on every node", ds)
	}
	hostPath := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"host-path-probe"},"spec":{"containers":[{"name":"c","image":"` + image +
		`","volumeMounts":[{"name":"logs","mountPath":"/logs","readOnly":true}]}],"volumes":[{"name":"logs","hostPath":{"path":"/var/log/pods"}}]}}`
	probe := filepath.Join(t.TempDir(), "host-path-probe.json")
	require.NoError(t, os.WriteFile(probe, []byte(hostPath), 0o644))
	out, err := kubectl(t, "-n", namespace, "create", "--dry-run=server", "-f", probe)
	assert.Error(t, err, "a host path in the platform's namespace: %s", out)
	assert.Contains(t, out, "violates PodSecurity")
	out, err = kubectl(t, "-n", nodeNamespace, "create", "--dry-run=server", "-f", probe)
	assert.NoError(t, err, "a host path in the node agents' namespace: %s", out)
}
