package sizing

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Totals is what a set of footprints asks of the ResourceQuota.
type Totals struct {
	RequestsCPU, RequestsMemory, LimitsCPU, LimitsMemory, Storage resource.Quantity
	RequestsEphemeralStorage, LimitsEphemeralStorage              resource.Quantity
	Pods, Claims                                                  int
}

// Total adds the footprints up. Quantities must already be valid (the settings' validation
// checks them first); an unparsable one panics, which would be a bug there.
func Total(f []Footprint) Totals {
	var t Totals
	add := func(sum *resource.Quantity, value string, times int) {
		if value == "" || times == 0 {
			return
		}
		q := resource.MustParse(value)
		for range times {
			sum.Add(q)
		}
	}
	for _, w := range f {
		for _, c := range w.Containers {
			add(&t.RequestsCPU, c.CPURequest, w.Pods)
			add(&t.RequestsMemory, c.MemoryRequest, w.Pods)
			add(&t.LimitsCPU, c.CPULimit, w.Pods)
			add(&t.LimitsMemory, c.MemoryLimit, w.Pods)
			add(&t.RequestsEphemeralStorage, c.EphemeralStorageRequest, w.Pods)
			add(&t.LimitsEphemeralStorage, c.EphemeralStorageLimit, w.Pods)
		}
		add(&t.Storage, w.ClaimSize, w.Claims)
		t.Pods += w.Pods
		t.Claims += w.Claims
	}
	return t
}

// Summary names the footprints' workloads and sizes, for error messages.
func Summary(f []Footprint) string {
	parts := make([]string, 0, len(f))
	for _, w := range f {
		switch {
		case w.Pods > 0:
			parts = append(parts, fmt.Sprintf("%s x%d", w.Name, w.Pods))
		case w.Claims > 0:
			parts = append(parts, fmt.Sprintf("%s %s", w.Name, w.ClaimSize))
		}
	}
	return strings.Join(parts, ", ")
}
