package config

import "maps"

// NodeSelectors: an entry per component, named by its pods' component label, holds the node
// labels those pods require (their nodeSelector); the entry default holds those of every
// component without an entry of its own (an own entry replaces it: the two are not merged). For
// node pools: the whole platform on one, or the databases on one and the application on another.
// Set a label with pulumi config set --path nodeSelectors.default.pool platform, one whose key
// has dots or a slash with 'nodeSelectors.api["kubernetes.io/arch"]' amd64. Empty in every
// environment: pods run on any node.
type NodeSelectors map[string]map[string]string

// DefaultNodeSelector is the nodeSelectors entry of every component without its own.
const DefaultNodeSelector = "default"

// nodeSelectorDefaults are the same in every environment: no selector, so pods go wherever the
// scheduler puts them. An empty map, not nil, so the settings view shows {}.
func nodeSelectorDefaults() NodeSelectors { return NodeSelectors{} }

// For is the node selector of a component's pods: its own entry, else the default entry, else
// none (nil). The map is the caller's to keep.
func (n NodeSelectors) For(component string) map[string]string {
	if own, ok := n[component]; ok {
		return maps.Clone(own)
	}
	return maps.Clone(n[DefaultNodeSelector])
}
