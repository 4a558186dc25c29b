//go:build e2e && realnode

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/netpol"
	"github.com/pynomaly/pynomaly-platform/redis"
)

// realNode is the node of the local cluster where pods run (scripts/cluster.sh up --real-node).
const realNode = "pynomaly-node"

// nodeImage is an image scripts/node-images.sh builds, and the stack setting that selects it.
type nodeImage struct {
	Setting string `json:"setting"`
	Ref     string `json:"ref"`
}

// onRealNode makes the stack run on the real node: the images built here (never pulled), the
// node's local volumes, and every component on the real node but those no image of which can
// be built here (InfluxDB 2 and Grafana stay on kwok nodes).
func (p *project) onRealNode() {
	p.t.Helper()
	for _, img := range nodeImages(p.t) {
		if img.Setting != "" {
			p.must("config", "set", "--path", "images."+img.Setting, img.Ref)
		}
	}
	p.must("config", "set", "--path", "images.pullPolicy", "Never")
	p.must("config", "set", "--path", "storage.existingClass", "pynomaly-local")
	p.must("config", "set", "--path", "nodeSelectors.default.type", "real")
	for _, kwokOnly := range []string{"influxdb", "influxdb-setup", "influxdb-backup", "grafana"} {
		p.must("config", "set", "--path", "nodeSelectors."+kwokOnly+".type", "kwok")
	}
}

// nodeImages are the images scripts/node-images.sh builds (scripts/node-images/images.json).
func nodeImages(t *testing.T) []nodeImage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "scripts", "node-images", "images.json"))
	require.NoError(t, err)
	var spec struct{ Images []nodeImage }
	require.NoError(t, json.Unmarshal(b, &spec))
	return spec.Images
}

