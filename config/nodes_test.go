package config

import (
	"maps"
	"testing"
)

// A component's node selector is its own entry, else the default, else none; each is a copy.
func TestNodeSelectorFor(t *testing.T) {
	n := NodeSelectors{"default": {"type": "real"}, "grafana": {"type": "kwok"}}
	for component, want := range map[string]map[string]string{"grafana": {"type": "kwok"}, "api": {"type": "real"}} {
		if got := n.For(component); !maps.Equal(got, want) {
			t.Errorf("For(%s) = %v, want %v", component, got, want)
		}
	}
	n.For("api")["type"] = "changed"
	if n["default"]["type"] != "real" {
		t.Error("For handed out the setting's own map")
	}
	if got := (NodeSelectors{"grafana": {"type": "kwok"}}).For("api"); got != nil {
		t.Errorf("without a default, a component without an entry has no selector, got %v", got)
	}
}
