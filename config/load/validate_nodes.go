package load

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pynomaly/pynomaly-platform/config"
	"k8s.io/apimachinery/pkg/util/validation"
)

// validateComponentEntries checks that each entry of the settings keyed by component
// (nodeSelectors, tolerations, priorityClasses.names, serviceAccounts) is default, where the key
// has one, or names the component of pods the stack runs (components, from the plan): an entry
// for anything else would apply to nothing.
func validateComponentEntries(s *config.Settings, components []string, v *validator) {
	for _, m := range []struct {
		key         string
		entries     []string
		value       func(string) any
		withDefault bool
	}{
		{"nodeSelectors", slices.Collect(maps.Keys(s.NodeSelectors)), func(n string) any { return s.NodeSelectors[n] }, true},
		{"tolerations", slices.Collect(maps.Keys(s.Tolerations)), func(n string) any { return s.Tolerations[n] }, true},
		{"priorityClasses.names", slices.Collect(maps.Keys(s.PriorityClasses.Names)), func(n string) any { return s.PriorityClasses.Names[n] }, true},
		{"serviceAccounts", slices.Collect(maps.Keys(s.ServiceAccounts)), func(n string) any { return s.ServiceAccounts[n] }, false},
	} {
		allowed, what := components, "must be one of "+strings.Join(components, ", ")
		if m.withDefault {
			allowed = append([]string{config.DefaultNodeSelector}, components...)
			what = "must be default (every component without an entry of its own) or one of " + strings.Join(components, ", ")
		}
		for _, name := range slices.Sorted(slices.Values(m.entries)) {
			if !slices.Contains(allowed, name) {
				v.fail(m.key+"."+name, jsonText(m.value(name)), "is not a component of this stack's pods"+didYouMean(name, allowed)+"; "+what)
			}
		}
	}
}

// validateNodeSelectors checks every entry of nodeSelectors, in the order of their names: the
// selector names at least one label, and each label is one Kubernetes would accept on a node.
// Whether the name is a component's is the plan's to say (validateComponentEntries).
func validateNodeSelectors(s *config.Settings, v *validator) {
	for _, name := range slices.Sorted(maps.Keys(s.NodeSelectors)) {
		selector, key := s.NodeSelectors[name], "nodeSelectors."+name
		if len(selector) == 0 {
			without := "the component takes the default entry's labels, if any"
			if name == config.DefaultNodeSelector {
				without = "the components without an entry of their own run on any node"
			}
			v.fail(key, jsonText(selector), "must name at least one node label; without the entry "+without+
				" (pulumi config rm --path "+key+")")
			continue
		}
		for _, label := range slices.Sorted(maps.Keys(selector)) {
			value, at := selector[label], labelPath(key, label)
			if len(validation.IsQualifiedName(label)) > 0 {
				v.fail(at, quote(value), quote(label)+" is not a Kubernetes label key: an optional prefix (a DNS subdomain) and '/', "+
					"then a name of at most 63 letters, digits, '-', '_' and '.' that starts and ends with a letter or digit, "+
					"such as pool or node.kubernetes.io/instance-type")
			}
			if len(validation.IsValidLabelValue(value)) > 0 {
				v.fail(at, quote(value), "must be a Kubernetes label value: at most 63 letters, digits, '-', '_' and '.', "+
					"starting and ending with a letter or digit (or empty)")
			}
		}
	}
}

// plainStep is a label key that a --path can name after a dot.
var plainStep = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// labelPath is where a label sits, as pulumi config set --path writes it: a key with dots or a
// slash in brackets (nodeSelectors.api["kubernetes.io/arch"]).
func labelPath(key, label string) string {
	if plainStep.MatchString(label) {
		return key + "." + label
	}
	return key + "[" + strconv.Quote(label) + "]"
}

// jsonText is a value as JSON, the way a message shows an object.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}
