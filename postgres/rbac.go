package postgres

import (
	"fmt"

	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// patroniConfigMaps are the ConfigMaps Patroni's Kubernetes DCS keeps the cluster's state in
// (use_configmaps): <scope>-leader (leader lock, last WAL position, slots, failsafe), -config
// (dynamic configuration, initialize key, timeline history), -failover (switchover requests)
// and -sync (synchronous standbys). <scope> itself is the leader object only in endpoints mode.
func patroniConfigMaps() []string {
	var names []string
	for _, suffix := range []string{"leader", "config", "failover", "sync"} {
		names = append(names, Name+"-"+suffix)
	}
	return names
}

// postgresMembers are the member pods' names: Patroni's member name is its pod's.
func postgresMembers(replicas int) []string {
	names := make([]string, replicas)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", Name, i)
	}
	return names
}

// postgresRBAC is Patroni's access to the Kubernetes API: exactly the calls of Patroni's
// Kubernetes DCS (patroni/dcs/kubernetes.py, ConfigMap mode, Spilo's own callbacks off because
// the DCS labels the pods itself), narrowed by name wherever Kubernetes can. It may not update
// (PUT) or delete anything: Patroni only patches. `patronictl remove` (a delete collection of
// the ConfigMaps) is left to an operator's own credentials. The StatefulSet depends on the
// returned binding, so Patroni never starts without its rights.
func postgresRBAC(ctx *pulumi.Context, c *Postgres, ns pulumi.StringInput, replicas int) (pulumi.Resource, error) {
	configMaps, pods := []string{"configmaps"}, []string{"pods"}
	return kube.NewAccess(ctx, c, ns, kube.Access{Name: Name, Component: "postgres", Rules: rbacv1.PolicyRuleArray{
		// Its cache of the cluster's state: list the scope's ConfigMaps by label, then watch
		// from that version (ObjectCache over list_namespaced_kind). A label-selected list
		// cannot be narrowed by name.
		kube.Rule("", configMaps, "list", "watch"),
		// The first write of a state ConfigMap creates it (_patch_or_create without a resource
		// version: bootstrap, first failover request, first sync state). Kubernetes cannot
		// narrow create by name.
		kube.Rule("", configMaps, "create"),
		// Every later write is a strategic-merge PATCH of one of its own: the leader lock and
		// its renewals, configuration and history, failover requests, sync state.
		kube.NamedRule("", configMaps, patroniConfigMaps(), "patch"),
		// After a conflicting leader update it reads the leader ConfigMap directly
		// (read_namespaced_kind in _update_leader_with_retry).
		kube.NamedRule("", configMaps, []string{Name + "-leader"}, "get"),
		// Members are the scope's pods: list by label, then watch (the pods' ObjectCache).
		kube.Rule("", pods, "list", "watch"),
		// Each member patches its own pod: the role label the Services select and its status
		// annotation (touch_member, patch_namespaced_pod).
		kube.NamedRule("", pods, postgresMembers(replicas), "patch"),
	}})
}