// podState is what the stage reads of a pod.
type podState struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
	Status struct {
		Phase      string `json:"phase"`
		PodIP      string `json:"podIP"`
		StartTime  string `json:"startTime"`
		Conditions []struct {
			Type, Status string
		} `json:"conditions"`
		ContainerStatuses []struct {
			Name  string `json:"name"`
			State struct {
				Running *struct {
					StartedAt string `json:"startedAt"`
				} `json:"running"`
				Terminated *struct {
					StartedAt string `json:"startedAt"`
				} `json:"terminated"`
			} `json:"state"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

func (s podState) ready() bool {
	for _, c := range s.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

func pods(t *testing.T) []podState {
	t.Helper()
	var list struct{ Items []podState }
	require.NoError(t, json.Unmarshal([]byte(mustKubectl(t, "-n", namespace, "get", "pods", "-o", "json")), &list))
	return list.Items
}

// serviceIP is a Service's cluster address; the host reaches it through kube-proxy's rules.
func serviceIP(t *testing.T, name string) string {
	t.Helper()
	return mustKubectl(t, "-n", namespace, "get", "service", name, "-o", "jsonpath={.spec.clusterIP}")
}

// TestRealNode deploys dev onto the real node and checks it with real traffic. Its measured
// times are the lines starting with REALNODE.
func TestRealNode(t *testing.T) {
	p := newProject(t, "dev", "Pulumi.dev.yaml")
	p.onLocalCluster()
	p.onRealNode()
	start := time.Now()
	p.must("up", "--yes", "--skip-preview")
	t.Logf("REALNODE pulumi up of dev on the real node: %s", time.Since(start).Round(time.Second))

	edge := "http://" + serviceIP(t, "pynomaly-nginx-service")
	api := "http://" + serviceIP(t, "pynomaly-api-service") + ":8000"
	t.Run("every pod on the real node is ready", func(t *testing.T) { podsReady(t) })
	t.Run("the migration finished before the first API pod started", func(t *testing.T) { migrationFirst(t) })
	t.Run("a request through the edge is stored, queued and done by a worker", func(t *testing.T) {
		c := client("")
		queued, code, err := detect(c, edge, 1, 2, 3, 2, 1, 100)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, code)
		done := waitDone(t, c, edge, queued.ID)
		assert.Contains(t, string(done.Result), `"index":5`, "the worker found the outlier: %s", done.Result)
		// The API serves its metrics on the same port; the edge keeps them inside.
		resp, err := c.Get(edge + "/metrics")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the API's metrics through the edge")
	})
	t.Run("the edge limits each client address on its own", func(t *testing.T) { rateLimited(t) })
	t.Run("Prometheus scrapes every target on the real node", func(t *testing.T) { scrapedUp(t) })
	t.Run("the NetworkPolicies refuse a flow outside the table", func(t *testing.T) { flowsEnforced(t) })
	t.Run("a labelled debug pod reaches PostgreSQL, an unlabelled one does not", func(t *testing.T) { debugClients(t) })
	t.Run("the daily PostgreSQL backup runs", func(t *testing.T) {
		// The CronJob's own template, run now rather than at 02:00.
		mustKubectl(t, "-n", namespace, "create", "job", "backup-now", "--from=cronjob/pynomaly-postgres-backup")
		start := time.Now()
		_, err := kubectl(t, "-n", namespace, "wait", "--for=condition=Complete", "job/backup-now", "--timeout=180s")
		logs, _ := kubectl(t, "-n", namespace, "logs", "job/backup-now", "--all-containers")
		require.NoError(t, err, "the backup job did not complete:\n%s", logs)
		t.Logf("REALNODE the PostgreSQL backup job completed in %s", time.Since(start).Round(time.Second))
	})
	t.Run("a credential rotation leaves the API answering", func(t *testing.T) {
		probe := startProber(client(""), api, 250*time.Millisecond)
		previous := watchPods(t, "api", "worker")
		start := time.Now()
		p.must("config", "set", "--path", "secrets.rotation.all", "1")
		p.must("up", "--yes", "--skip-preview")
		podsReady(t)
		ok, failed, window := probe.finish()
		lastSeen := previous()
		// A stopping API pod serves through its preStop delay and a worker finishes its task:
		// both with the previous password, which must stay valid until they are gone.
		for job, container := range map[string]string{"pynomaly-postgres-retire": "postgres-retire", "pynomaly-redis-retire": "redis-retire"} {
			retired := jobContainerStart(t, job, container)
			t.Logf("REALNODE rotation: %s retired the previous password %s after the last pod holding it was gone",
				job, retired.Sub(lastSeen).Round(time.Second))
			// startedAt is whole seconds: a second's slack for its rounding down.
			assert.False(t, retired.Add(time.Second).Before(lastSeen),
				"%s retired at %s while a pod of the previous generation was still there at %s", job, retired, lastSeen)
		}
		t.Logf("REALNODE rotation: pulumi up %s; writes through the API: %d ok, %d failed, error window %s",
			time.Since(start).Round(time.Second), ok, failed, window.Round(10*time.Millisecond))
		// dev runs one Redis per role, and the rotation restarts it: the window is that restart
		// (measured 12 s to 28 s on this machine kind, docs/testing.md).
		assert.Less(t, window, time.Minute, "writes failed for too long during the rotation")
		assert.Greater(t, ok, 0)
	})
	t.Run("a PostgreSQL leader's deletion: a replica takes over", func(t *testing.T) { leaderFailover(t, p, api) })
	t.Run("the NetworkPolicies refused no flow between the platform's pods but the one tried", func(t *testing.T) {
		refused := refusedFlows(t, filepath.Join(filepath.Dir(kubeconfig), "logs", "kube-network-policies.log"))
		t.Logf("REALNODE connections refused between known pods over the whole stage: %v", refused)
		for flow := range refused {
			assert.Regexp(t, `^(pynomaly-postgres-pooler-\S+ -> pynomaly-redis-queue-0|`+plainDebugPod+` -> pynomaly-postgres-\d+):(6379|5432)$`, flow,
				"a flow the platform uses was refused")
		}
	})
}

// flowsEnforced: the node's enforcer applies the deployed NetworkPolicies. From the pooler's pod,
// the primary's PostgreSQL port answers (a flow of the table) while the task queue's Redis port,
// open to the API and the workers, does not (no flow from the pooler); both through their
// Services, as a client would connect.
func flowsEnforced(t *testing.T) {
	connect := func(host string, port int) error {
		_, err := kubectl(t, "-n", namespace, "exec", "deploy/pynomaly-postgres-pooler", "--",
			"nc", "-z", "-w", "3", host, fmt.Sprint(port))
		return err
	}
	require.NoError(t, connect("pynomaly-postgres-service", 5432), "the pooler reaches the primary")
	start := time.Now()
	assert.Error(t, connect("pynomaly-redis-queue", 6379), "the pooler reaches the task queue, which no flow allows")
	t.Logf("REALNODE a flow outside the table (pooler to redis-queue:6379) refused: no answer in %s", time.Since(start).Round(100*time.Millisecond))
	require.NoError(t, connect("pynomaly-postgres-service", 5432), "the pooler still reaches the primary")
}

// plainDebugPod is debugClients' pod without the debug-client label.
const plainDebugPod = "debug-plain"

// debugClients runs the seed's debug pod as docs/operations.md gives it (labelled a debug
// client, the postgresClient image the settings name), on the real node: pg_isready reaches the
// primary through its Service. The same pod without the label gets no answer: dev has
// network.debugClients on, and the label is what the policy admits.
func debugClients(t *testing.T) {
	image := ""
	for _, img := range nodeImages(t) {
		if img.Setting == "postgresClient" {
			image = img.Ref
		}
	}
	require.NotEmpty(t, image)
	run := func(name string, labels ...string) (string, string) {
		overrides, err := json.Marshal(map[string]any{"spec": map[string]any{
			"nodeSelector": map[string]string{"type": "real"},
			"containers": []any{map[string]any{"name": name, "image": image, "imagePullPolicy": "Never",
				"command": []string{"pg_isready", "-h", "pynomaly-postgres-service", "-p", "5432", "-t", "10"}}},
		}})
		require.NoError(t, err)
		args := append([]string{"-n", namespace, "run", name, "--image", image, "--restart=Never", "--overrides", string(overrides)}, labels...)
		mustKubectl(t, args...)
		defer kubectl(t, "-n", namespace, "delete", "pod", name, "--wait=false")
		phase := ""
		require.Eventually(t, func() bool {
			out, _ := kubectl(t, "-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.phase}")
			phase = strings.TrimSpace(out)
			return phase == "Succeeded" || phase == "Failed"
		}, 2*time.Minute, time.Second, "pod %s never finished", name)
		log, _ := kubectl(t, "-n", namespace, "logs", name)
		return phase, strings.TrimSpace(log)
	}
	phase, log := run("debug", "--labels="+netpol.DebugClientLabel+"=true")
	assert.Equal(t, "Succeeded", phase, "the debug client reaches the primary: %s", log)
	assert.Contains(t, log, "accepting connections")
	phase, log = run(plainDebugPod)
	assert.Equal(t, "Failed", phase, "a pod without the label reaches the primary: %s", log)
	assert.Contains(t, log, "no response")
	t.Logf("REALNODE debug pod with %s=true: reaches the primary; without it: %s", netpol.DebugClientLabel, log)
}

// refusedFlows reads the enforcer's log (-v=2): the connections it refused between two pods it
// knew, as "source -> destination:port", with their counts (a SYN and its retries). A packet
// from an address no pod holds yet is left out: a pod's init container can connect before the
// kubelet has posted its address, and its retry a second later passes.
func refusedFlows(t *testing.T, log string) map[string]int {
	t.Helper()
	f, err := os.Open(log)
	require.NoError(t, err)
	defer f.Close()
	evaluating := regexp.MustCompile(`"Evaluating packet" srcPod="([^"]+)" dstPod="([^"]+)" packet=<`)
	packet := regexp.MustCompile(`^\s*\[(\d+)\] \S+ \S+:(\d+) `)
	dropped := regexp.MustCompile(`"Finished syncing packet" id=(\d+) .*verdict="drop"`)
	flows, refused := map[string]string{}, map[string]int{}
	var pending []string // the pods of the packet whose line comes next
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := evaluating.FindStringSubmatch(line); m != nil {
			pending = m[1:]
		} else if m := packet.FindStringSubmatch(line); m != nil && pending != nil {
			if pending[0] != "none" && pending[1] != "none" {
				flows[m[1]] = path.Base(pending[0]) + " -> " + path.Base(pending[1]) + ":" + m[2]
			}
			pending = nil
		} else if m := dropped.FindStringSubmatch(line); m != nil && flows[m[1]] != "" {
			refused[flows[m[1]]]++
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, flows, "the enforcer judged no packet between pods: is it running with -v=2?")
	return refused
}

// watchPods watches the pods of the components that exist now until the returned function is
// called, which gives the last time one of them was seen.
func watchPods(t *testing.T, components ...string) func() time.Time {
	t.Helper()
	watched := map[string]bool{}
	for _, p := range pods(t) {
		if slices.Contains(components, p.Metadata.Labels["component"]) {
			watched[p.Metadata.Name] = true
		}
	}
	require.NotEmpty(t, watched, "no pod of %v to watch", components)
	done, last := make(chan struct{}), make(chan time.Time)
	go func() {
		seen := time.Now()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				last <- seen
				return
			case <-tick.C:
			}
			out, err := kubectl(t, "-n", namespace, "get", "pods", "-o", "name")
			if err != nil {
				seen = time.Now() // unknown counts as still there
				continue
			}
			for _, name := range strings.Fields(out) {
				if watched[strings.TrimPrefix(name, "pod/")] {
					seen = time.Now()
				}
			}
		}
	}()
	return func() time.Time { close(done); return <-last }
}

// jobContainerStart is when the container of job's completed pod started.
func jobContainerStart(t *testing.T, job, container string) time.Time {
	t.Helper()
	for _, p := range pods(t) {
		if p.Metadata.Labels["job-name"] != job || p.Status.Phase != "Succeeded" {
			continue
		}
		for _, c := range p.Status.ContainerStatuses {
			if c.Name == container && c.State.Terminated != nil {
				at, err := time.Parse(time.RFC3339, c.State.Terminated.StartedAt)
				require.NoError(t, err)
				return at
			}
		}
	}
	t.Fatalf("no completed pod of %s", job)
	return time.Time{}
}

// podsReady: every pod on the real node turns Ready through its own probes (a Job's pod
// Succeeded) within two minutes: a pod the autoscaler or a rollout has just added gets its time.
func podsReady(t *testing.T) {
	t.Helper()
	var notReady []string
	onNode := 0
	ok := assert.Eventually(t, func() bool {
		notReady, onNode = notReady[:0], 0
		for _, pod := range pods(t) {
			if pod.Spec.NodeName != realNode {
				continue
			}
			onNode++
			if pod.Status.Phase != "Succeeded" && !pod.ready() {
				notReady = append(notReady, pod.Metadata.Name+" ("+pod.Status.Phase+")")
			}
		}
		return len(notReady) == 0
	}, 2*time.Minute, 2*time.Second)
	assert.True(t, ok, "pods on the real node not ready: %v", notReady)
	assert.Greater(t, onNode, 5, "pods on the real node")
}

func migrationFirst(t *testing.T) {
	done := timestamp(t, mustKubectl(t, "-n", namespace, "get", "job", "pynomaly-db-migrate", "-o", "jsonpath={.status.completionTime}"))
	apis := 0
	for _, pod := range pods(t) {
		if pod.Metadata.Labels["component"] != "api" {
			continue
		}
		for _, c := range pod.Status.ContainerStatuses {
			require.NotNil(t, c.State.Running, "%s/%s is not running", pod.Metadata.Name, c.Name)
			apis++
			assert.False(t, timestamp(t, c.State.Running.StartedAt).Before(done), "%s/%s started before the migration completed", pod.Metadata.Name, c.Name)
		}
	}
	assert.Positive(t, apis)
}

// rateLimited sends 40 requests back to back from one address straight to the nginx pod (a
// Service would masquerade every client to one address), then one from a second address.
func rateLimited(t *testing.T) {
	ip := mustKubectl(t, "-n", namespace, "get", "pod", "-l", "component=nginx", "-o", "jsonpath={.items[0].status.podIP}")
	nginx := "http://" + ip + ":8080"
	first, second := client(""), client("198.51.100.11")
	codes := map[int]int{}
	for range 40 {
		resp, err := first.Get(nginx + "/api/v1/tasks/00000000-0000-0000-0000-000000000000")
		require.NoError(t, err)
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	t.Logf("REALNODE 40 requests from one address: %v", codes)
	assert.GreaterOrEqual(t, codes[http.StatusTooManyRequests], 15, "answers of 429: %v", codes)
	resp, err := second.Get(nginx + "/api/v1/health")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a second address is still served")
}

// scrapedUp: every target Prometheus scrapes on the real node, pods and the node's kubelet, is up.
func scrapedUp(t *testing.T) {
	prom := "http://" + serviceIP(t, "pynomaly-prometheus") + ":9090"
	var up struct {
		Data struct {
			ActiveTargets []struct {
				Labels    map[string]string `json:"labels"`
				ScrapeURL string            `json:"scrapeUrl"`
				Health    string            `json:"health"`
				LastError string            `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	onNode := map[string]bool{}
	for _, pod := range pods(t) {
		if pod.Spec.NodeName == realNode {
			onNode[pod.Status.PodIP] = true
		}
	}
	onNode["198.51.100.11"] = true // the kubelet's own endpoints
	var checked []string
	require.Eventually(t, func() bool {
		resp, err := http.Get(prom + "/api/v1/targets?state=active")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if json.NewDecoder(resp.Body).Decode(&up) != nil {
			return false
		}
		checked = checked[:0]
		for _, tg := range up.Data.ActiveTargets {
			host := strings.Split(strings.SplitN(tg.ScrapeURL, "//", 2)[1], ":")[0]
			if !onNode[host] {
				continue
			}
			if tg.Health != "up" {
				t.Logf("not up yet: %s: %s", tg.ScrapeURL, tg.LastError)
				return false
			}
			checked = append(checked, tg.Labels["job"])
		}
		return len(checked) > 0
	}, 2*time.Minute, 5*time.Second)
	t.Logf("REALNODE targets up on the real node: %v", checked)
	for _, job := range []string{"pynomaly-api", "pynomaly-worker", "pynomaly-postgres", "pynomaly-nginx", "kubelet"} {
		assert.Contains(t, checked, job)
	}
	// The Redis exporters log in as their own user, which may read the task list's length.
	for query, want := range map[string]int{`redis_up == 1`: 2, `redis_key_size{key="` + redis.TaskQueueName + `"}`: 1} {
		var res struct {
			Data struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		resp, err := http.Get(prom + "/api/v1/query?query=" + url.QueryEscape(query))
		require.NoError(t, err)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&res))
		resp.Body.Close()
		assert.Len(t, res.Data.Result, want, "series of %s", query)
	}
}

