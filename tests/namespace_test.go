package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

const (
	namespaceType     = "kubernetes:core/v1:Namespace"
	resourceQuotaType = "kubernetes:core/v1:ResourceQuota"
	limitRangeType    = "kubernetes:core/v1:LimitRange"
)

func TestNamespaceTier(t *testing.T) {
	want := map[string]struct {
		enforce string
		quota   map[string]string
		limits  struct{ defReq, def, max map[string]string }
		protect bool
	}{
		"dev": {
			enforce: "baseline",
			quota: map[string]string{"requests.cpu": "4", "requests.memory": "8Gi", "limits.cpu": "10", "limits.memory": "16Gi",
				"requests.storage": "100Gi", "requests.ephemeral-storage": "4Gi", "limits.ephemeral-storage": "32Gi", "pods": "30", "persistentvolumeclaims": "10"},
			limits: struct{ defReq, def, max map[string]string }{
				map[string]string{"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "64Mi"},
				map[string]string{"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "512Mi"},
				map[string]string{"cpu": "2", "memory": "4Gi", "ephemeral-storage": "4Gi"}},
		},
		"staging": {
			enforce: "restricted",
			quota: map[string]string{"requests.cpu": "8", "requests.memory": "24Gi", "limits.cpu": "24", "limits.memory": "48Gi",
				"requests.storage": "500Gi", "requests.ephemeral-storage": "10Gi", "limits.ephemeral-storage": "64Gi", "pods": "60", "persistentvolumeclaims": "20"},
			limits: struct{ defReq, def, max map[string]string }{
				map[string]string{"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
				map[string]string{"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "512Mi"},
				map[string]string{"cpu": "4", "memory": "8Gi", "ephemeral-storage": "8Gi"}},
		},
		// The seed's minimum cluster: 32 cores, 128 GB, 2 TB.
		"prod": {
			enforce: "restricted",
			quota: map[string]string{"requests.cpu": "32", "requests.memory": "128Gi", "limits.cpu": "192", "limits.memory": "320Gi",
				"requests.storage": "2Ti", "requests.ephemeral-storage": "64Gi", "limits.ephemeral-storage": "512Gi", "pods": "250", "persistentvolumeclaims": "30"},
			limits: struct{ defReq, def, max map[string]string }{
				map[string]string{"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
				map[string]string{"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "512Mi"},
				map[string]string{"cpu": "4", "memory": "16Gi", "ephemeral-storage": "16Gi"}},
			protect: true,
		},
	}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			w := want[env]

			ns := st.One(t, namespaceType, "pynomaly-data-science")
			assert.Equal(t, "pynomaly-data-science", ns.Str(t, "metadata.name"))
			l := ns.StringMap(t, "metadata.labels")
			assert.Equal(t, w.enforce, l["pod-security.kubernetes.io/enforce"])
			assert.Equal(t, "restricted", l["pod-security.kubernetes.io/warn"])
			assert.Equal(t, "restricted", l["pod-security.kubernetes.io/audit"])
			assert.Equal(t, "latest", l["pod-security.kubernetes.io/enforce-version"])
			assert.Equal(t, w.protect, ns.Protect, "namespace protect")
			assert.Equal(t, w.protect, ns.RetainOnDelete, "namespace retainOnDelete")

			q := st.One(t, resourceQuotaType, "pynomaly-quota")
			assert.Equal(t, "pynomaly-quota", q.Str(t, "metadata.name"))
			assert.Equal(t, "pynomaly-data-science", q.Str(t, "metadata.namespace"))
			assert.Equal(t, w.quota, q.StringMap(t, "spec.hard"))

			lr := st.One(t, limitRangeType, "pynomaly-limits")
			assert.Equal(t, "Container", lr.Str(t, "spec.limits.0.type"))
			assert.Equal(t, w.limits.defReq, lr.StringMap(t, "spec.limits.0.defaultRequest"))
			assert.Equal(t, w.limits.def, lr.StringMap(t, "spec.limits.0.default"))
			assert.Equal(t, w.limits.max, lr.StringMap(t, "spec.limits.0.max"))

			for _, r := range []*Resource{q, lr} {
				assert.True(t, st.DependsOn(r, ns), "%s waits for the namespace", r.Name)
			}
		})
	}
}

// The namespace is configurable, and every namespaced object follows it.
func TestNamespaceIsConfigurable(t *testing.T) {
	st := deploy(t, "staging", cfg{"namespace": "pynomaly-staging-eu"})
	st.One(t, namespaceType, "pynomaly-staging-eu")
	st.One(t, namespaceType, "pynomaly-staging-eu-node")
	for _, r := range st.Resources {
		// The metrics adapter's binding to the API server's authentication reader lives where
		// that Role does.
		if r.Has("metadata.namespace") && r.Name != "pynomaly-metrics-adapter-auth-reader" {
			assert.Contains(t, []string{"pynomaly-staging-eu", "pynomaly-staging-eu-node"}, r.Str(t, "metadata.namespace"), "%s %s", r.Type, r.Name)
		}
	}
}

// A stricter security level than the profile's can be chosen; relaxed enforces only baseline.
func TestSecurityLevelOverride(t *testing.T) {
	st := deploy(t, "dev", cfg{"security": "enforced"})
	l := st.One(t, namespaceType, "pynomaly-data-science").StringMap(t, "metadata.labels")
	assert.Equal(t, "restricted", l["pod-security.kubernetes.io/enforce"])
}
