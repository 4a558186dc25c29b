package tests

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Invariants every pod of every environment meets, whichever tier declared it. Together they are
// what Pod Security "restricted" asks, plus what operations needs: limits, probes, pinned images.

var pinnedImage = regexp.MustCompile(`^[^:@]+(:[0-9]+)?(/[^:@]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]*|@sha256:[a-f0-9]{64})$`)

func TestEveryPodRunsAsNonRootWithRuntimeDefaultSeccomp(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		for _, p := range st.PodTemplates() {
			r := p.Owner
			if p.NodeAgent(t) {
				continue // TestNodeAgentsTakeOnlyWhatTheyRead
			}
			assert.True(t, r.Bool(p.Path+".securityContext.runAsNonRoot"), "%s %s %s", env, r.Type, r.Name)
			assert.Equal(t, "RuntimeDefault", r.Str(t, p.Path+".securityContext.seccompProfile.type"), "%s %s", env, r.Name)
			assert.NotZero(t, r.Int(t, p.Path+".securityContext.runAsUser"), "%s %s: uid 0", env, r.Name)
			for _, forbidden := range []string{"hostNetwork", "hostPID", "hostIPC"} {
				assert.False(t, r.Bool(p.Path+"."+forbidden), "%s %s: %s", env, r.Name, forbidden)
			}
			if v, ok := r.Get(p.Path + ".volumes"); ok {
				for i := range v.ArrayValue() {
					assert.False(t, r.Has(p.Path+".volumes."+itoa(i)+".hostPath"), "%s %s: hostPath volume", env, r.Name)
				}
			}
		}
	}
}

func TestEveryContainerIsLockedDown(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		for _, p := range st.PodTemplates() {
			r := p.Owner
			for _, c := range p.Containers() {
				what := env + " " + r.Name + " " + r.Str(t, c+".name")
				assert.False(t, r.Bool(c+".securityContext.allowPrivilegeEscalation"), what)
				assert.True(t, r.Has(c+".securityContext.allowPrivilegeEscalation"), what)
				assert.Equal(t, "ALL", r.Str(t, c+".securityContext.capabilities.drop.0"), what)
				assert.False(t, r.Has(c+".securityContext.capabilities.add"), what)
				assert.False(t, r.Bool(c+".securityContext.privileged"), what)
				for _, k := range []string{"requests.cpu", "requests.memory", "requests.ephemeral-storage",
					"limits.cpu", "limits.memory", "limits.ephemeral-storage"} {
					assert.True(t, r.Has(c+".resources."+k), "%s: no %s", what, k)
				}
				image := r.Str(t, c+".image")
				assert.Regexp(t, pinnedImage, image, what)
				assert.False(t, strings.HasSuffix(image, ":latest"), what)
				assert.Equal(t, "Always", r.Str(t, c+".imagePullPolicy"), "%s: the profiles' images.pullPolicy", what)
			}
		}
	}
}

// images.pullPolicy reaches every container, init containers included.
func TestImagePullPolicyIsTheSetting(t *testing.T) {
	st := deploy(t, "staging", cfg{"images": `{"pullPolicy": "IfNotPresent"}`})
	containers := 0
	for _, p := range st.PodTemplates() {
		for _, c := range p.Containers() {
			containers++
			assert.Equal(t, "IfNotPresent", p.Owner.Str(t, c+".imagePullPolicy"), "%s %s", p.Owner.Name, p.Owner.Str(t, c+".name"))
		}
	}
	assert.Greater(t, containers, 20)
}

// Long-running containers are probed: readiness keeps traffic away from a container that cannot
// serve. Liveness restarts a hung one and is a different check: the same check would restart
// every pod whenever a dependency their readiness looks at fails. A container may go without
// one only where its process exits on failure and offers nothing else to ask (PgBouncer); every
// pod but the pooler's has one.
func TestEveryLongRunningContainerIsProbed(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		for _, p := range st.PodTemplates() {
			if !p.LongRunning {
				continue
			}
			r := p.Owner
			v, _ := r.Get(p.Path + ".containers")
			for i := range v.ArrayValue() {
				c := p.Path + ".containers." + itoa(i)
				what := env + " " + r.Name + " " + r.Str(t, c+".name")
				assert.True(t, r.Has(c+".readinessProbe"), "%s: no readiness probe", what)
				if !r.Has(c + ".livenessProbe") {
					assert.Equal(t, "pgbouncer", r.Str(t, c+".name"), "%s: no liveness probe", what)
					continue
				}
				assert.NotEqual(t, probeCheck(t, r, c+".readinessProbe"), probeCheck(t, r, c+".livenessProbe"),
					"%s: readiness and liveness are the same check", what)
			}
		}
	}
}

// Every Deployment and StatefulSet has a PodDisruptionBudget that selects its pods: databases
// and the pooler lose one pod at a time, stateless tiers a tenth of their pods.
func TestEveryWorkloadHasADisruptionBudget(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		pdbs := st.OfType("kubernetes:policy/v1:PodDisruptionBudget")
		for _, p := range st.PodTemplates() {
			// A drain does not evict a DaemonSet's pods, and its rollout replaces one node's at
			// a time: a budget would hold nothing.
			if !p.LongRunning || p.NodeAgent(t) {
				continue
			}
			sel := p.Owner.StringMap(t, "spec.selector.matchLabels")
			found := false
			for _, pdb := range pdbs {
				if equalMaps(pdb.StringMap(t, "spec.selector.matchLabels"), sel) {
					found = true
					if p.Owner.Name == "pynomaly-api" || p.Owner.Name == "pynomaly-worker" {
						assert.Equal(t, "10%", pdb.Str(t, "spec.maxUnavailable"), "%s %s", env, pdb.Name)
					} else {
						assert.Equal(t, 1, pdb.Int(t, "spec.maxUnavailable"), "%s %s", env, pdb.Name)
					}
				}
			}
			assert.True(t, found, "%s: %s %s has no PodDisruptionBudget", env, p.Owner.Type, p.Owner.Name)
		}
	}
}

// A workload's selector matches its own pod template, and nothing else's.
func TestSelectorsMatchTheirTemplates(t *testing.T) {
	st := deploy(t, "prod", nil)
	for _, p := range st.PodTemplates() {
		if !p.LongRunning {
			continue
		}
		sel := p.Owner.StringMap(t, "spec.selector.matchLabels")
		tmpl := p.Owner.StringMap(t, "spec.template.metadata.labels")
		for k, v := range sel {
			assert.Equal(t, v, tmpl[k], "%s selector %s", p.Owner.Name, k)
		}
		for _, other := range st.PodTemplates() {
			if other.Owner == p.Owner || !other.LongRunning {
				continue
			}
			if matches(sel, other.Owner.StringMap(t, "spec.template.metadata.labels")) {
				assert.Failf(t, "overlapping selectors", "%s selects the pods of %s", p.Owner.Name, other.Owner.Name)
			}
		}
	}
}

// probeCheck is what a probe checks, without its timings: the handler and its target.
func probeCheck(t *testing.T, r *Resource, path string) string {
	t.Helper()
	for _, h := range []string{"httpGet", "tcpSocket", "exec", "grpc"} {
		if v, ok := r.Get(path + "." + h); ok {
			return h + " " + v.String()
		}
	}
	require.Failf(t, "probe without a handler", "%s %s %s", r.Type, r.Name, path)
	return ""
}
