//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// workerPool is a dedicated node for the workers: the pool's label, and a taint that keeps every
// pod off it that does not tolerate it.
const workerPool = `apiVersion: v1
kind: Node
metadata:
  name: kwok-pool-workers
  annotations: {kwok.x-k8s.io/node: fake}
  labels:
    kubernetes.io/hostname: kwok-pool-workers
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/region: local
    topology.kubernetes.io/zone: zone-a
    type: kwok
    pynomaly.io/pool: workers
spec:
  taints: [{key: pynomaly.io/pool, value: workers, effect: NoSchedule}]
status:
  allocatable: {cpu: "32", memory: 128Gi, pods: "110", ephemeral-storage: 500Gi}
  capacity: {cpu: "32", memory: 128Gi, pods: "110", ephemeral-storage: 500Gi}
`

// The seed's dedicated data-processing nodes: with the worker pool's selector and toleration, the
// scheduler puts every worker pod on the pool's node and no other pod there; with the stack's own
// priority classes, the API server admits each pod at its tier's priority (databases above the
// application above jobs).
func TestWorkersRunOnTheirNodePool(t *testing.T) {
	node := filepath.Join(t.TempDir(), "pool.yaml")
	require.NoError(t, os.WriteFile(node, []byte(workerPool), 0o644))
	mustKubectl(t, "apply", "--server-side", "--field-manager", "pynomaly-e2e", "-f", node)
	t.Cleanup(func() { kubectl(t, "delete", "node", "kwok-pool-workers", "--ignore-not-found") })
	mustKubectl(t, "wait", "--for=condition=Ready", "node/kwok-pool-workers", "--timeout=60s")

	p, done := clusterProject(t, "dev")
	p.must("config", "set", "--path", `nodeSelectors.worker["pynomaly.io/pool"]`, "workers")
	p.must("config", "set", "--path", "tolerations.worker[0].key", "pynomaly.io/pool")
	p.must("config", "set", "--path", "tolerations.worker[0].value", "workers")
	p.must("config", "set", "--path", "tolerations.worker[0].effect", "NoSchedule")
	p.must("config", "set", "--path", "priorityClasses.create", "true")
	p.must("up", "--yes", "--skip-preview")

	workers := podsBy(t, "-l", "app=pynomaly,component=worker")
	require.NotEmpty(t, workers, "no worker pod")
	for _, w := range workers {
		assert.Equal(t, "kwok-pool-workers", w.node, "worker pod %s", w.name)
	}
	onPool := podsBy(t, "--field-selector", "spec.nodeName=kwok-pool-workers")
	for _, pod := range onPool {
		assert.Equal(t, "worker", pod.component, "pod %s is on the workers' pool", pod.name)
	}
	assert.Len(t, onPool, len(workers))

	// Priority as the API server resolved it from each pod's class.
	priorities := map[string]string{}
	for _, pod := range podsBy(t, "-l", "app=pynomaly") {
		priorities[pod.component] = pod.priority
	}
	assert.Equal(t, "100000", priorities["postgres"], "a database")
	assert.Equal(t, "10000", priorities["worker"], "the application")
	p.must("preview", "--expect-no-changes")
	destroy(t, p, "dev")
	left, _ := kubectl(t, "get", "priorityclasses", "-o", "name")
	assert.NotContains(t, left, namespace, "a priority class outlived the stack")
	done()
}

// pod is what a test reads of a pod: its name, node, component label and resolved priority.
type pod struct{ name, node, component, priority string }

// podsBy lists the namespace's pods that the kubectl selection args pick.
func podsBy(t *testing.T, args ...string) []pod {
	t.Helper()
	out := mustKubectl(t, append([]string{"-n", namespace, "get", "pods", "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.metadata.labels.component} {.spec.priority}{"\n"}{end}`}, args...)...)
	var pods []pod
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) == 4 {
			pods = append(pods, pod{f[0], f[1], f[2], f[3]})
		}
	}
	return pods
}
