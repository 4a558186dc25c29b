package load

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/sizing"
)

// ValidatePlan checks what only the stack's plan can tell (package platform computes it from the
// settings Parse returned, and calls this before declaring anything): that the ResourceQuota holds
// every workload at its largest at once, and that each entry keyed by component (nodeSelectors,
// tolerations and the like) names a component whose pods the stack runs. footprints are the
// plan's workloads and claims, components its pods' component labels. Each problem is a
// SettingError, as Parse's are.
func ValidatePlan(s *config.Settings, footprints []sizing.Footprint, components []string) error {
	v := &validator{project: s.Project}
	validateComponentEntries(s, components, v)
	validateQuota(s, footprints, v)
	return errors.Join(v.errs...)
}

// validateQuota checks that the ResourceQuota admits every footprint at once.
func validateQuota(s *config.Settings, footprints []sizing.Footprint, v *validator) {
	need := sizing.Total(footprints)
	q := s.Quota
	what := "every Deployment at its maximum replicas plus the StatefulSets and claims (" + sizing.Summary(footprints) + ")"
	for _, c := range []struct {
		key, value string
		need       resource.Quantity
		parse      func(string, string) (resource.Quantity, bool)
	}{
		{"quota.requestsCpu", q.RequestsCPU, need.RequestsCPU, v.cpu},
		{"quota.requestsMemory", q.RequestsMemory, need.RequestsMemory, v.memory},
		{"quota.limitsCpu", q.LimitsCPU, need.LimitsCPU, v.cpu},
		{"quota.limitsMemory", q.LimitsMemory, need.LimitsMemory, v.memory},
		{"quota.requestsStorage", q.RequestsStorage, need.Storage, v.storage},
		{"quota.requestsEphemeralStorage", q.RequestsEphemeralStorage, need.RequestsEphemeralStorage, v.disk},
		{"quota.limitsEphemeralStorage", q.LimitsEphemeralStorage, need.LimitsEphemeralStorage, v.disk},
	} {
		have, ok := c.parse(c.key, c.value)
		if ok && have.Cmp(c.need) < 0 {
			v.fail(c.key, quote(c.value), "must be at least "+c.need.String()+" to hold "+what)
		}
	}
	if q.Pods < need.Pods {
		v.fail("quota.pods", fmt.Sprint(q.Pods), fmt.Sprintf("must be at least %d to hold %s", need.Pods, what))
	}
	if q.PersistentVolumeClaims < need.Claims {
		v.fail("quota.persistentVolumeClaims", fmt.Sprint(q.PersistentVolumeClaims),
			fmt.Sprintf("must be at least %d to hold %s", need.Claims, what))
	}
}
