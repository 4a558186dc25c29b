// Package logging is the platform's log pipeline: the configuration of the collector that runs
// on every node (in the node agents' namespace, package nodeagents) and the bundled log store,
// VictoriaLogs, in the platform's namespace.
package logging
