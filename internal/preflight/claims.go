package preflight

import (
	"fmt"
	"regexp"
	"sort"

	"k8s.io/apimachinery/pkg/api/resource"
)

// ClaimTemplate is a StatefulSet's claim template, or a claim of its own, and the setting that
// sizes it.
type ClaimTemplate struct {
	// Key is the stack setting of the size; Size its value.
	Key, Size string
	// Set is the StatefulSet's name, Template the claim template's: the controller names each
	// replica's claim Template-Set-ordinal. Without a Set, Template is the claim's own name.
	Set, Template string
}

// claims matches the names of the claims made from t.
func (t ClaimTemplate) claims() *regexp.Regexp {
	if t.Set == "" {
		return regexp.MustCompile("^" + regexp.QuoteMeta(t.Template) + "$")
	}
	return regexp.MustCompile("^" + regexp.QuoteMeta(t.Template+"-"+t.Set+"-") + "[0-9]+$")
}

// ShrinkCheck names the check of claim sizes, for kubernetes.skipPreflight.
const ShrinkCheck = "claim-size"

// Shrinks returns one message per template whose size is smaller than a claim already made
// from it in namespace. A claim can only grow: the API server refuses a smaller request, and a
// volume is never shrunk, so a smaller setting is a mistake to stop before anything changes.
func Shrinks(c Cluster, namespace string, templates []ClaimTemplate) ([]string, error) {
	deployed, err := c.ClaimRequests(namespace)
	if err != nil {
		return nil, fmt.Errorf("cluster preflight, the claims in namespace %s: %w", namespace, err)
	}
	names := make([]string, 0, len(deployed))
	for n := range deployed {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, t := range templates {
		want, err := resource.ParseQuantity(t.Size)
		if err != nil {
			continue // the settings' validation reports it
		}
		replica := t.claims()
		var largest resource.Quantity
		claim := ""
		for _, n := range names {
			have, err := resource.ParseQuantity(deployed[n])
			if err != nil || !replica.MatchString(n) || have.Cmp(want) <= 0 || have.Cmp(largest) <= 0 {
				continue
			}
			largest, claim = have, n
		}
		if claim != "" {
			out = append(out, fmt.Sprintf("cluster preflight [%s]: %s = %q is smaller than the deployed claim %s (%s); a claim can grow but never shrink: set %s or more.",
				ShrinkCheck, t.Key, t.Size, claim, deployed[claim], deployed[claim]))
		}
	}
	return out, nil
}