// leaderFailover grows PostgreSQL to two members, writes a task, deletes the leader's pod as a
// node drain would, and measures the write outage the API sees; the task written before is
// still there after.
func leaderFailover(t *testing.T, p *project, api string) {
	p.must("config", "set", "--path", "postgres.replicas", "2")
	p.must("up", "--yes", "--skip-preview")
	podsReady(t)
	c := client("")
	before, code, err := detect(c, api, 5, 6, 5, 50)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code)
	waitDone(t, c, api, before.ID)

	leader := func() string {
		out, _ := kubectl(t, "-n", namespace, "get", "pods", "-l", "component=postgres,spilo-role=primary", "-o", "jsonpath={.items[*].metadata.name}")
		return strings.TrimSpace(out)
	}
	old := leader()
	require.NotEmpty(t, old, "no pod is labelled the leader")
	probe := startProber(c, api, 200*time.Millisecond)
	deleted := time.Now()
	mustKubectl(t, "-n", namespace, "delete", "pod", old, "--wait=false")
	var now string
	require.Eventually(t, func() bool { now = leader(); return now != "" && now != old }, 3*time.Minute, time.Second,
		"no other member took the lead from %s", old)
	promoted := time.Since(deleted)
	// The outage ends with the first write after the new leader; give the prober time to see it.
	require.Eventually(t, func() bool { _, code, err = detect(c, api, 1, 2, 3); return err == nil && code == http.StatusAccepted },
		2*time.Minute, 500*time.Millisecond, "no write after the new leader (last: %d, %v)", code, err)
	ok, failed, window := probe.finish()
	t.Logf("REALNODE leader %s deleted: %s leads after %s; writes through the API: %d ok, %d failed, write outage %s",
		old, now, promoted.Round(time.Second), ok, failed, window.Round(10*time.Millisecond))
	assert.Less(t, window, 90*time.Second)
	kept := waitDone(t, c, api, before.ID)
	assert.Equal(t, before.ID, kept.ID, "the task written before the failover is still there")
}
