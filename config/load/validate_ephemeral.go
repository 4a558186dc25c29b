package load

import (
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/sizing"
)

// Ephemeral storage is checked like memory: each quantity parses and is positive, a request
// does not exceed its limit, and a container's limit fits the LimitRange's maximum.

func (v *validator) disk(key, value string) (resource.Quantity, bool) {
	return v.quantity(key, value, `"512Mi" or "2Gi"`)
}

// ephemeralStorage checks one container's ephemeral storage request and limit.
func (v *validator) ephemeralStorage(key string, r sizing.Resources, lr limitRangeMax) {
	req, ok1 := v.disk(key+".ephemeralStorageRequest", r.EphemeralStorageRequest)
	limit, ok2 := v.disk(key+".ephemeralStorageLimit", r.EphemeralStorageLimit)
	if ok1 && ok2 && req.Cmp(limit) > 0 {
		v.fail(key+".ephemeralStorageRequest", quote(r.EphemeralStorageRequest),
			"must not exceed "+key+".ephemeralStorageLimit ("+r.EphemeralStorageLimit+")")
	}
	if lr.ephemeralOK && ok2 && limit.Cmp(lr.ephemeral) > 0 {
		v.fail(key+".ephemeralStorageLimit", quote(r.EphemeralStorageLimit),
			"must not exceed limitRange.maxEphemeralStorage ("+lr.ephemeral.String()+")")
	}
}

// validateLimitRangeEphemeral checks the LimitRange's ephemeral storage and returns its maximum.
func validateLimitRangeEphemeral(s *config.Settings, v *validator) (resource.Quantity, bool) {
	l := s.LimitRange
	req, ok1 := v.disk("limitRange.defaultRequestEphemeralStorage", l.DefaultRequestEphemeralStorage)
	def, ok2 := v.disk("limitRange.defaultEphemeralStorage", l.DefaultEphemeralStorage)
	maxDisk, ok3 := v.disk("limitRange.maxEphemeralStorage", l.MaxEphemeralStorage)
	if ok1 && ok2 && req.Cmp(def) > 0 {
		v.fail("limitRange.defaultRequestEphemeralStorage", quote(l.DefaultRequestEphemeralStorage),
			"must not exceed limitRange.defaultEphemeralStorage ("+l.DefaultEphemeralStorage+")")
	}
	if ok2 && ok3 && def.Cmp(maxDisk) > 0 {
		v.fail("limitRange.defaultEphemeralStorage", quote(l.DefaultEphemeralStorage),
			"must not exceed limitRange.maxEphemeralStorage ("+l.MaxEphemeralStorage+")")
	}
	return maxDisk, ok3
}
